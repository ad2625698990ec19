// The Prometheus Alertmanager webhook, version 4 (prometheus/alertmanager
// notify/webhook/webhook.go: template.Data plus version, groupKey, truncatedAlerts). One
// document holds several alerts; each becomes one Alert whose `raw` is its element of
// alerts[]. Nothing is emitted until the whole document has been read and found valid: up to
// kPendingAlerts alerts wait in the mapper's buffer; a longer document is read twice (the
// second pass, after doc.rewind(), maps and emits one alert at a time).
#include "pipeline/stages/json_walk.h"

namespace klaxon::json {
namespace {

// A firing alert's endsAt is Go's zero time, "0001-01-01T00:00:00Z" (any fraction or zone).
bool is_zero_time(std::string_view s) { return s.substr(0, 19) == "0001-01-01T00:00:00"; }

// What the top level says about every alert of the document.
struct Top {
  std::string_view receiver, status, external_url;
};

class AmAlert {
 public:
  enum class Ctx : uint8_t { kNone, kAlert, kLabels, kAnnotations };

  AmAlert(Alert& a, Scratch& scratch) : a_(a), scratch_(scratch) {}

  static Ctx child(Ctx ctx, std::string_view key) {
    if (ctx != Ctx::kAlert) return Ctx::kNone;
    if (key == "labels") return Ctx::kLabels;
    if (key == "annotations") return Ctx::kAnnotations;
    return Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    switch (ctx) {
      case Ctx::kAlert:
        if (key == "status") return string_only(v, depth, status_);
        if (key == "startsAt") return time(v, depth, true);
        if (key == "endsAt") return time(v, depth, false);
        if (key == "generatorURL") return string_only(v, depth, a_.url_original);
        if (key == "fingerprint") return string_only(v, depth, a_.rule_id);
        if (key == "labels" || key == "annotations") return skip_null_or_shape(v, depth);
        return kUnmapped;
      case Ctx::kLabels: {  // Prometheus labels: every value a string
        std::string_view value;
        if (auto e = label_string(v, depth, value)) return e;
        if (key == "alertname") a_.rule_name = value;
        if (key == "severity") severity_ = value;
        if (key == "instance") instance_ = value;
        a_.add_label(key, value);
        return kOk;
      }
      case Ctx::kAnnotations: {
        std::string_view value;
        if (auto e = label_string(v, depth, value)) return e;
        if (key == "summary") {
          summary_ = value;
        } else if (key == "description") {
          description_ = value;
        } else if (std::string_view k = concat(scratch_, "annotation.", key); !k.empty()) {
          a_.add_label(k, value);
        }
        return kOk;
      }
      case Ctx::kNone:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx, std::string_view, Val& v, int depth) { return skip(v, depth); }

  // What the element itself says.
  void finish() {
    a_.body_is_json = true;
    a_.format = InputFormat::kAlertmanager;
    a_.event_kind = "alert";
    a_.event_module = "alertmanager";
    a_.event_dataset = "alertmanager.alert";
    a_.observer_product = "Alertmanager";
    a_.observer_vendor = "Prometheus";
    a_.event_action = status_;       // "firing" or "resolved"
    Severity s = Severity::kMedium;  // no severity label, or an unknown word
    if (!severity_.empty()) (void)severity_from_word(severity_, &s);
    a_.severity = s;
    a_.host_name = strip_port(instance_);
    if (!summary_.empty()) {
      a_.message = summary_;
      if (!description_.empty()) a_.add_label("annotation.description", description_);
    } else {
      a_.message = description_;
    }
    if (!ends_at_.empty()) a_.add_label("ends_at", ends_at_);
  }

  // What the notification says about all its alerts (the top level may follow alerts[]).
  static void apply_top(Alert& a, const Top& top) {
    if (!top.external_url.empty()) a.observer_name = url_host(top.external_url);
    if (a.event_action.empty()) a.event_action = top.status;
    if (!top.receiver.empty()) a.add_label("receiver", top.receiver);
  }

 private:
  // startsAt must be a time; endsAt a time or the zero time. Anything else is no webhook.
  Err time(Val& v, int depth, bool start) {
    Scalar s;
    if (auto e = scalar(v, depth, s)) return e;
    if (s.kind == Kind::kNull) return kOk;
    if (s.kind != Kind::kString) return kShape;
    if (is_zero_time(s.text)) return kOk;
    int64_t ns = 0;
    if (!time_from_rfc3339(s.text, &ns)) return kShape;
    if (start) {
      a_.timestamp_ns = ns;
      a_.has_timestamp = true;
    } else {
      ends_at_ = s.text;
    }
    return kOk;
  }
  Err label_string(Val& v, int depth, std::string_view& out) {
    Scalar s;
    if (auto e = scalar(v, depth, s)) return e;
    if (s.kind != Kind::kString) return kShape;
    out = s.text;
    return kOk;
  }
  // labels/annotations that are not objects: null is tolerated, anything else is refused.
  Err skip_null_or_shape(Val& v, int depth) {
    Scalar s;
    if (auto e = scalar(v, depth, s)) return e;
    return s.kind == Kind::kNull ? kOk : kShape;
  }

  Alert& a_;
  Scratch& scratch_;
  std::string_view status_, severity_, instance_, summary_, description_, ends_at_;
};

// Maps alerts[i] (an object) into `out`, which starts as a copy of `base`.
Err map_element(od::document& doc, Val& x, const Alert& base, const Top& top, Scratch& scratch,
                Alert& out, bool with_top) {
  out = base;
  od::object o;
  if (auto e = x.v.get_object().get(o)) return e;
  AmAlert m(out, scratch);
  if (auto e = walk(m, o, AmAlert::Ctx::kAlert, 2)) return e;
  // The element's own JSON text: from its '{' to where the iterator stands now (the ',' or
  // ']' after it), trailing whitespace trimmed.
  const char* end = nullptr;
  if (auto e = doc.current_location().get(end)) return e;
  out.raw = rtrim(std::string_view(x.tok.data(), static_cast<size_t>(end - x.tok.data())));
  m.finish();
  if (with_top) AmAlert::apply_top(out, top);
  return kOk;
}

}  // namespace

Err map_alertmanager(od::document& doc, od::object root, Env& env, Alert* pending,
                     FunctionRef<void(Alert&)> emit, size_t* emitted) {
  const Alert& base = env.alert;
  Top top;
  size_t count = 0;
  bool have_alerts = false;
  // Pass 1: validate everything; map the first kPendingAlerts alerts (the rest into the
  // spare slot, for their checks alone).
  for (auto field : root) {
    if (auto e = field.error()) return e;
    od::field&& f = std::move(field).value_unsafe();  // no copy of the field
    Val v(f.value());
    std::string_view key;
    if (auto e = key_of(f, v.tok.data(), key)) return e;
    if (key == "alerts") {
      if (v.first() != '[') return kShape;
      have_alerts = true;
      od::array arr;
      if (auto e = v.v.get_array().get(arr)) return e;
      for (auto el : arr) {
        od::value value;
        if (auto e = std::move(el).get(value)) return e;
        Val ev(value);
        if (ev.first() != '{') return kShape;
        Alert& slot = pending[count < kPendingAlerts ? count : kPendingAlerts];
        if (auto e = map_element(doc, ev, base, top, env.scratch, slot, false)) return e;
        ++count;
      }
    } else if (key == "receiver") {
      if (auto e = stable_string(v, 2, env.body, env.scratch, top.receiver)) return e;
    } else if (key == "status") {
      if (auto e = stable_string(v, 2, env.body, env.scratch, top.status)) return e;
    } else if (key == "externalURL") {
      if (auto e = stable_string(v, 2, env.body, env.scratch, top.external_url)) return e;
    } else if (auto e = skip(v, 2)) {
      return e;
    }
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return simdjson::TRAILING_CONTENT;
  }
  if (!have_alerts || count == 0) return kShape;

  if (count <= kPendingAlerts) {
    // The top-level fields may follow alerts[]: apply them now that they are known.
    for (size_t i = 0; i < count; ++i) AmAlert::apply_top(pending[i], top);
    for (size_t i = 0; i < count; ++i) emit(pending[i]);
    *emitted = count;
    env.alert = pending[count - 1];
    return kOk;
  }

  // Pass 2: everything is valid; map and emit one alert at a time.
  doc.rewind();
  if (auto e = doc.get_object().get(root)) return e;
  size_t n = 0;
  for (auto field : root) {
    if (auto e = field.error()) return e;
    od::field&& f = std::move(field).value_unsafe();  // no copy of the field
    Val v(f.value());
    std::string_view key;
    if (auto e = key_of(f, v.tok.data(), key)) return e;
    if (key != "alerts") continue;  // already read; skipped unread
    od::array arr;
    if (auto e = v.v.get_array().get(arr)) return e;
    for (auto el : arr) {
      od::value value;
      if (auto e = std::move(el).get(value)) return e;
      Val ev(value);
      if (auto e = map_element(doc, ev, base, top, env.scratch, pending[0], true)) return e;
      emit(pending[0]);
      ++n;
    }
    break;
  }
  *emitted = n;
  env.alert = pending[0];
  return kOk;
}

}  // namespace klaxon::json
