// Slack incoming webhooks (Block Kit) and Teams Workflows (Adaptive Card): one message per
// notification listing up to max_incidents incidents. Formats: ecosystem.md §4.1 and §4.4.
#include "pipeline/core/json_writer.h"
#include "pipeline/sinks/render_internal.h"

namespace klaxon::sinks::detail {

using notify::IncidentView;
using notify::Notification;
using notify::NotifyKind;

namespace {

// Slack mrkdwn: &, < and > are control characters and must be escaped (Slack's "Formatting
// text" reference); everything else is literal.
std::string mrkdwn_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&') {
      out.append("&amp;");
    } else if (c == '<') {
      out.append("&lt;");
    } else if (c == '>') {
      out.append("&gt;");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Name/value pairs shown for an incident, in order, at most ten (Slack's section limit).
std::vector<std::pair<std::string, std::string>> incident_facts(const IncidentView& v) {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("Incident", v.id);
  f.emplace_back("Severity", v.severity);
  f.emplace_back("Status", v.status);
  f.emplace_back("Alerts", std::to_string(v.alert_count));
  auto add_label = [&](const char* title, std::string_view label) {
    const std::string_view value = notify::label_value(v.labels, label);
    if (!value.empty()) f.emplace_back(title, std::string(value));
  };
  add_label("Host", "host");
  add_label("Source", "source_ip");
  if (!v.rule.empty()) f.emplace_back("Rule", v.rule);
  if (!v.assignee.empty()) f.emplace_back("Assignee", v.assignee);
  if (v.ack_deadline_ns != 0) f.emplace_back("Ack by", human_time(v.ack_deadline_ns));
  if (v.report_deadline_ns != 0) f.emplace_back("Report due", human_time(v.report_deadline_ns));
  if (f.size() > 10) f.resize(10);
  return f;
}

void mrkdwn_object(std::string& out, std::string_view text) {
  JsonObjectWriter t(out);
  t.str("type", "mrkdwn");
  t.str("text", text);
  t.close();
}

void context_block(std::string& out, std::string_view mrkdwn) {
  JsonObjectWriter b(out);
  b.str("type", "context");
  b.key("elements");
  out.push_back('[');
  mrkdwn_object(out, mrkdwn);
  out.push_back(']');
  b.close();
}

size_t shown(const Notification& n, const IntegrationConfig& c) {
  return std::min<size_t>(n.incidents.size(), c.max_incidents);
}

}  // namespace

std::string render_slack_body(const Notification& n, const IntegrationConfig& c) {
  std::string out;
  JsonObjectWriter w(out);
  // `text` is the notification fallback when blocks are present (chat.postMessage docs).
  std::string text = headline(n);
  if (n.incidents.size() == 1) text += " (" + alert_count_text(n.incidents[0].alert_count) + ")";
  w.str("text", truncate_chars(text, 3000));
  w.key("blocks");
  out.push_back('[');
  {
    JsonObjectWriter h(out);
    h.str("type", "header");
    h.key("text");
    JsonObjectWriter t(out);
    t.str("type", "plain_text");
    t.str("text", truncate_chars(headline(n), 150));  // header text: 150 characters at most
    t.close();
    h.close();
  }
  if (!n.reason.empty()) {
    out.push_back(',');
    context_block(out, mrkdwn_escape(truncate_chars(n.reason, 2000)));
  }
  for (size_t i = 0; i < shown(n, c); ++i) {
    const IncidentView& v = n.incidents[i];
    out.push_back(',');
    JsonObjectWriter s(out);
    s.str("type", "section");
    s.key("text");
    std::string bold = "*";  // appended: GCC 12 -Wrestrict misfires on "*" + temporary
    bold += mrkdwn_escape(truncate_chars(v.title.empty() ? v.id : v.title, 2000));
    bold += '*';
    mrkdwn_object(out, bold);
    s.key("fields");
    out.push_back('[');
    bool first = true;
    for (const auto& [name, value] : incident_facts(v)) {
      if (!first) out.push_back(',');
      first = false;
      std::string field = "*";
      field += name;
      field += ":*\n";
      field += mrkdwn_escape(truncate_chars(value, 1900));
      mrkdwn_object(out, field);
    }
    out.push_back(']');
    s.close();
    const std::string link = incident_link(n, v);
    if (!link.empty()) {
      out.push_back(',');
      context_block(out, "<" + link + "|Open in klaxon>");
    }
  }
  if (n.incidents.size() > shown(n, c)) {
    out.push_back(',');
    context_block(out,
                  "and " + std::to_string(n.incidents.size() - shown(n, c)) + " more incidents");
  }
  out.push_back(']');
  w.close();
  return out;
}

namespace {

// Adaptive Card text colours: Attention for what should wake someone, Good for the end.
const char* card_colour(const Notification& n) {
  if (n.kind == NotifyKind::kResolve || n.kind == NotifyKind::kClose) return "Good";
  if (n.kind == NotifyKind::kAcknowledge) return "Default";
  int worst = -1;
  for (const auto& v : n.incidents) worst = std::max(worst, severity_rank(v.severity));
  return worst >= 3 ? "Attention" : worst == 2 ? "Warning" : "Default";
}

void text_block(std::string& out, std::string_view text, bool bold, bool subtle) {
  JsonObjectWriter t(out);
  t.str("type", "TextBlock");
  t.str("text", text);
  if (bold) t.str("weight", "Bolder");
  if (subtle) t.raw("isSubtle", "true");
  t.raw("wrap", "true");
  t.close();
}

}  // namespace

// The Workflows "When a Teams webhook request is received" trigger takes Adaptive Cards only;
// the envelope is what Alertmanager's msteamsv2 notifier sends.
std::string render_teams_body(const Notification& n, const IntegrationConfig& c) {
  std::string out;
  JsonObjectWriter w(out);
  w.str("type", "message");
  w.key("attachments");
  out.push_back('[');
  JsonObjectWriter a(out);
  a.str("contentType", "application/vnd.microsoft.card.adaptive");
  a.raw("contentUrl", "null");
  a.key("content");
  JsonObjectWriter card(out);
  card.str("$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
  card.str("type", "AdaptiveCard");
  card.str("version", "1.2");
  card.key("body");
  out.push_back('[');
  {
    JsonObjectWriter h(out);
    h.str("type", "TextBlock");
    h.str("text", truncate_chars(headline(n), 500));
    h.str("weight", "Bolder");
    h.str("size", "Medium");
    h.raw("wrap", "true");
    h.str("style", "heading");
    h.str("color", card_colour(n));
    h.close();
  }
  if (!n.reason.empty()) {
    out.push_back(',');
    text_block(out, truncate_chars(n.reason, 2000), false, true);
  }
  for (size_t i = 0; i < shown(n, c); ++i) {
    const IncidentView& v = n.incidents[i];
    out.push_back(',');
    text_block(out, truncate_chars(v.title.empty() ? v.id : v.title, 500), true, false);
    out.push_back(',');
    JsonObjectWriter fs(out);
    fs.str("type", "FactSet");
    fs.key("facts");
    out.push_back('[');
    bool first = true;
    for (const auto& [name, value] : incident_facts(v)) {
      if (!first) out.push_back(',');
      first = false;
      JsonObjectWriter f(out);
      f.str("title", name);
      f.str("value", truncate_chars(value, 500));
      f.close();
    }
    out.push_back(']');
    fs.close();
    const std::string link = incident_link(n, v);
    if (!link.empty()) {
      out.push_back(',');
      text_block(out, "[Open incident](" + link + ")", false, false);
    }
  }
  if (n.incidents.size() > shown(n, c)) {
    out.push_back(',');
    text_block(out, "and " + std::to_string(n.incidents.size() - shown(n, c)) + " more incidents",
               false, true);
  }
  out.push_back(']');
  card.key("msteams");
  out.append("{\"width\":\"full\"}");
  card.close();
  a.close();
  out.push_back(']');
  w.close();
  return out;
}

}  // namespace klaxon::sinks::detail
