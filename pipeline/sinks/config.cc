#include "pipeline/sinks/config.h"

#include "pipeline/sinks/signing.h"

#include <arpa/inet.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace klaxon::sinks {

const char* sink_kind_name(SinkKind k) {
  switch (k) {
    case SinkKind::kWebhook:
      return "webhook";
    case SinkKind::kSlack:
      return "slack";
    case SinkKind::kPagerDuty:
      return "pagerduty";
    case SinkKind::kOpsgenie:
      return "opsgenie";
    case SinkKind::kTeams:
      return "teams";
    case SinkKind::kTheHive:
      return "thehive";
    case SinkKind::kEmail:
      return "email";
  }
  return "unknown";
}

Result<int64_t> parse_duration_ns(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::string_view unit = s.substr(i);
  int64_t mult = 0;
  if (unit.empty() || unit == "s") {
    mult = 1'000'000'000;
  } else if (unit == "ms") {
    mult = 1'000'000;
  } else if (unit == "m") {
    mult = 60'000'000'000;
  } else if (unit == "h") {
    mult = 3'600'000'000'000;
  } else if (unit == "d") {
    mult = 86'400'000'000'000;
  }
  if (i == 0 || i > 6 || mult == 0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "expected a duration such as 250ms, 15s, 5m, 24h or 2d, got \"" + std::string(s) + "\"");
  }
  const int64_t v = std::stoll(std::string(s.substr(0, i)));
  if (v <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "expected a duration above zero, got \"" + std::string(s) + "\"");
  }
  return v * mult;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  const std::string h(host);
  return inet_pton(AF_INET, h.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

Result<std::string> mailbox_address(std::string_view mailbox) {
  std::string_view addr = mailbox;
  const size_t lt = mailbox.rfind('<');
  if (lt != std::string_view::npos) {
    const size_t gt = mailbox.find('>', lt);
    if (gt == std::string_view::npos || gt + 1 != mailbox.size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "expected \"Name <user@domain>\" or \"user@domain\", got \"" +
                            std::string(mailbox) + "\"");
    }
    addr = mailbox.substr(lt + 1, gt - lt - 1);
  }
  const size_t at = addr.find('@');
  bool ok = !addr.empty() && at != std::string_view::npos && at > 0 && at + 1 < addr.size() &&
            addr.find('@', at + 1) == std::string_view::npos;
  for (char c : addr) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '<' || c == '>' || c == ',' || c == '"') ok = false;
  }
  if (!ok) {
    return make_error(ErrorCode::kInvalidArgument,
                      "expected an ASCII address user@domain, got \"" + std::string(addr) + "\"");
  }
  return std::string(addr);
}

namespace {

// Errors carry "notify.receivers[<name>].<kind>_configs[<i>].<key>: what was expected".
struct Ctx {
  std::string path;
  Error err(const std::string& key, const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument,
                      key.empty() ? path + ": " + what : path + "." + key + ": " + what);
  }
};

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  return n.IsMap() ? "<map>" : n.IsSequence() ? "<list>" : "<null>";
}

Result<std::string> get_string(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar() || n.Scalar().empty()) return c.err(key, "expected a non-empty string");
  for (char ch : n.Scalar()) {
    if (static_cast<unsigned char>(ch) < 0x20) {
      return c.err(key, "control characters are not allowed");
    }
  }
  return n.Scalar();
}

Result<uint64_t> get_uint(const Ctx& c, const YAML::Node& n, const std::string& key, uint64_t lo,
                          uint64_t hi) {
  const std::string s = scalar_text(n);
  if (!n.IsScalar() || s.empty() || s.size() > 12 ||
      s.find_first_not_of("0123456789") != std::string::npos || std::stoull(s) < lo ||
      std::stoull(s) > hi) {
    return c.err(key, "expected a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", got \"" + s + "\"");
  }
  return std::stoull(s);
}

Result<int64_t> get_duration(const Ctx& c, const YAML::Node& n, const std::string& key) {
  auto d = parse_duration_ns(scalar_text(n));
  if (!d) return c.err(key, d.error().message);
  return *d;
}

// Reads a secret from a file: the whole file, without the trailing newline editors add.
Result<std::string> read_secret_file(const Ctx& c, const YAML::Node& n, const std::string& key) {
  auto path = get_string(c, n, key);
  if (!path) return path.error();
  std::ifstream in(*path, std::ios::binary);
  if (!in) return c.err(key, "cannot read \"" + *path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return c.err(key, "\"" + *path + "\" is empty");
  for (char ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20) {
      return c.err(key, "\"" + *path + "\" holds control characters");
    }
  }
  return s;
}

// `key` or `key_file`, not both. Empty string when neither is given and it is optional.
Result<std::string> get_secret(const Ctx& c, const YAML::Node& entry, const std::string& key,
                               bool required) {
  const YAML::Node direct = entry[key];
  const YAML::Node file = entry[key + "_file"];
  if (direct && file) return c.err(key, "give " + key + " or " + key + "_file, not both");
  if (direct) return get_string(c, direct, key);
  if (file) return read_secret_file(c, file, key + "_file");
  if (required) return c.err(key, "required (or " + key + "_file)");
  return std::string();
}

struct UrlParts {
  std::string scheme;
  std::string host;  // without brackets
  std::string port;
};

// Enough of RFC 3986 to check where a request goes: scheme://host[:port][/...].
bool split_url(std::string_view url, UrlParts* out) {
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) return false;
  out->scheme = std::string(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return false;  // no userinfo in URLs
  if (!authority.empty() && authority.front() == '[') {
    const size_t rb = authority.find(']');
    if (rb == std::string_view::npos) return false;
    out->host = std::string(authority.substr(1, rb - 1));
    authority.remove_prefix(rb + 1);
    if (!authority.empty() && authority.front() != ':') return false;
    out->port = authority.empty() ? "" : std::string(authority.substr(1));
  } else {
    const size_t pc = authority.rfind(':');
    out->host = std::string(authority.substr(0, pc));
    out->port = pc == std::string_view::npos ? "" : std::string(authority.substr(pc + 1));
  }
  for (char ch : url) {
    if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7F) {
      return false;
    }
  }
  return !out->host.empty() && out->port.find_first_not_of("0123456789") == std::string::npos;
}

// https anywhere; plain http only to loopback (a local relay or a test receiver): alerts and
// API keys do not cross a network in clear text.
Status check_http_url(const Ctx& c, const std::string& url, const std::string& key) {
  UrlParts u;
  if (!split_url(url, &u)) return c.err(key, "expected an http(s) URL, got \"" + url + "\"");
  if (u.scheme == "https") return ok_status();
  if (u.scheme == "http") {
    if (is_loopback_host(u.host)) return ok_status();
    return c.err(key,
                 "plain http:// is only allowed to 127.0.0.1, ::1 or localhost; use "
                 "https:// (got \"" +
                     url + "\")");
  }
  return c.err(key, "expected an http(s) URL, got \"" + url + "\"");
}

const std::set<std::string>& common_keys() {
  static const std::set<std::string> k = {
      "url",      "timeout",      "rate_limit",         "burst",   "queue_capacity",
      "overflow", "max_attempts", "max_retry_duration", "ca_file", "max_in_flight"};
  return k;
}

std::set<std::string> allowed_keys(SinkKind kind) {
  std::set<std::string> k = common_keys();
  auto add = [&](std::initializer_list<const char*> more) {
    for (const char* m : more) k.insert(m);
  };
  switch (kind) {
    case SinkKind::kWebhook:
      add({"url_file", "secret", "secret_file"});
      break;
    case SinkKind::kSlack:
      add({"url_file", "max_incidents"});
      break;
    case SinkKind::kPagerDuty:
      add({"routing_key", "routing_key_file"});
      break;
    case SinkKind::kOpsgenie:
      add({"api_key", "api_key_file", "responders", "tags"});
      break;
    case SinkKind::kTeams:
      add({"url_file", "max_incidents"});
      break;
    case SinkKind::kTheHive:
      add({"api_key", "api_key_file", "organisation", "tags", "tlp", "pap", "alert_type",
           "source"});
      break;
    case SinkKind::kEmail:
      k.erase("url");
      add({"smarthost", "tls", "from", "to", "auth_username", "auth_password", "auth_password_file",
           "max_incidents"});
      break;
  }
  return k;
}

Status check_keys(const Ctx& c, const YAML::Node& entry, SinkKind kind) {
  if (!entry.IsMap()) return c.err("", "expected a map");
  const std::set<std::string> allowed = allowed_keys(kind);
  for (const auto& kv : entry) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return c.err(key, "unknown key for " + std::string(sink_kind_name(kind)) +
                            " (expected one of: " + list + ")");
    }
  }
  return ok_status();
}

Result<std::vector<std::string>> get_string_list(const Ctx& c, const YAML::Node& n,
                                                 const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    auto s = get_string(c, n, key);
    if (!s) return s.error();
    out.push_back(*s);
    return out;
  }
  if (!n.IsSequence() || n.size() == 0) return c.err(key, "expected a list of strings");
  for (size_t i = 0; i < n.size(); ++i) {
    auto s = get_string(c, n[i], key + "[" + std::to_string(i) + "]");
    if (!s) return s.error();
    out.push_back(*s);
  }
  return out;
}

Status parse_common(const Ctx& c, const YAML::Node& e, IntegrationConfig& cfg) {
  // Defaults that differ by kind: the services' published limits (ecosystem.md §4):
  // PagerDuty ~120 events/min per integration key, Slack ~1 message/s with short bursts.
  if (cfg.kind == SinkKind::kPagerDuty) {
    cfg.url = "https://events.pagerduty.com/v2/enqueue";
    cfg.rate_limit_per_minute = 120;
  } else if (cfg.kind == SinkKind::kOpsgenie) {
    cfg.url = "https://api.opsgenie.com";
  } else if (cfg.kind == SinkKind::kSlack) {
    cfg.rate_limit_per_minute = 60;
  }
  if (cfg.kind != SinkKind::kEmail) {
    auto url = get_secret(c, e, "url",
                          cfg.kind != SinkKind::kPagerDuty && cfg.kind != SinkKind::kOpsgenie);
    if (!url) return url.error();
    if (!url->empty()) cfg.url = *url;
    while (!cfg.url.empty() && cfg.url.back() == '/' &&
           (cfg.kind == SinkKind::kOpsgenie || cfg.kind == SinkKind::kTheHive)) {
      cfg.url.pop_back();  // an API base: request paths start with '/'
    }
    KLAXON_TRY(check_http_url(c, cfg.url, e["url_file"] ? "url_file" : "url"));
  }
  if (e["timeout"]) {
    auto d = get_duration(c, e["timeout"], "timeout");
    if (!d) return d.error();
    cfg.timeout_ns = *d;
  }
  if (e["rate_limit"]) {
    auto r = get_uint(c, e["rate_limit"], "rate_limit", 0, 1'000'000);
    if (!r) return r.error();
    cfg.rate_limit_per_minute = static_cast<double>(*r);
  }
  // Five seconds' worth of requests unless said otherwise.
  cfg.burst = static_cast<uint32_t>(std::max(1.0, std::round(cfg.rate_limit_per_minute / 12)));
  if (e["burst"]) {
    auto b = get_uint(c, e["burst"], "burst", 1, 100'000);
    if (!b) return b.error();
    cfg.burst = static_cast<uint32_t>(*b);
  }
  if (e["queue_capacity"]) {
    auto q = get_uint(c, e["queue_capacity"], "queue_capacity", 1, 10'000'000);
    if (!q) return q.error();
    cfg.queue_capacity = static_cast<uint32_t>(*q);
  }
  if (e["overflow"]) {
    const std::string o = scalar_text(e["overflow"]);
    if (o == "drop_oldest") {
      cfg.overflow = Overflow::kDropOldest;
    } else if (o == "drop_newest") {
      cfg.overflow = Overflow::kDropNewest;
    } else {
      return c.err("overflow", "expected drop_oldest or drop_newest, got \"" + o + "\"");
    }
  }
  if (e["max_attempts"]) {
    auto a = get_uint(c, e["max_attempts"], "max_attempts", 1, 1000);
    if (!a) return a.error();
    cfg.max_attempts = static_cast<uint32_t>(*a);
  }
  if (e["max_retry_duration"]) {
    auto d = get_duration(c, e["max_retry_duration"], "max_retry_duration");
    if (!d) return d.error();
    cfg.max_retry_duration_ns = *d;
  }
  if (e["max_in_flight"]) {
    auto m = get_uint(c, e["max_in_flight"], "max_in_flight", 1, 64);
    if (!m) return m.error();
    cfg.max_in_flight = static_cast<uint32_t>(*m);
  }
  if (e["max_incidents"]) {
    // Slack allows 50 blocks a message: a header, two blocks per incident and a footer.
    auto m = get_uint(c, e["max_incidents"], "max_incidents", 1, 20);
    if (!m) return m.error();
    cfg.max_incidents = static_cast<uint32_t>(*m);
  }
  if (e["ca_file"]) {
    auto f = get_string(c, e["ca_file"], "ca_file");
    if (!f) return f.error();
    if (!std::ifstream(*f)) return c.err("ca_file", "cannot read \"" + *f + "\"");
    cfg.ca_file = *f;
  }
  if (e["tags"]) {
    auto t = get_string_list(c, e["tags"], "tags");
    if (!t) return t.error();
    cfg.tags = std::move(*t);
  }
  return ok_status();
}

Status parse_responders(const Ctx& c, const YAML::Node& n, IntegrationConfig& cfg) {
  if (!n.IsSequence()) return c.err("responders", "expected a list of {name|id|username, type}");
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string key = "responders[" + std::to_string(i) + "]";
    const YAML::Node r = n[i];
    if (!r.IsMap()) return c.err(key, "expected a map with name, id or username, and type");
    OpsgenieResponder o;
    int ids = 0;
    for (const auto& kv : r) {
      const std::string k = kv.first.as<std::string>();
      auto v = get_string(c, kv.second, key + "." + k);
      if (!v) return v.error();
      if (k == "name") {
        o.name = *v, ++ids;
      } else if (k == "id") {
        o.id = *v, ++ids;
      } else if (k == "username") {
        o.username = *v, ++ids;
      } else if (k == "type") {
        o.type = *v;
      } else {
        return c.err(key + "." + k, "unknown key (expected one of: id, name, type, username)");
      }
    }
    if (ids != 1) return c.err(key, "give exactly one of id, name, username");
    if (o.type != "team" && o.type != "user" && o.type != "escalation" && o.type != "schedule") {
      return c.err(key + ".type", "expected team, user, escalation or schedule");
    }
    cfg.responders.push_back(std::move(o));
  }
  return ok_status();
}

Status parse_email(const Ctx& c, const YAML::Node& e, IntegrationConfig& cfg) {
  if (e["tls"]) {
    const std::string t = scalar_text(e["tls"]);
    if (t == "starttls") {
      cfg.smtp_tls = SmtpTls::kStartTls;
    } else if (t == "implicit") {
      cfg.smtp_tls = SmtpTls::kImplicit;
    } else if (t == "none") {
      cfg.smtp_tls = SmtpTls::kNone;
    } else {
      return c.err("tls", "expected starttls, implicit or none, got \"" + t + "\"");
    }
  }
  auto host = get_string(c, e["smarthost"], "smarthost");
  if (!host) return c.err("smarthost", "required: host:port of the SMTP server");
  cfg.smarthost = *host;
  UrlParts u;
  if (!split_url("smtp://" + cfg.smarthost, &u) || cfg.smarthost.find('/') != std::string::npos) {
    return c.err("smarthost", "expected host:port, got \"" + cfg.smarthost + "\"");
  }
  if (u.port.empty()) u.port = cfg.smtp_tls == SmtpTls::kImplicit ? "465" : "587";
  if (u.port.size() > 5 || std::stoul(u.port) == 0 || std::stoul(u.port) > 65535) {
    return c.err("smarthost", "port out of range in \"" + cfg.smarthost + "\"");
  }
  if (cfg.smtp_tls == SmtpTls::kNone && !is_loopback_host(u.host)) {
    return c.err("tls",
                 "none is only allowed to 127.0.0.1, ::1 or localhost (a local relay); "
                 "use starttls or implicit for " +
                     u.host);
  }
  const std::string host_part = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  cfg.url = std::string(cfg.smtp_tls == SmtpTls::kImplicit ? "smtps://" : "smtp://") + host_part +
            ":" + u.port;

  auto from = get_string(c, e["from"], "from");
  if (!from) return c.err("from", "required: the sender, e.g. \"klaxon <klaxon@example.org>\"");
  if (auto a = mailbox_address(*from); !a) return c.err("from", a.error().message);
  cfg.from = *from;
  if (!e["to"]) return c.err("to", "required: one address or a list");
  auto to = get_string_list(c, e["to"], "to");
  if (!to) return to.error();
  for (size_t i = 0; i < to->size(); ++i) {
    if (auto a = mailbox_address((*to)[i]); !a) {
      return c.err("to[" + std::to_string(i) + "]", a.error().message);
    }
  }
  cfg.to = std::move(*to);
  if (e["auth_username"]) {
    auto uname = get_string(c, e["auth_username"], "auth_username");
    if (!uname) return uname.error();
    cfg.auth_username = *uname;
  }
  auto pw = get_secret(c, e, "auth_password", !cfg.auth_username.empty());
  if (!pw) return pw.error();
  cfg.auth_password = *pw;
  if (!cfg.auth_password.empty() && cfg.auth_username.empty()) {
    return c.err("auth_username", "required with auth_password");
  }
  return ok_status();
}

Result<IntegrationConfig> parse_entry(const Ctx& c, const std::string& receiver, SinkKind kind,
                                      size_t index, const YAML::Node& e) {
  KLAXON_TRY(check_keys(c, e, kind));
  IntegrationConfig cfg;
  cfg.receiver = receiver;
  cfg.kind = kind;
  cfg.name = receiver + "/" + sink_kind_name(kind) + "/" + std::to_string(index);
  KLAXON_TRY(parse_common(c, e, cfg));
  switch (kind) {
    case SinkKind::kWebhook: {
      auto s = get_secret(c, e, "secret", true);
      if (!s) return s.error();
      auto key = decode_webhook_secret(*s);
      if (!key) return c.err(e["secret"] ? "secret" : "secret_file", key.error().message);
      cfg.signing_key = std::move(*key);
      break;
    }
    case SinkKind::kSlack:
    case SinkKind::kTeams:
      break;
    case SinkKind::kPagerDuty: {
      auto k = get_secret(c, e, "routing_key", true);
      if (!k) return k.error();
      cfg.routing_key = *k;
      break;
    }
    case SinkKind::kOpsgenie: {
      auto k = get_secret(c, e, "api_key", true);
      if (!k) return k.error();
      cfg.api_key = *k;
      if (e["responders"]) KLAXON_TRY(parse_responders(c, e["responders"], cfg));
      break;
    }
    case SinkKind::kTheHive: {
      auto k = get_secret(c, e, "api_key", true);
      if (!k) return k.error();
      cfg.api_key = *k;
      if (e["organisation"]) {
        auto o = get_string(c, e["organisation"], "organisation");
        if (!o) return o.error();
        cfg.organisation = *o;
      }
      if (e["alert_type"]) {
        auto t = get_string(c, e["alert_type"], "alert_type");
        if (!t) return t.error();
        cfg.alert_type = *t;
      }
      if (e["source"]) {
        auto s = get_string(c, e["source"], "source");
        if (!s) return s.error();
        cfg.source = *s;
      }
      if (e["tlp"]) {
        auto t = get_uint(c, e["tlp"], "tlp", 0, 4);
        if (!t) return t.error();
        cfg.tlp = static_cast<int>(*t);
      }
      if (e["pap"]) {
        auto p = get_uint(c, e["pap"], "pap", 0, 3);
        if (!p) return p.error();
        cfg.pap = static_cast<int>(*p);
      }
      break;
    }
    case SinkKind::kEmail:
      KLAXON_TRY(parse_email(c, e, cfg));
      break;
  }
  return cfg;
}

}  // namespace

Result<std::vector<IntegrationConfig>> parse_integrations(const YAML::Node& receiver) {
  if (!receiver.IsMap()) {
    return make_error(ErrorCode::kInvalidArgument, "notify.receivers: expected a map per receiver");
  }
  const YAML::Node name_node = receiver["name"];
  if (!name_node || !name_node.IsScalar() || name_node.Scalar().empty()) {
    return make_error(ErrorCode::kInvalidArgument, "notify.receivers: each receiver needs a name");
  }
  const std::string name = name_node.Scalar();
  if (name.find('/') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "notify.receivers[" + name +
                                                       "].name: '/' is not allowed (integration "
                                                       "names are <receiver>/<kind>/<index>)");
  }
  const std::string base = "notify.receivers[" + name + "]";
  std::vector<IntegrationConfig> out;
  for (const auto& kv : receiver) {
    const std::string key = kv.first.as<std::string>();
    constexpr std::string_view kSuffix = "_configs";
    if (key.size() <= kSuffix.size() ||
        key.compare(key.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;  // name, send_resolved and the notifier's own keys
    }
    const std::string kind_name = key.substr(0, key.size() - kSuffix.size());
    int kind = -1;
    for (int k = 0; k < kSinkKindCount; ++k) {
      if (kind_name == sink_kind_name(static_cast<SinkKind>(k))) kind = k;
    }
    if (kind < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        base + "." + key +
                            ": unknown integration (expected webhook_configs, slack_configs, "
                            "pagerduty_configs, opsgenie_configs, teams_configs, "
                            "thehive_configs or email_configs)");
    }
    if (!kv.second.IsSequence()) {
      return make_error(ErrorCode::kInvalidArgument, base + "." + key + ": expected a list");
    }
    for (size_t i = 0; i < kv.second.size(); ++i) {
      const Ctx c{base + "." + key + "[" + std::to_string(i) + "]"};
      auto cfg = parse_entry(c, name, static_cast<SinkKind>(kind), i, kv.second[i]);
      if (!cfg) return cfg.error();
      out.push_back(std::move(*cfg));
    }
  }
  return out;
}

}  // namespace klaxon::sinks
