#include "pipeline/sinks/render.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/sinks/render_internal.h"

#include <ctime>

namespace klaxon::sinks {

using notify::IncidentView;
using notify::Notification;
using notify::NotifyKind;

const char* pagerduty_severity(std::string_view s) {
  if (s == "critical") return "critical";
  if (s == "high") return "error";
  if (s == "medium") return "warning";
  if (s == "low" || s == "info") return "info";
  return "warning";  // an unknown level is neither paged as critical nor lost as info
}

const char* opsgenie_priority(std::string_view s) {
  if (s == "critical") return "P1";
  if (s == "high") return "P2";
  if (s == "medium") return "P3";
  if (s == "low") return "P4";
  if (s == "info") return "P5";
  return "P3";  // Opsgenie's own default
}

int thehive_severity(std::string_view s) {
  if (s == "critical") return 4;
  if (s == "high") return 3;
  if (s == "medium") return 2;
  if (s == "low" || s == "info") return 1;
  return 2;  // TheHive's own default (MEDIUM)
}

const char* pagerduty_action(NotifyKind kind) {
  switch (kind) {
    case NotifyKind::kAcknowledge:
      return "acknowledge";
    case NotifyKind::kResolve:
    case NotifyKind::kClose:
      return "resolve";
    default:
      return "trigger";
  }
}

namespace detail {

std::string iso8601(int64_t ns) {
  const time_t s = static_cast<time_t>(ns / 1'000'000'000);
  const int ms = static_cast<int>((ns % 1'000'000'000) / 1'000'000);
  tm t{};
  gmtime_r(&s, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return buf;
}

std::string human_time(int64_t ns) {
  const time_t s = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  gmtime_r(&s, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d UTC", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min);
  return buf;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string truncate_chars(std::string_view s, size_t max_chars) {
  // Re-validate through the JSON escaper's rules: U+FFFD for invalid sequences.
  std::string valid;
  if (is_valid_utf8(s)) {
    valid.assign(s);
  } else {
    for (size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (len == 0 || i + len > s.size() || !is_valid_utf8(s.substr(i, len))) {
        valid.append("\xEF\xBF\xBD");
        ++i;
        continue;
      }
      valid.append(s.substr(i, len));
      i += len;
    }
  }
  size_t chars = 0;
  for (size_t i = 0; i < valid.size(); ++i) {
    if ((static_cast<unsigned char>(valid[i]) & 0xC0) == 0x80) continue;  // continuation
    if (chars == max_chars) {
      // Cut before this character, leaving room for the ellipsis (one character).
      size_t cut = i;
      if (max_chars > 0) {
        do {
          --cut;
        } while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80);
      }
      return valid.substr(0, cut) + "\xE2\x80\xA6";
    }
    ++chars;
  }
  return valid;
}

std::string incident_link(const Notification& n, const IncidentView& v) {
  if (n.external_url.empty()) return "";
  std::string base = n.external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/incidents/" + v.id;
}

namespace {

std::string kind_tag(NotifyKind kind, std::string_view severity) {
  switch (kind) {
    case NotifyKind::kAcknowledge:
      return "ACKNOWLEDGED";
    case NotifyKind::kResolve:
      return "RESOLVED";
    case NotifyKind::kClose:
      return "CLOSED";
    default:
      return severity.empty() ? "INCIDENT" : upper(severity);
  }
}

std::string kind_prefix(NotifyKind kind, uint32_t level) {
  switch (kind) {
    case NotifyKind::kUpdate:
      return "Updated: ";
    case NotifyKind::kRepeat:
      return "Still open: ";
    case NotifyKind::kEscalation:
      return "Escalation (level " + std::to_string(level) + "): ";
    case NotifyKind::kReportDeadline:
      return "Report due: ";
    default:
      return "";
  }
}

std::string title_of(const IncidentView& v) {
  return v.title.empty() ? "incident " + v.id : v.title;
}

}  // namespace

std::string incident_headline(NotifyKind kind, const IncidentView& v) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "[" + temporary.
  std::string s = "[";
  s += kind_tag(kind, v.severity);
  s += "] ";
  s += kind_prefix(kind, v.escalation_level);
  s += title_of(v);
  return s;
}

std::string headline(const Notification& n) {
  std::string s = "[";
  if (n.incidents.empty()) return s + kind_tag(n.kind, "") + "] no incidents";
  if (n.incidents.size() == 1) return incident_headline(n.kind, n.incidents[0]);
  const IncidentView* worst = &n.incidents[0];
  uint32_t level = 0;
  for (const auto& v : n.incidents) {
    if (severity_rank(v.severity) > severity_rank(worst->severity)) worst = &v;
    level = std::max(level, v.escalation_level);
  }
  s += kind_tag(n.kind, worst->severity);
  s += "] ";
  s += kind_prefix(n.kind, level);
  s += std::to_string(n.incidents.size()) + " incidents: " + title_of(n.incidents[0]) + ", ...";
  return s;
}

std::string alert_count_text(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " alert" : " alerts");
}

bool announces(NotifyKind kind) {
  return kind == NotifyKind::kTrigger || kind == NotifyKind::kRepeat ||
         kind == NotifyKind::kEscalation || kind == NotifyKind::kReportDeadline;
}

int severity_rank(std::string_view s) {
  if (s == "critical") return 4;
  if (s == "high") return 3;
  if (s == "medium") return 2;
  if (s == "low") return 1;
  if (s == "info") return 0;
  return -1;
}

OutboundRequest base_request(const Notification& n, const IntegrationConfig& c) {
  OutboundRequest r;
  r.integration = c.name;
  r.type = c.kind;
  r.receiver = n.receiver.empty() ? c.receiver : n.receiver;
  r.kind = n.kind;
  r.idempotency_key = n.idempotency_key;
  r.created_ns = n.created_ns != 0 ? n.created_ns : wall_ns();
  return r;
}

namespace {

// null for "not set" (0), else an ISO 8601 string.
void time_or_null(JsonObjectWriter& w, std::string& out, std::string_view key, int64_t ns) {
  if (ns == 0) {
    w.raw(key, "null");
  } else {
    w.key(key);
    append_json_string(out, iso8601(ns));
  }
}

void labels_object(std::string& out, const notify::Labels& labels) {
  JsonObjectWriter w(out);
  for (const auto& [k, v] : labels) {
    w.key_escaped(k);
    append_json_string(out, v);
  }
  w.close();
}

}  // namespace

// klaxon's own schema, versioned: receivers can rely on every field being present (null when
// unknown) and on new fields only being added within "version":"1".
std::string render_webhook_body(const Notification& n) {
  std::string out;
  out.reserve(1024 + 1024 * n.incidents.size());
  JsonObjectWriter w(out);
  w.str("version", "1");
  w.str("kind", notify::notify_kind_name(n.kind));
  w.str("receiver", n.receiver);
  w.str("idempotency_key", n.idempotency_key);
  w.str("group_key", n.group_key);
  w.key("group_labels");
  labels_object(out, n.group_labels);
  w.str("reason", n.reason);
  time_or_null(w, out, "created", n.created_ns);
  w.str("external_url", n.external_url);
  w.key("incidents");
  out.push_back('[');
  for (size_t i = 0; i < n.incidents.size(); ++i) {
    const IncidentView& v = n.incidents[i];
    if (i > 0) out.push_back(',');
    JsonObjectWriter iw(out);
    iw.str("id", v.id);
    const std::string link = incident_link(n, v);
    if (link.empty()) {
      iw.raw("url", "null");
    } else {
      iw.str("url", link);
    }
    iw.str("title", v.title);
    iw.str("category", v.category);
    iw.str("severity", v.severity);
    iw.str("status", v.status);
    iw.str("rule", v.rule);
    iw.str("assignee", v.assignee);
    iw.key("labels");
    labels_object(out, v.labels);
    iw.key("observables");
    out.push_back('[');
    for (size_t k = 0; k < v.observables.size(); ++k) {
      if (k > 0) out.push_back(',');
      JsonObjectWriter ow(out);
      ow.str("kind", v.observables[k].first);
      ow.str("value", v.observables[k].second);
      ow.close();
    }
    out.push_back(']');
    time_or_null(iw, out, "created", v.created_ns);
    time_or_null(iw, out, "first_seen", v.first_seen_ns);
    time_or_null(iw, out, "last_seen", v.last_seen_ns);
    time_or_null(iw, out, "status_changed", v.status_changed_ns);
    iw.num("alert_count", static_cast<int64_t>(v.alert_count));
    iw.num("occurrences", static_cast<int64_t>(v.occurrences));
    iw.num("escalation_level", v.escalation_level);
    time_or_null(iw, out, "ack_deadline", v.ack_deadline_ns);
    time_or_null(iw, out, "report_deadline", v.report_deadline_ns);
    iw.num("version", static_cast<int64_t>(v.version));
    iw.close();
  }
  out.push_back(']');
  w.close();
  return out;
}

}  // namespace detail

std::vector<OutboundRequest> render(const Notification& n, const IntegrationConfig& c) {
  std::vector<OutboundRequest> out;
  if (n.incidents.empty()) return out;
  auto one = [&](std::string body) {
    OutboundRequest r = detail::base_request(n, c);
    r.method = "POST";
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    for (const auto& v : n.incidents) r.incident_ids.push_back(v.id);
    out.push_back(std::move(r));
  };
  switch (c.kind) {
    case SinkKind::kWebhook:
      one(detail::render_webhook_body(n));
      // webhook-id is the same key; webhook-timestamp and webhook-signature are per attempt.
      out.back().headers.emplace_back("Idempotency-Key", n.idempotency_key);
      break;
    case SinkKind::kSlack:
      one(detail::render_slack_body(n, c));
      break;
    case SinkKind::kTeams:
      one(detail::render_teams_body(n, c));
      break;
    case SinkKind::kPagerDuty:
      out = detail::render_pagerduty(n, c);
      break;
    case SinkKind::kOpsgenie:
      out = detail::render_opsgenie(n, c);
      break;
    case SinkKind::kTheHive:
      out = detail::render_thehive(n, c);
      break;
    case SinkKind::kEmail:
      out.push_back(detail::render_email(n, c));
      break;
  }
  for (auto& r : out) {
    Status s = attach_secrets(r, c);
    KLAXON_CHECK(s.has_value());  // render made r from c: the names match
  }
  return out;
}

}  // namespace klaxon::sinks
