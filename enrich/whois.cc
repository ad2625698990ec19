#include "enrich/whois.h"

#include "enrich/address.h"
#include "enrich/rdap.h"

#include <charconv>

namespace klaxon::enrich {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool icontains(std::string_view hay, std::string_view needle) {
  return lower(hay).find(needle) != std::string::npos;
}

enum class Field {
  kNone,
  kHandle,
  kName,
  kCountry,
  kRegistrant,
  kDescr,
  kAbuse,
  kRange,
  kCidr,
  kRefer
};

// Keys are lower case; the first line of each field wins.
Field field_of(std::string_view key) {
  struct Entry {
    std::string_view key;
    Field field;
  };
  static constexpr Entry kKeys[] = {
      {"nethandle", Field::kHandle},
      {"registry domain id", Field::kHandle},
      {"aut-num", Field::kHandle},
      {"netname", Field::kName},
      {"network-name", Field::kName},
      {"domain name", Field::kName},
      {"domain", Field::kName},
      {"country", Field::kCountry},
      {"orgname", Field::kRegistrant},
      {"org-name", Field::kRegistrant},
      {"owner", Field::kRegistrant},
      {"organisation", Field::kRegistrant},
      {"organization", Field::kRegistrant},
      {"registrant organization", Field::kRegistrant},
      {"registrant name", Field::kRegistrant},
      {"descr", Field::kDescr},
      {"orgabuseemail", Field::kAbuse},
      {"abuse-mailbox", Field::kAbuse},
      {"registrar abuse contact email", Field::kAbuse},
      {"netrange", Field::kRange},
      {"inetnum", Field::kRange},
      {"inet6num", Field::kRange},
      {"cidr", Field::kCidr},
      {"refer", Field::kRefer},
      {"referralserver", Field::kRefer},
      {"whois", Field::kRefer},
      {"registrar whois server", Field::kRefer},
  };
  for (const Entry& e : kKeys) {
    if (e.key == key) return e.field;
  }
  return Field::kNone;
}

}  // namespace

std::optional<WhoisServer> parse_whois_server(std::string_view text) {
  text = trim(text);
  const size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    if (lower(text.substr(0, scheme_end)) != "whois") return std::nullopt;
    text.remove_prefix(scheme_end + 3);
  }
  text = text.substr(0, text.find('/'));
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
    }
  } else if (text.find(':') == text.rfind(':') && text.find(':') != std::string_view::npos) {
    host = text.substr(0, text.find(':'));  // exactly one colon: host:port
    port = text.substr(text.find(':') + 1);
  }
  WhoisServer out;
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(p);
  }
  if (auto ip = parse_ip(host)) {
    out.host = format_ip(*ip);
  } else if (auto name = normalize_hostname(host)) {
    out.host = *name;
  } else {
    return std::nullopt;
  }
  return out;
}

WhoisParse parse_whois(std::string_view text) {
  WhoisParse out;
  RegistrySummary& s = out.summary;
  std::string descr;
  std::string range;
  bool saw_not_found = false;
  auto set = [&](std::string& field, std::string_view v) {
    if (!field.empty() || v.empty()) return;
    if (assign_capped(field, v)) ++out.truncated_fields;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty()) continue;
    if (line[0] == '%' || line[0] == '#') {
      // RIPE and AFRINIC: "% Abuse contact for '1.2.3.0 - 1.2.3.255' is 'abuse@example.net'"
      if (icontains(line, "abuse contact for")) {
        const size_t is = line.rfind(" is '");
        if (is != std::string_view::npos && line.back() == '\'') {
          set(s.abuse_email, line.substr(is + 5, line.size() - is - 6));
        }
      }
      if (icontains(line, "no entries found") || icontains(line, "no match")) saw_not_found = true;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (icontains(line, "no match") || icontains(line, "not found") ||
          icontains(line, "no data found") || icontains(line, "no entries found")) {
        saw_not_found = true;
      }
      continue;
    }
    const std::string key = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    switch (field_of(key)) {
      case Field::kNone:
        break;
      case Field::kHandle:
        set(s.handle, value);
        break;
      case Field::kName:
        set(s.name, value);
        break;
      case Field::kCountry:
        set(s.country, value);
        break;
      case Field::kRegistrant:
        set(s.registrant, value);
        break;
      case Field::kDescr:
        set(descr, value);
        break;
      case Field::kAbuse:
        set(s.abuse_email, value);
        break;
      case Field::kRange:
        set(range, value);
        break;
      case Field::kCidr:
        set(s.cidr, value);
        break;
      case Field::kRefer:
        if (s.referral.empty() && !value.empty()) {
          if (auto server = parse_whois_server(value)) {
            set(s.referral, value);
            out.refer = std::move(server);
          }
        }
        break;
    }
  }
  if (s.registrant.empty()) s.registrant = std::move(descr);
  // "a - b" (NetRange, inetnum) is a range; "a/len" (inet6num, LACNIC inetnum) a CIDR.
  if (!range.empty()) {
    const size_t dash = range.find(" - ");
    if (dash != std::string::npos) {
      s.start_address = std::string(trim(std::string_view(range).substr(0, dash)));
      s.end_address = std::string(trim(std::string_view(range).substr(dash + 3)));
    } else if (s.cidr.empty()) {
      s.cidr = range;
    }
  }
  const bool any = !s.handle.empty() || !s.name.empty() || !s.registrant.empty() ||
                   !s.start_address.empty() || !s.cidr.empty() || out.refer.has_value();
  out.not_found = saw_not_found && !any;
  return out;
}

}  // namespace klaxon::enrich
