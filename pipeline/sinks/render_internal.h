// Helpers shared by the renderers (render*.cc); not part of the library's interface.
#pragma once

#include "pipeline/notify/notification.h"
#include "pipeline/sinks/config.h"
#include "pipeline/sinks/request.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon::sinks::detail {

// "2026-05-20T10:01:02.000Z"
std::string iso8601(int64_t wall_ns);
// "2026-05-20 10:15 UTC", for people.
std::string human_time(int64_t wall_ns);
std::string upper(std::string_view s);
// At most max_chars code points of valid UTF-8 (invalid bytes are replaced first, since JSON
// writers would do so anyway); "…" marks a cut.
std::string truncate_chars(std::string_view s, size_t max_chars);

// <external_url>/incidents/<id>, or "" without an external URL.
std::string incident_link(const notify::Notification& n, const notify::IncidentView& v);
// "[CRITICAL] SSH brute force on web-01", "[RESOLVED] ...", "[HIGH] Escalation (level 1): ...".
std::string incident_headline(notify::NotifyKind kind, const notify::IncidentView& v);
// The incident's headline, or "[CRITICAL] 3 incidents: <first title>, ..." for several.
std::string headline(const notify::Notification& n);
// "42 alerts" / "1 alert".
std::string alert_count_text(uint64_t n);
// trigger, repeat, escalation, report_deadline: kinds that (re)announce an open incident.
bool announces(notify::NotifyKind kind);
// Higher is worse: critical 4 .. info 0; unknown -1.
int severity_rank(std::string_view severity);

// The fields every request of this notification and integration shares.
OutboundRequest base_request(const notify::Notification& n, const IntegrationConfig& c);

std::string render_webhook_body(const notify::Notification& n);
std::string render_slack_body(const notify::Notification& n, const IntegrationConfig& c);
std::string render_teams_body(const notify::Notification& n, const IntegrationConfig& c);
std::vector<OutboundRequest> render_pagerduty(const notify::Notification& n,
                                              const IntegrationConfig& c);
std::vector<OutboundRequest> render_opsgenie(const notify::Notification& n,
                                             const IntegrationConfig& c);
std::vector<OutboundRequest> render_thehive(const notify::Notification& n,
                                            const IntegrationConfig& c);
OutboundRequest render_email(const notify::Notification& n, const IntegrationConfig& c);

}  // namespace klaxon::sinks::detail
