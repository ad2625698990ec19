// libFuzzer target for the CEF and LEEF parsers (pipeline/stages/cef.h): the input is one body
// in a padded buffer (the padding repeats the input, as the next frames of a batch would). It
// goes through map_cef() and map_leef() (whichever the body is, and the other one too, which
// must reject it), the tokenizers parse_cef_record() / parse_leef_record(), and the time
// parsers on the input as text (and as "text NUL pattern" for parse_java_date).
// Invariants, abort() on violation:
//   - every string_view in the Alert and the headers, every key and value a tokenizer emits,
//     lies inside the body or entirely outside it and its padding (the scratch, or static
//     text): nothing reaches past the body's end;
//   - keys are never empty; labels at most kMaxAlertLabels;
//   - map_X accepts exactly when parse_X_record does, and the same body parses the same way
//     twice (same verdict, same pairs), the scratch reused;
//   - a failure's column lies inside the body;
//   - an accepted alert renders as JSON (append_alert_json) that simdjson's DOM accepts as an
//     object, and its record round-trips (append_alert_record -> read_alert_record);
//   - a timestamp survives append_rfc3339 -> parse_rfc3339.
#include "fuzz_support.h"
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/stages/cef.h"
#include "pipeline/stages/syslog_parse.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {
namespace {

constexpr int64_t kNow = 1'779'271'262'000'000'000LL;  // 2026-05-20, as the unit tests use

const fuzz::PaddedInput* g_in = nullptr;

void check_view(const char* what, std::string_view v) {
  if (g_in->touches_padding(v)) {
    std::fprintf(stderr, "%s reaches past the end of the body\n", what);
    std::abort();
  }
}

void check_alert(const Alert& a) {
  fuzz::for_each_view(a, [](const char* field, std::string_view v) { check_view(field, v); });
  for (std::string_view v : {a.file_name, a.file_path, a.file_hash_md5, a.file_hash_sha1,
                             a.file_hash_sha256, a.url_original, a.url_domain, a.process_name,
                             a.process_command_line, a.event_module, a.event_dataset}) {
    check_view("observable", v);
  }
  FUZZ_CHECK(a.label_count <= kMaxAlertLabels);
  for (size_t i = 0; i < a.label_count; ++i) {
    check_view("label key", a.labels[i].key);
    check_view("label value", a.labels[i].value);
    FUZZ_CHECK(!a.labels[i].value.empty());
  }
  if (a.has_timestamp) {
    std::string text;
    append_rfc3339(a.timestamp_ns, text);
    int64_t back = 0;
    size_t consumed = 0;
    FUZZ_CHECK(parse_rfc3339(text, 0, &back, &consumed));
    FUZZ_CHECK(back == a.timestamp_ns && consumed == text.size());
  }
}

void check_json_and_record(const Alert& a) {
  static simdjson::dom::parser dom;
  std::string json;
  append_alert_json(a, json);
  const simdjson::padded_string copy(json);
  simdjson::dom::element root;
  const auto error = dom.parse(copy).get(root);
  if (error) {
    std::fprintf(stderr, "alert JSON rejected by simdjson (%s): %s\n",
                 simdjson::error_message(error), json.c_str());
  }
  FUZZ_CHECK(!error && root.is_object());
  std::string record;
  append_alert_record(a, record);
  Alert back;
  FUZZ_CHECK(read_alert_record(record, back));
  std::string again;
  append_alert_record(back, again);
  FUZZ_CHECK(again == record);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

template <typename Header, typename Tokenize>
ParseStatus tokenize(std::string_view body, Scratch& scratch, Tokenize fn, Pairs& out) {
  Header h;
  scratch.reset(body.size() + 256);
  const ParseStatus s = fn(body, scratch, h, [&](std::string_view k, std::string_view v) {
    FUZZ_CHECK(!k.empty());
    check_view("key", k);
    check_view("value", v);
    out.emplace_back(std::string(k), std::string(v));
  });
  if constexpr (std::is_same_v<Header, CefHeader>) {
    for (std::string_view v : {h.prefix, h.version, h.device_vendor, h.device_product,
                               h.device_version, h.signature_id, h.name, h.severity}) {
      check_view("CEF header", v);
    }
  } else {
    for (std::string_view v :
         {h.prefix, h.version, h.vendor, h.product, h.product_version, h.event_id, h.delimiter}) {
      check_view("LEEF header", v);
    }
    if (s.ok()) FUZZ_CHECK(!h.delimiter.empty());
  }
  if (!s.ok()) FUZZ_CHECK(s.column <= body.size());
  return s;
}

void run(std::string_view body, bool cef) {
  static Scratch scratch;  // one per worker in klaxond, reused
  Pairs first, second;
  const ParseStatus t1 = cef ? tokenize<CefHeader>(body, scratch, parse_cef_record, first)
                             : tokenize<LeefHeader>(body, scratch, parse_leef_record, first);
  const ParseStatus t2 = cef ? tokenize<CefHeader>(body, scratch, parse_cef_record, second)
                             : tokenize<LeefHeader>(body, scratch, parse_leef_record, second);
  FUZZ_CHECK(t1.ok() == t2.ok() && t1.reason == t2.reason && t1.column == t2.column);
  FUZZ_CHECK(first == second);

  KvFormatOptions o;
  o.now_ns = kNow;
  scratch.reset(body.size() + 256);
  Alert alert;
  const ParseStatus m = cef ? map_cef(body, o, scratch, alert) : map_leef(body, o, scratch, alert);
  FUZZ_CHECK(m.ok() == t1.ok());
  if (!m.ok()) {
    FUZZ_CHECK(m.column <= body.size());
    return;
  }
  check_alert(alert);
  check_json_and_record(alert);
}

}  // namespace
}  // namespace klaxon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace klaxon;
  fuzz::PaddedInput in(data, size);
  g_in = &in;
  const std::string_view body = in.view();
  const bool is_cef = body.substr(0, 4) == "CEF:";
  const bool is_leef = body.substr(0, 5) == "LEEF:";
  // Both parsers see every input (each tolerates a prefix before its tag).
  run(body, /*cef=*/true);
  run(body, /*cef=*/false);
  if (!is_cef && !is_leef && size > 0) {
    // The input as a time value, and as "text NUL pattern".
    int64_t ns;
    (void)parse_cef_timestamp(body, kNow, 3600, &ns);
    const size_t nul = body.find('\0');
    if (nul != std::string_view::npos) {
      (void)parse_java_date(body.substr(0, nul), body.substr(nul + 1), kNow, -3600, &ns);
    }
    int32_t offset;
    (void)parse_utc_offset(body, &offset);
  }
  g_in = nullptr;
  return 0;
}
