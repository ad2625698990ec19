// Email: one RFC 5322 message per notification (ecosystem.md §4.7).
//
// CRLF line ends; header lines stay far below 998 characters and encoded-word lines at 76;
// both bodies are quoted-printable, so no body line exceeds 76 characters and the message is
// 7-bit clean whatever the alert text holds. Message-ID comes from the idempotency key (a
// resend is the same message); In-Reply-To/References name <incident-id@klaxon>, so mail
// clients thread every message about an incident together.
#include "pipeline/core/json_writer.h"
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/render_internal.h"
#include "pipeline/sinks/signing.h"

#include <ctime>

namespace klaxon::sinks {

using notify::IncidentView;
using notify::Notification;

std::string rfc5322_date(int64_t ns) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t s = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  gmtime_r(&s, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[t.tm_wday],
                t.tm_mday, kMonths[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

namespace {

// Control characters (CR and LF above all) become spaces: a title cannot add a header.
std::string header_safe(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

bool needs_encoding(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return s.find("=?") != std::string_view::npos;
}

}  // namespace

std::string encode_header_text(std::string_view text) {
  const std::string s = detail::truncate_chars(header_safe(text), 400);
  if (!needs_encoding(s)) return s;
  // "=?UTF-8?B?" + base64 + "?=": 39 bytes of text make 52 base64 characters, a 64-character
  // word; with "Subject: " or the folding space in front every line stays within 76
  // (RFC 2047 §2). Words end on character boundaries (§5: no split multi-byte characters).
  constexpr size_t kChunk = 39;
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = std::min(s.size(), i + kChunk);
    while (end < s.size() && end > i && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (!out.empty()) out.append("\r\n ");
    out.append("=?UTF-8?B?");
    append_base64(out, std::string_view(s).substr(i, end - i));
    out.append("?=");
    i = end;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      char tok[3];
      size_t len = 1;
      const bool trailing_space = (c == ' ' || c == '\t') && i + 1 == line.size();
      if (((c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t') && !trailing_space) {
        tok[0] = static_cast<char>(c);
      } else {
        tok[0] = '=', tok[1] = kHex[c >> 4], tok[2] = kHex[c & 15], len = 3;
      }
      // 75 characters, then a soft break "=": 76 on the line (§6.7 rule 5).
      if (col + len > 75) {
        out.append("=\r\n");
        col = 0;
      }
      out.append(tok, len);
      col += len;
    }
    if (nl == text.size()) break;
    out.append("\r\n");
    start = nl + 1;
  }
  return out;
}

namespace detail {

namespace {

// A mailbox for a header: an encoded-word or quoted display name when needed.
std::string header_mailbox(const std::string& mailbox) {
  const size_t lt = mailbox.rfind('<');
  if (lt == std::string::npos) return header_safe(mailbox);
  std::string name = mailbox.substr(0, lt);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  const std::string addr = mailbox.substr(lt);
  if (name.empty()) return addr;
  if (needs_encoding(name)) return encode_header_text(name) + " " + addr;
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') return name + " " + addr;
  const bool plain = name.find_first_of("()<>[]:;@\\,.\"") == std::string::npos;
  if (plain) return header_safe(name) + " " + addr;
  std::string quoted = "\"";
  for (char c : header_safe(name)) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return quoted + "\" " + addr;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> email_facts(const IncidentView& v) {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("Incident", v.id);
  f.emplace_back("Severity", v.severity);
  f.emplace_back("Status", v.status);
  if (!v.category.empty()) f.emplace_back("Category", v.category);
  if (!v.rule.empty()) f.emplace_back("Rule", v.rule);
  f.emplace_back("Alerts", std::to_string(v.alert_count) + " (" + std::to_string(v.occurrences) +
                               " occurrences)");
  if (v.first_seen_ns != 0) f.emplace_back("First seen", human_time(v.first_seen_ns));
  if (v.last_seen_ns != 0) f.emplace_back("Last seen", human_time(v.last_seen_ns));
  if (!v.assignee.empty()) f.emplace_back("Assignee", v.assignee);
  if (v.escalation_level > 0)
    f.emplace_back("Escalation level", std::to_string(v.escalation_level));
  if (v.ack_deadline_ns != 0) f.emplace_back("Acknowledge by", human_time(v.ack_deadline_ns));
  if (v.report_deadline_ns != 0) f.emplace_back("Report due", human_time(v.report_deadline_ns));
  for (const auto& [kind, value] : v.observables) f.emplace_back(kind, value);
  return f;
}

}  // namespace

OutboundRequest render_email(const Notification& n, const IntegrationConfig& c) {
  OutboundRequest r = base_request(n, c);
  for (const auto& v : n.incidents) r.incident_ids.push_back(v.id);
  // The envelope: config validated both addresses (config.cc).
  r.mail_from = *mailbox_address(c.from);
  for (const auto& to : c.to) r.rcpt_to.push_back(*mailbox_address(to));

  const std::string key_hash = sha256_hex(n.idempotency_key);
  const std::string boundary = "=_klaxon_" + key_hash.substr(32, 16);  // "=_" never occurs in
                                                                       // quoted-printable
  const size_t shown = std::min<size_t>(n.incidents.size(), c.max_incidents);
  const std::string title = headline(n);

  // Plain text and HTML bodies with the same facts.
  std::string text = title + "\n\n";
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n<h2>" +
                     html_escape(title) + "</h2>\n";
  if (!n.reason.empty()) {
    text += "Reason: " + n.reason + "\n";
    html += "<p>Reason: " + html_escape(n.reason) + "</p>\n";
  }
  text += "Receiver: " + n.receiver + "\n";
  for (size_t i = 0; i < shown; ++i) {
    const IncidentView& v = n.incidents[i];
    text += "\n" + (v.title.empty() ? v.id : v.title) + "\n";
    html += "<h3>" + html_escape(v.title.empty() ? v.id : v.title) + "</h3>\n<table>\n";
    for (const auto& [name, value] : email_facts(v)) {
      text += "  " + name + ": " + value + "\n";
      html += "<tr><th align=\"left\">" + html_escape(name) + "</th><td>" + html_escape(value) +
              "</td></tr>\n";
    }
    html += "</table>\n";
    const std::string link = incident_link(n, v);
    if (!link.empty()) {
      text += "  Link: " + link + "\n";
      html += "<p><a href=\"" + html_escape(link) + "\">Open in klaxon</a></p>\n";
    }
  }
  if (n.incidents.size() > shown) {
    const std::string more =
        "and " + std::to_string(n.incidents.size() - shown) + " more incidents";
    text += "\n" + more + "\n";
    html += "<p>" + more + "</p>\n";
  }
  text += "\n-- \nklaxon, notification " + n.idempotency_key + "\n";
  html += "<hr><p><small>klaxon, notification " + html_escape(n.idempotency_key) +
          "</small></p>\n</body></html>\n";

  std::string& m = r.body;
  m.reserve(text.size() + html.size() * 11 / 10 + 1024);
  m += "Date: " + rfc5322_date(r.created_ns) + "\r\n";
  m += "From: " + header_mailbox(c.from) + "\r\n";
  m += "To: ";
  for (size_t i = 0; i < c.to.size(); ++i) m += (i > 0 ? ",\r\n " : "") + header_mailbox(c.to[i]);
  m += "\r\n";
  m += "Subject: " + encode_header_text("[klaxon] " + title) + "\r\n";
  m += "Message-ID: <" + key_hash.substr(0, 32) + "@klaxon>\r\n";
  m += "In-Reply-To: <" + header_safe(n.incidents[0].id) + "@klaxon>\r\n";
  m += "References:";
  for (size_t i = 0; i < shown; ++i) {
    m += (i > 0 ? "\r\n " : " ") + std::string("<") + header_safe(n.incidents[i].id) + "@klaxon>";
  }
  m += "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no auto-replies to this
  m += "X-Klaxon-Kind: " + std::string(notify::notify_kind_name(n.kind)) + "\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += quoted_printable(text) + "\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += quoted_printable(html) + "\r\n";
  m += "--" + boundary + "--\r\n";
  return r;
}

}  // namespace detail
}  // namespace klaxon::sinks
