// Reproducers of what the libFuzzer targets (tests/fuzz/) found, minimized, one test each.
// Each names the target and the invariant that broke; the input is the minimized crash.
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/block.h"
#include "pipeline/sources/framing.h"
#include "pipeline/stages/json_map.h"
#include "pipeline/stages/parse.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace klaxon {
namespace {

// Parsers need kParsePadding readable bytes after the frame.
struct Padded {
  explicit Padded(std::string s) : text(std::move(s)), len(text.size()) {
    text.append(kParsePadding, '\0');
  }
  std::string_view view() const { return std::string_view(text.data(), len); }
  std::string text;
  size_t len;
};

IngestMeta test_meta() {
  IngestMeta meta;
  meta.transport = Transport::kTcp;
  meta.peer = "192.0.2.1:51514";
  meta.listener = "syslog_tcp";
  meta.received_ns = 1'779'271'262'000'000'000LL;
  return meta;
}

// message_fuzz, record round trip: the RFC 5424 parser accepts VERSION 1..999, the alert
// record stores it in one byte, so a stored alert says "version": 999 % 256 = 231.
// Minimized input: "999 - f - - - -" (no PRI: taken as RFC 5424 by the RFC 3164 path).
TEST(FuzzRegression, RecordKeepsSyslogVersionAbove255) {
  for (const char* frame : {"999 - f - - - -", "<13>300 - - - - - -"}) {
    SCOPED_TRACE(frame);
    MessageParser parser{ParseOptions{}};
    const IngestMeta meta = test_meta();
    const Padded in(frame);
    Alert alert;
    ASSERT_TRUE(parser.parse(in.view(), meta, meta.received_ns, alert).ok());
    ASSERT_GT(alert.syslog.version, 255);

    std::string record;
    append_alert_record(alert, record);
    Alert back;
    ASSERT_TRUE(read_alert_record(record, back));
    EXPECT_EQ(back.syslog.version, alert.syslog.version);
    std::string json, json_back;
    append_alert_json(alert, json);
    append_alert_json(back, json_back);
    EXPECT_EQ(json_back, json);
  }
}

// json_map_fuzz, "what the mapper accepts is valid JSON": a number under a root-level
// severity / level / priority / event.severity key is read with get_int64() and, when that
// fails, accepted without validation, so malformed numbers pass as JSON.
// Minimized input: {"level":5#}
TEST(FuzzRegression, JsonMapperRejectsMalformedNumberAtSeverityKeys) {
  for (const char* doc : {R"({"level":5#})", R"({"severity":-})", R"({"priority":01})",
                          R"({"event.severity":1.5.5})", R"({"level":1e})"}) {
    SCOPED_TRACE(doc);
    JsonMapper mapper;
    const Padded in(doc);
    Alert alert;
    EXPECT_EQ(mapper.map(in.view(), alert).reason, RejectReason::kJson);
  }
}

// The same number anywhere else is rejected already: the behaviour the test above wants.
TEST(FuzzRegression, JsonMapperRejectsMalformedNumberElsewhere) {
  JsonMapper mapper;
  const Padded in(R"({"other":5#})");
  Alert alert;
  EXPECT_EQ(mapper.map(in.view(), alert).reason, RejectReason::kJson);
}

// json_map_fuzz, "what the mapper accepts simdjson's DOM parser accepts": the JSON dialects
// read scalars from their raw token and leave them for simdjson to skip, and simdjson's skip
// takes a string followed by ':' for a key, so a value followed by ':' passed. Found as a Falco
// alert (format byte 03) whose output_fields held `"ka.target.namespace":"hello-amand]":"cat"`;
// minimized by hand to the shapes below.
TEST(FuzzRegression, JsonMapperRejectsAValueFollowedByAColon) {
  const InputFormat formats[] = {
      InputFormat::kJson, InputFormat::kSuricata,     InputFormat::kWazuh, InputFormat::kFalco,
      InputFormat::kZeek, InputFormat::kAlertmanager, InputFormat::kBeats, InputFormat::kGeneric};
  for (const char* doc :
       {R"({"a":"b":"c"})", R"({"output_fields":{"k":"v":"w","x":1}})", R"({"a":1:2})",
        R"({"a":true:"x"})", R"({"rule":{"level":3:4},"manager":{}})",
        R"({"receiver":"r","alerts":[{"labels":{"alertname":"x":"y"}}]})",
        R"({"@timestamp":"t":"u","ecs":{}})", R"({"a":["b":"c"]})"}) {
    for (InputFormat f : formats) {
      SCOPED_TRACE(std::string(doc) + " as " + input_format_name(f));
      JsonMapper mapper;
      const Padded in(doc);
      Alert alert;
      int emitted = 0;
      const ParseStatus s = mapper.map(in.view(), f, alert, [&](Alert&) { ++emitted; });
      EXPECT_EQ(s.reason, RejectReason::kJson);
      EXPECT_EQ(emitted, 0);
    }
  }
}

// json_map_fuzz, UBSan: an integer epoch time is read as seconds, milli-, micro- or
// nanoseconds by its magnitude, and 16183475190000001 (read as microseconds) times 1000
// overflowed int64. Found from the Falco example whose evt.time is 1618347519000000 (a digit
// inserted); minimized to its evt.time. Times outside +-2^62 ns are not taken.
TEST(FuzzRegression, JsonMapperEpochTimesDoNotOverflow) {
  for (const char* t : {"16183475190000001", "-16183475190000001", "9223372036854775807",
                        "99999999999999999", "4611686018427387", "-9223372036854775807"}) {
    SCOPED_TRACE(t);
    JsonMapper mapper;
    const Padded in(std::string(R"({"rule":"r","output_fields":{"evt.time":)") + t + "}}");
    Alert alert;
    ASSERT_TRUE(mapper.map(in.view(), InputFormat::kFalco, alert, [](Alert&) {}).ok());
    if (alert.has_timestamp) {
      EXPECT_LE(alert.timestamp_ns, int64_t{1} << 62);
      EXPECT_GE(alert.timestamp_ns, -(int64_t{1} << 62));
    }
  }
  // In range: 1618347519000000 microseconds.
  const Padded in(R"({"rule":"r","output_fields":{"evt.time":1618347519000000}})");
  JsonMapper mapper;
  Alert alert;
  ASSERT_TRUE(mapper.map(in.view(), InputFormat::kFalco, alert, [](Alert&) {}).ok());
  EXPECT_EQ(alert.timestamp_ns, 1618347519'000000000LL);
}

// json_map_fuzz, UBSan (simdjson's SIMDJSON_ASSUME in assert_at_container_start): the
// Alertmanager mapping called get_object() on a document whose root object was already
// started, which simdjson assumes never happens. Minimized input: format byte 5d
// (alertmanager, configured mapper), body `{}}`. Checked for undefined behaviour by the
// sanitizer build; here, the verdicts.
TEST(FuzzRegression, JsonMapperAlertmanagerStartsTheRootOnce) {
  const std::pair<const char*, RejectReason> cases[] = {
      {"{}}", RejectReason::kJson},
      {"{}", RejectReason::kFormat},
      {R"({"receiver":"r","alerts":[]})", RejectReason::kFormat},
      {R"({"receiver":"r","alerts":[{}]} )", RejectReason::kNone}};
  for (const auto& [doc, reason] : cases) {
    for (InputFormat f : {InputFormat::kAlertmanager, InputFormat::kJson}) {
      if (f == InputFormat::kJson && reason == RejectReason::kFormat) continue;  // generic then
      SCOPED_TRACE(std::string(doc) + " as " + input_format_name(f));
      JsonMapper mapper;
      const Padded in(doc);
      Alert alert;
      EXPECT_EQ(mapper.map(in.view(), f, alert, [](Alert&) {}).reason, reason);
    }
  }
}

// framing_fuzz, "frames are at most max_message_size": a SIGHUP reload lowers the limit
// (SyslogTcpSession::set_framer_options) while an unterminated line is pending; at the end of
// the stream finish() delivers it whole, over the new limit, where scan() would reject it as
// too large. Minimized input (header: limit 481, reload to 480, one read): 04 80 ff ff ff then
// 481 x 'a'.
TEST(FuzzRegression, FramerFinishKeepsTheReloadedSizeLimit) {
  FramerOptions options;
  options.max_message_size = 481;
  SyslogFramer framer(options);
  std::vector<size_t> frames;
  std::vector<RejectReason> rejects;
  auto on_frame = [&](size_t, size_t len) { frames.push_back(len); };
  auto on_reject = [&](RejectReason r, size_t, size_t, size_t) { rejects.push_back(r); };

  const std::string stream(481, 'a');
  const size_t consumed = framer.scan(stream, on_frame, on_reject);
  ASSERT_EQ(consumed, 0u);  // within the limit, no delimiter yet: pending
  options.max_message_size = 480;
  framer.set_options(options);
  framer.finish(stream, on_frame, on_reject);

  for (size_t len : frames) EXPECT_LE(len, 480u);
  EXPECT_EQ(rejects, std::vector<RejectReason>{RejectReason::kTooLarge});
}

// message_fuzz, slowdown: a corrupt block header claiming a 1 GiB raw size made decode_block
// allocate and zero it before looking at the payload. Now the zstd frame's own content size
// must agree first.
TEST(FuzzRegression, DecodeBlockDoesNotTrustTheDeclaredSize) {
  std::string block("\x01\x01", 2);             // version 1, zstd
  block.append("\x01\x00\x00\x00", 4);          // one alert
  block.append("\x00\x00\x00\x40", 4);          // raw size 1 GiB
  block.append("\x28\xb5\x2f\xfd\x00\x00", 6);  // a zstd frame header, nothing more
  std::string scratch;
  EXPECT_FALSE(decode_block(block, scratch, [](std::string_view) {}));
  EXPECT_LT(scratch.capacity(), size_t{1} << 20);
}

}  // namespace
}  // namespace klaxon
