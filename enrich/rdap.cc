#include "enrich/rdap.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace klaxon::enrich {

namespace dom = simdjson::dom;

bool assign_capped(std::string& out, std::string_view s) {
  if (s.size() <= kMaxFieldBytes) {
    out.assign(s);
    return false;
  }
  size_t n = kMaxFieldBytes;
  // Back off continuation bytes (10xxxxxx) so that a multi-byte character is not split.
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xc0) == 0x80) --n;
  out.assign(s.substr(0, n));
  return true;
}

namespace {

bool prefix_matches(const IpAddress& ip, const IpAddress& prefix, int length) {
  if (ip.v6 != prefix.v6) return false;
  const int full = length / 8;
  for (int i = 0; i < full; ++i) {
    if (ip.bytes[static_cast<size_t>(i)] != prefix.bytes[static_cast<size_t>(i)]) return false;
  }
  const int rest = length % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[static_cast<size_t>(full)] & mask) ==
         (prefix.bytes[static_cast<size_t>(full)] & mask);
}

std::string with_slash(std::string_view url) {
  std::string s(url);
  if (s.empty() || s.back() != '/') s.push_back('/');
  return s;
}

}  // namespace

Status RdapBootstrap::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open RDAP bootstrap file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_text(ss.str(), path);
}

Status RdapBootstrap::load_text(std::string_view json, const std::string& origin) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return make_error(ErrorCode::kParse, origin + ": not JSON");
  }
  dom::array services;
  if (root["services"].get_array().get(services) != simdjson::SUCCESS) {
    return make_error(ErrorCode::kParse, origin + ": no \"services\" array (IANA RFC 9224 format)");
  }
  for (dom::element service : services) {
    dom::array parts;
    if (service.get_array().get(parts) != simdjson::SUCCESS || parts.size() < 2) {
      return make_error(ErrorCode::kParse, origin + ": a service is not [[keys], [urls]]");
    }
    // [keys, urls] for dns/ipv4/ipv6/asn; object-tags puts a contact first: keys and URLs
    // are always the last two arrays.
    dom::array keys, urls;
    if (parts.at(parts.size() - 2).get_array().get(keys) != simdjson::SUCCESS ||
        parts.at(parts.size() - 1).get_array().get(urls) != simdjson::SUCCESS) {
      return make_error(ErrorCode::kParse, origin + ": a service is not [[keys], [urls]]");
    }
    std::string url;
    for (dom::element u : urls) {
      std::string_view s;
      if (u.get_string().get(s) == simdjson::SUCCESS && s.starts_with("https://")) {
        url = with_slash(s);  // RFC 9224 §3: prefer https; we only use https
        break;
      }
    }
    if (url.empty()) continue;
    for (dom::element k : keys) {
      std::string_view key;
      if (k.get_string().get(key) != simdjson::SUCCESS) continue;
      const size_t slash = key.find('/');
      if (slash != std::string_view::npos) {
        auto prefix = parse_ip(key.substr(0, slash));
        int length = -1;
        const std::string_view len_text = key.substr(slash + 1);
        std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
        if (!prefix || length < 0 || length > (prefix->v6 ? 128 : 32)) {
          return make_error(ErrorCode::kParse,
                            origin + ": bad prefix \"" + std::string(key) + "\"");
        }
        nets_.push_back(Net{*prefix, length, url});
      } else if (auto name = normalize_hostname(key)) {
        domains_.push_back(Domain{*name, url});
      }
      // Anything else (AS number ranges, object tags) is not ours to look up.
    }
  }
  return ok_status();
}

std::string RdapBootstrap::find_ip(const IpAddress& ip) const {
  const Net* best = nullptr;
  for (const Net& n : nets_) {
    if ((best == nullptr || n.length > best->length) && prefix_matches(ip, n.prefix, n.length)) {
      best = &n;
    }
  }
  return best ? best->url : std::string();
}

std::string RdapBootstrap::find_domain(std::string_view name) const {
  const Domain* best = nullptr;
  for (const Domain& d : domains_) {
    const bool match =
        name == d.suffix || (name.size() > d.suffix.size() && name.ends_with(d.suffix) &&
                             name[name.size() - d.suffix.size() - 1] == '.');
    if (match && (best == nullptr || d.suffix.size() > best->suffix.size())) best = &d;
  }
  return best ? best->url : std::string();
}

std::optional<HttpsUrl> parse_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = url[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  url.remove_prefix(kScheme.size());
  const size_t path_at = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, path_at);
  HttpsUrl out;
  if (path_at != std::string_view::npos) {
    std::string_view rest = url.substr(path_at);
    rest = rest.substr(0, rest.find('#'));
    out.target.clear();
    if (rest.empty() || rest[0] != '/') out.target.push_back('/');
    out.target.append(rest);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  std::string_view port;
  if (authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
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
    out.host_is_ip = true;
  } else if (auto name = normalize_hostname(host)) {
    out.host = *name;
  } else {
    return std::nullopt;
  }
  return out;
}

std::string rdap_query_url(std::string_view base, bool is_ip, std::string_view value) {
  std::string url = with_slash(base);
  url += is_ip ? "ip/" : "domain/";
  url.append(value);
  return url;
}

std::optional<HttpsUrl> resolve_location(const HttpsUrl& from, std::string_view location) {
  if (location.starts_with("/") && !location.starts_with("//")) {
    HttpsUrl out = from;
    out.target = std::string(location.substr(0, location.find('#')));
    return out;
  }
  return parse_https_url(location);
}

namespace {

struct Capper {
  uint32_t truncated = 0;
  void set(std::string& out, std::string_view s) {
    if (assign_capped(out, s)) ++truncated;
  }
};

std::string_view string_at(dom::element e, std::string_view key) {
  std::string_view v;
  if (e.at_key(key).get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

bool has_role(dom::element entity, std::string_view role) {
  dom::array roles;
  if (entity.at_key("roles").get_array().get(roles) != simdjson::SUCCESS) return false;
  for (dom::element r : roles) {
    std::string_view s;
    if (r.get_string().get(s) == simdjson::SUCCESS && s == role) return true;
  }
  return false;
}

// The text value of the first jCard property `name` (fn, org, email).
std::string_view vcard_text(dom::element entity, std::string_view name) {
  dom::array vcard, props;
  if (entity.at_key("vcardArray").get_array().get(vcard) != simdjson::SUCCESS || vcard.size() < 2 ||
      vcard.at(1).get_array().get(props) != simdjson::SUCCESS) {
    return {};
  }
  for (dom::element p : props) {
    dom::array prop;
    if (p.get_array().get(prop) != simdjson::SUCCESS || prop.size() < 4) continue;
    std::string_view pname, value;
    if (prop.at(0).get_string().get(pname) != simdjson::SUCCESS || pname != name) continue;
    dom::element v = prop.at(3).value_unsafe();
    if (v.get_string().get(value) == simdjson::SUCCESS && !value.empty()) return value;
    dom::array parts;  // structured "org": the first non-empty component
    if (v.get_array().get(parts) == simdjson::SUCCESS) {
      for (dom::element part : parts) {
        if (part.get_string().get(value) == simdjson::SUCCESS && !value.empty()) return value;
      }
    }
  }
  return {};
}

void walk_entities(dom::element holder, int depth, RegistrySummary& out, Capper& cap) {
  if (depth > 3) return;
  dom::array entities;
  if (holder.at_key("entities").get_array().get(entities) != simdjson::SUCCESS) return;
  for (dom::element e : entities) {
    if (!e.is_object()) continue;
    if (out.registrant.empty() && has_role(e, "registrant")) {
      std::string_view name = vcard_text(e, "fn");
      if (name.empty()) name = vcard_text(e, "org");
      cap.set(out.registrant, name);
    }
    if (out.abuse_email.empty() && has_role(e, "abuse")) {
      cap.set(out.abuse_email, vcard_text(e, "email"));
    }
    walk_entities(e, depth + 1, out, cap);
  }
}

}  // namespace

Result<RdapParse> parse_rdap(dom::parser& parser, const simdjson::padded_string& body) {
  dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return make_error(ErrorCode::kParse, "rdap: body is not a JSON object");
  }
  RdapParse out;
  Capper cap;
  RegistrySummary& s = out.summary;
  cap.set(s.handle, string_at(root, "handle"));
  std::string_view name = string_at(root, "name");
  if (name.empty()) name = string_at(root, "ldhName");
  if (name.empty()) name = string_at(root, "unicodeName");
  cap.set(s.name, name);
  cap.set(s.country, string_at(root, "country"));
  cap.set(s.start_address, string_at(root, "startAddress"));
  cap.set(s.end_address, string_at(root, "endAddress"));
  dom::array cidrs;
  if (root.at_key("cidr0_cidrs").get_array().get(cidrs) == simdjson::SUCCESS) {
    std::string joined;
    for (dom::element c : cidrs) {
      std::string_view prefix = string_at(c, "v4prefix");
      if (prefix.empty()) prefix = string_at(c, "v6prefix");
      int64_t length = -1;
      if (prefix.empty() || c.at_key("length").get_int64().get(length) != simdjson::SUCCESS) {
        continue;
      }
      if (!joined.empty()) joined.push_back(',');
      joined.append(prefix);
      joined.push_back('/');
      joined += std::to_string(length);
    }
    cap.set(s.cidr, joined);
  }
  walk_entities(root, 0, s, cap);
  if (s.handle.empty() && s.name.empty() && s.start_address.empty()) {
    return make_error(ErrorCode::kParse, "rdap: no handle, name or address range");
  }
  out.truncated_fields = cap.truncated;
  return out;
}

}  // namespace klaxon::enrich
