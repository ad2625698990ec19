// Alert: klaxon's one normalized record, with ECS (Elastic Common Schema) field names.
//
// An Alert is a *view*: every string_view points either into the raw frame (owned by the
// RawBatch the frame came in) or into the parser scratch of the worker that filled it (the
// simdjson parser's string buffer). It lives for the duration of one parse + encode on one
// worker thread and is never shared or stored; what is stored is its JSON encoding
// (alert_json.h). That is what keeps the hot path free of per-message allocations.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace klaxon {

// The five normalized levels every source is mapped to (crosswalk in pipeline/README.md).
enum class Severity : uint8_t { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };
const char* severity_name(Severity s);
// Syslog severity 0..7 -> five levels: 0-2 critical, 3 high, 4 medium, 5 low, 6-7 info.
Severity severity_from_syslog(int code);
// Suricata alert.severity: 1 high, 2 medium, 3 low, >=4 info (1 is the most severe).
Severity severity_from_suricata(int64_t level);
// Free-text levels seen in generic JSON ("critical", "error", "warning", "P1"...); nullopt-like
// false return when the word is unknown.
bool severity_from_word(std::string_view word, Severity* out);

enum class Transport : uint8_t { kUdp, kTcp, kTls, kKafka, kHttp, kStdin };
const char* transport_name(Transport t);

enum class SyslogFormat : uint8_t { kNone, kRfc5424, kRfc3164 };
const char* syslog_format_name(SyslogFormat f);

// What a listener (or Kafka topic) says its messages are. kAuto detects per message: an
// optional syslog envelope, then a body that is CEF ("CEF:"), LEEF ("LEEF:"), JSON ("{", its
// dialect recognised by its keys) or free text. An explicit format still accepts a syslog
// envelope in front (CEF over syslog is the usual case) but rejects a body that is not in it.
// The JSON dialects (kSuricata ... kGeneric) name the mapping to use; kJson picks one by keys.
// In the stored record this is the format that was *detected* (never kAuto).
enum class InputFormat : uint8_t {
  kAuto = 0,
  kSyslog,  // syslog envelope, body kept as text (no JSON/CEF/LEEF parsing)
  kJson,
  kCef,
  kLeef,
  kSuricata,
  kWazuh,
  kFalco,
  kZeek,
  kAlertmanager,
  kBeats,   // Elastic Beats / ECS events (Filebeat, Winlogbeat, Elastic Agent)
  kGeneric  // any other JSON: common key names plus the configured field paths
};
inline constexpr int kInputFormatCount = 12;
const char* input_format_name(InputFormat f);
// "auto", "syslog", "json", "cef", ... (the names above, lower case); false when unknown.
bool input_format_from_name(std::string_view name, InputFormat* out);

// Why a message was rejected. A bounded set: it is a metric label.
enum class RejectReason : uint8_t {
  kNone = 0,
  kEmpty,        // nothing left after stripping the trailer
  kTooLarge,     // frame over max_message_size
  kFraming,      // octet count malformed (too many digits, over the limit, not a number)
  kBadPri,       // "<...>" present but not a valid PRI
  kRfc5424,      // looks like RFC 5424 ("<PRI>1 ") but violates its grammar
  kInvalidUtf8,  // bytes that must be UTF-8 are not (RFC 5424 MSG after a BOM)
  kJson,         // body starts like JSON but is not valid JSON
  kQueueFull,    // dropped for backpressure (UDP only; TCP pauses instead)
  kFormat,       // the body is not in the listener's format, or is malformed CEF/LEEF
};
inline constexpr int kRejectReasonCount = 10;
const char* reject_reason_name(RejectReason r);

// Outcome of one parse step. Not a Result<T>: parse failures are the common case under a
// hostile flood, so this carries only static text and never allocates.
struct ParseStatus {
  RejectReason reason = RejectReason::kNone;
  const char* what = "";  // static text: what was expected
  uint32_t column = 0;    // 0-based byte offset where parsing stopped

  bool ok() const { return reason == RejectReason::kNone; }
  static ParseStatus fail(RejectReason r, const char* what, size_t column) {
    return ParseStatus{r, what, static_cast<uint32_t>(column)};
  }
};

// Where an alert came from. Set by the source for a whole read; shared by its frames.
struct IngestMeta {
  Transport transport = Transport::kTcp;
  std::string_view peer;      // "192.0.2.1:51514" or "[::1]:5000"
  std::string_view listener;  // configured listener name
  int64_t received_ns = 0;    // wall clock, UTC nanoseconds
  // The TLS client's certificate, when it presented one (mutual TLS).
  std::string_view tls_subject;      // "CN=sender01.example.org"
  std::string_view tls_fingerprint;  // "sha256:AB:CD:..."
  // Kafka: where the message was (partition -1 for other transports).
  std::string_view kafka_topic;
  int32_t kafka_partition = -1;
  int64_t kafka_offset = -1;
  // The listener's (or topic's) configured format; not stored (Alert::format is).
  InputFormat format = InputFormat::kAuto;
};

// A key/value the source carried that has no ECS field of its own (CEF custom strings named
// by their label, LEEF attributes, Alertmanager labels and annotations, Falco output fields).
// Rendered as ECS `labels`.
struct AlertLabel {
  std::string_view key, value;
};
inline constexpr size_t kMaxAlertLabels = 24;

struct SyslogFields {
  SyslogFormat format = SyslogFormat::kNone;
  int facility = -1;  // -1: the message had no PRI
  int severity = -1;
  int version = 0;  // 1 for RFC 5424
  std::string_view hostname, appname, procid, msgid;
  std::string_view structured_data;  // raw SD text, validated; empty for NILVALUE
  bool has_bom = false;
};

struct Alert {
  // Event time (UTC nanoseconds since the epoch) when the message carried one.
  int64_t timestamp_ns = 0;
  bool has_timestamp = false;
  Severity severity = Severity::kInfo;
  SyslogFields syslog;
  std::string_view message;  // the free text (syslog MSG without BOM), if any

  // ECS fields filled by the body mappers (JSON today).
  std::string_view event_kind = "event";  // "alert" for detections
  std::string_view event_module, event_dataset, event_action, event_category;
  int64_t event_severity = -1;  // the source's own numeric severity (ECS event.severity)
  std::string_view rule_id, rule_name, rule_category;
  std::string_view host_name;
  std::string_view source_ip, destination_ip;
  int32_t source_port = -1, destination_port = -1;
  std::string_view network_transport, network_protocol, network_community_id;
  std::string_view user_name;
  std::string_view observer_vendor, observer_product, observer_name, observer_type;
  // Further observables (issue 4): they feed dedupe keys, correlation and enrichment.
  std::string_view file_name, file_path, file_hash_md5, file_hash_sha1, file_hash_sha256;
  std::string_view url_original, url_domain;
  std::string_view process_name, process_command_line;
  bool body_is_json = false;
  // The body format that was detected (kSyslog for free text after a syslog envelope).
  InputFormat format = InputFormat::kSyslog;
  // labels[0, label_count); labels past kMaxAlertLabels are counted in labels_dropped.
  std::array<AlertLabel, kMaxAlertLabels> labels{};
  uint8_t label_count = 0;
  uint16_t labels_dropped = 0;
  // Keeps the first value of a key (a repeated key is ignored). False when full or repeated.
  bool add_label(std::string_view key, std::string_view value) {
    for (size_t i = 0; i < label_count; ++i)
      if (labels[i].key == key) return false;
    if (label_count == kMaxAlertLabels) {
      ++labels_dropped;
      return false;
    }
    labels[label_count++] = AlertLabel{key, value};
    return true;
  }

  // The bytes exactly as received (after framing) and their SHA-256.
  std::string_view raw;
  std::array<uint8_t, 32> raw_sha256{};
  IngestMeta ingest;
};

// Every string field of an Alert (raw excepted), as pointers to its members, in the stored
// record's order: appending or reordering one is a new record version (alert_record.cc).
// Also for code that must copy or clear all of them. A is Alert or const Alert.
template <typename A>
auto alert_string_fields(A& a) {
  return std::array{&a.message,
                    &a.syslog.hostname,
                    &a.syslog.appname,
                    &a.syslog.procid,
                    &a.syslog.msgid,
                    &a.syslog.structured_data,
                    &a.event_kind,
                    &a.event_module,
                    &a.event_dataset,
                    &a.event_action,
                    &a.event_category,
                    &a.rule_id,
                    &a.rule_name,
                    &a.rule_category,
                    &a.host_name,
                    &a.source_ip,
                    &a.destination_ip,
                    &a.network_transport,
                    &a.network_protocol,
                    &a.network_community_id,
                    &a.user_name,
                    &a.observer_vendor,
                    &a.observer_product,
                    &a.observer_name,
                    &a.observer_type,
                    &a.ingest.peer,
                    &a.ingest.listener,
                    &a.ingest.tls_subject,
                    &a.ingest.tls_fingerprint,
                    &a.ingest.kafka_topic,
                    &a.file_name,
                    &a.file_path,
                    &a.file_hash_md5,
                    &a.file_hash_sha1,
                    &a.file_hash_sha256,
                    &a.url_original,
                    &a.url_domain,
                    &a.process_name,
                    &a.process_command_line};
}

}  // namespace klaxon
