#include "pipeline/sources/framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

struct Collected {
  std::vector<std::string> frames;
  std::vector<RejectReason> rejects;
  std::vector<size_t> reject_sizes;
};

// Feeds `input` in chunks of `chunk` bytes the way a TCP session does: unconsumed bytes are
// presented again with the next chunk.
Collected feed(const std::string& input, size_t chunk, FramerOptions o = {}, bool eof = true) {
  SyslogFramer f(o);
  Collected c;
  std::string pending;
  auto on_frame = [&](size_t off, size_t len) { c.frames.push_back(pending.substr(off, len)); };
  auto on_reject = [&](RejectReason r, size_t, size_t, size_t full) {
    c.rejects.push_back(r);
    c.reject_sizes.push_back(full);
  };
  for (size_t i = 0; i < input.size(); i += chunk) {
    pending.append(input.substr(i, chunk));
    const size_t used = f.scan(pending, on_frame, on_reject);
    pending.erase(0, used);
  }
  if (eof) f.finish(pending, on_frame, on_reject);
  return c;
}

class FramingChunks : public ::testing::TestWithParam<size_t> {};

TEST_P(FramingChunks, OctetCountedAndDelimitedMix) {
  const std::string in =
      "11 <13>1 - - x\n"              // counted, with the LF syslog-ng puts inside the count
      "<13>Oct 11 22:14:15 h a: b\n"  // LF framed
      "5 hello"                       // counted, no trailer
      "<14>line with\r\n"             // CRLF
      "3 a\nb";                       // counted frame containing LF: transparent
  const Collected c = feed(in, GetParam());
  ASSERT_EQ(c.frames.size(), 5u);
  EXPECT_EQ(c.frames[0], "<13>1 - - x");
  EXPECT_EQ(c.frames[1], "<13>Oct 11 22:14:15 h a: b");
  EXPECT_EQ(c.frames[2], "hello");
  EXPECT_EQ(c.frames[3], "<14>line with");
  EXPECT_EQ(c.frames[4], "a\nb");
  EXPECT_TRUE(c.rejects.empty());
}

INSTANTIATE_TEST_SUITE_P(Chunks, FramingChunks, ::testing::Values(1, 2, 3, 7, 64, 4096));

TEST(Framing, ThousandLeadingZerosIsAFramingErrorAndResyncs) {
  const std::string in = std::string(1000, '0') + "5 hello\n<13>next\n";
  const Collected c = feed(in, 100);
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0], RejectReason::kFraming);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], "<13>next");
}

TEST(Framing, LeadingZeroCountIsRejected) {
  const Collected c = feed("05 hello\n<13>ok\n", 4096);
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0], RejectReason::kFraming);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], "<13>ok");
}

TEST(Framing, CountsPast2To32And2To64AreRejectedWithoutAllocating) {
  for (const std::string count :
       {"4294967297", "18446744073709551617", "99999999999999999999999"}) {
    const Collected c = feed(count + " x\n<13>after\n", 4096);
    ASSERT_EQ(c.rejects.size(), 1u) << count;
    // 10 digits fit the digit cap, so 2^32+1 is a too-large frame skipped by its count;
    // longer counts are framing errors that resync at the next LF.
    if (count.size() <= kMaxCountDigits) {
      EXPECT_EQ(c.rejects[0], RejectReason::kTooLarge) << count;
      EXPECT_TRUE(c.frames.empty());  // the rest of the stream is inside the skipped frame
    } else {
      EXPECT_EQ(c.rejects[0], RejectReason::kFraming) << count;
      ASSERT_EQ(c.frames.size(), 1u) << count;
      EXPECT_EQ(c.frames[0], "<13>after");
    }
  }
}

TEST(Framing, OversizedCountedFrameIsSkippedByItsCount) {
  FramerOptions o;
  o.max_message_size = 16;
  const std::string big(40, 'x');
  const Collected c = feed("40 " + big + "5 small", 7, o);
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0], RejectReason::kTooLarge);
  EXPECT_EQ(c.reject_sizes[0], 40u);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], "small");
}

TEST(Framing, TenMiBLineWithoutLfIsDiscardedAndTheNextLineSurvives) {
  FramerOptions o;
  o.max_message_size = 64 * 1024;
  std::string in(10 * 1024 * 1024, 'A');
  in += "\n<13>after the flood\n";
  SyslogFramer f(o);
  std::vector<std::string> frames;
  std::vector<RejectReason> rejects;
  std::string pending;
  size_t max_pending = 0;
  for (size_t i = 0; i < in.size(); i += 65536) {
    pending.append(in.substr(i, 65536));
    max_pending = std::max(max_pending, pending.size());
    const size_t used = f.scan(
        pending, [&](size_t off, size_t len) { frames.push_back(pending.substr(off, len)); },
        [&](RejectReason r, size_t, size_t, size_t) { rejects.push_back(r); });
    pending.erase(0, used);
  }
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0], RejectReason::kTooLarge);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "<13>after the flood");
  // The framer never asked the caller to keep more than a frame's worth of bytes.
  EXPECT_LE(max_pending, o.max_message_size + 65536);
}

TEST(Framing, TruncatedCountedFrameAtEofIsAFramingError) {
  const Collected c = feed("100 only a few bytes", 4096);
  EXPECT_TRUE(c.frames.empty());
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0], RejectReason::kFraming);
}

TEST(Framing, LastLineWithoutLfIsDeliveredAtEof) {
  const Collected c = feed("<13>one\n<13>two", 4096);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[1], "<13>two");
}

TEST(Framing, NulDelimiterAndNulBytesInsideCountedFrames) {
  FramerOptions o;
  o.delimiter = FrameDelimiter::kNul;
  const Collected c = feed(std::string("<13>a\0<13>b\0", 12), 3, o);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0], "<13>a");
  const Collected d = feed(std::string("5 a\0b\0c", 7), 2);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0], std::string("a\0b\0c", 5));
}

TEST(Framing, MessageStartingWithDigitsButNoSpaceIsDelimited) {
  const Collected c = feed("2026-11-23 12:00:00 host app: hi\n", 5);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], "2026-11-23 12:00:00 host app: hi");
}

TEST(Framing, EmptyLinesAreNotMessagesButEmptyCountedFramesAreCounted) {
  const Collected c = feed("\n\n\r\n<13>x\n1 \n", 4096);
  ASSERT_EQ(c.frames.size(), 1u);
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0], RejectReason::kEmpty);
}

}  // namespace
}  // namespace klaxon
