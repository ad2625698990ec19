// render(): the exact bytes each receiver kind expects for one Notification
// (/work/shared/reference/ecosystem.md §4 has the formats and where they come from).
//
//   webhook    one JSON document per notification, klaxon's schema "version":"1" with the
//              full incident views; signed per attempt by the Deliverer (Standard Webhooks)
//   slack      one message: fallback `text` + Block Kit `blocks`, up to max_incidents listed
//   teams      one Workflows message with an Adaptive Card, up to max_incidents listed
//   pagerduty  one Events API v2 event per incident, dedup_key "klaxon:<incident id>"
//   opsgenie   per incident, by alias "klaxon:<incident id>": create, note, acknowledge, close
//   thehive    per incident, POST /api/v1/alert with sourceRef = incident id (trigger-like
//              kinds only: later changes are not sent, see README)
//   email      one RFC 5322 message, multipart/alternative text + HTML, threaded by incident
//
// Rendering is deterministic: the same Notification and config give the same bytes (email
// takes Date from the notification), so a retry after a restart sends what was recorded.
// Secrets in headers are attached here and again at send time (request.h). Free functions;
// any thread.
#pragma once

#include "pipeline/notify/notification.h"
#include "pipeline/sinks/config.h"
#include "pipeline/sinks/request.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sinks {

// The requests for one notification to one integration: one for the per-message kinds, one
// per incident (or none, when the kind has nothing to say) for the per-incident kinds. Empty
// when the notification lists no incident.
std::vector<OutboundRequest> render(const notify::Notification& notification,
                                    const IntegrationConfig& config);

// Mappings from klaxon's five severities (ecosystem.md §3.9).
const char* pagerduty_severity(std::string_view severity);  // critical|error|warning|info
const char* opsgenie_priority(std::string_view severity);   // P1..P5
int thehive_severity(std::string_view severity);            // 4 CRITICAL .. 1 LOW

// PagerDuty's event_action for a notification kind: trigger, acknowledge or resolve.
const char* pagerduty_action(notify::NotifyKind kind);

// Email building blocks, exposed for their tests.
// "Wed, 20 May 2026 10:01:02 +0000" (RFC 5322 §3.3), UTC.
std::string rfc5322_date(int64_t wall_ns);
// An unstructured header value: as is when printable ASCII, else RFC 2047 "B" encoded-words
// of whole UTF-8 characters, each line at most 76 characters, folded with CRLF SP.
// Control characters (CR, LF...) become spaces first: alert text cannot add header lines.
std::string encode_header_text(std::string_view text);
// Quoted-printable (RFC 2045 §6.7) with CRLF line ends and lines of at most 76 characters.
std::string quoted_printable(std::string_view text);

}  // namespace klaxon::sinks
