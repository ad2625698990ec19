#include "pipeline/stages/sigma/alert_fields.h"

#include <charconv>

namespace klaxon::sigma {

enum class AlertFieldSource::Accessor : uint8_t {
  kNone,
  kMessage,
  kEventKind,
  kEventModule,
  kEventDataset,
  kEventAction,
  kEventCategory,
  kRuleId,
  kRuleName,
  kRuleCategory,
  kHostName,
  kSourceIp,
  kDestinationIp,
  kNetworkTransport,
  kNetworkProtocol,
  kNetworkCommunityId,
  kUserName,
  kObserverVendor,
  kObserverProduct,
  kObserverName,
  kObserverType,
  kSyslogHostname,
  kSyslogAppname,
  kSyslogProcid,
  kSyslogMsgid,
  kLogLevel,
  // Numeric fields: their buffer is numbers_[accessor - kSourcePort].
  kSourcePort,
  kDestinationPort,
  kEventSeverity,
  kSyslogFacility,
  kSyslogSeverity,
  kTimestamp,
};

namespace {

// ECS names (and the syslog ones klaxon fills) -> accessor.
template <typename Acc>
struct NameTable {
  std::string_view name;
  Acc acc;
};

template <typename Acc>
const std::vector<NameTable<Acc>>& table() {
  static const std::vector<NameTable<Acc>> t = {
      {"message", Acc::kMessage},
      {"event.kind", Acc::kEventKind},
      {"event.module", Acc::kEventModule},
      {"event.dataset", Acc::kEventDataset},
      {"event.action", Acc::kEventAction},
      {"event.category", Acc::kEventCategory},
      {"event.severity", Acc::kEventSeverity},
      {"rule.id", Acc::kRuleId},
      {"rule.name", Acc::kRuleName},
      {"rule.category", Acc::kRuleCategory},
      {"host.name", Acc::kHostName},
      {"source.ip", Acc::kSourceIp},
      {"source.port", Acc::kSourcePort},
      {"destination.ip", Acc::kDestinationIp},
      {"destination.port", Acc::kDestinationPort},
      {"network.transport", Acc::kNetworkTransport},
      {"network.protocol", Acc::kNetworkProtocol},
      {"network.community_id", Acc::kNetworkCommunityId},
      {"user.name", Acc::kUserName},
      {"observer.vendor", Acc::kObserverVendor},
      {"observer.product", Acc::kObserverProduct},
      {"observer.name", Acc::kObserverName},
      {"observer.type", Acc::kObserverType},
      {"log.syslog.hostname", Acc::kSyslogHostname},
      {"log.syslog.appname", Acc::kSyslogAppname},
      {"log.syslog.procid", Acc::kSyslogProcid},
      {"log.syslog.msgid", Acc::kSyslogMsgid},
      {"log.syslog.facility.code", Acc::kSyslogFacility},
      {"log.syslog.severity.code", Acc::kSyslogSeverity},
      {"log.level", Acc::kLogLevel},
      {"@timestamp", Acc::kTimestamp},
  };
  return t;
}

std::optional<std::string_view> view(std::string_view v) {
  if (v.data() == nullptr) return std::nullopt;
  return v;
}

}  // namespace

// Names are resolved once here; get() is then a switch on a small enum per read.
AlertFieldSource::AlertFieldSource(const RuleSet& rules) {
  for (const FieldInfo& f : rules.fields()) {
    Accessor a = Accessor::kNone;
    for (const auto& entry : table<Accessor>()) {
      if (entry.name == f.name) a = entry.acc;
    }
    if (a == Accessor::kNone) unresolved_.push_back(f.name);
    accessors_.push_back(a);
  }
}

std::vector<std::string_view> AlertFieldSource::known_fields() {
  std::vector<std::string_view> out;
  for (const auto& entry : table<Accessor>()) out.push_back(entry.name);
  return out;
}

std::optional<std::string_view> AlertFieldSource::get(FieldId id, std::string_view) const {
  if (alert_ == nullptr || id >= accessors_.size()) return std::nullopt;
  const Alert& a = *alert_;
  // Negative numbers are the Alert's "absent" (ports, severities); each numeric field has
  // its own buffer so two of them can be alive in one Detector call.
  auto number = [&](Accessor acc, int64_t v) -> std::optional<std::string_view> {
    if (v < 0) return std::nullopt;
    auto& buf = numbers_[static_cast<size_t>(acc) - static_cast<size_t>(Accessor::kSourcePort)];
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return std::string_view(buf.data(), static_cast<size_t>(r.ptr - buf.data()));
  };
  switch (accessors_[id]) {
    case Accessor::kNone:
      return std::nullopt;
    case Accessor::kMessage:
      return view(a.message);
    case Accessor::kEventKind:
      return view(a.event_kind);
    case Accessor::kEventModule:
      return view(a.event_module);
    case Accessor::kEventDataset:
      return view(a.event_dataset);
    case Accessor::kEventAction:
      return view(a.event_action);
    case Accessor::kEventCategory:
      return view(a.event_category);
    case Accessor::kRuleId:
      return view(a.rule_id);
    case Accessor::kRuleName:
      return view(a.rule_name);
    case Accessor::kRuleCategory:
      return view(a.rule_category);
    case Accessor::kHostName:
      // As in the dedupe key: the body's host, else the syslog HOSTNAME.
      return view(a.host_name.empty() ? a.syslog.hostname : a.host_name);
    case Accessor::kSourceIp:
      return view(a.source_ip);
    case Accessor::kDestinationIp:
      return view(a.destination_ip);
    case Accessor::kNetworkTransport:
      return view(a.network_transport);
    case Accessor::kNetworkProtocol:
      return view(a.network_protocol);
    case Accessor::kNetworkCommunityId:
      return view(a.network_community_id);
    case Accessor::kUserName:
      return view(a.user_name);
    case Accessor::kObserverVendor:
      return view(a.observer_vendor);
    case Accessor::kObserverProduct:
      return view(a.observer_product);
    case Accessor::kObserverName:
      return view(a.observer_name);
    case Accessor::kObserverType:
      return view(a.observer_type);
    case Accessor::kSyslogHostname:
      return view(a.syslog.hostname);
    case Accessor::kSyslogAppname:
      return view(a.syslog.appname);
    case Accessor::kSyslogProcid:
      return view(a.syslog.procid);
    case Accessor::kSyslogMsgid:
      return view(a.syslog.msgid);
    case Accessor::kLogLevel:
      // klaxon's normalized level ("info" .. "critical"), always present.
      return std::string_view(severity_name(a.severity));
    case Accessor::kSourcePort:
      return number(Accessor::kSourcePort, a.source_port);
    case Accessor::kDestinationPort:
      return number(Accessor::kDestinationPort, a.destination_port);
    case Accessor::kEventSeverity:
      return number(Accessor::kEventSeverity, a.event_severity);
    case Accessor::kSyslogFacility:
      return number(Accessor::kSyslogFacility, a.syslog.facility);
    case Accessor::kSyslogSeverity:
      return number(Accessor::kSyslogSeverity, a.syslog.severity);
    case Accessor::kTimestamp:
      // Epoch nanoseconds as text: parse_time_value() reads it back, and comparisons such as
      // |gte work on it.
      if (!a.has_timestamp) return std::nullopt;
      return number(Accessor::kTimestamp, a.timestamp_ns);
  }
  return std::nullopt;
}

}  // namespace klaxon::sigma
