#include "pipeline/stages/json_map.h"

#include "pipeline/core/batch.h"
#include "pipeline/stages/syslog_parse.h"

#include <cstdint>

namespace klaxon {
namespace {

namespace od = simdjson::ondemand;
constexpr int kMaxDepth = 64;

// Which object we are in decides what a key means.
enum class Ctx { kRoot, kAlert, kRule, kHost, kSource, kDestination, kUser, kOther };

ParseStatus json_fail(const char* what) { return ParseStatus::fail(RejectReason::kJson, what, 0); }

// A JSON string as a view. Strings without escapes (nearly all of them) are returned as a
// view into the input itself, so the stored record can point into the raw bytes instead of
// copying; strings with escapes are unescaped into the parser's buffer. Either way the string
// is fully validated (escapes, and no raw control characters, which simdjson's stage 1 lets
// through).
simdjson::error_code string_of(od::value v, std::string_view& out) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() &&
         (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' || tok.back() == '\t')) {
    tok.remove_suffix(1);
  }
  if (tok.size() >= 2 && tok.front() == '"' && tok.back() == '"') {
    const std::string_view inner = tok.substr(1, tok.size() - 2);
    bool clean = true;
    for (char c : inner) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) {
        clean = false;
        break;
      }
    }
    if (clean) {
      simdjson::ondemand::raw_json_string raw;
      if (auto e = v.get_raw_json_string().get(raw)) return e;
      out = inner;
      return simdjson::SUCCESS;
    }
  }
  for (char c : tok) {
    if (static_cast<unsigned char>(c) < 0x20) return simdjson::UNESCAPED_CHARS;
  }
  return v.get_string().get(out);
}

// Visits a value we do not map, validating it fully.
simdjson::error_code validate(od::value v, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto field : o) {
        std::string_view k;
        if (auto e = field.unescaped_key().get(k)) return e;
        od::value inner;
        if (auto e = field.value().get(inner)) return e;
        if (auto e = validate(inner, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto el : a) {
        od::value inner;
        if (auto e = el.get(inner)) return e;
        if (auto e = validate(inner, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::string: {
      std::string_view s;
      return string_of(v, s);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

// A string or a number, as text (numbers keep their JSON spelling: "2001219").
simdjson::error_code scalar_text(od::value v, std::string_view& out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  if (t == od::json_type::string) return string_of(v, out);
  if (t == od::json_type::number) {
    od::number n;
    std::string_view raw = v.raw_json_token();
    if (auto e = v.get_number().get(n)) return e;
    while (!raw.empty() &&
           (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
      raw.remove_suffix(1);
    out = raw;
    return simdjson::SUCCESS;
  }
  return validate(v, 1);  // anything else is ignored but still validated
}

simdjson::error_code port_of(od::value v, int32_t& out) {
  std::string_view text;
  if (auto e = scalar_text(v, text)) return e;
  int64_t p = 0;
  if (text.empty() || text.size() > 5) return simdjson::SUCCESS;
  for (char c : text) {
    if (c < '0' || c > '9') return simdjson::SUCCESS;
    p = p * 10 + (c - '0');
  }
  if (p <= 65535) out = static_cast<int32_t>(p);
  return simdjson::SUCCESS;
}

struct Mapping {
  Alert& alert;
  bool suricata = false;
  bool level_set = false;
  int64_t suricata_severity = -1;
  std::string_view event_type;

  void set_level_word(std::string_view word) {
    Severity s;
    if (severity_from_word(word, &s)) {
      alert.severity = s;
      level_set = true;
    }
  }

  simdjson::error_code object(od::object o, Ctx ctx, int depth);
  simdjson::error_code field(std::string_view key, od::value v, Ctx ctx, int depth);
};

simdjson::error_code Mapping::object(od::object o, Ctx ctx, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  for (auto f : o) {
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) return e;
    od::value v;
    if (auto e = f.value().get(v)) return e;
    if (auto e = field(key, v, ctx, depth)) return e;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code Mapping::field(std::string_view key, od::value v, Ctx ctx, int depth) {
  auto text_into = [&](std::string_view& dst) { return scalar_text(v, dst); };
  auto nested = [&](Ctx inner) -> simdjson::error_code {
    od::json_type t;
    if (auto e = v.type().get(t)) return e;
    if (t != od::json_type::object) return simdjson::INCORRECT_TYPE;
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    return object(o, inner, depth + 1);
  };
  auto is_object = [&]() {
    od::json_type t;
    return !v.type().get(t) && t == od::json_type::object;
  };

  switch (ctx) {
    case Ctx::kRoot:
      if (key == "timestamp" || key == "@timestamp" || key == "time") {
        std::string_view ts;
        if (string_of(v, ts) != simdjson::SUCCESS) return validate(v, depth);
        int64_t ns = 0;
        size_t used = 0;
        if (parse_rfc3339(ts, 0, &ns, &used) && used == ts.size()) {
          alert.timestamp_ns = ns;
          alert.has_timestamp = true;
        }
        return simdjson::SUCCESS;
      }
      if (key == "event_type") {
        suricata = true;
        if (auto e = string_of(v, event_type)) return e;
        alert.event_dataset = "suricata.eve";
        alert.event_module = "suricata";
        alert.observer_product = "Suricata";
        alert.observer_vendor = "OISF";
        alert.observer_type = "ids";
        if (event_type == "alert") {
          alert.event_kind = "alert";
          alert.event_category = "intrusion_detection";
        }
        return simdjson::SUCCESS;
      }
      if (key == "alert") {
        if (is_object()) return nested(Ctx::kAlert);
        return validate(v, depth);
      }
      if (key == "src_ip" || key == "source_ip" || key == "source.ip")
        return text_into(alert.source_ip);
      if (key == "dest_ip" || key == "destination_ip" || key == "dst_ip" || key == "destination.ip")
        return text_into(alert.destination_ip);
      if (key == "src_port" || key == "source_port" || key == "source.port")
        return port_of(v, alert.source_port);
      if (key == "dest_port" || key == "destination_port" || key == "dst_port" ||
          key == "destination.port")
        return port_of(v, alert.destination_port);
      if (key == "proto" || key == "network.transport") return text_into(alert.network_transport);
      if (key == "app_proto") return text_into(alert.network_protocol);
      if (key == "community_id") return text_into(alert.network_community_id);
      if (key == "message" || key == "msg") return text_into(alert.message);
      if (key == "host" || key == "hostname" || key == "host.name") {
        if (is_object()) return nested(Ctx::kHost);
        // Suricata's "host" is the sensor's name: the observer, not the subject host.
        return text_into(suricata ? alert.observer_name : alert.host_name);
      }
      if (key == "source") {
        if (is_object()) return nested(Ctx::kSource);
        return validate(v, depth);
      }
      if (key == "destination") {
        if (is_object()) return nested(Ctx::kDestination);
        return validate(v, depth);
      }
      if (key == "user" || key == "username" || key == "user.name") {
        if (is_object()) return nested(Ctx::kUser);
        return text_into(alert.user_name);
      }
      if (key == "rule") {
        if (is_object()) return nested(Ctx::kRule);
        return text_into(alert.rule_name);
      }
      if (key == "rule_id" || key == "rule.id" || key == "signature_id")
        return text_into(alert.rule_id);
      if (key == "rule_name" || key == "rule.name" || key == "signature" || key == "title" ||
          key == "alertname")
        return text_into(alert.rule_name);
      if (key == "category" || key == "rule.category") return text_into(alert.rule_category);
      if (key == "action" || key == "event.action") return text_into(alert.event_action);
      if (key == "severity" || key == "level" || key == "priority" || key == "event.severity") {
        od::json_type t;
        if (auto e = v.type().get(t)) return e;
        if (t == od::json_type::string) {
          std::string_view w;
          if (auto e = string_of(v, w)) return e;
          set_level_word(w);
          return simdjson::SUCCESS;
        }
        if (t == od::json_type::number) {
          int64_t n = 0;
          if (v.get_int64().get(n) == simdjson::SUCCESS) {
            alert.event_severity = n;
            return simdjson::SUCCESS;
          }
          return validate(v, depth);  // not an int64: still has to be a valid number
        }
        return validate(v, depth);
      }
      return validate(v, depth);
    case Ctx::kAlert:  // Suricata's alert object
      if (key == "signature_id") return text_into(alert.rule_id);
      if (key == "signature") return text_into(alert.rule_name);
      if (key == "category") return text_into(alert.rule_category);
      if (key == "action") return text_into(alert.event_action);
      if (key == "severity") {
        int64_t n = 0;
        if (v.get_int64().get(n) == simdjson::SUCCESS) {
          suricata_severity = n;
          alert.event_severity = n;
          return simdjson::SUCCESS;
        }
        return validate(v, depth);
      }
      return validate(v, depth);
    case Ctx::kRule:
      if (key == "id") return text_into(alert.rule_id);
      if (key == "name" || key == "description") return text_into(alert.rule_name);
      if (key == "category") return text_into(alert.rule_category);
      return validate(v, depth);
    case Ctx::kHost:
      if (key == "name" || key == "hostname") return text_into(alert.host_name);
      return validate(v, depth);
    case Ctx::kSource:
      if (key == "ip" || key == "address") return text_into(alert.source_ip);
      if (key == "port") return port_of(v, alert.source_port);
      return validate(v, depth);
    case Ctx::kDestination:
      if (key == "ip" || key == "address") return text_into(alert.destination_ip);
      if (key == "port") return port_of(v, alert.destination_port);
      return validate(v, depth);
    case Ctx::kUser:
      if (key == "name") return text_into(alert.user_name);
      return validate(v, depth);
    case Ctx::kOther:
      return validate(v, depth);
  }
  return validate(v, depth);
}

}  // namespace

JsonMapper::JsonMapper() = default;

ParseStatus JsonMapper::map(std::string_view body, Alert& alert) {
  od::document doc;
  if (parser_.iterate(body.data(), body.size(), body.size() + kParsePadding).get(doc)) {
    return json_fail("JSON document");
  }
  od::object root;
  if (doc.get_object().get(root)) return json_fail("a JSON object");
  Mapping m{alert, false, false, -1, {}};
  if (m.object(root, Ctx::kRoot, 1)) return json_fail("valid JSON");
  // Anything after the root object is trailing garbage: at the end, current_location() says
  // OUT_OF_BOUNDS.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return json_fail("end of JSON document");
  }
  alert.body_is_json = true;
  if (m.suricata_severity >= 0 && !m.level_set) {
    alert.severity = severity_from_suricata(m.suricata_severity);
  }
  return ParseStatus{};
}

}  // namespace klaxon
