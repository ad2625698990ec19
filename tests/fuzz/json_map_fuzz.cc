// libFuzzer target for JsonMapper (pipeline/stages/json_map.h). The first input byte selects
// the format (low 3 bits: json, suricata, wazuh, falco, zeek, alertmanager, beats, generic)
// and, with bit 3, a mapper configured with generic field paths; the rest is one JSON body in
// a padded buffer (the padding repeats the input, as the next frames of a batch would).
// Invariants, abort() on violation:
//   - no string_view of an emitted Alert (every field and label) touches the padding or
//     straddles the body's end: each one is inside the body or outside it altogether (the
//     parser's buffer, the scratch, the options, literals);
//   - the mapper claims full validation, so what it accepts simdjson's DOM parser accepts
//     too, and as an object;
//   - emit is called only on success: once for a single-alert dialect, at least once for an
//     Alertmanager webhook, whose alerts each carry their own element as `raw` (inside the
//     body, itself a JSON object);
//   - with the json format, an accepted body's alerts carry the dialect detect() names;
//   - map() on the same mapper twice gives the same verdict (no state leaks between calls).
#include "fuzz_support.h"
#include "pipeline/stages/json_map.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace {

using namespace klaxon;

constexpr InputFormat kFormats[] = {
    InputFormat::kJson, InputFormat::kSuricata,     InputFormat::kWazuh, InputFormat::kFalco,
    InputFormat::kZeek, InputFormat::kAlertmanager, InputFormat::kBeats, InputFormat::kGeneric};

JsonMapper& configured_mapper() {
  static JsonMapper m;
  static const bool ready = [] {
    auto o = std::make_shared<JsonMapOptions>();
    o->paths = {
        {"rule.name", "detection.title"}, {"source.ip", "net.src.addr"},    {"severity", "risk"},
        {"@timestamp", "seen"},           {"labels.tenant", "meta.tenant"}, {"message", "a.b.c.d"}};
    o->numeric_severity = NumericSeverity::kRiskScore;
    return static_cast<bool>(m.set_options(o));
  }();
  FUZZ_CHECK(ready);
  return m;
}

void check_views(const fuzz::PaddedInput& in, const Alert& a) {
  auto check = [&](const char* what, std::string_view v) {
    if (in.touches_padding(v)) {
      std::fprintf(stderr, "Alert %s reaches past the end of the body\n", what);
      std::abort();
    }
  };
  for (const std::string_view* v : alert_string_fields(a)) check("field", *v);
  check("raw", a.raw);
  FUZZ_CHECK(a.label_count <= kMaxAlertLabels);
  for (size_t i = 0; i < a.label_count; ++i) {
    check("label key", a.labels[i].key);
    check("label value", a.labels[i].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static JsonMapper plain;  // one per worker thread in klaxond, reused across messages
  static simdjson::dom::parser dom;
  if (size == 0) return 0;
  const InputFormat format = kFormats[data[0] & 7];
  JsonMapper& mapper = (data[0] & 8) ? configured_mapper() : plain;

  fuzz::PaddedInput in(data + 1, size - 1);
  Alert alert;
  alert.raw = in.view();
  size_t emitted = 0;
  bool multi = false;
  const ParseStatus s = mapper.map(in.view(), format, alert, [&](Alert& a) {
    ++emitted;
    check_views(in, a);
    FUZZ_CHECK(a.body_is_json);
    if (a.format == InputFormat::kAlertmanager) {
      multi = true;
      FUZZ_CHECK(in.contains(a.raw) && !a.raw.empty());
      const simdjson::padded_string element(a.raw);
      simdjson::dom::element e;
      FUZZ_CHECK(!dom.parse(element).get(e) && e.is_object());
    } else {
      FUZZ_CHECK(a.raw == in.view());
    }
  });
  if (!s.ok()) {
    FUZZ_CHECK(emitted == 0);
  } else {
    FUZZ_CHECK(multi ? emitted >= 1 : emitted == 1);
    check_views(in, alert);
    simdjson::dom::element root;
    const simdjson::padded_string copy(in.view());
    const auto error = dom.parse(copy).get(root);
    if (error) std::fprintf(stderr, "simdjson DOM: %s\n", simdjson::error_message(error));
    FUZZ_CHECK(!error);
    FUZZ_CHECK(root.is_object());
    if (format == InputFormat::kJson) FUZZ_CHECK(mapper.detect(in.view()) == alert.format);
  }
  Alert again;
  FUZZ_CHECK(mapper.map(in.view(), format, again, [](Alert&) {}).ok() == s.ok());
  return 0;
}
