#include "pipeline/core/alert.h"

#include <cctype>

namespace klaxon {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

Severity severity_from_syslog(int code) {
  // No PRI: RFC 3164 relays would assume user.notice (5), i.e. low; the message claims
  // nothing, so it stays info unless its body says otherwise.
  if (code < 0) return Severity::kInfo;
  if (code <= 2) return Severity::kCritical;
  if (code == 3) return Severity::kHigh;
  if (code == 4) return Severity::kMedium;
  if (code == 5) return Severity::kLow;
  return Severity::kInfo;
}

Severity severity_from_suricata(int64_t level) {
  if (level <= 1) return Severity::kHigh;
  if (level == 2) return Severity::kMedium;
  if (level == 3) return Severity::kLow;
  return Severity::kInfo;
}

namespace {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}
}  // namespace

bool severity_from_word(std::string_view w, Severity* out) {
  struct Entry {
    std::string_view word;
    Severity level;
  };
  // Syslog keywords, Falco priorities, Alertmanager conventions, Opsgenie priorities.
  static constexpr Entry kTable[] = {
      {"critical", Severity::kCritical},
      {"crit", Severity::kCritical},
      {"emergency", Severity::kCritical},
      {"emerg", Severity::kCritical},
      {"alert", Severity::kCritical},
      {"fatal", Severity::kCritical},
      {"p1", Severity::kCritical},
      {"high", Severity::kHigh},
      {"error", Severity::kHigh},
      {"err", Severity::kHigh},
      {"major", Severity::kHigh},
      {"p2", Severity::kHigh},
      {"medium", Severity::kMedium},
      {"warning", Severity::kMedium},
      {"warn", Severity::kMedium},
      {"moderate", Severity::kMedium},
      {"p3", Severity::kMedium},
      {"low", Severity::kLow},
      {"notice", Severity::kLow},
      {"minor", Severity::kLow},
      {"p4", Severity::kLow},
      {"info", Severity::kInfo},
      {"informational", Severity::kInfo},
      {"debug", Severity::kInfo},
      {"none", Severity::kInfo},
      {"p5", Severity::kInfo},
  };
  for (const auto& e : kTable) {
    if (iequals(w, e.word)) {
      *out = e.level;
      return true;
    }
  }
  return false;
}

const char* transport_name(Transport t) {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
    case Transport::kKafka:
      return "kafka";
    case Transport::kHttp:
      return "http";
    case Transport::kStdin:
      return "stdin";
  }
  return "unknown";
}

const char* syslog_format_name(SyslogFormat f) {
  switch (f) {
    case SyslogFormat::kNone:
      return "none";
    case SyslogFormat::kRfc5424:
      return "rfc5424";
    case SyslogFormat::kRfc3164:
      return "rfc3164";
  }
  return "none";
}

const char* reject_reason_name(RejectReason r) {
  switch (r) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kEmpty:
      return "empty";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kFraming:
      return "framing";
    case RejectReason::kBadPri:
      return "bad_pri";
    case RejectReason::kRfc5424:
      return "rfc5424";
    case RejectReason::kInvalidUtf8:
      return "invalid_utf8";
    case RejectReason::kJson:
      return "json";
    case RejectReason::kQueueFull:
      return "queue_full";
    case RejectReason::kFormat:
      return "format";
  }
  return "unknown";
}

namespace {
constexpr const char* kInputFormatNames[kInputFormatCount] = {
    "auto",  "syslog", "json", "cef",          "leef",  "suricata",
    "wazuh", "falco",  "zeek", "alertmanager", "beats", "generic"};
}  // namespace

const char* input_format_name(InputFormat f) {
  const auto i = static_cast<size_t>(f);
  return i < static_cast<size_t>(kInputFormatCount) ? kInputFormatNames[i] : "unknown";
}

bool input_format_from_name(std::string_view name, InputFormat* out) {
  for (int i = 0; i < kInputFormatCount; ++i) {
    if (name == kInputFormatNames[i]) {
      *out = static_cast<InputFormat>(i);
      return true;
    }
  }
  return false;
}

}  // namespace klaxon
