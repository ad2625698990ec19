// libFuzzer target for SyslogFramer (pipeline/sources/framing.h).
//
// Input: a 5-byte header, then the TCP byte stream.
//   byte 0  options: bits 0-1 delimiter (LF, NUL, LF or NUL, LF), bits 2-4 max_message_size
//           (one of kMaxSizes, all within what the config accepts: 480 B .. 64 MiB)
//   byte 1  a SIGHUP reload after the first read when bit 7 is set: new options as in byte 0
//   bytes 2-4  read sizes, used in turn: b + 1 bytes, 0xFF for everything left
// The stream is fed the way SyslogTcpSession::frame() does: each read is appended to the bytes
// the framer left unconsumed, scan() runs over all of them and the unconsumed tail is carried
// over; finish() gets what is left at the end. Invariants, abort() on violation:
//   - every frame and rejection sample lies inside the buffer it was reported for, and every
//     frame inside the consumed prefix (the session copies only that prefix into its batch);
//   - frames are non-empty and at most max_message_size bytes;
//   - the framer never leaves more than max_message_size + 32 bytes pending;
//   - without a reload, the frames and rejection reasons do not depend on how the stream was
//     cut into reads (the same stream scanned in one piece gives the same result).
#include "fuzz_support.h"
#include "pipeline/sources/framing.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {
namespace {

constexpr size_t kHeader = 5;
constexpr size_t kMaxSizes[8] = {480, 481, 512, 1000, 4096, 8192, 64 * 1024, 64 << 20};
constexpr FrameDelimiter kDelimiters[4] = {FrameDelimiter::kLf, FrameDelimiter::kNul,
                                           FrameDelimiter::kLfOrNul, FrameDelimiter::kLf};

FramerOptions options_of(uint8_t b) {
  FramerOptions o;
  o.delimiter = kDelimiters[b & 3];
  o.max_message_size = kMaxSizes[(b >> 2) & 7];
  return o;
}

// What came out of the framer, in order: frames by content, rejections by reason.
struct Outcome {
  std::vector<std::string> frames;
  std::vector<RejectReason> rejects;
  bool operator==(const Outcome&) const = default;
};

// Runs the framer over `stream` cut into reads of the given sizes (0: the rest), checking the
// per-call invariants. `reload` (if not null) is applied after the first read.
Outcome run(std::string_view stream, FramerOptions options, const FramerOptions* reload,
            const size_t* read_sizes, size_t n_read_sizes) {
  SyslogFramer framer(options);
  FramerOptions current = options;
  Outcome out;
  std::string pending;   // what the session's buffer_ holds: the carried-over tail + new bytes
  size_t frame_end = 0;  // end of the last frame reported by the current call
  auto on_frame = [&](size_t off, size_t len) {
    FUZZ_CHECK(off <= pending.size() && len <= pending.size() - off);
    FUZZ_CHECK(len > 0);
    FUZZ_CHECK(len <= current.max_message_size);
    FUZZ_CHECK(off >= frame_end);  // in stream order, not overlapping
    frame_end = off + len;
    out.frames.emplace_back(pending, off, len);
  };
  auto on_reject = [&](RejectReason reason, size_t off, size_t len, size_t full) {
    FUZZ_CHECK(off <= pending.size() && len <= pending.size() - off);
    FUZZ_CHECK(reason == RejectReason::kFraming || reason == RejectReason::kTooLarge ||
               reason == RejectReason::kEmpty);
    FUZZ_CHECK(len <= full);
    if (reason == RejectReason::kTooLarge) FUZZ_CHECK(full > current.max_message_size);
    out.rejects.push_back(reason);
  };

  size_t pos = 0;
  size_t reads = 0;
  while (pos < stream.size()) {
    size_t want = read_sizes[reads % n_read_sizes];
    if (want == 0 || want > stream.size() - pos) want = stream.size() - pos;
    pending.append(stream.substr(pos, want));
    pos += want;
    frame_end = 0;
    const size_t consumed = framer.scan(pending, on_frame, on_reject);
    FUZZ_CHECK(consumed <= pending.size());
    // The session copies only [0, consumed) into its batch: every frame must lie there.
    FUZZ_CHECK(frame_end <= consumed);
    FUZZ_CHECK(pending.size() - consumed <= current.max_message_size + 32);
    pending.erase(0, consumed);
    if (++reads == 1 && reload != nullptr) {
      framer.set_options(*reload);
      current = *reload;
    }
  }
  frame_end = 0;
  framer.finish(pending, on_frame, on_reject);
  return out;
}

}  // namespace
}  // namespace klaxon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace klaxon;
  if (size < kHeader) return 0;
  const FramerOptions options = options_of(data[0]);
  const bool has_reload = (data[1] & 0x80) != 0;
  const FramerOptions reload = options_of(data[1]);
  size_t read_sizes[3];
  for (size_t i = 0; i < 3; ++i) read_sizes[i] = data[2 + i] == 0xFF ? 0 : data[2 + i] + 1u;
  const std::string_view stream(reinterpret_cast<const char*>(data) + kHeader, size - kHeader);

  const Outcome chunked = run(stream, options, has_reload ? &reload : nullptr, read_sizes, 3);
  if (!has_reload) {
    const size_t whole = 0;
    const Outcome single = run(stream, options, nullptr, &whole, 1);
    FUZZ_CHECK(chunked == single);
  }
  return 0;
}
