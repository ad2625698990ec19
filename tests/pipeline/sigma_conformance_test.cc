// Conformance of klaxon's Sigma engine (pipeline/stages/sigma/) against other projects'
// correlation tests: rsigma's correlation engine (correlation.jsonl: rule YAML + timed events
// + expected firings; timestamps.jsonl: event time parsing) and MozDef's threshold alerts
// (threshold.jsonl: a structured description of each alert task, translated here into an
// equivalent Sigma event_count rule). Schemas: vectors/README.md in the corpus.
//
// The corpus is $KLAXON_CORPUS_DIR, else $KLAXON_CORPUS, else the build's default
// (tests/support/test_support.h). Per set the test prints passed/failed counts and fails when
// any case fails that is not in kExplained, when an explained case starts passing (so the
// table never outlives the disagreement) or when fewer cases pass than the recorded baseline.
//
// MozDef translation (the alert task -> Sigma):
//   search window     MozDef searches utctimestamp in [now - window, now] with now frozen at
//                     2017-01-01T01:00:00Z; the event's time is given to the rule as the field
//                     `utctimestamp` (epoch seconds) and the window becomes two comparisons,
//                     `utctimestamp|gte` / `|lte`, in the detection (the range filter MozDef's
//                     query has); the correlation timespan is the same window.
//   TermMatch         exact term: `field|cased: value`
//   PhraseMatch,      a phrase / any of the terms as whole words of an analyzed text field:
//   TermsMatch          `field|re|i: (^|\W)(t1|t2)(\W|$)` (the standard analyzer's tokens)
//   QueryStringMatch  the three Lucene forms the corpus uses: `f: [a TO b]` (IPv4 range ->
//                     `|cidr` blocks), `f: a OR b` (a value list), `f: *x*` (wildcards)
//   must / must_not   `all of require_*` and `not 1 of exclude_*`
//   aggregate_on      group-by; events without the field are left out, as by the terms
//                     aggregation (`not agg_missing` with `field: null`)
//   threshold         event_count `gte: threshold`
//   severity          INFO/NOTICE/WARNING/ERROR/CRITICAL -> informational/low/medium/high/
//                     critical, checked on the firing
// Checked per expected alert: at least one firing; the group's count (capped at
// samples_limit) equals alert_event_count; the group value appears in the expected summary;
// the level. Not modelled (and not checked): the summary text, category and tags (alert
// templates), alert_channel and notify_mozdefbot (MozDef's notification routing).
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/engine.h"
#include "pipeline/stages/sigma/rules.h"
#include "tests/support/test_support.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kSec = 1'000'000'000;

struct Explained {
  std::string_view id;
  std::string_view reason;
};

// Cases klaxon disagrees with on purpose: none (every vector passes). An entry is
// {vector id, reason}; the test then expects that vector to fail.
constexpr std::array<Explained, 0> kExplained{};

// Passing cases per set when the suite was recorded; fewer is a regression.
constexpr int kBaselineRsigmaCorrelation = 47;
constexpr int kBaselineRsigmaTimestamps = 9;
constexpr int kBaselineMozdefThreshold = 48;

const Explained* find_explained(std::string_view id) {
  for (const auto& e : kExplained) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

std::string corpus_dir() {
  if (const char* e = std::getenv("KLAXON_CORPUS_DIR"); e != nullptr && *e != '\0') return e;
  return test::corpus_dir();
}

// ---------------------------------------------------------------------------------------------
// JSON events as FieldSources: nested objects flattened to dotted names ("details.user"),
// numbers and booleans as their text, null and arrays absent.

std::string number_text(element e) {
  int64_t i;
  uint64_t u;
  double d;
  if (e.get(i) == simdjson::SUCCESS) return std::to_string(i);
  if (e.get(u) == simdjson::SUCCESS) return std::to_string(u);
  if (e.get(d) == simdjson::SUCCESS) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
  }
  return {};
}

class JsonSource : public FieldSource {
 public:
  void add(element e, const std::string& prefix) {
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT:
        for (auto [k, v] : object(e)) {
          add(v, prefix.empty() ? std::string(k) : prefix + "." + std::string(k));
        }
        break;
      case simdjson::dom::element_type::STRING:
        fields_[prefix] = std::string(std::string_view(e));
        break;
      case simdjson::dom::element_type::BOOL:
        fields_[prefix] = bool(e) ? "true" : "false";
        break;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE:
        fields_[prefix] = number_text(e);
        break;
      default:  // null, arrays
        break;
    }
  }
  void set(const std::string& name, std::string value) { fields_[name] = std::move(value); }
  std::string* find(const std::string& name) {
    auto it = fields_.find(name);
    return it == fields_.end() ? nullptr : &it->second;
  }
  std::optional<std::string_view> get(FieldId, std::string_view name) const override {
    auto it = fields_.find(std::string(name));
    if (it == fields_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> fields_;
};

// ---------------------------------------------------------------------------------------------
// Tally and reporting

struct Tally {
  std::string set;
  int passed = 0;
  int failed = 0;
  int explained = 0;
};

void record(Tally& t, const std::string& id, bool ok, const std::string& why) {
  const Explained* e = find_explained(id);
  if (ok) {
    ++t.passed;
    if (e != nullptr) {
      ADD_FAILURE() << id << " passes but is listed in kExplained (" << e->reason
                    << "): remove it from the table";
    }
    return;
  }
  ++t.failed;
  if (e != nullptr) {
    ++t.explained;
    return;
  }
  ADD_FAILURE() << id << ": " << why;
}

void report(const Tally& t, int baseline) {
  std::printf("sigma conformance %-40s %3d passed, %d failed (%d explained), baseline %d\n",
              t.set.c_str(), t.passed, t.failed, t.explained, baseline);
  EXPECT_GE(t.passed, baseline) << t.set << ": fewer cases pass than the recorded baseline";
}

std::vector<std::string> lines_of(const std::string& rel) {
  const std::string path = corpus_dir() + "/vectors/" + rel;
  auto lines = test::read_lines(path);
  EXPECT_FALSE(lines.empty()) << "no vectors in " << path;
  return lines;
}

std::optional<double> number_of(element e) {
  double d;
  int64_t i;
  if (e.get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  if (e.get(d) == simdjson::SUCCESS) return d;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// rsigma-correlation/correlation.jsonl

// Applies the record's engine options; false (with why) for one this test does not know.
bool engine_options(object rec, EngineOptions* o, std::string* why) {
  element opts_el;
  if (rec["options"].get(opts_el) != simdjson::SUCCESS) return true;
  for (auto [key, v] : object(opts_el)) {
    if (key == "suppress_s") {
      o->correlator.suppress_ns = static_cast<int64_t>(*number_of(v)) * kSec;
    } else if (key == "action_on_match") {
      o->correlator.action_on_match =
          std::string_view(v) == "reset" ? MatchAction::kReset : MatchAction::kContinue;
    } else if (key == "emit_detections") {
      o->detector.emit_detections = bool(v);
    } else if (key == "timestamp_fallback") {
      if (std::string_view(v) != "skip") {
        *why = "timestamp_fallback other than skip needs a wall clock";
        return false;
      }
      o->correlator.timestamp_fallback = TimestampFallback::kSkip;
    } else if (key == "max_group_entries") {
      o->correlator.max_group_entries = static_cast<uint64_t>(*number_of(v));
    } else if (key == "max_state_entries") {
      o->correlator.max_state_entries = static_cast<size_t>(*number_of(v));
    } else {
      *why = "unknown option " + std::string(key);
      return false;
    }
  }
  return true;
}

bool run_rsigma_case(object rec, std::string* why) {
  std::string_view yaml;
  if (rec["rules"].get(yaml) != simdjson::SUCCESS) {
    *why = "rules is not YAML text";
    return false;
  }
  EngineOptions options;
  if (!engine_options(rec, &options, why)) return false;
  auto rules = load_rules(yaml, LoadOptions{"vector rules", "message", {}});
  if (!rules) {
    *why = "load: " + rules.error().to_string();
    return false;
  }
  auto engine = Engine::create(*rules, options);
  if (!engine) {
    *why = "engine: " + engine.error().to_string();
    return false;
  }
  const RuleSet& rs = **rules;
  std::vector<Firing> all;
  Engine::Output out;
  size_t last_event_firings = 0;
  double last_event_value = 0;
  int index = 0;
  for (element ev : array(rec["events"])) {
    JsonSource src;
    src.add(ev["fields"], "");
    std::optional<int64_t> t;
    if (auto n = number_of(ev["time"])) t = static_cast<int64_t>(*n) * kSec;
    (*engine)->process(src, t, out);
    all.insert(all.end(), out.firings.begin(), out.firings.end());
    last_event_firings = out.firings.size();
    last_event_value = out.firings.empty() ? 0 : out.firings[0].value;
    const std::string at = "event " + std::to_string(index++) + ": ";
    element exp_el;
    if (ev["expect"].get(exp_el) != simdjson::SUCCESS) continue;
    for (auto [key, v] : object(exp_el)) {
      if (key == "correlations") {
        if (out.firings.size() != static_cast<size_t>(*number_of(v))) {
          *why = at + "expected " + number_text(v) + " correlations, got " +
                 std::to_string(out.firings.size());
          return false;
        }
      } else if (key == "detections") {
        if (out.detections.size() != static_cast<size_t>(*number_of(v))) {
          *why = at + "expected " + number_text(v) + " detections, got " +
                 std::to_string(out.detections.size());
          return false;
        }
      } else if (key == "detections_at_least") {
        if (out.detections.size() < static_cast<size_t>(*number_of(v))) {
          *why = at + "expected at least " + number_text(v) + " detections";
          return false;
        }
      } else if (key == "rule_title") {
        if (out.firings.empty() ||
            rs.correlations()[out.firings[0].correlation].meta.title != std::string_view(v)) {
          *why = at + "expected a firing of \"" + std::string(std::string_view(v)) + "\"";
          return false;
        }
      } else if (key == "aggregated_value") {
        if (out.firings.empty() || out.firings[0].value != *number_of(v)) {
          *why = at + "expected aggregated value " + number_text(v) + ", got " +
                 (out.firings.empty() ? "no firing" : std::to_string(out.firings[0].value));
          return false;
        }
      } else if (key == "group_key") {
        if (out.firings.empty()) {
          *why = at + "expected a firing with a group key";
          return false;
        }
        const auto& g = out.firings[0].group;
        size_t i = 0;
        for (element pair : array(v)) {
          const std::string_view field = pair.at(0);
          const std::string_view value = pair.at(1);
          if (i >= g.size() || g[i].field != field || !g[i].present || g[i].value != value) {
            *why = at + "group key differs at " + std::string(field);
            return false;
          }
          ++i;
        }
        if (i != g.size()) {
          *why = at + "group key has extra fields";
          return false;
        }
      } else {
        *why = at + "unknown expectation " + std::string(key);
        return false;
      }
    }
  }
  // Expectations over the whole run.
  for (auto [key, v] : object(rec["expect"])) {
    if (key == "firings") {
      if (all.size() != static_cast<size_t>(*number_of(v))) {
        *why =
            "expected " + number_text(v) + " firings in total, got " + std::to_string(all.size());
        return false;
      }
    } else if (key == "firings_at_least") {
      if (all.size() < static_cast<size_t>(*number_of(v))) {
        *why =
            "expected at least " + number_text(v) + " firings, got " + std::to_string(all.size());
        return false;
      }
    } else if (key == "every_firing") {
      const double want = *number_of(v["aggregated_value"]);
      for (const Firing& f : all) {
        if (f.value != want) {
          *why = "a firing has aggregated value " + std::to_string(f.value);
          return false;
        }
      }
    } else if (key == "no_error") {
      // Loading and running every event without an error is the whole expectation.
    } else if (key == "last_event") {
      // exact_window_boundary: "either no correlation, or one correlation with
      // aggregated_value 3.0" (the vector leaves the boundary open).
      if (!(last_event_firings == 0 || (last_event_firings == 1 && last_event_value == 3))) {
        *why = "last event: " + std::string(std::string_view(v));
        return false;
      }
    } else {
      *why = "unknown expectation " + std::string(key);
      return false;
    }
  }
  return true;
}

TEST(SigmaConformance, RsigmaCorrelation) {
  Tally t{"rsigma-correlation/correlation.jsonl"};
  simdjson::dom::parser parser;
  for (const std::string& line : lines_of("rsigma-correlation/correlation.jsonl")) {
    element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
    const std::string id{std::string_view(doc["id"])};
    std::string why;
    const bool ok = run_rsigma_case(object(doc), &why);
    record(t, id, ok, why);
  }
  report(t, kBaselineRsigmaCorrelation);
}

// ---------------------------------------------------------------------------------------------
// rsigma-correlation/timestamps.jsonl

TEST(SigmaConformance, RsigmaTimestamps) {
  Tally t{"rsigma-correlation/timestamps.jsonl"};
  simdjson::dom::parser parser;
  for (const std::string& line : lines_of("rsigma-correlation/timestamps.jsonl")) {
    element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
    const std::string id{std::string_view(doc["id"])};
    const std::string_view component = doc["component"];
    const bool valid = bool(doc["valid"]);
    std::optional<int64_t> got;
    std::string why;
    if (component == "timestamp_value") {
      element in = doc["input"];
      std::string_view s;
      got = parse_time_value(in.get(s) == simdjson::SUCCESS ? std::string(s) : number_text(in));
    } else if (component == "event_timestamp") {
      // Event time from the first present of the configured fields (Detector::event_time).
      LoadOptions lo;
      for (element f : array(doc["options"]["timestamp_fields"])) {
        lo.timestamp_fields.emplace_back(std::string_view(f));
      }
      auto rules = load_rules("title: any\ndetection:\n  s:\n    x: 1\n  condition: s\n", lo);
      ASSERT_TRUE(rules.has_value());
      Detector d(*rules);
      DetectScratch scratch;
      JsonSource src;
      src.add(doc["input"], "");
      got = d.event_time(src, scratch);
    } else {
      record(t, id, false, "unknown component " + std::string(component));
      continue;
    }
    bool ok;
    if (!valid) {
      ok = !got.has_value();
      if (!ok) why = "expected no time, got " + std::to_string(*got);
    } else {
      const int64_t want = static_cast<int64_t>(*number_of(doc["expect"]["epoch_seconds"]));
      // Whole seconds, fraction truncated (rsigma keeps seconds; klaxon keeps nanoseconds).
      ok = got.has_value() && *got / kSec == want;
      if (!ok) why = "expected " + std::to_string(want) + " s";
    }
    record(t, id, ok, why);
  }
  report(t, kBaselineRsigmaTimestamps);
}

// ---------------------------------------------------------------------------------------------
// mozdef-tests/threshold.jsonl

// A YAML single-quoted scalar.
std::string yaml_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Whole words of an analyzed text field: a token boundary on both sides.
std::string word_regex(const std::vector<std::string>& alternatives) {
  std::string re = "(^|[^0-9A-Za-z_])(";
  for (size_t i = 0; i < alternatives.size(); ++i) {
    if (i > 0) re += '|';
    re += regex_escape(alternatives[i]);
  }
  return re + ")([^0-9A-Za-z_]|$)";
}

uint32_t ipv4(std::string_view s) {
  in_addr a{};
  const std::string z(s);
  if (inet_pton(AF_INET, z.c_str(), &a) != 1) return 0;
  return ntohl(a.s_addr);
}

// The CIDR blocks that exactly cover [lo, hi].
std::vector<std::string> range_to_cidrs(uint32_t lo, uint32_t hi) {
  std::vector<std::string> out;
  uint64_t cur = lo;
  while (cur <= hi) {
    int bits = 0;
    while (bits < 32 && (cur & ((uint64_t{1} << (bits + 1)) - 1)) == 0 &&
           cur + (uint64_t{1} << (bits + 1)) - 1 <= hi) {
      ++bits;
    }
    in_addr a{};
    a.s_addr = htonl(static_cast<uint32_t>(cur));
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    out.push_back(std::string(buf) + "/" + std::to_string(32 - bits));
    cur += uint64_t{1} << bits;
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// One must/must_not clause as the body of a Sigma selection (indented 4 spaces).
bool clause_yaml(element clause, std::string* out, std::string* why) {
  for (auto [kind, arg] : object(clause)) {
    if (kind == "TermMatch") {
      *out = "    " + yaml_quoted(std::string(std::string_view(arg.at(0))) + "|cased") + ": " +
             yaml_quoted(std::string_view(arg.at(1))) + "\n";
    } else if (kind == "PhraseMatch" || kind == "TermsMatch") {
      std::vector<std::string> words;
      if (kind == "PhraseMatch") {
        words.emplace_back(std::string_view(arg.at(1)));
      } else {
        for (element w : array(arg.at(1))) words.emplace_back(std::string_view(w));
      }
      *out = "    " + yaml_quoted(std::string(std::string_view(arg.at(0))) + "|re|i") + ": " +
             yaml_quoted(word_regex(words)) + "\n";
    } else if (kind == "QueryStringMatch") {
      const std::string_view q = arg;
      const size_t colon = q.find(':');
      if (colon == std::string_view::npos) {
        *why = "query string without field: " + std::string(q);
        return false;
      }
      const std::string field = trim(q.substr(0, colon));
      const std::string expr = trim(q.substr(colon + 1));
      if (expr.size() > 2 && expr.front() == '[' && expr.back() == ']') {
        const size_t to = expr.find(" TO ");
        const uint32_t lo = ipv4(trim(std::string_view(expr).substr(1, to - 1)));
        const uint32_t hi = ipv4(trim(std::string_view(expr).substr(to + 4, expr.size() - to - 5)));
        if (to == std::string::npos || lo == 0 || hi < lo) {
          *why = "unsupported range query: " + expr;
          return false;
        }
        *out = "    " + yaml_quoted(field + "|cidr") + ":\n";
        for (const auto& c : range_to_cidrs(lo, hi)) *out += "      - " + yaml_quoted(c) + "\n";
      } else if (expr.find(" OR ") != std::string::npos) {
        *out = "    " + yaml_quoted(field + "|cased") + ":\n";
        size_t start = 0;
        while (true) {
          const size_t p = expr.find(" OR ", start);
          *out += "      - " + yaml_quoted(trim(std::string_view(expr).substr(start, p - start))) +
                  "\n";
          if (p == std::string::npos) break;
          start = p + 4;
        }
      } else if (expr.find('*') != std::string::npos && expr.find(' ') == std::string::npos) {
        *out = "    " + yaml_quoted(field) + ": " + yaml_quoted(expr) + "\n";
      } else {
        *why = "unsupported query string: " + std::string(q);
        return false;
      }
    } else {
      *why = "unknown clause " + std::string(kind);
      return false;
    }
  }
  return true;
}

std::optional<std::string> mozdef_level(std::string_view severity) {
  if (severity == "INFO") return "informational";
  if (severity == "NOTICE") return "low";
  if (severity == "WARNING") return "medium";
  if (severity == "ERROR") return "high";
  if (severity == "CRITICAL") return "critical";
  return std::nullopt;
}

constexpr int64_t kMozdefNow = 1483232400;  // 2017-01-01T01:00:00Z, the harness's frozen clock

struct MozdefTask {
  std::string yaml;
  std::string aggregate_on;
  int64_t samples_limit = 0;
  Severity level = Severity::kMedium;
};

bool translate_mozdef(object rules, MozdefTask* task, std::string* why) {
  const int64_t window_s = static_cast<int64_t>(*number_of(rules["window_minutes"])) * 60;
  task->aggregate_on = std::string(std::string_view(rules["aggregate_on"]));
  task->samples_limit = static_cast<int64_t>(*number_of(rules["samples_limit"]));
  const auto threshold = static_cast<int64_t>(*number_of(rules["threshold"]));
  const auto level = mozdef_level(std::string_view(rules["alert"]["severity"]));
  if (!level) {
    *why = "unknown MozDef severity";
    return false;
  }
  std::string det = "detection:\n";
  int i = 0;
  for (element c : array(rules["must"])) {
    std::string body;
    if (!clause_yaml(c, &body, why)) return false;
    det += "  require_" + std::to_string(i++) + ":\n" + body;
  }
  int j = 0;
  for (element c : array(rules["must_not"])) {
    std::string body;
    if (!clause_yaml(c, &body, why)) return false;
    det += "  exclude_" + std::to_string(j++) + ":\n" + body;
  }
  det += "  search_window:\n    utctimestamp|gte: " + std::to_string(kMozdefNow - window_s) +
         "\n    utctimestamp|lte: " + std::to_string(kMozdefNow) + "\n";
  det += "  agg_missing:\n    " + yaml_quoted(task->aggregate_on) + ": null\n";
  det += "  condition: all of require_* and search_window and not agg_missing";
  if (j > 0) det += " and not 1 of exclude_*";
  det += "\n";
  task->yaml = "title: mozdef task\nid: mozdef-task\n" + det + "---\n" +
               "title: mozdef threshold\ncorrelation:\n  type: event_count\n"
               "  rules: [mozdef-task]\n  group-by:\n    - " +
               yaml_quoted(task->aggregate_on) + "\n  timespan: " + std::to_string(window_s) +
               "s\n  condition:\n    gte: " + std::to_string(threshold) + "\nlevel: " + *level +
               "\n";
  return true;
}

bool run_mozdef_case(object rec, std::string* why) {
  MozdefTask task;
  if (!translate_mozdef(object(rec["rules"]), &task, why)) return false;
  auto rules = load_rules(task.yaml, LoadOptions{"mozdef translation", "message", {}});
  if (!rules) {
    *why = "translation does not load: " + rules.error().to_string() + "\n" + task.yaml;
    return false;
  }
  auto engine = Engine::create(*rules);
  if (!engine) {
    *why = engine.error().to_string();
    return false;
  }
  std::vector<Firing> all;
  Engine::Output out;
  int index = 0;
  for (element ev : array(rec["events"])) {
    JsonSource src;
    src.add(ev["fields"], "");
    // The harness draws a random address per event; any distinct addresses will do.
    for (const char* f : {"details.sourceipaddress", "details.destinationipaddress"}) {
      if (std::string* v = src.find(f); v != nullptr && *v == "<random IPv4 per event>") {
        *v = "203.0.113." + std::to_string(1 + index % 250);
      }
    }
    ++index;
    const auto t = parse_time_value(std::string_view(ev["time"]));
    if (!t) {
      *why = "bad event time";
      return false;
    }
    src.set("utctimestamp", std::to_string(*t / kSec));
    (*engine)->process(src, *t, out);
    all.insert(all.end(), out.firings.begin(), out.firings.end());
  }
  object expect = rec["expect"];
  int64_t want_firings = -1, at_least = -1;
  for (auto [key, v] : expect) {
    if (key == "firings") want_firings = static_cast<int64_t>(*number_of(v));
    if (key == "firings_at_least") at_least = static_cast<int64_t>(*number_of(v));
  }
  if (want_firings >= 0 && static_cast<int64_t>(all.size()) != want_firings) {
    *why =
        "expected " + std::to_string(want_firings) + " firings, got " + std::to_string(all.size());
    return false;
  }
  if (at_least < 0) return true;
  if (static_cast<int64_t>(all.size()) < at_least) {
    *why = "expected an alert, got no firing; translation:\n" + task.yaml;
    return false;
  }
  // The alert MozDef raises describes the group as it stands at the end of the search: the
  // last firing of the group carries its count.
  const Firing& last = all.back();
  const int64_t events = std::min<int64_t>(static_cast<int64_t>(last.value), task.samples_limit);
  const auto want_events = static_cast<int64_t>(*number_of(expect["alert_event_count"]));
  if (events != want_events) {
    *why =
        "alert with " + std::to_string(events) + " events, expected " + std::to_string(want_events);
    return false;
  }
  const std::string_view summary = expect["alert"]["summary"];
  if (last.group.size() != 1 || !last.group[0].present ||
      summary.find(last.group[0].value) == std::string_view::npos) {
    *why = "group value not in the expected summary \"" + std::string(summary) + "\"";
    return false;
  }
  const auto level = mozdef_level(std::string_view(expect["alert"]["severity"]));
  Severity want_level;
  if (!level || !severity_from_word(*level == "informational" ? "info" : *level, &want_level) ||
      last.level != want_level) {
    *why = "firing level differs from the alert severity";
    return false;
  }
  return true;
}

TEST(SigmaConformance, MozdefThreshold) {
  Tally t{"mozdef-tests/threshold.jsonl"};
  simdjson::dom::parser parser;
  for (const std::string& line : lines_of("mozdef-tests/threshold.jsonl")) {
    element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
    const std::string id{std::string_view(doc["id"])};
    std::string why;
    const bool ok = run_mozdef_case(object(doc), &why);
    record(t, id, ok, why);
  }
  report(t, kBaselineMozdefThreshold);
}

}  // namespace
}  // namespace klaxon::sigma
