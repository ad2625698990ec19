// Conformance of the JSON body path (JsonMapper) against outside data.
//
//   JSONTestSuite (nst/JSONTestSuite, test_parsing): y_* valid JSON: objects must be accepted;
//       any other top-level value is rejected on purpose (an alert body is an object) and
//       counted as "explained". n_* invalid JSON: must be rejected. i_*: must not crash.
//   falco-website-examples: 22 Falco JSON alerts from falcosecurity/falco-website; each must be
//       recognised as Falco with rule, priority -> severity, time -> nanoseconds, hostname,
//       output, and every output field either in its ECS field or a label (in order).
//   zeek-notice-baselines: Zeek's notice.log test baselines (TSV). Each row is turned into
//       what Zeek's JSON writer writes for it (names from #fields, values by #types: times and
//       numbers as JSON numbers, sets as arrays, unset fields left out, `ts` as epoch seconds)
//       and must be recognised as Zeek with note, msg, src/dst (or the connection's), p, ts.
//   dcso-fever-eve: FEVER's EVE parser vectors; the fields FEVER extracts must be in klaxon's
//       (others must be empty, as FEVER's zero values), the truncated line rejected.
//   alertmanager-grouping: Alertmanager's acceptance tests; every push and every expected
//       notification is written as a webhook v4 payload (the test's times on a fixed base,
//       status resolved once endsAt has passed, firing with the zero endsAt otherwise) and each
//       of its alerts must come out as one Alert with labels, annotations, times and status.
//
// Per set the test prints passed/failed counts and fails when a case fails that is not in
// kExplained, when an explained case passes (remove it then), or when fewer cases pass than
// the recorded baseline. The corpus is $KLAXON_CORPUS, else ../shared/corpus.
#include "pipeline/core/batch.h"
#include "pipeline/stages/json_map.h"
#include "pipeline/stages/syslog_parse.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace klaxon {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// n_ files klaxon accepts on purpose, with the reason: none today (all 188 are rejected).
// Any new acceptance fails the test unless it is added here with its reason.
const std::set<std::string> kExplainedAcceptedInvalid = {};

struct Explained {
  std::string_view id;
  std::string_view reason;
};

// Cases where klaxon's answer differs from the set's on purpose.
constexpr Explained kExplained[] = {
    {"falco:content/en/blog/extend-falco-outputs-with-falcosidekick.md:time",
     "time \"2021-04-13T20:58:00.746609046Z+2\" is not RFC 3339 (text after the 'Z'): it is "
     "not taken, and evt.time (1618347519000000, microseconds) gives the event time"},
    {"dcso-fever-eve:util/testdata/jsonparse_eve_empty.json",
     "an empty file is zero EVE lines to FEVER; an empty body is not an alert to klaxon "
     "(rejected)"},
};

const Explained* find_explained(std::string_view id) {
  for (const auto& e : kExplained) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

// Baselines: cases that pass today (explained cases do not count).
constexpr int kBaselineFalco = 22;
constexpr int kBaselineFalcoTimes = 20;  // 21 alerts carry "time", one is explained
constexpr int kBaselineZeek = 46;
constexpr int kBaselineDcso = 7;
constexpr int kBaselineAlertmanagerPushes = 46;
constexpr int kBaselineAlertmanagerNotifications = 41;

struct Tally {
  std::string set;
  int passed = 0, failed = 0, explained = 0;
};

void check(Tally& t, const std::string& id, const std::string& why) {
  const Explained* e = find_explained(id);
  if (why.empty()) {
    ++t.passed;
    if (e != nullptr) ADD_FAILURE() << id << " passes but is listed in kExplained: remove it";
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
  std::printf("conformance %-32s %3d passed, %d failed (%d explained), baseline %d\n",
              t.set.c_str(), t.passed, t.failed, t.explained, baseline);
  EXPECT_GE(t.passed, baseline) << t.set << ": fewer cases pass than the recorded baseline";
}

struct Padded {
  explicit Padded(std::string s) : text(std::move(s)), len(text.size()) {
    text.append(kParsePadding, ' ');
  }
  std::string_view view() const { return std::string_view(text.data(), len); }
  std::string text;
  size_t len;
};

std::string_view label_of(const Alert& a, std::string_view key) {
  for (size_t i = 0; i < a.label_count; ++i) {
    if (a.labels[i].key == key) return a.labels[i].value;
  }
  return "<none>";
}

// An independent reading of RFC 3339 times with glibc's timegm: the expected values.
std::optional<int64_t> expect_time(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t p = static_cast<size_t>(consumed);
  int64_t frac = 0;
  if (p < s.size() && s[p] == '.') {
    int64_t scale = 100'000'000;
    for (++p; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p])); ++p) {
      frac += (s[p] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset = 0;
  const std::string zone = s.substr(p);
  if (zone == "Z") {
    offset = 0;
  } else if (zone.size() == 5 || zone.size() == 6) {  // +hhmm, +hh:mm
    const int h = std::stoi(zone.substr(1, 2));
    const int m = std::stoi(zone.substr(zone.size() - 2));
    offset = (zone[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  } else {
    return std::nullopt;
  }
  return (static_cast<int64_t>(timegm(&tm)) - offset) * 1'000'000'000 + frac;
}

// A JSON string literal.
std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A string value, "" for a missing key or another type.
std::string str(simdjson::simdjson_result<element> e) {
  std::string_view s;
  return e.get_string().get(s) ? std::string() : std::string(s);
}
std::string str(element e) { return str(simdjson::simdjson_result<element>(std::move(e))); }

// The text a label carries for a JSON scalar equals the DOM value.
bool label_matches(std::string_view text, element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::STRING:
      return text == std::string_view(v.get_string().value());
    case simdjson::dom::element_type::INT64:
      return std::string(text) == std::to_string(v.get_int64().value());
    case simdjson::dom::element_type::UINT64:
      return std::string(text) == std::to_string(v.get_uint64().value());
    case simdjson::dom::element_type::DOUBLE:
      return std::strtod(std::string(text).c_str(), nullptr) == v.get_double().value();
    case simdjson::dom::element_type::BOOL:
      return text == (v.get_bool().value() ? "true" : "false");
    default:
      return false;
  }
}

TEST(JsonConformance, JSONTestSuite) {
  const std::string dir = test::corpus_dir() + "/JSONTestSuite/test_parsing";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " missing";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  JsonMapper mapper;
  int y_pass = 0, y_fail = 0, y_explained = 0, n_pass = 0, n_fail = 0, n_explained = 0, i_acc = 0,
      i_rej = 0;
  for (const auto& name : files) {
    std::string text = test::read_file(dir + "/" + name);
    const size_t len = text.size();
    text.append(kParsePadding, ' ');
    Alert alert;
    const bool accepted = mapper.map(std::string_view(text.data(), len), alert).ok();
    // Every dialect must give the same verdict on plain JSON validity.
    for (InputFormat f : {InputFormat::kSuricata, InputFormat::kWazuh, InputFormat::kFalco,
                          InputFormat::kZeek, InputFormat::kBeats, InputFormat::kGeneric}) {
      Alert again;
      EXPECT_EQ(mapper.map(std::string_view(text.data(), len), f, again, [](Alert&) {}).ok(),
                accepted)
          << name << " as " << input_format_name(f);
    }
    // The Alertmanager mapping refuses more (any object that is no webhook), never less.
    if (!accepted) {
      Alert again;
      EXPECT_FALSE(mapper
                       .map(std::string_view(text.data(), len), InputFormat::kAlertmanager, again,
                            [](Alert&) {})
                       .ok())
          << name << " as alertmanager";
    }
    // Top-level object? (first non-space byte; a BOM-prefixed object is not an alert body)
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool is_object = first != std::string::npos && first < len && text[first] == '{';
    switch (name[0]) {
      case 'y':
        if (accepted)
          ++y_pass;
        else if (!is_object)
          ++y_explained;  // a valid non-object is not an alert
        else {
          ++y_fail;
          ADD_FAILURE() << "valid JSON object rejected: " << name;
        }
        break;
      case 'n':
        if (!accepted)
          ++n_pass;
        else if (kExplainedAcceptedInvalid.count(name))
          ++n_explained;
        else {
          ++n_fail;
          ADD_FAILURE() << "invalid JSON accepted: " << name;
        }
        break;
      default:
        (accepted ? i_acc : i_rej)++;
    }
  }
  std::printf(
      "conformance JSONTestSuite y_: %d passed, %d failed, %d explained (valid non-object "
      "bodies)\n",
      y_pass, y_fail, y_explained);
  std::printf("conformance JSONTestSuite n_: %d passed, %d failed, %d explained\n", n_pass, n_fail,
              n_explained);
  std::printf("conformance JSONTestSuite i_: %d accepted, %d rejected (implementation-defined)\n",
              i_acc, i_rej);
  EXPECT_GT(files.size(), 300u);  // the corpus was really read
}

// ---- Falco

struct FalcoPriority {
  std::string_view name;
  Severity level;
  int code;
};
constexpr FalcoPriority kFalcoPriorities[] = {
    {"Emergency", Severity::kCritical, 0}, {"Alert", Severity::kCritical, 1},
    {"Critical", Severity::kCritical, 2},  {"Error", Severity::kHigh, 3},
    {"Warning", Severity::kMedium, 4},     {"Notice", Severity::kLow, 5},
    {"Informational", Severity::kInfo, 6}, {"Debug", Severity::kInfo, 7}};

// Checks one Falco alert; returns what is wrong ("" when right). Explained parts are reported
// under their own ids through `side`.
std::string check_falco(const Alert& a, object alert, const std::string& id, Tally& side) {
  std::string why;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok && why.empty()) why = what;
  };
  expect(a.format == InputFormat::kFalco, "not recognised as Falco");
  expect(a.rule_name == str(alert["rule"]), "rule");
  expect(a.rule_id == a.rule_name, "rule.id");
  std::string_view priority;
  if (!alert["priority"].get_string().get(priority)) {
    bool known = false;
    for (const auto& p : kFalcoPriorities) {
      if (p.name == priority) {
        known = true;
        expect(a.severity == p.level && a.event_severity == p.code, "priority -> severity");
      }
    }
    expect(known, "unknown priority in the corpus");
  } else {
    expect(a.severity == Severity::kInfo, "severity without priority");
  }
  object fields;
  const bool has_fields = !alert["output_fields"].get_object().get(fields);
  // The event time: `time`, else output_fields evt.time (ns), else none.
  std::string_view time;
  if (!alert["time"].get_string().get(time)) {
    const auto want = expect_time(std::string(time));
    std::string twhy;
    if (!want) {
      twhy = "time is not RFC 3339";
    } else if (!a.has_timestamp || a.timestamp_ns != *want) {
      twhy = "time -> @timestamp";
    }
    check(side, id + ":time", twhy);
  } else {
    int64_t evt = 0;
    if (has_fields && !fields["evt.time"].get_int64().get(evt)) {
      expect(a.has_timestamp && a.timestamp_ns == evt, "evt.time -> @timestamp");
    } else {
      expect(!a.has_timestamp, "a time out of nowhere");
    }
  }
  std::string_view hostname;
  if (!alert["hostname"].get_string().get(hostname)) {
    expect(a.host_name == hostname, "hostname");
  } else if (has_fields && !fields["evt.hostname"].get_string().get(hostname)) {
    expect(a.host_name == hostname, "evt.hostname -> host.name");
  }
  std::string_view output;
  if (!alert["output"].get_string().get(output)) expect(a.message == output, "output");
  // Output fields with an ECS field, then the labels expected in document order.
  std::vector<std::pair<std::string, element>> labels;
  std::string user, ka_user;
  for (auto [key, value] : alert) {
    if (key == "tags") labels.emplace_back("tags", value);  // joined with ',
    if (key == "uuid") labels.emplace_back("uuid", value);
    if (key != "output_fields") continue;
    for (auto [k, v] : value.get_object()) {
      const std::string f(k);
      const std::string text = v.is_string() ? str(v) : "";
      if (f == "proc.name") {
        expect(a.process_name == text, f);
      } else if (f == "proc.cmdline") {
        expect(a.process_command_line == text, f);
      } else if (f == "user.name") {
        user = text;
      } else if (f == "ka.user.name") {
        ka_user = text;
      } else if (f == "fd.cip") {
        expect(a.source_ip == text, f);
      } else if (f == "fd.sip") {
        expect(a.destination_ip == text, f);
      } else if (f == "fd.l4proto") {
        expect(a.network_transport == text, f);
      } else if (f == "fd.name" && !text.empty() && text[0] == '/') {
        expect(a.file_path == text, f);
      } else if (f == "evt.time" || f == "evt.hostname" || f == "fd.cport" || f == "fd.sport") {
        // the timestamp and host above; ports do not occur in the corpus
      } else if (!v.is_null() && !v.is_array() && !v.is_object()) {
        labels.emplace_back(f, v);
      }
    }
  }
  expect(a.user_name == (!user.empty() ? user : ka_user), "user.name / ka.user.name");
  const size_t stored = std::min(labels.size(), kMaxAlertLabels);
  expect(a.label_count == stored, "label count");
  expect(a.labels_dropped == labels.size() - stored, "labels dropped");
  for (size_t i = 0; i < stored && i < a.label_count; ++i) {
    expect(a.labels[i].key == labels[i].first, "label order at " + labels[i].first);
    if (labels[i].first == "tags") {
      std::string joined;
      for (element t : labels[i].second.get_array())
        (joined += joined.empty() ? "" : ",") += str(t);
      expect(a.labels[i].value == joined, "tags");
    } else {
      expect(label_matches(a.labels[i].value, labels[i].second), "label " + labels[i].first);
    }
  }
  return why;
}

TEST(JsonConformance, FalcoWebsiteExamples) {
  const std::string path =
      test::corpus_dir() + "/falco-website-examples/falco-alerts.extracted.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  Tally t{"falco-website-examples"};
  Tally times{"falco-website-examples time"};
  JsonMapper m;
  simdjson::dom::parser records, alerts;
  for (const std::string& line : test::read_lines(path)) {
    if (line.empty()) continue;
    object rec = records.parse(line).get_object();
    const std::string id = "falco:" + str(rec["source_file"]);
    const std::string raw = str(rec["raw"]);
    Padded body(raw);
    Alert a;
    const ParseStatus s = m.map(body.view(), a);
    std::string why;
    if (!s.ok()) {
      why = std::string("rejected: ") + s.what;
    } else {
      why = check_falco(a, alerts.parse(raw).get_object(), id, times);
    }
    check(t, id + ":" + std::to_string(rec["source_offset"].get_int64().value()), why);
  }
  report(t, kBaselineFalco);
  report(times, kBaselineFalcoTimes);
}

// ---- Zeek

struct ZeekLog {
  std::vector<std::string> fields, types;
  std::vector<std::vector<std::string>> rows;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Zeek's ASCII writer escapes separators and non-printables as \xHH.
std::string unescape_zeek(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The notice.log types, for the baselines cut without a #types line.
std::string notice_type(const std::string& field) {
  static const std::map<std::string, std::string> kTypes = {{"ts", "time"},
                                                            {"uid", "string"},
                                                            {"id.orig_h", "addr"},
                                                            {"id.orig_p", "port"},
                                                            {"id.resp_h", "addr"},
                                                            {"id.resp_p", "port"},
                                                            {"proto", "enum"},
                                                            {"note", "enum"},
                                                            {"msg", "string"},
                                                            {"sub", "string"},
                                                            {"src", "addr"},
                                                            {"dst", "addr"},
                                                            {"p", "port"},
                                                            {"n", "count"},
                                                            {"actions", "set[enum]"},
                                                            {"suppress_for", "interval"}};
  auto it = kTypes.find(field);
  return it == kTypes.end() ? "string" : it->second;
}

std::optional<ZeekLog> read_zeek_log(const std::string& path) {
  ZeekLog log;
  bool header_line = false;
  for (const std::string& line : test::read_lines(path)) {
    if (line.empty() || line.substr(0, 3) == "###") continue;
    if (line.substr(0, 8) == "#fields\t") {
      log.fields = split(line.substr(8), '\t');
    } else if (line.substr(0, 7) == "#types\t") {
      log.types = split(line.substr(7), '\t');
    } else if (line[0] == '#') {
      continue;  // #separator, #path, #open... (the tab separator is the default)
    } else if (log.fields.empty() && !header_line) {
      // zeek-cut output with its header line (no '#'), or no header at all
      auto cols = split(line, '\t');
      if (std::find(cols.begin(), cols.end(), "note") == cols.end()) return std::nullopt;
      log.fields = cols;
      header_line = true;
    } else {
      log.rows.push_back(split(line, '\t'));
    }
  }
  if (log.fields.empty()) return std::nullopt;
  if (log.types.empty()) {
    for (const auto& f : log.fields) log.types.push_back(notice_type(f));
  }
  return log;
}

// One row as Zeek's JSON writer writes it; masked times (btest's XXXXXXXXXX.XXXXXX) become
// `masked_ts`.
std::string zeek_json(const ZeekLog& log, const std::vector<std::string>& row,
                      const std::string& masked_ts) {
  std::string out = "{";
  for (size_t i = 0; i < log.fields.size() && i < row.size(); ++i) {
    const std::string& v = row[i];
    const std::string& type = log.types[i];
    if (v == "-") continue;  // unset: the JSON writer leaves the field out
    std::string value;
    if (type.substr(0, 4) == "set[" || type.substr(0, 7) == "vector[") {
      value = "[";
      if (v != "(empty)") {
        auto items = split(v, ',');
        for (size_t k = 0; k < items.size(); ++k)
          value += (k ? "," : "") + json_quote(unescape_zeek(items[k]));
      }
      value += "]";
    } else if (type == "time") {
      value = v.find('X') != std::string::npos ? masked_ts : v;
    } else if (type == "port" || type == "count" || type == "int" || type == "double" ||
               type == "interval") {
      value = v;
    } else if (type == "bool") {
      value = v == "T" ? "true" : "false";
    } else {
      value = json_quote(v == "(empty)" ? "" : unescape_zeek(v));
    }
    out += (out.size() > 1 ? "," : "") + json_quote(log.fields[i]) + ":" + value;
  }
  return out + "}";
}

TEST(JsonConformance, ZeekNoticeBaselines) {
  const std::string dir = test::corpus_dir() + "/zeek-notice-baselines/testing/btest/Baseline";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " missing";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (e.is_regular_file() && name.substr(0, 6) == "notice") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  Tally t{"zeek-notice-baselines"};
  int skipped_files = 0, row_number = 0;
  JsonMapper m;
  for (const std::string& file : files) {
    const auto log = read_zeek_log(file);
    const std::string rel = file.substr(dir.size() + 1);
    if (!log) {
      ++skipped_files;  // a zeek-cut extract without field names: nothing to convert
      std::printf("conformance zeek: %s has no field names, skipped\n", rel.c_str());
      continue;
    }
    for (size_t r = 0; r < log->rows.size(); ++r) {
      const auto& row = log->rows[r];
      const int64_t masked_s = 1258535660 + row_number++;
      const std::string masked = std::to_string(masked_s) + ".087229";
      const std::string json = zeek_json(*log, row, masked);
      auto field = [&](const std::string& name) -> std::string {
        for (size_t i = 0; i < log->fields.size() && i < row.size(); ++i) {
          if (log->fields[i] == name) return row[i] == "-" ? "" : unescape_zeek(row[i]);
        }
        return "";
      };
      Padded body(json);
      Alert a;
      const ParseStatus s = m.map(body.view(), a);
      std::string why;
      auto expect = [&](bool ok, const std::string& what) {
        if (!ok && why.empty()) why = what + " in " + json;
      };
      expect(s.ok(), "rejected");
      expect(a.format == InputFormat::kZeek, "not recognised as Zeek");
      expect(a.rule_name == field("note"), "note -> rule.name");
      expect(a.message == field("msg"), "msg -> message");
      const std::string src = field("src"), dst = field("dst");
      const std::string orig = field("id.orig_h"), resp = field("id.resp_h");
      expect(a.source_ip == (!src.empty() ? src : orig), "src -> source.ip");
      expect(a.destination_ip == (!dst.empty() ? dst : resp), "dst -> destination.ip");
      const std::string p = field("p"), resp_p = field("id.resp_p");
      const int32_t want_port = !p.empty() ? std::stoi(p)
                                : (!resp_p.empty() && (dst.empty() || dst == resp))
                                    ? std::stoi(resp_p)
                                    : -1;
      expect(a.destination_port == want_port, "p -> destination.port");
      expect(a.severity == Severity::kMedium, "severity");
      const std::string ts = field("ts");
      if (!ts.empty()) {
        const std::string text = ts.find('X') != std::string::npos ? masked : ts;
        const size_t dot = text.find('.');
        const int64_t want = std::stoll(text.substr(0, dot)) * 1'000'000'000 +
                             std::stoll((text.substr(dot + 1) + "000000000").substr(0, 9));
        expect(a.has_timestamp && a.timestamp_ns == want, "ts -> @timestamp");
      }
      check(t, "zeek:" + rel + ":" + std::to_string(r + 1), why);
    }
  }
  std::printf("conformance zeek-notice-baselines: %zu files, %d without field names\n",
              files.size(), skipped_files);
  report(t, kBaselineZeek);
}

// ---- DCSO FEVER (Suricata EVE)

TEST(JsonConformance, DcsoFeverEve) {
  const std::string path = test::corpus_dir() + "/vectors/dcso-fever-eve/eve.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  Tally t{"dcso-fever-eve"};
  JsonMapper m;
  simdjson::dom::parser records;
  for (const std::string& line : test::read_lines(path)) {
    if (line.empty()) continue;
    object rec = records.parse(line).get_object();
    const std::string id = str(rec["id"]);
    const std::string input = str(rec["input"]);
    const bool valid = rec["valid"].get_bool().value();
    Padded body(input);
    Alert a;
    const ParseStatus s = m.map(body.view(), a);
    std::string why;
    auto expect = [&](bool ok, const std::string& what) {
      if (!ok && why.empty()) why = what;
    };
    object want;
    const bool has_expect = !rec["expect"].get_object().get(want);
    if (!valid || input.find('{') == std::string::npos) {
      // A truncated line must be rejected; FEVER reads an empty file as no lines at all.
      expect(valid ? s.ok() : !s.ok(), valid ? "empty input rejected" : "truncated EVE accepted");
    } else {
      expect(s.ok(), "rejected");
      expect(a.format == InputFormat::kSuricata, "not recognised as Suricata");
      auto text_of = [&](const char* k) { return has_expect ? str(want[k]) : std::string(); };
      auto int_of = [&](const char* k) {
        int64_t v = 0;
        return has_expect && !want[k].get_int64().get(v) ? v : -1;
      };
      // FEVER's zero values ("" and 0) are klaxon's empty fields and -1 ports.
      expect(a.source_ip == text_of("SrcIP"), "SrcIP");
      expect(a.destination_ip == text_of("DestIP"), "DestIP");
      expect(a.source_port == (int_of("SrcPort") > 0 ? int_of("SrcPort") : -1), "SrcPort");
      expect(a.destination_port == (int_of("DestPort") > 0 ? int_of("DestPort") : -1), "DestPort");
      expect(a.network_transport == text_of("Proto"), "Proto");
      expect(a.network_protocol == text_of("AppProto"), "AppProto");
      expect(a.url_original == text_of("HTTPUrl"), "HTTPUrl");
      const std::string domain =
          !text_of("HTTPHost").empty() ? text_of("HTTPHost") : text_of("DNSRRName");
      expect(a.url_domain == domain, "HTTPHost / DNSRRName -> url.domain");
      expect(a.event_kind == (text_of("EventType") == "alert" ? "alert" : "event"), "EventType");
      const std::string flow = text_of("FlowID");
      expect(label_of(a, "flow_id") == (flow.empty() ? "<none>" : flow), "FlowID");
      const auto ts = expect_time(text_of("Timestamp"));
      expect(ts && a.has_timestamp && a.timestamp_ns == *ts, "Timestamp");
    }
    check(t, id, why);
  }
  report(t, kBaselineDcso);
}

// ---- Alertmanager

constexpr int64_t kAmBase = 1'795'420'800'000'000'000;  // 2026-11-23T08:00:00Z

std::string rfc3339(int64_t ns) {
  std::string s;
  append_rfc3339(ns, s);
  return s;
}

int64_t at(double seconds) { return kAmBase + static_cast<int64_t>(std::llround(seconds * 1e9)); }

struct AmAlertCase {
  element labels, annotations;
  int64_t starts_ns = 0;
  std::optional<int64_t> ends_ns;
  std::string status;
  std::string json;  // the element as written into the webhook
};

// One alert of the test as Alertmanager would render it at `now` (seconds from the start).
AmAlertCase am_case(element a, double now) {
  AmAlertCase c;
  c.labels = a["labels"];
  c.annotations = a["annotations"];
  double starts = 0;
  // A start <= 0 or none is stamped by Alertmanager on receipt.
  c.starts_ns = !a["starts_at"].get_double().get(starts) && starts > 0 ? at(starts) : at(now);
  double ends = 0;
  if (!a["ends_at"].get_double().get(ends)) c.ends_ns = at(ends);
  c.status = c.ends_ns && *c.ends_ns <= at(now) ? "resolved" : "firing";
  std::string labels = "{", annotations = "{", fingerprint;
  for (auto [k, v] : c.labels.get_object()) {
    labels += (labels.size() > 1 ? "," : "") + json_quote(k) + ":" + json_quote(str(v));
    fingerprint += std::string(k) + "=" + str(v) + ";";
  }
  for (auto [k, v] : c.annotations.get_object())
    annotations += (annotations.size() > 1 ? "," : "") + json_quote(k) + ":" + json_quote(str(v));
  char fp[17];
  std::snprintf(fp, sizeof fp, "%016zx", std::hash<std::string>{}(fingerprint));
  c.json =
      "{\"status\":\"" + c.status + "\",\"labels\":" + labels + "},\"annotations\":" + annotations +
      "},\"startsAt\":\"" + rfc3339(c.starts_ns) + "\",\"endsAt\":\"" +
      (c.ends_ns ? rfc3339(*c.ends_ns) : std::string("0001-01-01T00:00:00Z")) +
      "\",\"generatorURL\":\"http://prometheus.example.org/graph\",\"fingerprint\":\"" + fp + "\"}";
  return c;
}

std::string am_webhook(const std::vector<AmAlertCase>& alerts, const std::string& receiver) {
  bool firing = false;
  for (const auto& a : alerts) firing |= a.status == "firing";
  std::string s = "{\"receiver\":" + json_quote(receiver) + ",\"status\":\"" +
                  (firing ? "firing" : "resolved") + "\",\"alerts\":[";
  for (size_t i = 0; i < alerts.size(); ++i) s += (i ? "," : "") + alerts[i].json;
  return s +
         "],\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},"
         "\"externalURL\":\"http://alertmanager.example.org:9093\",\"version\":\"4\","
         "\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0}";
}

// Maps one webhook; returns what is wrong with any of its alerts.
std::string check_webhook(JsonMapper& m, const std::vector<AmAlertCase>& cases,
                          const std::string& receiver) {
  const std::string doc = am_webhook(cases, receiver);
  Padded body(doc);
  std::vector<Alert> got;
  Alert scratch;
  const ParseStatus s =
      m.map(body.view(), InputFormat::kJson, scratch, [&](Alert& a) { got.push_back(a); });
  if (!s.ok()) return std::string("rejected: ") + s.what;
  if (got.size() != cases.size()) return "emitted " + std::to_string(got.size()) + " alerts";
  for (size_t i = 0; i < cases.size(); ++i) {
    const Alert& a = got[i];
    const AmAlertCase& c = cases[i];
    const std::string where = " (alert " + std::to_string(i) + " of " + doc + ")";
    if (a.format != InputFormat::kAlertmanager) return "not recognised" + where;
    if (a.raw != c.json) return "raw is not the element" + where;
    if (a.rule_name != str(c.labels["alertname"])) return "alertname" + where;
    for (auto [k, v] : c.labels.get_object()) {
      if (label_of(a, k) != str(v)) return "label " + std::string(k) + where;
    }
    for (auto [k, v] : c.annotations.get_object()) {
      if (label_of(a, "annotation." + std::string(k)) != str(v))
        return "annotation " + std::string(k) + where;
    }
    if (!a.has_timestamp || a.timestamp_ns != c.starts_ns) return "startsAt" + where;
    if (a.event_action != c.status) return "status" + where;
    const std::string ends = c.ends_ns ? rfc3339(*c.ends_ns) : "<none>";
    if (label_of(a, "ends_at") != ends) return "endsAt" + where;
    if (label_of(a, "receiver") != receiver) return "receiver" + where;
    if (a.severity != Severity::kMedium) return "severity without a label" + where;
  }
  return "";
}

TEST(JsonConformance, AlertmanagerGroupingWebhooks) {
  const std::string path =
      test::corpus_dir() + "/vectors/alertmanager-grouping-tests/grouping.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  Tally pushes{"alertmanager-grouping pushes"};
  Tally notes{"alertmanager-grouping notifications"};
  JsonMapper m;
  simdjson::dom::parser records;
  int alerts_seen = 0;
  for (const std::string& line : test::read_lines(path)) {
    if (line.empty()) continue;
    object rec = records.parse(line).get_object();
    const std::string id = str(rec["id"]);
    std::string receiver = "webhook";
    for (element r : rec["receivers"].get_array()) {
      receiver = str(r["name"]);
      break;
    }
    int n = 0;
    for (element e : rec["events"].get_array()) {
      ++n;
      if (str(e["action"]) != "push") continue;
      const double now = e["time"].get_double().value();
      std::vector<AmAlertCase> cases;
      for (element a : e["alerts"].get_array()) cases.push_back(am_case(a, now));
      alerts_seen += static_cast<int>(cases.size());
      check(pushes, id + ":push@" + std::to_string(n), check_webhook(m, cases, receiver));
    }
    object expect;
    if (rec["expect"].get_object().get(expect)) continue;
    n = 0;
    simdjson::dom::array notifications;
    if (expect["notifications"].get_array().get(notifications)) continue;
    for (element note : notifications) {
      ++n;
      std::vector<AmAlertCase> cases;
      const double now = note["between"].at(0).get_double().value();
      for (element a : note["alerts"].get_array()) cases.push_back(am_case(a, now));
      if (cases.empty()) continue;  // "no notification in this interval"
      alerts_seen += static_cast<int>(cases.size());
      check(notes, id + ":notification@" + std::to_string(n),
            check_webhook(m, cases, str(note["receiver"])));
    }
  }
  std::printf("conformance alertmanager-grouping: %d alerts in the webhooks\n", alerts_seen);
  report(pushes, kBaselineAlertmanagerPushes);
  report(notes, kBaselineAlertmanagerNotifications);
}

}  // namespace
}  // namespace klaxon
