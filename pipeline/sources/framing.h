// SyslogFramer: splits a syslog byte stream (TCP, TLS) into messages.
//
// RFC 6587 framing is detected per frame, as rsyslog's imtcp does: a frame that starts with
// digits followed by SP is octet-counted (MSG-LEN SP MSG); anything else runs to the next
// delimiter (LF by default, NUL or either by configuration). Hostile input is bounded:
//   - MSG-LEN may have at most kMaxCountDigits digits and no leading zero (rsyslog's
//     CVE-2022-24903 was an over-long count); otherwise the frame is a framing error and the
//     stream resynchronises at the next delimiter;
//   - a counted frame over max_message_size is skipped by its count, a delimited one is
//     discarded up to its delimiter; nothing over the limit is ever buffered.
// One trailing LF or NUL (and then one CR) is stripped from each message: syslog-ng's
// syslog() driver counts its trailing LF inside the octet count.
//
// The framer keeps only a few integers of state per connection; the caller owns the bytes.
// One framer per connection, used by that connection's I/O thread only.
#pragma once

#include "pipeline/core/alert.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace klaxon {

enum class FrameDelimiter : uint8_t { kLf = 1, kNul = 2, kLfOrNul = 3 };

struct FramerOptions {
  size_t max_message_size = 64 * 1024;
  FrameDelimiter delimiter = FrameDelimiter::kLf;
};

inline constexpr size_t kMaxCountDigits = 10;

class SyslogFramer {
 public:
  explicit SyslogFramer(FramerOptions options) : options_(options) {}

  // Result of scanning: every complete frame and rejection was reported through the
  // callbacks; bytes [consumed, buf.size()) are an incomplete frame the caller must present
  // again (with more bytes appended) on the next call.
  //   on_frame(size_t offset, size_t length)          a message (trailer stripped)
  //   on_reject(RejectReason, size_t offset, size_t length, size_t full_size)
  //        length bytes at offset are a sample of the rejected input; full_size its size
  //        (known, or counted so far when discarded).
  template <typename OnFrame, typename OnReject>
  size_t scan(std::string_view buf, OnFrame&& on_frame, OnReject&& on_reject);

  // End of stream: what to say about bytes [0, leftover) that never formed a frame.
  // A delimited frame without its delimiter is delivered (syslog-ng and logger end the last
  // line with LF, but a sender closing early should not lose its last message); a truncated
  // counted frame is a framing error.
  template <typename OnFrame, typename OnReject>
  void finish(std::string_view leftover, OnFrame&& on_frame, OnReject&& on_reject);

  void set_options(FramerOptions options) { options_ = options; }

 private:
  bool is_delimiter(char c) const {
    const auto d = static_cast<uint8_t>(options_.delimiter);
    return (c == '\n' && (d & 1)) || (c == '\0' && (d & 2));
  }
  size_t find_delimiter(std::string_view buf, size_t from) const;
  static size_t strip_trailer(std::string_view buf, size_t offset, size_t length);

  FramerOptions options_;
  uint64_t skip_remaining_ = 0;  // counted frame over the limit: bytes still to skip
  bool discard_line_ = false;    // delimited frame over the limit: discard to the delimiter
  uint64_t discarded_ = 0;       // bytes discarded so far in the current rejection
  size_t line_scanned_ = 0;      // bytes of the pending delimited frame already searched
};

// ---- implementation (templated on the callbacks so the hot path has no indirection) ----

inline size_t SyslogFramer::find_delimiter(std::string_view buf, size_t from) const {
  switch (options_.delimiter) {
    case FrameDelimiter::kLf: {
      const size_t p = buf.find('\n', from);
      return p;
    }
    case FrameDelimiter::kNul:
      return buf.find('\0', from);
    case FrameDelimiter::kLfOrNul:
      return buf.find_first_of(std::string_view("\n\0", 2), from);
  }
  return std::string_view::npos;
}

inline size_t SyslogFramer::strip_trailer(std::string_view buf, size_t offset, size_t length) {
  if (length > 0 && (buf[offset + length - 1] == '\n' || buf[offset + length - 1] == '\0')) {
    --length;
  }
  if (length > 0 && buf[offset + length - 1] == '\r') --length;
  return length;
}

template <typename OnFrame, typename OnReject>
size_t SyslogFramer::scan(std::string_view buf, OnFrame&& on_frame, OnReject&& on_reject) {
  size_t pos = 0;
  const size_t n = buf.size();
  while (pos < n) {
    // 1. Skipping an over-long counted frame.
    if (skip_remaining_ > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(skip_remaining_, n - pos));
      skip_remaining_ -= take;
      pos += take;
      continue;
    }
    // 2. Discarding an over-long or unframeable line up to its delimiter.
    if (discard_line_) {
      const size_t d = find_delimiter(buf, pos);
      if (d == std::string_view::npos) {
        discarded_ += n - pos;
        pos = n;
        break;
      }
      discarded_ += d + 1 - pos;
      pos = d + 1;
      discard_line_ = false;
      continue;
    }
    const char first = buf[pos];
    // 3. Octet counting: digits then SP.
    if (first >= '0' && first <= '9') {
      size_t i = pos;
      uint64_t count = 0;
      while (i < n && i - pos <= kMaxCountDigits && buf[i] >= '0' && buf[i] <= '9') {
        count = count * 10 + static_cast<uint64_t>(buf[i] - '0');
        ++i;
      }
      const size_t digits = i - pos;
      if (digits > kMaxCountDigits) {
        // Too many digits to be a length (leading zeros, 2^64...): unframeable.
        on_reject(RejectReason::kFraming, pos, std::min(digits, size_t{64}), digits);
        discard_line_ = true;
        discarded_ = 0;
        pos = i;
        continue;
      }
      if (i == n) break;  // need more bytes to see what follows the digits
      if (buf[i] == ' ') {
        if (first == '0') {
          // MSG-LEN = NONZERO-DIGIT *DIGIT: "0" or "007" is not a length.
          on_reject(RejectReason::kFraming, pos, digits + 1, digits + 1);
          discard_line_ = true;
          discarded_ = 0;
          pos = i + 1;
          continue;
        }
        const size_t body = i + 1;
        if (count > options_.max_message_size) {
          const size_t sample = std::min<size_t>(n - pos, 256);
          on_reject(RejectReason::kTooLarge, pos, sample, static_cast<size_t>(count));
          skip_remaining_ = count;
          pos = body;
          continue;
        }
        if (n - body < count) break;  // incomplete frame
        const size_t len = strip_trailer(buf, body, static_cast<size_t>(count));
        if (len == 0) {
          on_reject(RejectReason::kEmpty, body, 0, 0);
        } else {
          on_frame(body, len);
        }
        pos = body + static_cast<size_t>(count);
        continue;
      }
      // Digits not followed by SP: not a count; a delimited message that starts with a digit
      // (e.g. a message with no PRI that starts with a date). Fall through.
    }
    // 4. Delimited frame.
    const size_t from = pos + line_scanned_;
    const size_t d = find_delimiter(buf, from);
    if (d == std::string_view::npos) {
      if (n - pos > options_.max_message_size) {
        on_reject(RejectReason::kTooLarge, pos, std::min<size_t>(n - pos, 256), n - pos);
        discard_line_ = true;
        discarded_ = n - pos;
        line_scanned_ = 0;
        pos = n;
        break;
      }
      line_scanned_ = n - pos;
      break;
    }
    line_scanned_ = 0;
    const size_t raw_len = d - pos;
    if (raw_len > options_.max_message_size) {
      on_reject(RejectReason::kTooLarge, pos, std::min<size_t>(raw_len, 256), raw_len);
      pos = d + 1;
      continue;
    }
    const size_t len = strip_trailer(buf, pos, raw_len);
    if (len > 0) on_frame(pos, len);  // empty lines between messages are not messages
    pos = d + 1;
  }
  return pos;
}

template <typename OnFrame, typename OnReject>
void SyslogFramer::finish(std::string_view leftover, OnFrame&& on_frame, OnReject&& on_reject) {
  if (leftover.empty() || skip_remaining_ > 0 || discard_line_) return;
  const char first = leftover[0];
  if (first >= '1' && first <= '9') {
    size_t i = 0;
    while (i < leftover.size() && leftover[i] >= '0' && leftover[i] <= '9') ++i;
    if (i == leftover.size() || leftover[i] == ' ') {
      on_reject(RejectReason::kFraming, 0, std::min<size_t>(leftover.size(), 256), leftover.size());
      return;
    }
  }
  const size_t len = strip_trailer(leftover, 0, leftover.size());
  // The limit may have been lowered (SIGHUP) since these bytes were scanned.
  if (len > options_.max_message_size) {
    on_reject(RejectReason::kTooLarge, 0, std::min<size_t>(len, 256), len);
    return;
  }
  if (len > 0) on_frame(size_t{0}, len);
}

}  // namespace klaxon
