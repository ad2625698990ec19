// What a notification is, between the notifier (pipeline/notify/: routing, grouping,
// silences, escalation, which decide *that* someone is told) and the sinks (pipeline/sinks/:
// which decide *how*: the bytes of a Slack message or a PagerDuty event, and their delivery).
//
// Value types only: a Notification is a copy of what the notifier knew when it decided, so
// the sinks never look at live incident state and may run on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon::notify {

// Sorted by name, names unique. Incident fields as routing sees them (see incident_labels()
// in notifier.h): severity, category, status, rule, title, host, source_ip, destination_ip,
// user, incident (the id).
using Labels = std::vector<std::pair<std::string, std::string>>;
std::string_view label_value(const Labels& labels, std::string_view name);  // "" when absent

// Why a receiver is told. Values are stored in the outbox: append only, never renumber.
enum class NotifyKind : uint8_t {
  kTrigger = 0,         // first notification of the incident to this receiver
  kUpdate = 1,          // severity rose or new alerts joined (rate-limited)
  kRepeat = 2,          // unchanged, still open, repeat_interval passed
  kEscalation = 3,      // not acknowledged in time: the next escalation level is told
  kAcknowledge = 4,     // somebody acknowledged it (PagerDuty/Opsgenie ack)
  kResolve = 5,         // resolved (PagerDuty resolve)
  kClose = 6,           // the closure notice, to everyone who was told
  kReportDeadline = 7,  // the external-report deadline is near (e.g. 72 h for CUI)
};
const char* notify_kind_name(NotifyKind k);  // "trigger", "update", ...

// One incident as a notification shows it.
struct IncidentView {
  std::string id;  // UUID, 8-4-4-4-12
  std::string title;
  std::string category;
  std::string severity;  // critical, high, medium, low, info
  std::string status;    // open, acknowledged, resolved, closed
  std::string rule;
  std::string assignee;
  Labels labels;                                                 // as routed
  std::vector<std::pair<std::string, std::string>> observables;  // kind, value
  int64_t created_ns = 0;                                        // wall clock, ns since the epoch
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  int64_t status_changed_ns = 0;
  uint64_t alert_count = 0;
  uint64_t occurrences = 0;
  uint32_t escalation_level = 0;   // 0: first responders
  int64_t ack_deadline_ns = 0;     // 0: none
  int64_t report_deadline_ns = 0;  // 0: none
  uint64_t version = 0;            // the incident's event count when this view was taken
};

// One decision to tell one receiver something about one or more incidents (several when
// the route groups them, as Alertmanager groups alerts).
struct Notification {
  std::string receiver;  // the receiver's name in the config
  NotifyKind kind = NotifyKind::kTrigger;
  // Stable for this (receiver, incidents, state change): a retry or a restart sends the same
  // key, so that receivers that deduplicate (PagerDuty dedup_key is per incident, this is per
  // message: Standard Webhooks `webhook-id`, Opsgenie/TheHive request ids) see one message.
  std::string idempotency_key;
  std::vector<IncidentView> incidents;
  std::string group_key;  // the route's aggregation group
  Labels group_labels;
  std::string reason;        // for people: "severity rose to critical", "escalation level 1"
  int64_t created_ns = 0;    // wall clock
  std::string external_url;  // config `notify.external_url`: links are <url>/incidents/<id>
};

}  // namespace klaxon::notify
