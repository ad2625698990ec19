// IntegrationConfig: one configured way of telling one receiver (a Slack webhook, a PagerDuty
// service, an SMTP smarthost...), parsed from one entry of `notify.receivers`.
//
// The notifier (pipeline/notify/) decides *that* a receiver is told; a receiver owns one or
// more integrations (its `*_configs` lists), and each integration has its own bytes
// (render.h), its own queue, rate limit and retry budget (deliverer.h). Secrets named by a
// `*_file` key are read when the config is parsed, so a missing file fails at start-up.
//
// Value types and free functions; any thread.
#pragma once

#include "pipeline/core/result.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon::sinks {

// Values appear in encoded requests (request.h): append only, never renumber.
enum class SinkKind : uint8_t {
  kWebhook = 0,    // klaxon's own JSON, signed per Standard Webhooks
  kSlack = 1,      // incoming webhook: text + Block Kit blocks
  kPagerDuty = 2,  // Events API v2, one event per incident
  kOpsgenie = 3,   // Alert API, per incident by alias
  kTeams = 4,      // Teams Workflows webhook: an Adaptive Card message
  kTheHive = 5,    // TheHive 5 alert API, per incident
  kEmail = 6,      // SMTP through libcurl
};
inline constexpr int kSinkKindCount = 7;
// "webhook", "slack", "pagerduty", "opsgenie", "teams", "thehive", "email": the names used
// in integration names and in the `<name>_configs` keys.
const char* sink_kind_name(SinkKind k);

// What happens when an integration's queue is full (Vector's buffer `when_full` choices,
// minus blocking: a sink never blocks the notifier).
enum class Overflow : uint8_t { kDropOldest = 0, kDropNewest = 1 };

enum class SmtpTls : uint8_t {
  kStartTls = 0,  // smtp:// then STARTTLS, required (RFC 3207); port 587
  kImplicit = 1,  // smtps:// (RFC 8314); port 465
  kNone = 2,      // plain text: only to 127.0.0.1 / localhost / ::1 (a local relay)
};

// An Opsgenie responder: exactly one of id, name, username; type team|user|escalation|schedule.
struct OpsgenieResponder {
  std::string id;
  std::string name;
  std::string username;
  std::string type;
};

struct IntegrationConfig {
  std::string name;      // "<receiver>/<kind>/<index>", e.g. "soc/slack/0"
  std::string receiver;  // the receiver's name
  SinkKind kind = SinkKind::kWebhook;

  // Where requests go. Complete for webhook, Slack, Teams and PagerDuty; the API base for
  // Opsgenie and TheHive (requests append their path); "smtp://host:port" or
  // "smtps://host:port" for email (built from `smarthost` and `tls`).
  std::string url;
  std::string ca_file;  // PEM bundle to verify the server with; empty: the system store

  // Secrets. Never written into an encoded request (request.h): attached at send time.
  std::string signing_key;   // webhook: the decoded bytes of `secret: whsec_<base64>`
  std::string routing_key;   // PagerDuty integration key (goes in the event body)
  std::string api_key;       // Opsgenie (GenieKey) and TheHive (Bearer)
  std::string organisation;  // TheHive X-Organisation (not a secret)

  // Delivery policy (deliverer.h).
  int64_t timeout_ns = 15'000'000'000;  // whole request, connect included
  double rate_limit_per_minute = 0;     // token bucket; 0: unlimited
  uint32_t burst = 1;                   // bucket size
  uint32_t queue_capacity = 1000;       // requests held (queued, waiting to retry, in flight)
  Overflow overflow = Overflow::kDropOldest;
  uint32_t max_attempts = 10;
  int64_t max_retry_duration_ns = 24LL * 3600 * 1'000'000'000;  // from the request's creation
  uint32_t max_in_flight = 4;  // concurrent requests to this integration

  // Rendering.
  uint32_t max_incidents = 10;  // incidents listed in one Slack/Teams/email message

  // Opsgenie.
  std::vector<OpsgenieResponder> responders;
  std::vector<std::string> tags;  // also TheHive

  // TheHive.
  std::string alert_type = "klaxon-incident";  // with source and sourceRef: TheHive's key
  std::string source = "klaxon";
  int tlp = 2;  // 0 CLEAR .. 4 RED
  int pap = 2;  // 0 CLEAR .. 3 RED

  // Email.
  SmtpTls smtp_tls = SmtpTls::kStartTls;
  std::string smarthost;  // host:port as configured
  std::string from;       // RFC 5322 mailbox: "klaxon <klaxon@example.org>" or a bare address
  std::vector<std::string> to;
  std::string auth_username;
  std::string auth_password;
};

// Parses one entry of `notify.receivers` (a map with `name` and `*_configs` lists) into its
// integrations, in config order. `name` and `send_resolved` belong to the notifier and are
// ignored here, as are other receiver keys that do not end in `_configs`; an unknown
// `*_configs` list or an unknown key inside an entry is an error naming it. Errors read
// "notify.receivers[<name>].<kind>_configs[<i>].<key>: what was expected".
Result<std::vector<IntegrationConfig>> parse_integrations(const YAML::Node& receiver);

// "15s", "250ms", "5m", "24h", "2d" -> ns; used for `timeout` and `max_retry_duration`.
Result<int64_t> parse_duration_ns(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": where plain http:// and SMTP without TLS go.
bool is_loopback_host(std::string_view host);

// The addr-spec of an RFC 5322 mailbox: "klaxon <k@example.org>" and "k@example.org" both
// give "k@example.org". ASCII only, one '@', no spaces or control characters.
Result<std::string> mailbox_address(std::string_view mailbox);

}  // namespace klaxon::sinks
