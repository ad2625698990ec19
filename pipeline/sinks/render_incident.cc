// The per-incident APIs: PagerDuty Events v2, Opsgenie alerts, TheHive 5 alerts. One request
// per incident, each keyed by the incident so that the service deduplicates: PagerDuty
// dedup_key and Opsgenie alias "klaxon:<id>", TheHive (type, source, sourceRef = id).
// Formats: ecosystem.md §4.2, §4.3, §4.5.
#include "pipeline/core/json_writer.h"
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/render_internal.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

namespace klaxon::sinks::detail {

using notify::IncidentView;
using notify::Notification;
using notify::NotifyKind;

namespace {

OutboundRequest per_incident(const Notification& n, const IntegrationConfig& c,
                             const IncidentView& v) {
  OutboundRequest r = base_request(n, c);
  r.idempotency_key = n.idempotency_key + ":" + v.id;
  r.method = "POST";
  r.headers.emplace_back("Content-Type", "application/json");
  r.incident_ids.push_back(v.id);
  return r;
}

std::string alias_of(const IncidentView& v) { return "klaxon:" + v.id; }

// Percent-encodes a path segment: unreserved characters and ':' '@' stay (RFC 3986 pchar).
std::string path_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == ':' || c == '@') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Label values routing saw (notification.h): host, source_ip, destination_ip, user.
std::string label(const IncidentView& v, std::string_view name) {
  return std::string(notify::label_value(v.labels, name));
}

std::string summary_of(NotifyKind kind, const IncidentView& v) {
  std::string s = incident_headline(kind, v);
  // The [SEVERITY] tag repeats what the severity field says; keep the words after it.
  if (const size_t sp = s.find("] "); sp != std::string::npos) s.erase(0, sp + 2);
  return s + " (" + alert_count_text(v.alert_count) + ")";
}

// A text for descriptions and notes: the facts a responder reads first.
std::string description_of(const Notification& n, const IncidentView& v) {
  std::string d = summary_of(n.kind, v) + "\n";
  if (!n.reason.empty()) d += "Reason: " + n.reason + "\n";
  d += "Incident: " + v.id + "\nSeverity: " + v.severity + "\nStatus: " + v.status + "\n";
  if (!v.category.empty()) d += "Category: " + v.category + "\n";
  if (!v.rule.empty()) d += "Rule: " + v.rule + "\n";
  if (v.first_seen_ns != 0) {
    d += "Seen: " + human_time(v.first_seen_ns) + " to " + human_time(v.last_seen_ns) + "\n";
  }
  for (const auto& [kind, value] : v.observables) d += kind + ": " + value + "\n";
  const std::string link = incident_link(n, v);
  if (!link.empty()) d += link + "\n";
  return d;
}

}  // namespace

// ---- PagerDuty Events API v2 -------------------------------------------------------------

std::vector<OutboundRequest> render_pagerduty(const Notification& n, const IntegrationConfig& c) {
  std::vector<OutboundRequest> out;
  for (const IncidentView& v : n.incidents) {
    OutboundRequest r = per_incident(n, c, v);
    const char* action = pagerduty_action(n.kind);
    std::string& b = r.body;
    JsonObjectWriter w(b);
    w.str("routing_key", c.routing_key);
    w.str("event_action", action);
    w.str("dedup_key", alias_of(v));
    // Acknowledge and resolve need only the key and action (Events API v2 overview).
    if (std::string_view(action) == "trigger") {
      w.key("payload");
      JsonObjectWriter p(b);
      p.str("summary", truncate_chars(summary_of(n.kind, v), 1024));
      const std::string host = label(v, "host");
      p.str("source", host.empty() ? "klaxon" : host);
      p.str("severity", pagerduty_severity(v.severity));
      const int64_t ts = v.first_seen_ns != 0 ? v.first_seen_ns : v.created_ns;
      if (ts != 0) p.str("timestamp", iso8601(ts));
      p.str_if("component", v.rule);
      p.str_if("class", v.category);
      p.key("custom_details");
      JsonObjectWriter d(b);
      d.str("incident", v.id);
      d.str("title", v.title);
      d.str("notification", notify::notify_kind_name(n.kind));
      d.str_if("reason", n.reason);
      d.str("status", v.status);
      d.str_if("rule", v.rule);
      d.num("alert_count", static_cast<int64_t>(v.alert_count));
      d.num("escalation_level", v.escalation_level);
      for (const char* l : {"source_ip", "destination_ip", "user"}) d.str_if(l, label(v, l));
      if (v.ack_deadline_ns != 0) d.str("ack_deadline", iso8601(v.ack_deadline_ns));
      if (v.report_deadline_ns != 0) d.str("report_deadline", iso8601(v.report_deadline_ns));
      d.close();
      p.close();
      const std::string link = incident_link(n, v);
      if (!link.empty()) {
        w.key("links");
        b.append("[");
        JsonObjectWriter lw(b);
        lw.str("href", link);
        lw.str("text", "klaxon incident");
        lw.close();
        b.append("]");
      }
      w.str("client", "klaxon");
      w.str_if("client_url", n.external_url);
    }
    w.close();
    out.push_back(std::move(r));
  }
  return out;
}

// ---- Opsgenie Alert API ------------------------------------------------------------------
//
// trigger, repeat, escalation, report_deadline -> create (POST /v2/alerts): an open alert with
// the same alias is deduplicated by Opsgenie, and one closed by hand is opened again.
// update -> a note; acknowledge -> acknowledge; resolve, close -> close. All by alias.

std::vector<OutboundRequest> render_opsgenie(const Notification& n, const IntegrationConfig& c) {
  std::vector<OutboundRequest> out;
  for (const IncidentView& v : n.incidents) {
    OutboundRequest r = per_incident(n, c, v);
    std::string& b = r.body;
    JsonObjectWriter w(b);
    const std::string alias_path = "/v2/alerts/" + path_segment(alias_of(v));
    if (announces(n.kind)) {
      r.path = "/v2/alerts";
      w.str("message", truncate_chars(incident_headline(n.kind, v), 130));  // limit: 130
      w.str("alias", alias_of(v));
      w.str("description", truncate_chars(description_of(n, v), 15000));
      w.str("priority", opsgenie_priority(v.severity));
      if (!c.responders.empty()) {
        w.key("responders");
        b.push_back('[');
        for (size_t i = 0; i < c.responders.size(); ++i) {
          if (i > 0) b.push_back(',');
          JsonObjectWriter rw(b);
          rw.str_if("id", c.responders[i].id);
          rw.str_if("name", c.responders[i].name);
          rw.str_if("username", c.responders[i].username);
          rw.str("type", c.responders[i].type);
          rw.close();
        }
        b.push_back(']');
      }
      // Tags: klaxon, the category, the severity, then the configured ones (at most 20).
      std::vector<std::string> tags = {"klaxon"};
      for (const std::string& t : {v.category, v.severity}) {
        if (!t.empty()) tags.push_back(t);
      }
      tags.insert(tags.end(), c.tags.begin(), c.tags.end());
      std::set<std::string> seen;
      w.key("tags");
      b.push_back('[');
      size_t written = 0;
      for (const auto& t : tags) {
        if (written == 20 || !seen.insert(t).second) continue;
        if (written++ > 0) b.push_back(',');
        append_json_string(b, truncate_chars(t, 50));
      }
      b.push_back(']');
      w.key("details");  // a map of strings
      JsonObjectWriter d(b);
      d.str("incident", v.id);
      d.str_if("url", incident_link(n, v));
      d.str("notification", notify::notify_kind_name(n.kind));
      d.str("status", v.status);
      d.str_if("category", v.category);
      d.str_if("rule", v.rule);
      d.str("alert_count", std::to_string(v.alert_count));
      for (const char* l : {"host", "source_ip", "destination_ip", "user"}) {
        d.str_if(l, label(v, l));
      }
      d.close();
      w.str_if("entity", label(v, "host"));
      w.str("source", "klaxon");
      if (!n.reason.empty()) w.str("note", truncate_chars(n.reason, 25000));
    } else {
      const char* action = n.kind == NotifyKind::kUpdate        ? "notes"
                           : n.kind == NotifyKind::kAcknowledge ? "acknowledge"
                                                                : "close";
      r.path = alias_path + "/" + action + "?identifierType=alias";
      w.str("user", "klaxon");
      w.str("source", "klaxon");
      w.str("note", truncate_chars(n.reason.empty() ? summary_of(n.kind, v)
                                                    : summary_of(n.kind, v) + ": " + n.reason,
                                   25000));
    }
    w.close();
    out.push_back(std::move(r));
  }
  return out;
}

// ---- TheHive 5 ---------------------------------------------------------------------------
//
// Only the kinds that announce an incident create an alert; creating it again (repeat,
// escalation) is refused by TheHive as a duplicate of (type, source, sourceRef), which the
// Deliverer counts as delivered. Later kinds (update, acknowledge, resolve, close) send
// nothing: TheHive addresses alerts by its own _id, which klaxon does not learn (the create
// response is not kept), and an alert's status there belongs to the analysts' workflow.

namespace {

bool is_ip(std::string_view s) {
  const std::string t(s);
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, t.c_str(), &a4) == 1 || inet_pton(AF_INET6, t.c_str(), &a6) == 1;
}

// TheHive's default observable data types: ip, domain, fqdn, hostname, url, hash, filename,
// mail, other... Observable kinds are ECS field names (incident.h) or plain words.
std::string thehive_data_type(std::string_view kind, std::string_view value) {
  if (kind.size() >= 3 && kind.substr(kind.size() - 3) == ".ip") return "ip";
  if (kind == "ip" || kind == "source_ip" || kind == "destination_ip") return "ip";
  if (kind == "host.name" || kind == "host" || kind == "hostname") {
    if (is_ip(value)) return "ip";
    return value.find('.') != std::string_view::npos ? "fqdn" : "hostname";
  }
  if (kind == "domain" || kind == "url.domain" || kind == "dns.question.name") return "domain";
  if (kind == "url" || kind == "url.full" || kind == "url.original") return "url";
  if (kind.find("hash") != std::string_view::npos || kind == "md5" || kind == "sha1" ||
      kind == "sha256") {
    return "hash";
  }
  if (kind == "file.name" || kind == "filename") return "filename";
  if (kind == "email" || kind == "mail" || kind == "email.from.address") return "mail";
  return "other";
}

}  // namespace

std::vector<OutboundRequest> render_thehive(const Notification& n, const IntegrationConfig& c) {
  std::vector<OutboundRequest> out;
  if (!announces(n.kind)) return out;
  for (const IncidentView& v : n.incidents) {
    OutboundRequest r = per_incident(n, c, v);
    r.path = "/api/v1/alert";
    if (!c.organisation.empty()) r.headers.emplace_back("X-Organisation", c.organisation);
    std::string& b = r.body;
    JsonObjectWriter w(b);
    w.str("type", c.alert_type);
    w.str("source", c.source);
    w.str("sourceRef", v.id);
    w.str("title", truncate_chars(v.title.empty() ? "incident " + v.id : v.title, 512));
    w.str("description", description_of(n, v));
    w.num("severity", thehive_severity(v.severity));
    w.num("tlp", c.tlp);
    w.num("pap", c.pap);
    const int64_t date = v.created_ns != 0 ? v.created_ns : n.created_ns;
    if (date != 0) w.num("date", date / 1'000'000);  // ms since the epoch
    std::vector<std::string> tags = {"klaxon"};
    for (const std::string& t : {v.category, v.rule}) {
      if (!t.empty()) tags.push_back(t);
    }
    tags.insert(tags.end(), c.tags.begin(), c.tags.end());
    std::set<std::string> seen;
    w.key("tags");
    b.push_back('[');
    bool first = true;
    for (const auto& t : tags) {
      if (!seen.insert(t).second) continue;
      if (!first) b.push_back(',');
      first = false;
      append_json_string(b, t);
    }
    b.push_back(']');
    w.str_if("externalLink", incident_link(n, v));
    // TheHive 4 refused a whole alert whose observables repeat the same data (TheHive issue
    // #1514): each (dataType, data) goes once.
    w.key("observables");
    b.push_back('[');
    std::set<std::pair<std::string, std::string>> sent;
    first = true;
    for (const auto& [kind, value] : v.observables) {
      if (value.empty() || kind == "rule.name") continue;  // the rule is a tag, not evidence
      const std::string type = thehive_data_type(kind, value);
      if (!sent.insert({type, value}).second) continue;
      if (!first) b.push_back(',');
      first = false;
      JsonObjectWriter o(b);
      o.str("dataType", type);
      o.str("data", value);
      o.key("tags");
      b.push_back('[');
      append_json_string(b, kind);
      b.push_back(']');
      o.close();
    }
    b.push_back(']');
    w.close();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace klaxon::sinks::detail
