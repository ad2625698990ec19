#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/block.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/syslog_parse.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

std::string padded(const std::string& s) { return s + std::string(kParsePadding, '\0'); }

std::string parse_to_json(const std::string& frame, ParseStatus* status = nullptr) {
  MessageParser p{ParseOptions{}};
  Alert a;
  IngestMeta meta;
  meta.transport = Transport::kTcp;
  meta.peer = "127.0.0.1:40000";
  meta.listener = "syslog_tcp";
  meta.received_ns = 1'779'271'262'000'000'000LL;
  const std::string buf = padded(frame);
  const ParseStatus s =
      p.parse(std::string_view(buf.data(), frame.size()), meta, meta.received_ns, a);
  if (status) *status = s;
  if (!s.ok()) return "";
  std::string out;
  append_alert_json(a, out);
  return out;
}

TEST(MessageParser, Rfc5424WithSuricataJsonBodyNormalizes) {
  const std::string frame =
      R"(<165>1 2026-05-20T08:14:15.003Z fw01.example.org suricata 2214 ALERT [meta sequenceId="42"] )"
      R"({"timestamp":"2026-05-20T08:14:15.000001+0000","event_type":"alert","src_ip":"192.0.2.7",)"
      R"("dest_ip":"198.51.100.20","dest_port":22,"proto":"TCP","alert":{"signature_id":2001219,)"
      R"("signature":"ET SCAN","category":"Scan","severity":1}})";
  const std::string json = parse_to_json(frame);
  ASSERT_FALSE(json.empty());
  simdjson::dom::parser dp;
  simdjson::dom::element doc = dp.parse(json);
  EXPECT_EQ(std::string_view(doc["event"]["kind"]), "alert");
  EXPECT_EQ(std::string_view(doc["rule"]["id"]), "2001219");
  EXPECT_EQ(std::string_view(doc["klaxon"]["severity"]), "high");
  EXPECT_EQ(std::string_view(doc["network"]["transport"]), "tcp");
  EXPECT_EQ(std::string_view(doc["host"]["name"]), "fw01.example.org");
  EXPECT_EQ(std::string_view(doc["log"]["syslog"]["structured_data"]["meta"]["sequenceId"]), "42");
  EXPECT_EQ(int64_t(doc["log"]["syslog"]["priority"]), 165);
  EXPECT_EQ(std::string_view(doc["@timestamp"]), "2026-05-20T08:14:15.000001Z");
  EXPECT_EQ(std::string_view(doc["event"]["original"]), frame);
  // sha256 of the exact frame bytes
  EXPECT_EQ(std::string_view(doc["event"]["hash"]).substr(0, 7), "sha256:");
  EXPECT_EQ(std::string_view(doc["klaxon"]["ingest"]["peer"]), "127.0.0.1:40000");
}

TEST(MessageParser, HashIsSha256OfTheRawBytes) {
  // sha256("<13>hello") computed independently with `printf '<13>hello' | sha256sum`.
  const std::string json = parse_to_json("<13>hello");
  EXPECT_NE(
      json.find(
          "\"hash\":\"sha256:e86623cd6c347598ae8ebe057e9944889d8efcc1bd2beb6360344b74ab21ce82\""),
      std::string::npos)
      << json;
}

TEST(MessageParser, BrokenJsonBodyIsRejectedWithItsColumn) {
  ParseStatus s;
  EXPECT_EQ(parse_to_json("<13>1 2026-05-20T08:14:15Z h a - - - {\"a\":", &s), "");
  EXPECT_EQ(s.reason, RejectReason::kJson);
  EXPECT_GT(s.column, 30u);
}

TEST(MessageParser, InvalidUtf8IsKeptExactlyAsBase64) {
  const std::string frame = "<13>Nov 23 08:00:00 host app: caf\xe9 \xff";
  const std::string json = parse_to_json(frame);
  ASSERT_FALSE(json.empty());
  simdjson::dom::parser dp;
  simdjson::dom::element doc = dp.parse(json);  // valid JSON despite the input
  EXPECT_TRUE(doc["event"]["original_base64"].is_string());
  EXPECT_FALSE(doc["event"]["original"].is_string());
}

TEST(AlertRecord, RoundTripRendersTheSameJsonAndRejectsTruncation) {
  const std::string frame =
      R"(<165>1 2026-05-20T08:14:15.003Z fw01 suricata 2214 ALERT [m a="x\"y"] )"
      R"({"event_type":"alert","src_ip":"192.0.2.7","src_port":1,"alert":{"signature":"esc\u0041ped","severity":1}})";
  const std::string buf = padded(frame);
  MessageParser p{ParseOptions{}};
  Alert a;
  IngestMeta meta;
  meta.peer = "127.0.0.1:1";
  meta.listener = "l";
  meta.tls_subject = "CN=sender01.example.org";
  meta.tls_fingerprint = "sha256:AB:CD";
  meta.received_ns = 1'779'271'262'000'000'000LL;
  ASSERT_TRUE(p.parse(std::string_view(buf.data(), frame.size()), meta, meta.received_ns, a).ok());
  std::string direct, record, via_record;
  append_alert_json(a, direct);
  append_alert_record(a, record);
  // Most fields are slices of the raw bytes, so the record is barely larger than the message:
  // a fixed head (about 100 bytes with the SHA-256) and 1 to 4 bytes per string field.
  EXPECT_LT(record.size(), frame.size() + 256);
  Alert back;
  ASSERT_TRUE(read_alert_record(record, back));
  append_alert_json(back, via_record);
  EXPECT_EQ(direct, via_record);
  EXPECT_EQ(back.ingest.tls_subject, "CN=sender01.example.org");  // every field survives
  EXPECT_NE(direct.find("\"name\":\"escAped\""), std::string::npos) << direct;
  for (size_t cut = 0; cut < record.size(); cut += 7) {
    EXPECT_FALSE(read_alert_record(std::string_view(record).substr(0, cut), back)) << cut;
  }
}

TEST(AlertRecord, ObservablesLabelsAndFormatSurviveTheRecord) {
  const std::string raw = "raw bytes: evil.example.org";
  Alert a;
  a.raw = raw;
  a.format = InputFormat::kCef;
  a.file_hash_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  a.url_original = "https://evil.example.org/x?a=1";
  a.url_domain = std::string_view(raw).substr(11);  // a slice of the raw bytes
  a.process_command_line = "sh -c id";
  const std::string key = "quote\"key";  // label keys come from messages: escaped on output
  ASSERT_TRUE(a.add_label(key, "v1"));
  ASSERT_TRUE(a.add_label("deviceExternalId", "fw-7"));
  EXPECT_FALSE(a.add_label("deviceExternalId", "again"));  // the first value of a key stays
  std::vector<std::string> keys;  // the Alert holds views: the keys must outlive it
  for (int i = 0; i < 40; ++i) keys.push_back(std::to_string(1000 + i));
  for (const auto& k : keys) a.add_label(k, "x");
  EXPECT_EQ(a.label_count, kMaxAlertLabels);
  EXPECT_EQ(a.labels_dropped, 40 + 2 - kMaxAlertLabels);

  std::string record, direct, via_record;
  append_alert_record(a, record);
  append_alert_json(a, direct);
  Alert back;
  ASSERT_TRUE(read_alert_record(record, back));
  append_alert_json(back, via_record);
  EXPECT_EQ(direct, via_record);
  EXPECT_EQ(back.format, InputFormat::kCef);
  EXPECT_EQ(back.label_count, kMaxAlertLabels);
  EXPECT_EQ(back.labels[1].value, "fw-7");
  EXPECT_EQ(back.url_domain.data(), back.raw.data() + 11);  // stored as a slice, not a copy

  simdjson::dom::parser jp;
  simdjson::dom::element doc;
  ASSERT_FALSE(jp.parse(direct).get(doc)) << direct;
  EXPECT_EQ(std::string_view(doc["file"]["hash"]["sha256"]), a.file_hash_sha256);
  EXPECT_EQ(std::string_view(doc["url"]["domain"]), "evil.example.org");
  EXPECT_EQ(std::string_view(doc["process"]["command_line"]), "sh -c id");
  EXPECT_EQ(std::string_view(doc["labels"]["quote\"key"]), "v1");
  EXPECT_EQ(std::string_view(doc["klaxon"]["body"]), "cef");
  EXPECT_EQ(int64_t(doc["klaxon"]["labels_dropped"]), 40 + 2 - int64_t{kMaxAlertLabels});
  for (size_t cut = 0; cut < record.size(); cut += 5) {
    EXPECT_FALSE(read_alert_record(std::string_view(record).substr(0, cut), back)) << cut;
  }
}

ParseStatus parse_as(const std::string& frame, InputFormat format, Alert& a) {
  static MessageParser p{ParseOptions{}};
  static std::string buf;
  buf = padded(frame);
  IngestMeta meta;
  meta.format = format;
  meta.received_ns = 1'779'271'262'000'000'000LL;
  return p.parse(std::string_view(buf.data(), frame.size()), meta, meta.received_ns, a);
}

TEST(MessageParser, ExplicitFormatRejectsABodyOfAnotherFormat) {
  Alert a;
  const std::string json = R"(<13>1 - host app - - - {"rule":"r","src_ip":"192.0.2.1"})";
  ASSERT_TRUE(parse_as(json, InputFormat::kAuto, a).ok());
  EXPECT_TRUE(a.body_is_json);
  EXPECT_EQ(a.source_ip, "192.0.2.1");

  ParseStatus s = parse_as(json, InputFormat::kCef, a);
  EXPECT_EQ(s.reason, RejectReason::kFormat);
  EXPECT_STREQ(s.what, "cef");
  EXPECT_EQ(s.column, json.find('{'));  // where the body starts

  // A JSON dialect accepts any JSON object body (it decides what the keys mean).
  ASSERT_TRUE(parse_as(json, InputFormat::kGeneric, a).ok());

  // `syslog` keeps the body as text: nothing is parsed out of it.
  ASSERT_TRUE(parse_as(json, InputFormat::kSyslog, a).ok());
  EXPECT_FALSE(a.body_is_json);
  EXPECT_EQ(a.format, InputFormat::kSyslog);
  EXPECT_TRUE(a.source_ip.empty());
  EXPECT_EQ(a.message, R"({"rule":"r","src_ip":"192.0.2.1"})");

  // Free text under an explicit JSON format is refused, not stored as text.
  EXPECT_EQ(parse_as("<13>1 - host app - - - plain words", InputFormat::kJson, a).reason,
            RejectReason::kFormat);
  EXPECT_EQ(parse_as("<13>1 - host app - - - plain words", InputFormat::kAuto, a).reason,
            RejectReason::kNone);
}

// Filebeat ships a log line as the event's `message` (to Kafka, or to the Beats listener): the
// syslog line inside is parsed too, and a CEF record inside that.
TEST(MessageParser, ABeatsEventCarryingASyslogLineIsParsedThrough) {
  Alert a;
  const std::string syslog_event =
      R"({"@timestamp":"2026-11-23T10:00:05.120Z","agent":{"type":"filebeat","name":"fb01"},)"
      R"("ecs":{"version":"8.0.0"},"log":{"file":{"path":"/var/log/auth.log"}},)"
      R"("message":"<34>1 2026-11-23T09:59:59.5Z bastion01 sshd 4242 - - Failed password for \"root\" from 203.0.113.7"})";
  ASSERT_TRUE(parse_as(syslog_event, InputFormat::kAuto, a).ok());
  EXPECT_EQ(a.format, InputFormat::kBeats);
  EXPECT_EQ(a.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(a.syslog.appname, "sshd");
  EXPECT_EQ(a.syslog.hostname, "bastion01");
  EXPECT_EQ(a.severity, Severity::kCritical);  // PRI 34: auth.crit
  EXPECT_EQ(a.message, R"(Failed password for "root" from 203.0.113.7)");
  std::string ts;
  append_rfc3339(a.timestamp_ns, ts);
  EXPECT_EQ(ts, "2026-11-23T09:59:59.5Z");  // the line's time, not the shipper's

  const std::string cef_event =
      R"({"@timestamp":"2026-11-23T10:00:05Z","agent":{"type":"filebeat"},)"
      R"("message":"<134>Nov 23 09:59:58 fw01 CEF:0|Acme|Edge|1.0|100|Port scan|7|src=198.51.100.4 dst=10.0.0.5 dpt=22"})";
  ASSERT_TRUE(parse_as(cef_event, InputFormat::kAuto, a).ok());
  EXPECT_EQ(a.rule_name, "Port scan");
  EXPECT_EQ(a.source_ip, "198.51.100.4");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.severity, Severity::kHigh);  // CEF 7

  // A line that is not syslog stays the event's message; a broken envelope changes nothing.
  ASSERT_TRUE(parse_as(R"({"@timestamp":"2026-11-23T10:00:05Z","agent":{"type":"filebeat"},)"
                       R"("message":"<999>1 broken"})",
                       InputFormat::kAuto, a)
                  .ok());
  EXPECT_EQ(a.message, "<999>1 broken");
  EXPECT_EQ(a.syslog.format, SyslogFormat::kNone);
}

TEST(BlockBuilder, RoundTripCompressedAndPlain) {
  for (int n : {1, 3, 1000}) {
    BlockBuilder b(1);
    for (int i = 0; i < n; ++i) {
      b.begin_record().append("{\"i\":" + std::to_string(i) + "}");
      b.end_record();
    }
    EncodedBlock block;
    b.finish(block);
    EXPECT_EQ(block.count, static_cast<uint32_t>(n));
    std::string scratch;
    int seen = 0;
    ASSERT_TRUE(decode_block(block.bytes, scratch, [&](std::string_view j) {
      EXPECT_EQ(j, "{\"i\":" + std::to_string(seen) + "}");
      ++seen;
    }));
    EXPECT_EQ(seen, n);
    // Any truncation is detected, never read past.
    for (size_t cut : {size_t{0}, size_t{5}, block.bytes.size() / 2, block.bytes.size() - 1}) {
      EXPECT_FALSE(decode_block(std::string_view(block.bytes).substr(0, cut), scratch,
                                [](std::string_view) {}));
    }
  }
}

TEST(ParseStage, BatchesBecomeBlocksAndRejectionsAreCarried) {
  prometheus::Registry registry;
  PipelineMetrics metrics(registry);
  BoundedQueue<RawBatch> in(8);
  BoundedQueue<EncodedBlock> out(8);
  ParseStageOptions o;
  ParseStage stage(o, in, out, metrics);
  stage.start();
  auto batch = std::make_unique<RawBatch>();
  for (const std::string m : {"<13>Nov 23 08:00:00 h a: one", "<999>bad pri",
                              "<13>1 2026-11-23T08:00:00Z h a - - - two"}) {
    batch->frames.push_back(
        FrameRef{static_cast<uint32_t>(batch->buffer.size()), static_cast<uint32_t>(m.size())});
    batch->buffer.append(m);
  }
  batch->buffer.append(kParsePadding, '\0');
  batch->received_ns = 1;
  ASSERT_TRUE(in.try_push(batch));
  std::unique_ptr<EncodedBlock> block;
  for (int i = 0; i < 100 && !block; ++i) block = out.pop_wait(std::chrono::milliseconds(50));
  stage.drain_and_stop();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->count, 2u);
  ASSERT_EQ(block->rejected.size(), 1u);
  EXPECT_EQ(block->rejected[0].reason, RejectReason::kBadPri);
  EXPECT_EQ(block->rejected[0].sample, "<999>bad pri");
  EXPECT_EQ(metrics.parse_accepted->Value(), 2);
  EXPECT_EQ(metrics.rejected[static_cast<int>(RejectReason::kBadPri)]->Value(), 1);
}

}  // namespace
}  // namespace klaxon
