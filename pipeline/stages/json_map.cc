// JsonMapper: parsing, dialect detection, the generic options, and the helpers the dialect
// files (json_<dialect>.cc) share. The walk itself is in json_walk.h.
#include "pipeline/stages/json_map.h"

#include "pipeline/core/batch.h"
#include "pipeline/stages/json_walk.h"
#include "pipeline/stages/syslog_parse.h"

#include <cmath>
#include <cstdlib>
#include <set>

namespace klaxon {

namespace json {

// ---- shared helpers (declared in json_walk.h)

Err join_strings(Val& v, int depth, Scratch& scratch, std::string_view& out) {
  if (v.first() != '[') return string_only(v, depth, out);
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::array a;
  if (auto e = v.v.get_array().get(a)) return e;
  // Consecutive takes from the scratch are contiguous: the pieces form one view.
  const char* start = nullptr;
  size_t len = 0;
  bool room = true;
  for (auto el : a) {
    od::value value;
    if (auto e = std::move(el).get(value)) return e;
    Val inner(value);
    Scalar s;
    if (auto e = scalar(inner, depth + 1, s)) return e;
    if (s.kind != Kind::kString || !room) continue;
    const size_t need = s.text.size() + (len ? 1 : 0);
    char* p = scratch.take(need);
    if (p == nullptr) {
      room = false;  // keep what fits; the rest is still validated
      continue;
    }
    if (start == nullptr) start = p;
    if (len) *p++ = ',';
    if (!s.text.empty()) std::memcpy(p, s.text.data(), s.text.size());
    len += need;
  }
  if (start != nullptr) out = std::string_view(start, len);
  return kOk;
}

Err stable_string(Val& v, int depth, std::string_view body, Scratch& scratch,
                  std::string_view& out) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  if (!s.is_text()) return kOk;
  const bool in_body =
      s.text.data() >= body.data() && s.text.data() + s.text.size() <= body.data() + body.size();
  out = in_body ? s.text : scratch.copy(s.text);
  return kOk;
}

std::string_view concat(Scratch& scratch, std::string_view a, std::string_view b) {
  char* p = scratch.take(a.size() + b.size());
  if (p == nullptr) return {};
  std::memcpy(p, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + a.size(), b.data(), b.size());
  return std::string_view(p, a.size() + b.size());
}

bool time_from_rfc3339(std::string_view s, int64_t* ns) {
  size_t used = 0;
  return parse_rfc3339(s, 0, ns, &used) && used == s.size();
}

namespace {
// The range klaxon keeps event times in (dedupe and correlation clamp to +-2^62 ns too).
constexpr int64_t kMaxNs = int64_t{1} << 62;
constexpr int64_t kMaxSeconds = kMaxNs / 1'000'000'000;
}  // namespace

bool time_from_epoch_seconds(std::string_view t, int64_t* ns) {
  bool library = false;
  if (!number_grammar(t, &library)) return false;
  const bool neg = t[0] == '-';
  size_t i = neg ? 1 : 0;
  int64_t secs = 0;
  size_t int_digits = 0;
  while (i < t.size() && is_digit(t[i])) {
    if (++int_digits > 12) break;
    secs = secs * 10 + (t[i] - '0');
    ++i;
  }
  const bool plain = int_digits <= 12 && (i == t.size() || t[i] == '.');
  if (!plain || t.find_first_of("eE") != std::string_view::npos) {
    // Exponent forms and huge values: a double is as good as the sender's precision.
    const std::string copy(t);  // strtod needs a terminated string; rare path
    const double d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(d) || std::fabs(d) >= static_cast<double>(kMaxSeconds)) return false;
    *ns = static_cast<int64_t>(std::llround(d * 1e9));
    return true;
  }
  int64_t frac = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = 100'000'000;
    for (; i < t.size() && is_digit(t[i]); ++i) {
      if (scale > 0) {  // digits past nanoseconds are dropped
        frac += (t[i] - '0') * scale;
        scale /= 10;
      }
    }
  }
  if (secs >= kMaxSeconds) return false;
  const int64_t v = secs * 1'000'000'000 + frac;
  *ns = neg ? -v : v;
  return true;
}

bool time_from_scalar(const Scalar& s, int64_t* ns) {
  if (s.kind == Kind::kString) return time_from_rfc3339(s.text, ns);
  if (s.kind != Kind::kNumber) return false;
  int64_t n = 0;
  if (parse_int(s.text, &n)) {
    // Integers: seconds, or milli/micro/nanoseconds by magnitude (Zeek's JSON::TS_MILLIS,
    // Falco's evt.time). 1e11 s is the year 5138; 1e11 ms is 1973.
    const int64_t a = n < 0 ? -n : n;
    const int64_t unit = a >= 100'000'000'000'000'000 ? 1
                         : a >= 100'000'000'000'000   ? 1'000
                         : a >= 100'000'000'000       ? 1'000'000
                                                      : 1'000'000'000;
    int64_t v = 0;
    if (__builtin_mul_overflow(n, unit, &v) || v > kMaxNs || v < -kMaxNs) return false;
    *ns = v;
    return true;
  }
  return time_from_epoch_seconds(s.text, ns);
}

std::string_view strip_port(std::string_view h) {
  if (!h.empty() && h[0] == '[') {
    const size_t close = h.find(']');
    return close == std::string_view::npos ? h : h.substr(1, close - 1);
  }
  const size_t colon = h.rfind(':');
  if (colon == std::string_view::npos || h.find(':') != colon) return h;  // none, or IPv6
  for (size_t i = colon + 1; i < h.size(); ++i) {
    if (!is_digit(h[i])) return h;
  }
  return colon + 1 < h.size() ? h.substr(0, colon) : h;
}

std::string_view url_host(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  return strip_port(rest);
}

std::string_view basename_of(std::string_view path) {
  const size_t slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Severity severity_from_wazuh(int64_t level) {
  if (level >= 15) return Severity::kCritical;
  if (level >= 12) return Severity::kHigh;
  if (level >= 7) return Severity::kMedium;
  if (level >= 4) return Severity::kLow;
  return Severity::kInfo;
}

int falco_priority(std::string_view w) {
  static constexpr std::string_view kNames[] = {"emergency", "alert",  "critical",      "error",
                                                "warning",   "notice", "informational", "debug"};
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
      if (c != b[i]) return false;
    }
    return true;
  };
  for (int i = 0; i < 8; ++i) {
    if (iequals(w, kNames[i])) return i;
  }
  if (iequals(w, "info")) return 6;  // Falco accepts "Info" in rules
  return -1;
}

bool severity_from_number(NumericSeverity scale, int64_t n, Severity* out) {
  switch (scale) {
    case NumericSeverity::kNone:
      return false;
    case NumericSeverity::kSyslog:
      if (n < 0 || n > 7) return false;
      *out = severity_from_syslog(static_cast<int>(n));
      return true;
    case NumericSeverity::kCef:
      if (n < 0 || n > 10) return false;
      *out = n >= 9   ? Severity::kCritical
             : n >= 7 ? Severity::kHigh
             : n >= 4 ? Severity::kMedium
             : n >= 1 ? Severity::kLow
                      : Severity::kInfo;
      return true;
    case NumericSeverity::kWazuh:
      if (n < 0 || n > 16) return false;
      *out = severity_from_wazuh(n);
      return true;
    case NumericSeverity::kSuricata:
      if (n < 1) return false;
      *out = severity_from_suricata(n);
      return true;
    case NumericSeverity::kOcsf:
      if (n < 0 || n > 6) return false;
      *out = n >= 5   ? Severity::kCritical
             : n == 4 ? Severity::kHigh
             : n == 3 ? Severity::kMedium
             : n == 2 ? Severity::kLow
                      : Severity::kInfo;
      return true;
    case NumericSeverity::kRiskScore:
      if (n < 0 || n > 100) return false;
      *out = n >= 74   ? Severity::kCritical
             : n >= 48 ? Severity::kHigh
             : n >= 22 ? Severity::kMedium
             : n >= 1  ? Severity::kLow
                       : Severity::kInfo;
      return true;
  }
  return false;
}

// ---- dialect detection (InputFormat::kJson)

namespace {

constexpr uint32_t kEventType = 1u << 0;
constexpr uint32_t kAlerts = 1u << 1;
constexpr uint32_t kAmTop =
    1u << 2;  // receiver, groupLabels, commonLabels, commonAnnotations, groupKey, externalURL
constexpr uint32_t kRule = 1u << 3;
constexpr uint32_t kWazuhTop = 1u << 4;  // manager, decoder, predecoder, full_log, syscheck
constexpr uint32_t kOutputFields = 1u << 5;
constexpr uint32_t kPriority = 1u << 6;
constexpr uint32_t kOutput = 1u << 7;
constexpr uint32_t kNote = 1u << 8;
constexpr uint32_t kZeekTop = 1u << 9;    // ts, uid, id.orig_h, _path
constexpr uint32_t kBeatsTop = 1u << 10;  // @metadata, ecs
constexpr uint32_t kAtTimestamp = 1u << 11;
constexpr uint32_t kAgent = 1u << 12;

uint32_t key_flag(std::string_view k) {
  switch (k.size()) {
    case 2:
      return k == "ts" ? kZeekTop : 0;
    case 3:
      if (k == "uid") return kZeekTop;
      return k == "ecs" ? kBeatsTop : 0;
    case 4:
      if (k == "rule") return kRule;
      return k == "note" ? kNote : 0;
    case 5:
      if (k == "agent") return kAgent;
      return k == "_path" ? kZeekTop : 0;
    case 6:
      if (k == "alerts") return kAlerts;
      return k == "output" ? kOutput : 0;
    case 7:
      if (k == "manager" || k == "decoder") return kWazuhTop;
      return 0;
    case 8:
      if (k == "receiver" || k == "groupKey" || k == "full_log" || k == "syscheck") {
        return k[0] == 'r' || k[0] == 'g' ? kAmTop : kWazuhTop;
      }
      if (k == "priority") return kPriority;
      return 0;
    case 9:
      if (k == "id.orig_h") return kZeekTop;
      return k == "@metadata" ? kBeatsTop : 0;
    case 10:
      if (k == "event_type") return kEventType;
      if (k == "predecoder") return kWazuhTop;
      return k == "@timestamp" ? kAtTimestamp : 0;
    case 11:
      if (k == "groupLabels" || k == "externalURL") return kAmTop;
      return 0;
    case 12:
      return k == "commonLabels" ? kAmTop : 0;
    case 13:
      return k == "output_fields" ? kOutputFields : 0;
    case 17:
      return k == "commonAnnotations" ? kAmTop : 0;
    default:
      return 0;
  }
}

// A dialect the keys seen so far decide, or kJson while undecided. Beats is never decided
// early: a Wazuh alert shipped by Filebeat carries Beats keys too.
InputFormat decided(uint32_t f) {
  if ((f & kAlerts) && (f & kAmTop)) return InputFormat::kAlertmanager;
  if (f & kEventType) return InputFormat::kSuricata;
  if ((f & kRule) && (f & kWazuhTop)) return InputFormat::kWazuh;
  if ((f & kOutputFields) || ((f & kPriority) && (f & kRule) && (f & kOutput)))
    return InputFormat::kFalco;
  if ((f & kNote) && (f & kZeekTop)) return InputFormat::kZeek;
  return InputFormat::kJson;
}

}  // namespace

InputFormat detect_by_key(uint32_t& flags, std::string_view key) {
  const uint32_t f = key_flag(key);
  if (f == 0) return InputFormat::kJson;
  flags |= f;
  return decided(flags);
}

InputFormat detect_at_end(uint32_t flags) {
  if ((flags & kBeatsTop) || ((flags & kAtTimestamp) && (flags & kAgent)))
    return InputFormat::kBeats;
  return InputFormat::kGeneric;
}

namespace {

// Reads the root object's keys only (values are skipped by simdjson, not validated): detect().
Err detect_keys(od::object root, InputFormat* out) {
  uint32_t flags = 0;
  for (auto field : root) {
    if (auto e = field.error()) return e;
    od::field&& f = std::move(field).value_unsafe();  // no copy of the field
    std::string_view key;
    if (auto e = key_of(f, f.value().raw_json_token().data(), key)) return e;
    const InputFormat d = detect_by_key(flags, key);
    if (d != InputFormat::kJson) {
      *out = d;
      return kOk;
    }
  }
  *out = detect_at_end(flags);
  return kOk;
}

}  // namespace

}  // namespace json

// ---- options

namespace {

constexpr std::string_view kFieldNames[] = {"@timestamp",       "severity",
                                            "message",          "event.kind",
                                            "event.module",     "event.dataset",
                                            "event.action",     "event.category",
                                            "event.severity",   "rule.id",
                                            "rule.name",        "rule.category",
                                            "host.name",        "source.ip",
                                            "source.port",      "destination.ip",
                                            "destination.port", "network.transport",
                                            "network.protocol", "network.community_id",
                                            "user.name",        "observer.vendor",
                                            "observer.product", "observer.name",
                                            "observer.type",    "file.name",
                                            "file.path",        "file.hash.md5",
                                            "file.hash.sha1",   "file.hash.sha256",
                                            "url.original",     "url.domain",
                                            "process.name",     "process.command_line"};
static_assert(std::size(kFieldNames) == static_cast<size_t>(json::Target::kLabel));

constexpr size_t kMaxPaths = 64;
constexpr size_t kMaxPathBytes = 255;

bool target_of(std::string_view field, json::Target* out) {
  for (size_t i = 0; i < std::size(kFieldNames); ++i) {
    if (kFieldNames[i] == field) {
      *out = static_cast<json::Target>(i);
      return true;
    }
  }
  if (field.substr(0, 7) == "labels." && field.size() > 7) {
    *out = json::Target::kLabel;
    return true;
  }
  return false;
}

ParseStatus json_fail(const char* what) { return ParseStatus::fail(RejectReason::kJson, what, 0); }

}  // namespace

const std::vector<std::string_view>& json_field_names() {
  static const std::vector<std::string_view> names(std::begin(kFieldNames), std::end(kFieldNames));
  return names;
}

bool numeric_severity_from_name(std::string_view name, NumericSeverity* out) {
  static constexpr std::pair<std::string_view, NumericSeverity> kNames[] = {
      {"none", NumericSeverity::kNone},
      {"syslog", NumericSeverity::kSyslog},
      {"cef", NumericSeverity::kCef},
      {"wazuh", NumericSeverity::kWazuh},
      {"suricata", NumericSeverity::kSuricata},
      {"ocsf", NumericSeverity::kOcsf},
      {"risk_score", NumericSeverity::kRiskScore}};
  for (const auto& [n, v] : kNames) {
    if (n == name) {
      *out = v;
      return true;
    }
  }
  return false;
}

Status JsonMapOptions::validate() const {
  if (paths.size() > kMaxPaths) {
    return make_error(ErrorCode::kInvalidArgument, "json paths: " + std::to_string(paths.size()) +
                                                       " entries, at most " +
                                                       std::to_string(kMaxPaths));
  }
  std::set<std::string> seen;
  for (const FieldPath& p : paths) {
    json::Target t;
    if (!target_of(p.field, &t)) {
      std::string names;
      for (std::string_view n : kFieldNames) (names += names.empty() ? "" : ", ") += n;
      return make_error(ErrorCode::kInvalidArgument, "json paths: unknown field \"" + p.field +
                                                         "\" (expected one of " + names +
                                                         ", or labels.<key>)");
    }
    if (!seen.insert(p.field).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "json paths: field \"" + p.field + "\" is named twice");
    }
    const bool empty_segment = p.path.empty() || p.path.front() == '.' || p.path.back() == '.' ||
                               p.path.find("..") != std::string::npos;
    if (empty_segment || p.path.size() > kMaxPathBytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        "json paths: field \"" + p.field + "\": path \"" + p.path +
                            "\" must be 1-255 bytes of keys joined by '.', none empty");
    }
  }
  return ok_status();
}

JsonMapper::JsonMapper() : pending_(new Alert[json::kPendingAlerts + 1]) {}
JsonMapper::~JsonMapper() = default;

Status JsonMapper::set_options(std::shared_ptr<const JsonMapOptions> options) {
  if (!options) {
    options_.reset();
    compiled_.reset();
    return ok_status();
  }
  if (Status s = options->validate(); !s) return s;
  auto c = std::make_unique<Compiled>();
  c->numeric = options->numeric_severity;
  std::set<std::string> prefixes;
  for (const JsonMapOptions::FieldPath& p : options->paths) {
    Compiled::Entry e;
    e.path = p.path;
    (void)target_of(p.field, &e.target);
    if (e.target == json::Target::kLabel) e.label = p.field.substr(7);
    c->entries.push_back(std::move(e));
    for (size_t dot = p.path.find('.'); dot != std::string::npos; dot = p.path.find('.', dot + 1))
      prefixes.insert(p.path.substr(0, dot));
  }
  c->prefixes.assign(prefixes.begin(), prefixes.end());
  options_ = std::move(options);
  compiled_ = std::move(c);
  return ok_status();
}

InputFormat JsonMapper::detect(std::string_view body) {
  simdjson::ondemand::document doc;
  if (parser_.iterate(body.data(), body.size(), body.size() + kParsePadding).get(doc)) {
    return InputFormat::kJson;
  }
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return InputFormat::kJson;
  InputFormat d = InputFormat::kGeneric;
  if (json::detect_keys(root, &d)) return InputFormat::kJson;
  return d;
}

ParseStatus JsonMapper::map(std::string_view body, InputFormat format, Alert& alert,
                            FunctionRef<void(Alert&)> emit) {
  using json::Err;
  simdjson::ondemand::document doc;
  if (parser_.iterate(body.data(), body.size(), body.size() + kParsePadding).get(doc)) {
    return json_fail("JSON document");
  }
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return json_fail("a JSON object");
  // Joined arrays, prefixed label keys and (Alertmanager) strings kept across a rewind.
  scratch_.reset(body.size() * 4 + 512);
  json::Env env{alert, scratch_, body, compiled_.get()};
  auto failed = [](Err e, const char* shape) {
    return e == json::kShape ? ParseStatus::fail(RejectReason::kFormat, shape, 0)
                             : json_fail("valid JSON");
  };
  InputFormat dialect = format;
  bool mapped = false;
  if (dialect < InputFormat::kSuricata) {
    // Detection (json_ecs.cc): a document that starts like a Beats event is mapped in the
    // same pass; the others are skipped through until a key decides, then mapped from the
    // start.
    const Err e = json::map_json_probe(root, env, &dialect);
    if (e == json::kRestart) {
      doc.rewind();
      if (doc.get_object().get(root)) return json_fail("a JSON object");
    } else if (e) {
      return failed(e, "JSON");
    } else {
      mapped = true;
    }
  }

  if (dialect == InputFormat::kAlertmanager) {
    size_t emitted = 0;
    if (Err e = json::map_alertmanager(doc, root, env, pending_.get(), emit, &emitted)) {
      return failed(e, "an Alertmanager webhook (alerts[] of objects with string labels)");
    }
    return ParseStatus{};
  }

  Err e = json::kOk;
  switch (mapped ? InputFormat::kJson : dialect) {
    case InputFormat::kJson:
      break;  // the probe has mapped it
    case InputFormat::kSuricata:
      e = json::map_suricata(root, env);
      break;
    case InputFormat::kWazuh:
      e = json::map_wazuh(root, env);
      break;
    case InputFormat::kFalco:
      e = json::map_falco(root, env);
      break;
    case InputFormat::kZeek:
      e = json::map_zeek(root, env);
      break;
    case InputFormat::kBeats:
      e = json::map_beats(root, env);
      break;
    default:
      dialect = InputFormat::kGeneric;
      e = json::map_generic(root, env);
      break;
  }
  if (e) return failed(e, input_format_name(dialect));
  // Anything after the root object is trailing garbage: at the end, current_location() says
  // OUT_OF_BOUNDS.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return json_fail("end of JSON document");
  }
  alert.body_is_json = true;
  alert.format = dialect;
  emit(alert);
  return ParseStatus{};
}

}  // namespace klaxon
