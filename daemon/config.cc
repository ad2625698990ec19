#include "daemon/config.h"

#include "daemon/notifier.h"
#include "storage/audit.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace klaxon {

const char* default_config_yaml() {
  return R"(# klaxond embedded default configuration (print it with --print-default-config).
data_dir: data
http:
  listen: 127.0.0.1:9780
sources:
  syslog_tcp:
    type: syslog_tcp
    listen: 0.0.0.0:5514
    max_message_size: 64KiB
    max_connections: 1024
    idle_timeout: 5m
    delimiter: lf
  syslog_udp:
    type: syslog_udp
    listen: 0.0.0.0:5514
    max_message_size: 64KiB
  syslog_tls:
    type: syslog_tls
    listen: 0.0.0.0:6514
    # no cert_file: a self-signed certificate is generated into <data_dir>/tls
    client_auth: none
parse:
  workers: 2
  timezone: "+00:00"
  json_body: true
  compliant_msg: true
dedupe:
  key: [event.module, rule.id, host.name, source.ip, destination.ip, user.name]
  window: 5m
  max_entries: 4000000
  checkpoint_interval: 1m
correlate:
  enabled: true
  shards: 2
  min_severity: low
  group_by: [host.name, rule.id, rule.name]
  group_window: 1h
  allowed_lateness: 5m
  duplicate_summary: 1m
audit:
  # outside data_dir: whoever can rewrite the data must not be able to re-sign it
  signing_key: audit/klaxon.key
  checkpoint_file: audit/checkpoint.json
  checkpoint_interval: 1m
  generate_key: true
pipeline:
  queue_capacity: 64
  block_max_alerts: 4096
  zstd_level: 1
storage:
  sync: commit
log:
  level: info
  format: logfmt
)";
}

namespace {

// Errors carry "file: key.path: what was expected".
struct Ctx {
  const std::string& file;
  Error err(const std::string& key, const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, file + ": " + key + ": " + what);
  }
};

std::string scalar_text(const YAML::Node& n) {
  return n.IsScalar() ? n.Scalar()
                      : std::string("<") +
                            (n.IsMap()        ? "map"
                             : n.IsSequence() ? "list"
                                              : "null") +
                            ">";
}

Status check_keys(const Ctx& c, const YAML::Node& map, const std::string& path,
                  const std::set<std::string>& allowed) {
  if (!map.IsMap()) return c.err(path, "expected a map");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return c.err(path.empty() ? key : path + "." + key,
                   "unknown key (expected one of: " + list + ")");
    }
  }
  return ok_status();
}

Result<uint64_t> get_uint(const Ctx& c, const YAML::Node& n, const std::string& key, uint64_t lo,
                          uint64_t hi) {
  const std::string s = scalar_text(n);
  if (!n.IsScalar() || s.empty() || s.size() > 18 ||
      s.find_first_not_of("0123456789") != std::string::npos) {
    return c.err(key, "expected a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", got \"" + s + "\"");
  }
  const uint64_t v = std::stoull(s);
  if (v < lo || v > hi) {
    return c.err(key, "expected a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", got " + s);
  }
  return v;
}

Result<uint64_t> get_size(const Ctx& c, const YAML::Node& n, const std::string& key, uint64_t lo,
                          uint64_t hi) {
  const std::string s = scalar_text(n);
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  const std::string unit = s.substr(i);
  uint64_t mult = 0;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB")
    mult = 1024;
  else if (unit == "MiB")
    mult = 1024 * 1024;
  else if (unit == "GiB")
    mult = 1024ull * 1024 * 1024;
  if (!n.IsScalar() || i == 0 || i > 12 || mult == 0) {
    return c.err(key, "expected a size such as 65536, 64KiB or 1MiB, got \"" + s + "\"");
  }
  const uint64_t v = std::stoull(s.substr(0, i)) * mult;
  if (v < lo || v > hi) {
    return c.err(key, "expected a size from " + std::to_string(lo) + " to " + std::to_string(hi) +
                          " bytes, got " + s);
  }
  return v;
}

Result<std::chrono::milliseconds> get_duration(const Ctx& c, const YAML::Node& n,
                                               const std::string& key) {
  const std::string s = scalar_text(n);
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  const std::string unit = s.substr(i);
  int64_t mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1000;
  else if (unit == "ms")
    mult = 1;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  if (!n.IsScalar() || i == 0 || i > 9 || mult == 0) {
    return c.err(key, "expected a duration such as 250ms, 30s, 5m or 1h, got \"" + s + "\"");
  }
  const int64_t v = std::stoll(s.substr(0, i)) * mult;
  if (v <= 0) return c.err(key, "expected a duration above zero, got " + s);
  return std::chrono::milliseconds(v);
}

Result<bool> get_bool(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string s = scalar_text(n);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return c.err(key, "expected true or false, got \"" + s + "\"");
}

Result<std::string> get_listen(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string s = scalar_text(n);
  auto ep = parse_endpoint(s);
  if (!ep) return c.err(key, ep.error().message);
  return s;
}

// "+00:00", "-05:00", "UTC" -> seconds east of UTC.
Result<int32_t> get_offset(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string s = scalar_text(n);
  if (s == "UTC" || s == "Z") return 0;
  if (s.size() == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' && std::isdigit(s[1]) &&
      std::isdigit(s[2]) && std::isdigit(s[4]) && std::isdigit(s[5])) {
    const int h = (s[1] - '0') * 10 + (s[2] - '0');
    const int m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h <= 14 && m < 60) return (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  }
  return c.err(key, "expected a UTC offset such as +00:00 or -05:00 (or UTC), got \"" + s + "\"");
}

#define CFG_TRY_ASSIGN(lhs, expr) \
  do {                            \
    auto r_ = (expr);             \
    if (!r_) return r_.error();   \
    lhs = *r_;                    \
  } while (0)

// A file named in the config must exist when the config is checked (as syslog-ng does):
// --check-config then catches a typo before a restart does.
Result<std::string> get_file(const Ctx& c, const YAML::Node& n, const std::string& key) {
  const std::string s = scalar_text(n);
  if (!n.IsScalar() || s.empty()) return c.err(key, "expected a file path");
  std::ifstream f(s);
  if (!f) return c.err(key, "cannot read \"" + s + "\"");
  return s;
}

// A list of alert field names (fingerprint.h) for a dedupe or grouping key.
Result<FingerprintKey> get_field_key(const Ctx& c, const YAML::Node& n, const std::string& key,
                                     uint64_t seed) {
  if (!n.IsSequence() || n.size() == 0)
    return c.err(key, "expected a non-empty list of field names such as [host.name, rule.id]");
  std::vector<std::string> names;
  for (const auto& e : n) names.push_back(scalar_text(e));
  auto k = FingerprintKey::parse(names, seed);
  if (!k) return c.err(key, k.error().message);
  return *k;
}

Status parse_tls(const Ctx& c, const std::string& path, const YAML::Node& n, TlsOptions& t) {
  if (n["cert_file"]) CFG_TRY_ASSIGN(t.cert_file, get_file(c, n["cert_file"], path + ".cert_file"));
  if (n["key_file"]) CFG_TRY_ASSIGN(t.key_file, get_file(c, n["key_file"], path + ".key_file"));
  if (t.cert_file.empty() != t.key_file.empty()) {
    return c.err(
        path + (t.cert_file.empty() ? ".cert_file" : ".key_file"),
        "cert_file and key_file go together (leave both out for a self-signed certificate)");
  }
  if (n["ca_file"]) CFG_TRY_ASSIGN(t.ca_file, get_file(c, n["ca_file"], path + ".ca_file"));
  if (n["client_auth"]) {
    const std::string a = scalar_text(n["client_auth"]);
    if (a == "none")
      t.client_auth = ClientAuth::kNone;
    else if (a == "optional")
      t.client_auth = ClientAuth::kOptional;
    else if (a == "required")
      t.client_auth = ClientAuth::kRequired;
    else
      return c.err(path + ".client_auth", "expected none, optional or required, got \"" + a + "\"");
  }
  if (const auto allow = n["allow"]) {
    if (!allow.IsSequence()) {
      return c.err(path + ".allow",
                   "expected a list of client names (\"*.example.org\") or fingerprints "
                   "(\"sha256:AB:...\")");
    }
    for (const auto& a : allow) {
      const std::string v = scalar_text(a);
      if (!a.IsScalar() || v.empty())
        return c.err(path + ".allow", "expected names or fingerprints, got " + v);
      t.allow.push_back(v);
    }
  }
  if (n["handshake_timeout"])
    CFG_TRY_ASSIGN(t.handshake_timeout,
                   get_duration(c, n["handshake_timeout"], path + ".handshake_timeout"));
  bool pinned = false;
  for (const auto& a : t.allow) pinned |= a.rfind("sha256:", 0) == 0 || a.rfind("sha1:", 0) == 0;
  if (t.client_auth != ClientAuth::kNone && t.ca_file.empty() && !pinned) {
    return c.err(path + ".ca_file", "client_auth " + scalar_text(n["client_auth"]) +
                                        " needs ca_file or certificate fingerprints in allow");
  }
  if (t.client_auth == ClientAuth::kNone && !t.allow.empty()) {
    return c.err(path + ".allow", "an allow-list needs client_auth optional or required");
  }
  return ok_status();
}

Result<InputFormat> get_format(const Ctx& c, const YAML::Node& n, const std::string& path) {
  InputFormat f = InputFormat::kAuto;
  const std::string text = n.IsScalar() ? n.Scalar() : "";
  if (!input_format_from_name(text, &f)) {
    std::string names;
    for (int i = 0; i < kInputFormatCount; ++i) {
      names += (i ? ", " : "");
      names += input_format_name(static_cast<InputFormat>(i));
    }
    return c.err(path, "expected one of " + names + ", got \"" + text + "\"");
  }
  return f;
}

Status parse_source(const Ctx& c, const std::string& name, const YAML::Node& n, Config& cfg) {
  const std::string path = "sources." + name;
  if (!n.IsMap()) return c.err(path, "expected a map with a type");
  if (!n["type"])
    return c.err(path + ".type", "missing (expected syslog_tcp, syslog_tls, syslog_udp or kafka)");
  const std::string type = scalar_text(n["type"]);
  std::string listen;
  if (type == "syslog_tcp" || type == "syslog_tls") {
    const bool tls = type == "syslog_tls";
    std::set<std::string> keys = {
        "type",         "listen",    "max_message_size", "max_connections",
        "idle_timeout", "delimiter", "read_buffer",      "format"};
    if (tls) {
      keys.insert(
          {"cert_file", "key_file", "ca_file", "client_auth", "allow", "handshake_timeout"});
    }
    KLAXON_TRY(check_keys(c, n, path, keys));
    SyslogTcpOptions o;
    o.name = name;
    o.tls = tls;
    listen = tls ? "0.0.0.0:6514" : "0.0.0.0:5514";
    if (n["listen"]) CFG_TRY_ASSIGN(listen, get_listen(c, n["listen"], path + ".listen"));
    if (n["max_message_size"])
      CFG_TRY_ASSIGN(o.framer.max_message_size,
                     get_size(c, n["max_message_size"], path + ".max_message_size", 480, 64 << 20));
    if (n["max_connections"])
      CFG_TRY_ASSIGN(o.max_connections,
                     get_uint(c, n["max_connections"], path + ".max_connections", 1, 1'000'000));
    if (n["idle_timeout"])
      CFG_TRY_ASSIGN(o.idle_timeout, get_duration(c, n["idle_timeout"], path + ".idle_timeout"));
    if (n["format"]) CFG_TRY_ASSIGN(o.format, get_format(c, n["format"], path + ".format"));
    if (n["read_buffer"])
      CFG_TRY_ASSIGN(o.read_buffer,
                     get_size(c, n["read_buffer"], path + ".read_buffer", 4096, 64 << 20));
    if (n["delimiter"]) {
      const std::string d = scalar_text(n["delimiter"]);
      if (d == "lf")
        o.framer.delimiter = FrameDelimiter::kLf;
      else if (d == "nul")
        o.framer.delimiter = FrameDelimiter::kNul;
      else if (d == "lf_or_nul")
        o.framer.delimiter = FrameDelimiter::kLfOrNul;
      else
        return c.err(path + ".delimiter", "expected lf, nul or lf_or_nul, got \"" + d + "\"");
    }
    if (tls) KLAXON_TRY(parse_tls(c, path, n, o.tls_options));
    auto ep = parse_endpoint(listen);
    o.address = ep->address().to_string();
    o.port = ep->port();
    cfg.tcp.push_back(o);
  } else if (type == "kafka") {
    KLAXON_TRY(check_keys(c, n, path,
                          {"type", "brokers", "topics", "group_id", "properties", "max_batch",
                           "commit_interval", "format", "topic_formats"}));
    KafkaOptions o;
    o.name = name;
    if (!n["brokers"] || !n["brokers"].IsScalar() || n["brokers"].Scalar().empty()) {
      return c.err(path + ".brokers", "expected host:port[,host:port...] of the bootstrap brokers");
    }
    o.brokers = n["brokers"].Scalar();
    const auto topics = n["topics"];
    if (!topics || !topics.IsSequence() || topics.size() == 0) {
      return c.err(path + ".topics", "expected a list of topic names (or ^regex patterns)");
    }
    for (const auto& t : topics) {
      if (!t.IsScalar() || t.Scalar().empty())
        return c.err(path + ".topics", "expected topic names");
      o.topics.push_back(t.Scalar());
    }
    if (n["group_id"]) o.group_id = scalar_text(n["group_id"]);
    if (n["format"]) CFG_TRY_ASSIGN(o.format, get_format(c, n["format"], path + ".format"));
    if (const auto tf = n["topic_formats"]) {
      if (!tf.IsMap())
        return c.err(path + ".topic_formats", "expected a map of topic name to format");
      for (const auto& kv : tf) {
        const std::string topic = kv.first.as<std::string>();
        CFG_TRY_ASSIGN(o.topic_formats[topic],
                       get_format(c, kv.second, path + ".topic_formats." + topic));
      }
    }
    if (const auto props = n["properties"]) {
      if (!props.IsMap())
        return c.err(path + ".properties", "expected a map of librdkafka properties");
      for (const auto& kv : props) {
        const std::string k = kv.first.as<std::string>();
        // These are klaxon's to decide: changing them would break the no-loss guarantee.
        if (k == "enable.auto.offset.store" || k == "enable.auto.commit" || k == "group.id" ||
            k == "bootstrap.servers") {
          return c.err(
              path + ".properties." + k,
              "set by klaxon (use brokers/group_id; offsets are stored only when durable)");
        }
        o.properties[k] = scalar_text(kv.second);
      }
    }
    if (n["max_batch"])
      CFG_TRY_ASSIGN(o.max_batch, get_uint(c, n["max_batch"], path + ".max_batch", 1, 1'000'000));
    if (n["commit_interval"])
      CFG_TRY_ASSIGN(o.commit_interval,
                     get_duration(c, n["commit_interval"], path + ".commit_interval"));
    cfg.kafka.push_back(o);
  } else if (type == "syslog_udp") {
    KLAXON_TRY(
        check_keys(c, n, path, {"type", "listen", "max_message_size", "receive_buffer", "format"}));
    SyslogUdpOptions o;
    o.name = name;
    if (n["format"]) CFG_TRY_ASSIGN(o.format, get_format(c, n["format"], path + ".format"));
    listen = "0.0.0.0:5514";
    if (n["listen"]) CFG_TRY_ASSIGN(listen, get_listen(c, n["listen"], path + ".listen"));
    if (n["max_message_size"])
      CFG_TRY_ASSIGN(o.max_message_size,
                     get_size(c, n["max_message_size"], path + ".max_message_size", 480, 65536));
    if (n["receive_buffer"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(v, get_size(c, n["receive_buffer"], path + ".receive_buffer", 4096, 1 << 30));
      o.receive_buffer_bytes = static_cast<int>(v);
    }
    auto ep = parse_endpoint(listen);
    o.address = ep->address().to_string();
    o.port = ep->port();
    cfg.udp.push_back(o);
  } else {
    return c.err(path + ".type",
                 "expected syslog_tcp, syslog_tls, syslog_udp or kafka, got \"" + type + "\"");
  }
  return ok_status();
}

}  // namespace

Result<Config> parse_config(const std::string& text, const std::string& name) {
  const Ctx c{name};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, name + ":" + std::to_string(e.mark.line + 1) +
                                                       ":" + std::to_string(e.mark.column + 1) +
                                                       ": invalid YAML: " + e.msg);
  }
  Config cfg;
  cfg.source_name = name;
  if (root.IsNull()) return c.err("(top level)", "the file is empty; expected a map");
  KLAXON_TRY(check_keys(c, root, "",
                        {"data_dir", "http", "sources", "parse", "dedupe", "correlate", "audit",
                         "enrich", "pipeline", "storage", "log", "api", "notify"}));
  if (const auto api = root["api"]) {
    KLAXON_TRY(check_keys(c, api, "api", {"tokens"}));
    if (const auto tokens = api["tokens"]) {
      if (!tokens.IsSequence())
        return c.err("api.tokens", "expected a list of {name, role, sha256}");
      for (const auto& t : tokens) {
        const std::string where = "api.tokens[" + std::to_string(cfg.api_tokens.size()) + "]";
        KLAXON_TRY(check_keys(c, t, where, {"name", "role", "sha256"}));
        Config::ApiToken tok;
        tok.name = scalar_text(t["name"]);
        tok.role = scalar_text(t["role"]);
        const std::string hex = scalar_text(t["sha256"]);
        if (tok.name.empty()) return c.err(where + ".name", "expected the token holder's name");
        if (tok.role != "viewer" && tok.role != "responder" && tok.role != "admin")
          return c.err(where + ".role",
                       "expected viewer, responder or admin, got \"" + tok.role + "\"");
        if (hex.size() != 64 ||
            hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          return c.err(where + ".sha256",
                       "expected the SHA-256 of the token as 64 hex digits "
                       "(klaxonctl token-hash prints it)");
        for (size_t i = 0; i < 32; ++i)
          tok.sha256[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
        cfg.api_tokens.push_back(std::move(tok));
      }
    }
  }
  if (const auto n = root["notify"]) {
    if (!n.IsMap()) return c.err("notify", "expected a map (route, receivers, policies, ...)");
    cfg.notify_yaml = YAML::Dump(n);
    // Validated now: a bad route or receiver fails --check-config and the start, not the
    // first notification.
    if (auto nc = parse_notifier_config(cfg.notify_yaml); !nc)
      return make_error(ErrorCode::kInvalidArgument, name + ": " + nc.error().message);
  }
  if (root["data_dir"]) {
    cfg.data_dir = scalar_text(root["data_dir"]);
    if (!root["data_dir"].IsScalar() || cfg.data_dir.empty())
      return c.err("data_dir", "expected a directory path");
  }
  if (const auto http = root["http"]) {
    KLAXON_TRY(check_keys(
        c, http, "http",
        {"listen", "tokens", "token_file", "max_body_size", "max_messages", "durable_timeout"}));
    if (http["listen"])
      CFG_TRY_ASSIGN(cfg.http_listen, get_listen(c, http["listen"], "http.listen"));
    auto add_token = [&](std::string t, const std::string& where) -> Status {
      while (!t.empty() && (t.back() == ' ' || t.back() == '\r' || t.back() == '\t')) t.pop_back();
      if (t.size() < 16)
        return c.err(where, "a token must have at least 16 characters (it is a password)");
      cfg.http_tokens.push_back(std::move(t));
      return ok_status();
    };
    if (const auto tokens = http["tokens"]) {
      if (!tokens.IsSequence()) return c.err("http.tokens", "expected a list of bearer tokens");
      for (const auto& t : tokens) KLAXON_TRY(add_token(scalar_text(t), "http.tokens"));
    }
    if (http["token_file"]) {
      std::string path;
      CFG_TRY_ASSIGN(path, get_file(c, http["token_file"], "http.token_file"));
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        KLAXON_TRY(add_token(line, "http.token_file"));
      }
      if (cfg.http_tokens.empty())
        return c.err("http.token_file", "no token in " + path + " (one per line)");
    }
    if (http["max_body_size"])
      CFG_TRY_ASSIGN(cfg.http_max_body_size,
                     get_size(c, http["max_body_size"], "http.max_body_size", 4096, 1 << 30));
    if (http["max_messages"])
      CFG_TRY_ASSIGN(cfg.http_max_messages,
                     get_uint(c, http["max_messages"], "http.max_messages", 1, 10'000'000));
    if (http["durable_timeout"])
      CFG_TRY_ASSIGN(cfg.http_durable_timeout,
                     get_duration(c, http["durable_timeout"], "http.durable_timeout"));
  }
  if (const auto sources = root["sources"]) {
    if (!sources.IsMap()) return c.err("sources", "expected a map of named sources");
    for (const auto& kv : sources) {
      KLAXON_TRY(parse_source(c, kv.first.as<std::string>(), kv.second, cfg));
    }
  }
  if (const auto p = root["parse"]) {
    KLAXON_TRY(check_keys(c, p, "parse",
                          {"workers", "timezone", "json_body", "compliant_msg", "json_fields",
                           "json_numeric_severity"}));
    if (p["json_fields"] || p["json_numeric_severity"]) {
      auto jo = std::make_shared<JsonMapOptions>();
      if (const auto f = p["json_fields"]) {
        if (!f.IsMap())
          return c.err("parse.json_fields", "expected a map of ECS field to JSON path");
        for (const auto& kv : f)
          jo->paths.push_back({kv.first.as<std::string>(), scalar_text(kv.second)});
      }
      if (const auto n = p["json_numeric_severity"]) {
        const std::string name = scalar_text(n);
        if (!numeric_severity_from_name(name, &jo->numeric_severity))
          return c.err("parse.json_numeric_severity",
                       "expected none, syslog, cef, wazuh, suricata, ocsf or risk_score, got \"" +
                           name + "\"");
      }
      if (auto st = jo->validate(); !st) return c.err("parse.json_fields", st.error().message);
      cfg.parse.parse.json = std::move(jo);
    }
    if (p["workers"]) {
      uint64_t w = 0;
      CFG_TRY_ASSIGN(w, get_uint(c, p["workers"], "parse.workers", 1, 64));
      cfg.parse.workers = static_cast<int>(w);
    }
    if (p["timezone"])
      CFG_TRY_ASSIGN(cfg.parse.parse.default_utc_offset_s,
                     get_offset(c, p["timezone"], "parse.timezone"));
    if (p["json_body"])
      CFG_TRY_ASSIGN(cfg.parse.parse.parse_json_body,
                     get_bool(c, p["json_body"], "parse.json_body"));
    if (p["compliant_msg"])
      CFG_TRY_ASSIGN(cfg.parse.parse.compliant_msg,
                     get_bool(c, p["compliant_msg"], "parse.compliant_msg"));
  }
  if (const auto d = root["dedupe"]) {
    KLAXON_TRY(check_keys(c, d, "dedupe", {"key", "window", "max_entries", "checkpoint_interval"}));
    if (d["checkpoint_interval"]) {
      std::chrono::milliseconds w{};
      CFG_TRY_ASSIGN(w, get_duration(c, d["checkpoint_interval"], "dedupe.checkpoint_interval"));
      cfg.correlate.dedupe_checkpoint_ns = static_cast<int64_t>(w.count()) * 1'000'000;
    }
    if (d["key"]) {
      CFG_TRY_ASSIGN(cfg.correlate.dedupe_key, get_field_key(c, d["key"], "dedupe.key", 0));
    }
    if (d["window"]) {
      std::chrono::milliseconds w{};
      CFG_TRY_ASSIGN(w, get_duration(c, d["window"], "dedupe.window"));
      cfg.correlate.dedupe.window_ns = static_cast<int64_t>(w.count()) * 1'000'000;
    }
    if (d["max_entries"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(
          v, get_uint(c, d["max_entries"], "dedupe.max_entries", 1024, DedupeOptions::kMaxEntries));
      cfg.correlate.dedupe.max_entries = static_cast<size_t>(v);
    }
    if (auto st = cfg.correlate.dedupe.validate(); !st) return c.err("dedupe", st.error().message);
  }
  if (const auto k = root["correlate"]) {
    KLAXON_TRY(check_keys(c, k, "correlate",
                          {"enabled", "shards", "min_severity", "group_by", "group_window",
                           "allowed_lateness", "duplicate_summary", "rules", "flapping"}));
    if (const auto f = k["flapping"]) {
      KLAXON_TRY(check_keys(c, f, "correlate.flapping", {"reopens", "window"}));
      if (f["reopens"]) {
        uint64_t v = 0;
        CFG_TRY_ASSIGN(v, get_uint(c, f["reopens"], "correlate.flapping.reopens", 2, 1000));
        cfg.correlate.flapping.threshold = static_cast<int>(v);
      }
      if (f["window"]) {
        std::chrono::milliseconds v{};
        CFG_TRY_ASSIGN(v, get_duration(c, f["window"], "correlate.flapping.window"));
        cfg.correlate.flapping.window_ns = static_cast<int64_t>(v.count()) * 1'000'000;
      }
    }
    if (k["rules"]) {
      // Sigma rules: detection rules and correlation rules, several YAML documents.
      std::string path;
      CFG_TRY_ASSIGN(path, get_file(c, k["rules"], "correlate.rules"));
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      sigma::LoadOptions lo;
      lo.source_name = path;
      auto rules = sigma::load_rules(text.str(), lo);
      if (!rules) return c.err("correlate.rules", rules.error().message);
      cfg.correlate.rules = *rules;
    }
    if (k["enabled"])
      CFG_TRY_ASSIGN(cfg.correlate.enabled, get_bool(c, k["enabled"], "correlate.enabled"));
    if (k["shards"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(v, get_uint(c, k["shards"], "correlate.shards", 1, 64));
      cfg.correlate.shards = static_cast<int>(v);
    }
    if (k["min_severity"]) {
      const std::string v = scalar_text(k["min_severity"]);
      bool found = false;
      for (int i = 0; i <= 4; ++i) {
        if (v == severity_name(static_cast<Severity>(i))) {
          cfg.correlate.min_severity = static_cast<Severity>(i);
          found = true;
        }
      }
      if (!found)
        return c.err("correlate.min_severity",
                     "expected info, low, medium, high or critical, got \"" + v + "\"");
    }
    if (k["group_by"]) {
      CFG_TRY_ASSIGN(cfg.correlate.group_key,
                     get_field_key(c, k["group_by"], "correlate.group_by",
                                   CorrelateOptions::default_group_key().seed()));
    }
    auto ns = [&](const char* key, int64_t* out) -> Status {
      if (!k[key]) return ok_status();
      std::chrono::milliseconds v{};
      CFG_TRY_ASSIGN(v, get_duration(c, k[key], std::string("correlate.") + key));
      *out = static_cast<int64_t>(v.count()) * 1'000'000;
      return ok_status();
    };
    KLAXON_TRY(ns("group_window", &cfg.correlate.group_window_ns));
    KLAXON_TRY(ns("allowed_lateness", &cfg.correlate.allowed_lateness_ns));
    KLAXON_TRY(ns("duplicate_summary", &cfg.correlate.duplicate_summary_ns));
    cfg.correlate.sigma.allowed_lateness_ns = cfg.correlate.allowed_lateness_ns;
  }
  if (const auto e = root["enrich"]) {
    KLAXON_TRY(check_keys(
        c, e, "enrich",
        {"enabled", "dns", "rdap", "whois", "dns_servers", "dns_timeout", "dns_tries",
         "ptr_private", "deadline", "network_timeout", "rdap_bootstrap", "rdap_fallback_url",
         "tls_ca_file", "whois_server", "cache_entries", "max_in_flight", "private_domains"}));
    auto& en = cfg.enrich;
    auto& eo = en.options;
    if (e["enabled"]) CFG_TRY_ASSIGN(en.enabled, get_bool(c, e["enabled"], "enrich.enabled"));
    if (e["dns"]) CFG_TRY_ASSIGN(en.dns, get_bool(c, e["dns"], "enrich.dns"));
    if (e["rdap"]) CFG_TRY_ASSIGN(en.rdap, get_bool(c, e["rdap"], "enrich.rdap"));
    if (e["whois"]) CFG_TRY_ASSIGN(en.whois, get_bool(c, e["whois"], "enrich.whois"));
    if (e["dns_servers"]) eo.dns_servers = scalar_text(e["dns_servers"]);
    if (e["dns_timeout"])
      CFG_TRY_ASSIGN(eo.dns_timeout, get_duration(c, e["dns_timeout"], "enrich.dns_timeout"));
    if (e["dns_tries"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(v, get_uint(c, e["dns_tries"], "enrich.dns_tries", 1, 10));
      eo.dns_tries = static_cast<int>(v);
    }
    if (e["ptr_private"])
      CFG_TRY_ASSIGN(eo.ptr_private, get_bool(c, e["ptr_private"], "enrich.ptr_private"));
    if (e["deadline"])
      CFG_TRY_ASSIGN(eo.deadline, get_duration(c, e["deadline"], "enrich.deadline"));
    if (e["network_timeout"])
      CFG_TRY_ASSIGN(eo.network_timeout,
                     get_duration(c, e["network_timeout"], "enrich.network_timeout"));
    if (const auto b = e["rdap_bootstrap"]) {
      if (!b.IsSequence())
        return c.err("enrich.rdap_bootstrap", "expected a list of IANA bootstrap files");
      for (const auto& f : b) {
        std::string path;
        CFG_TRY_ASSIGN(path, get_file(c, f, "enrich.rdap_bootstrap"));
        eo.rdap_bootstrap_files.push_back(path);
      }
    }
    if (e["rdap_fallback_url"]) eo.rdap_fallback_url = scalar_text(e["rdap_fallback_url"]);
    if (e["tls_ca_file"])
      CFG_TRY_ASSIGN(eo.tls_ca_file, get_file(c, e["tls_ca_file"], "enrich.tls_ca_file"));
    if (e["whois_server"]) eo.whois_server = scalar_text(e["whois_server"]);
    if (e["cache_entries"])
      CFG_TRY_ASSIGN(eo.cache_entries,
                     get_uint(c, e["cache_entries"], "enrich.cache_entries", 16, 100'000'000));
    if (e["max_in_flight"])
      CFG_TRY_ASSIGN(eo.max_in_flight,
                     get_uint(c, e["max_in_flight"], "enrich.max_in_flight", 1, 1'000'000));
    if (const auto d = e["private_domains"]) {
      if (!d.IsSequence()) return c.err("enrich.private_domains", "expected a list of suffixes");
      for (const auto& x : d) eo.private_domains.push_back(scalar_text(x));
    }
    if (en.rdap && eo.rdap_bootstrap_files.empty() && eo.rdap_fallback_url.empty() && !en.whois) {
      return c.err("enrich.rdap",
                   "RDAP needs rdap_bootstrap files or an rdap_fallback_url (or whois: true)");
    }
  }
  if (const auto a = root["audit"]) {
    KLAXON_TRY(check_keys(
        c, a, "audit", {"signing_key", "checkpoint_file", "checkpoint_interval", "generate_key"}));
    if (a["generate_key"])
      CFG_TRY_ASSIGN(cfg.audit.generate_key, get_bool(c, a["generate_key"], "audit.generate_key"));
    if (a["signing_key"]) {
      cfg.audit.signing_key = scalar_text(a["signing_key"]);
      if (!a["signing_key"].IsScalar() || cfg.audit.signing_key.empty())
        return c.err("audit.signing_key", "expected the path of an Ed25519 private key (PEM)");
      if (cfg.audit.generate_key) {
        if (!cfg.audit.signing_key.ends_with(".key"))
          return c.err("audit.signing_key",
                       "with generate_key the file name must end in .key (the public key goes "
                       "beside it as .pub)");
      } else {
        CFG_TRY_ASSIGN(cfg.audit.signing_key, get_file(c, a["signing_key"], "audit.signing_key"));
      }
    }
    if (a["checkpoint_file"]) {
      cfg.audit.checkpoint_file = scalar_text(a["checkpoint_file"]);
      if (!a["checkpoint_file"].IsScalar() || cfg.audit.checkpoint_file.empty())
        return c.err("audit.checkpoint_file", "expected a file path");
    }
    if (a["checkpoint_interval"])
      CFG_TRY_ASSIGN(cfg.audit.interval,
                     get_duration(c, a["checkpoint_interval"], "audit.checkpoint_interval"));
    if (!cfg.audit.signing_key.empty() && cfg.audit.checkpoint_file.empty())
      return c.err("audit.checkpoint_file", "a signing_key needs a checkpoint_file");
  }
  if (const auto p = root["pipeline"]) {
    KLAXON_TRY(check_keys(c, p, "pipeline", {"queue_capacity", "block_max_alerts", "zstd_level"}));
    if (p["queue_capacity"])
      CFG_TRY_ASSIGN(cfg.queue_capacity,
                     get_uint(c, p["queue_capacity"], "pipeline.queue_capacity", 2, 65536));
    if (p["block_max_alerts"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(v,
                     get_uint(c, p["block_max_alerts"], "pipeline.block_max_alerts", 1, 1'000'000));
      cfg.parse.block_max_alerts = static_cast<uint32_t>(v);
    }
    if (p["zstd_level"]) {
      uint64_t v = 0;
      CFG_TRY_ASSIGN(v, get_uint(c, p["zstd_level"], "pipeline.zstd_level", 0, 19));
      cfg.parse.zstd_level = static_cast<int>(v);
    }
  }
  if (const auto s = root["storage"]) {
    KLAXON_TRY(check_keys(c, s, "storage", {"sync"}));
    if (s["sync"]) {
      const std::string v = scalar_text(s["sync"]);
      if (v == "commit")
        cfg.sync = true;
      else if (v == "none")
        cfg.sync = false;
      else
        return c.err("storage.sync",
                     "expected commit (fsync every group commit) or none, got \"" + v + "\"");
    }
  }
  if (const auto l = root["log"]) {
    KLAXON_TRY(check_keys(c, l, "log", {"level", "format"}));
    if (l["level"] && !parse_log_level(scalar_text(l["level"]), &cfg.log_level)) {
      return c.err("log.level",
                   "expected debug, info, warn or error, got \"" + scalar_text(l["level"]) + "\"");
    }
    if (l["format"]) {
      const std::string f = scalar_text(l["format"]);
      if (f == "json")
        cfg.log_json = true;
      else if (f == "logfmt")
        cfg.log_json = false;
      else
        return c.err("log.format", "expected logfmt or json, got \"" + f + "\"");
    }
  }
  for (auto& t : cfg.tcp) t.tls_options.self_signed_dir = cfg.data_dir + "/tls";
  // Whoever can rewrite the data must not be able to re-sign it.
  if (!cfg.audit.signing_key.empty() && path_is_within(cfg.data_dir, cfg.audit.signing_key))
    return c.err("audit.signing_key", "must lie outside data_dir (" + cfg.data_dir + ")");
  if (!cfg.audit.checkpoint_file.empty() && path_is_within(cfg.data_dir, cfg.audit.checkpoint_file))
    return c.err("audit.checkpoint_file", "must lie outside data_dir (" + cfg.data_dir + ")");
  // Two listeners of one transport on one address:port cannot both bind.
  std::set<std::pair<std::string, uint16_t>> seen_tcp, seen_udp;
  for (const auto& t : cfg.tcp) {
    if (!seen_tcp.insert({t.address, t.port}).second)
      return c.err("sources." + t.name + ".listen",
                   "another TCP source already listens on this address");
  }
  for (const auto& u : cfg.udp) {
    if (!seen_udp.insert({u.address, u.port}).second)
      return c.err("sources." + u.name + ".listen",
                   "another UDP source already listens on this address");
  }
  return cfg;
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot read the configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::vector<std::string> restart_required_changes(const Config& a, const Config& b) {
  std::vector<std::string> out;
  if (a.data_dir != b.data_dir) out.push_back("data_dir");
  if (a.http_listen != b.http_listen) out.push_back("http.listen");
  if (a.parse.workers != b.parse.workers) out.push_back("parse.workers");
  if (a.queue_capacity != b.queue_capacity) out.push_back("pipeline.queue_capacity");
  if (a.sync != b.sync) out.push_back("storage.sync");
  auto correlate_key = [](const Config& c) {
    const CorrelateOptions& o = c.correlate;
    std::string k = std::to_string(o.enabled) + "/" + std::to_string(o.shards) + "/" +
                    std::to_string(static_cast<int>(o.min_severity)) + "/" +
                    std::to_string(o.dedupe.window_ns) + "/" +
                    std::to_string(o.dedupe.max_entries) + "/" + std::to_string(o.group_window_ns) +
                    "/" + std::to_string(o.allowed_lateness_ns) + "/" +
                    std::to_string(o.duplicate_summary_ns) + "/";
    for (auto f : o.dedupe_key.fields()) k += fingerprint_field_name(f) + std::string(",");
    k += "/";
    for (auto f : o.group_key.fields()) k += fingerprint_field_name(f) + std::string(",");
    return k;
  };
  if (correlate_key(a) != correlate_key(b)) out.push_back("dedupe / correlate");
  auto tcp_key = [](const Config& c) {
    std::string k;
    for (const auto& t : c.tcp) {
      k += t.name + "@" + t.address + ":" + std::to_string(t.port) + (t.tls ? "/tls" : "") + "/" +
           input_format_name(t.format) + ";";
    }
    return k;
  };
  auto udp_key = [](const Config& c) {
    std::string k;
    for (const auto& u : c.udp) {
      k += u.name + "@" + u.address + ":" + std::to_string(u.port) + "/" +
           input_format_name(u.format) + ";";
    }
    return k;
  };
  if (tcp_key(a) != tcp_key(b) || udp_key(a) != udp_key(b))
    out.push_back("sources (names, listen addresses or formats)");
  return out;
}

}  // namespace klaxon
