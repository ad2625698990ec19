// Conformance of klaxon's syslog parsers against the test vectors of other projects: go-syslog
// (strict RFC 5424, RFC 3164), syslog-loose (lenient, the parser Vector uses) and Vector/VRL.
//
// The vectors are JSON Lines under $KLAXON_CORPUS/vectors (default /work/shared/corpus); their
// schema and semantics are in vectors/README.md there. Each vector is parsed with the klaxon
// entry point that plays the role the source's parser played, and the outcome (accepted or not)
// plus every expected field is compared. Error texts are not compared: they are go-syslog's.
//
// kExplained lists the vectors where klaxon disagrees on purpose, one reason each. The test
// fails when any other vector fails, and also when an explained vector starts passing (so the
// table never outlives the disagreement).
#include "pipeline/core/alert.h"
#include "pipeline/stages/syslog_parse.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

struct Explained {
  std::string_view id;
  std::string_view reason;
};

// Vectors klaxon disagrees with on purpose.
constexpr Explained kExplained[] = {
    // RFC 3164 TAG: klaxon ends a TAG at '[', ':' or SP (RFC 3164 §4.1.3, rsyslog, syslog-ng);
    // go-syslog only takes a tag that ends in ':' or "[pid]".
    {"go-syslog:rfc3164/machine_test.go:73",
     "TAG ended by SP: klaxon reads appname \"Some\" (RFC 3164 §4.1.3); go-syslog wants ':'"},
    {"go-syslog:rfc3164/machine_test.go:102",
     "TAG ended by SP: klaxon reads appname \"Use\" like syslog-ng; go-syslog wants ':'"},
    // RFC 5424 is parsed strictly; syslog-loose repairs or drops what does not fit the ABNF.
    {"syslog-loose:tests/tests.rs:parse_5424_multiple_structured_data",
     "SP between '=' and the quoted SD-PARAM value violates RFC 5424 §6.3.3: strict reject"},
    {"syslog-loose:src/structured_data.rs:parse_multiple_structured_data",
     "SP between '=' and the quoted SD-PARAM value violates RFC 5424 §6.3.3: strict reject"},
    {"vector-vrl:vrl/src/stdlib/parse_syslog.rs:valid",
     "SP between '=' and the quoted SD-PARAM value violates RFC 5424 §6.3.3: strict reject"},
    {"syslog-loose:tests/tests.rs:handles_incorrect_sd_element:1",
     "malformed SD-ELEMENT \"[incorrect x]\": strict reject, syslog-loose drops the element"},
    {"syslog-loose:tests/tests.rs:handles_incorrect_sd_element:2",
     "malformed SD-ELEMENT \"[incorrect x=]\": strict reject, syslog-loose drops the element"},
    {"vector-vrl:vector/src/sources/syslog.rs:handles_incorrect_sd_element:1",
     "malformed SD-ELEMENT \"[incorrect x]\": strict reject, syslog-loose drops the element"},
    {"vector-vrl:vector/src/sources/syslog.rs:handles_incorrect_sd_element:2",
     "malformed SD-ELEMENT \"[incorrect x=]\": strict reject, syslog-loose drops the element"},
    {"syslog-loose:src/structured_data.rs:parse_structured_data_ignores_invalid_elements",
     "malformed SD-ELEMENT \"[id aa=]\": strict reject, syslog-loose drops the element"},
    {"syslog-loose:src/structured_data.rs:params_remove_escapes",
     "\\n stays two bytes (RFC 5424 §6.3.3 keeps unknown escapes; the strict parser rejects "
     "them); syslog-loose turns it into LF"},
    // The lenient parser never rejects text: anything that is not syslog becomes the message.
    {"syslog-loose:tests/tests.rs:parse_exact_error",
     "syslog-loose exact mode rejects free text; klaxon's RFC 3164 path keeps it as the message"},
    {"vector-vrl:vrl/src/stdlib/parse_syslog.rs:invalid",
     "VRL rejects free text; klaxon's RFC 3164 path keeps it as the message"},
    {"syslog-loose:tests/tests.rs:parse_invalid_date",
     "Feb 29 in a non-leap inferred year: klaxon takes no timestamp and keeps the text, no reject"},
    // Hostname heuristic.
    {"syslog-loose:src/rfc3164.rs:parse_3164_timestamp_host",
     "\"mymachine: text\": a token ending in ':' is the TAG (the /dev/log format has no "
     "hostname); syslog-loose reads it as the hostname"},
};

const Explained* find_explained(std::string_view id) {
  for (const auto& e : kExplained) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

std::string corpus_dir() {
  const char* env = std::getenv("KLAXON_CORPUS");
  return env != nullptr && *env != '\0' ? env : "/work/shared/corpus";
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (simdjson DOM, error codes instead of exceptions)

bool member(object o, std::string_view key, element* out) {
  return o[key].get(*out) == simdjson::SUCCESS;
}

bool member_object(object o, std::string_view key, object* out) {
  element e;
  return member(o, key, &e) && e.get(*out) == simdjson::SUCCESS;
}

// "latin1" strings hold one code point U+0000..U+00FF per byte (vectors/README.md).
std::string latin1_bytes(std::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0xC0 && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F)));
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string string_of(element e, bool latin1) {
  std::string_view sv;
  if (e.get(sv) != simdjson::SUCCESS) return {};
  return latin1 ? latin1_bytes(sv) : std::string(sv);
}

bool string_member(object o, std::string_view key, std::string* out) {
  element e;
  std::string_view sv;
  if (!member(o, key, &e) || e.get(sv) != simdjson::SUCCESS) return false;
  *out = std::string(sv);
  return true;
}

int64_t int_member(object o, std::string_view key, int64_t fallback) {
  element e;
  int64_t v;
  if (!member(o, key, &e) || e.get(v) != simdjson::SUCCESS) return fallback;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Expected timestamps, decoded independently of the parser (std::chrono calendar)

struct ExpectedTime {
  bool year_less = false;  // "XXXX" (current year) or go-syslog's "0000": compare month..second
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t frac_ns = 0;
  bool has_offset = false;
  int offset_s = 0;
};

bool decode_time(std::string_view t, ExpectedTime* out) {
  auto num = [&](size_t pos, size_t len, int* v) {
    if (pos + len > t.size()) return false;
    *v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      *v = *v * 10 + (t[i] - '0');
    }
    return true;
  };
  if (t.size() < 19) return false;
  if (t.substr(0, 4) == "XXXX" || t.substr(0, 4) == "0000") {
    out->year_less = true;
  } else if (!num(0, 4, &out->year)) {
    return false;
  }
  if (!num(5, 2, &out->month) || !num(8, 2, &out->day) || !num(11, 2, &out->hour) ||
      !num(14, 2, &out->minute) || !num(17, 2, &out->second)) {
    return false;
  }
  size_t p = 19;
  if (p < t.size() && t[p] == '.') {
    int64_t scale = 1'000'000'000;
    for (++p; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p) {
      scale /= 10;
      out->frac_ns += (t[p] - '0') * scale;
    }
  }
  if (p < t.size() && t[p] == 'Z') {
    out->has_offset = true;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    int h, m;
    if (!num(p + 1, 2, &h) || !num(p + 4, 2, &m)) return false;
    out->has_offset = true;
    out->offset_s = (t[p] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  }
  return true;
}

int64_t chrono_ns(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  const sys_days days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  const auto t = days + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// Options per vector

struct Setup {
  SyslogParseOptions options;
};

int zone_offset(std::string_view zone) {
  if (zone.empty() || zone == "UTC" || zone == "local") return 0;  // the test's local zone is UTC
  if (zone == "Europe/Paris") return 3600;  // the one vector using it is in January (CET)
  if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 6) {
    const int h = (zone[1] - '0') * 10 + (zone[2] - '0');
    const int m = (zone[4] - '0') * 10 + (zone[5] - '0');
    return (zone[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  }
  ADD_FAILURE() << "unknown zone in a vector: " << zone;
  return 0;
}

// The vectors' year rules expressed through SyslogParseOptions::now_ns (this year, or the
// previous one when more than a day ahead):
//   {"always": N}                         -> now = N-12-31: every date of year N is in the past;
//   {"if_month_12": N-1, "otherwise": N}  -> now = N-12-01: December dates fall back to N-1.
// Without a rule the vector's year is "XXXX"/"0000" and only month..second are compared.
SyslogParseOptions options_for(object record) {
  SyslogParseOptions o;
  o.now_ns = chrono_ns(2024, 7, 1, 0, 0, 0);
  object opts;
  if (!member_object(record, "options", &opts)) return o;
  element e;
  bool b;
  if (member(opts, "compliant_msg", &e) && e.get(b) == simdjson::SUCCESS) o.compliant_msg = b;
  std::string zone;
  if (string_member(opts, "default_timezone", &zone)) o.default_utc_offset_s = zone_offset(zone);
  object year;
  if (member_object(opts, "default_year", &year)) {
    const int64_t always = int_member(year, "always", -1);
    const int64_t otherwise = int_member(year, "otherwise", -1);
    if (always > 0) {
      o.now_ns = chrono_ns(static_cast<int>(always), 12, 31, 0, 0, 0);
    } else if (otherwise > 0) {
      EXPECT_EQ(int_member(year, "if_month_12", -1), otherwise - 1);
      o.now_ns = chrono_ns(static_cast<int>(otherwise), 12, 1, 0, 0, 0);
    }
    o.now_ns -= int64_t{o.default_utc_offset_s} * 1'000'000'000;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Comparison

using SdMap = std::map<std::string, std::map<std::string, std::string>>;
using SdList =
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>;

SdList read_sd(std::string_view sd) {
  SdList out;
  StructuredDataReader reader(sd);
  std::string_view id, name, raw;
  while (reader.next_element(id)) {
    out.emplace_back(std::string(id), std::vector<std::pair<std::string, std::string>>{});
    while (reader.next_param(name, raw)) {
      std::string value;
      unescape_sd_value(raw, value);
      out.back().second.emplace_back(std::string(name), value);
    }
  }
  return out;
}

std::string show(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class Comparer {
 public:
  Comparer(const Alert& alert, const SyslogParseOptions& options, bool latin1)
      : a_(alert), options_(options), latin1_(latin1) {}

  void field(object expect, std::string_view key) {
    element e;
    if (!member(expect, key, &e)) return;
    if (key == "facility" || key == "severity" || key == "version") {
      int64_t want = key == "version" ? 0 : -1;
      if (!e.is_null() && e.get(want) != simdjson::SUCCESS) return note(key, "bad vector");
      const int got = key == "facility"   ? a_.syslog.facility
                      : key == "severity" ? a_.syslog.severity
                                          : a_.syslog.version;
      if (got != want) note(key, std::to_string(got) + " != " + std::to_string(want));
    } else if (key == "hostname" || key == "appname" || key == "msgid") {
      const std::string want = e.is_null() ? "" : string_of(e, latin1_);
      const std::string_view got = key == "hostname"  ? a_.syslog.hostname
                                   : key == "appname" ? a_.syslog.appname
                                                      : a_.syslog.msgid;
      if (got != want) note(key, show(got) + " != " + show(want));
    } else if (key == "procid") {
      int64_t pid;
      const std::string want = e.is_null()                       ? ""
                               : e.get(pid) == simdjson::SUCCESS ? std::to_string(pid)
                                                                 : string_of(e, latin1_);
      if (a_.syslog.procid != want) note(key, show(a_.syslog.procid) + " != " + show(want));
    } else if (key == "message") {
      std::string want = e.is_null() ? "" : string_of(e, latin1_);
      // go-syslog keeps the BOM in MSG; klaxon strips it and sets has_bom.
      const bool want_bom = want.rfind("\xEF\xBB\xBF", 0) == 0;
      if (want_bom) want.erase(0, 3);
      if (a_.message != want) note(key, show(a_.message) + " != " + show(want));
      if (a_.syslog.has_bom != want_bom) note("has_bom", a_.syslog.has_bom ? "true" : "false");
    } else if (key == "timestamp") {
      timestamp(e);
    } else if (key == "structured_data") {
      structured_data(e);
    }
  }

  // partial: expect_partial, where an expected SD element only has to be present with the
  // listed parameters.
  void all(object expect, bool partial = false) {
    partial_ = partial;
    for (auto [key, value] : expect) field(expect, key);
  }

  const std::string& errors() const { return errors_; }

 private:
  void note(std::string_view key, std::string_view what) {
    errors_ += std::string(key) + ": " + std::string(what) + "; ";
  }

  void timestamp(element e) {
    if (e.is_null()) {
      if (a_.has_timestamp) note("timestamp", "unexpected timestamp");
      return;
    }
    std::string_view text;
    ExpectedTime want;
    if (e.get(text) != simdjson::SUCCESS || !decode_time(text, &want)) {
      return note("timestamp", "undecodable vector value");
    }
    if (!a_.has_timestamp) return note("timestamp", "missing, want " + std::string(text));
    std::string got;
    append_rfc3339(a_.timestamp_ns, got);
    const int offset = want.has_offset ? want.offset_s : options_.default_utc_offset_s;
    if (want.year_less) {
      // Wall clock of the parsed instant in the vector's zone, without the year.
      using namespace std::chrono;
      const int64_t wall = a_.timestamp_ns + int64_t{offset} * 1'000'000'000;
      const sys_days days = floor<std::chrono::days>(sys_time<nanoseconds>(nanoseconds(wall)));
      const year_month_day ymd(days);
      const int64_t in_day = wall - duration_cast<nanoseconds>(days.time_since_epoch()).count();
      const int64_t sod = in_day / 1'000'000'000;
      if (static_cast<unsigned>(ymd.month()) != static_cast<unsigned>(want.month) ||
          static_cast<unsigned>(ymd.day()) != static_cast<unsigned>(want.day) ||
          sod != want.hour * 3600 + want.minute * 60 + want.second) {
        note("timestamp", got + " != " + std::string(text) + " (month..second)");
      }
      return;
    }
    const int64_t want_ns =
        chrono_ns(want.year, want.month, want.day, want.hour, want.minute, want.second) +
        want.frac_ns - int64_t{offset} * 1'000'000'000;
    if (a_.timestamp_ns != want_ns) note("timestamp", got + " != " + std::string(text));
  }

  void structured_data(element e) {
    const SdList got = read_sd(a_.syslog.structured_data);
    SdMap got_map;
    for (const auto& [id, params] : got) {
      auto& m = got_map[id];
      for (const auto& [k, v] : params) m[k] = v;
    }
    if (got_map.size() != got.size()) note("structured_data", "duplicate SD-ID in the result");
    SdMap want;
    object elements;
    if (!e.is_null()) {
      if (e.get(elements) != simdjson::SUCCESS) return note("structured_data", "bad vector");
      for (auto [id, params] : elements) {
        auto& m = want[std::string(id)];
        object po;
        if (params.get(po) != simdjson::SUCCESS) return note("structured_data", "bad vector");
        for (auto [k, v] : po) m[std::string(k)] = string_of(v, latin1_);
      }
    }
    bool match = got_map == want;
    if (partial_) {
      match = true;
      for (const auto& [id, params] : want) {
        const auto it = got_map.find(id);
        if (it == got_map.end()) {
          match = false;
          continue;
        }
        for (const auto& [k, v] : params) {
          const auto p = it->second.find(k);
          match &= p != it->second.end() && p->second == v;
        }
      }
    }
    if (!match) note("structured_data", "got " + show(a_.syslog.structured_data));
  }

  const Alert& a_;
  const SyslogParseOptions& options_;
  bool latin1_;
  bool partial_ = false;
  std::string errors_;
};

bool same_result(const Alert& x, const Alert& y) {
  const SyslogFields& a = x.syslog;
  const SyslogFields& b = y.syslog;
  return a.format == b.format && a.facility == b.facility && a.severity == b.severity &&
         a.version == b.version && a.hostname == b.hostname && a.appname == b.appname &&
         a.procid == b.procid && a.msgid == b.msgid && a.structured_data == b.structured_data &&
         a.has_bom == b.has_bom && x.has_timestamp == y.has_timestamp &&
         x.timestamp_ns == y.timestamp_ns && x.message == y.message && x.severity == y.severity;
}

// ---------------------------------------------------------------------------------------------
// Running one vector; returns "" when it passes, else what differed.

enum class Entry { kSyslog, kRfc5424, kRfc3164 };

Entry entry_for(object record) {
  std::string profile, variant, entry;
  string_member(record, "profile", &profile);
  object opts;
  if (member_object(record, "options", &opts)) {
    string_member(opts, "variant", &variant);
    string_member(opts, "entry", &entry);
  }
  if (profile == "rfc5424-strict" || entry == "rfc5424::parse") return Entry::kRfc5424;
  if (profile == "rfc3164" || entry == "rfc3164::parse" || variant == "rfc3164") {
    return Entry::kRfc3164;
  }
  return Entry::kSyslog;  // lenient "either": detection decides
}

ParseStatus run(Entry entry, std::string_view input, const SyslogParseOptions& o, Alert& alert) {
  switch (entry) {
    case Entry::kRfc5424:
      return parse_rfc5424(input, o, alert);
    case Entry::kRfc3164:
      return parse_rfc3164(input, o, alert);
    case Entry::kSyslog:
      break;
  }
  return parse_syslog(input, o, alert);
}

std::string check_parse_case(object record) {
  std::string input_text, encoding;
  if (!string_member(record, "input", &input_text)) return "no input";
  string_member(record, "input_encoding", &encoding);
  const std::string input = encoding == "latin1" ? latin1_bytes(input_text) : input_text;
  std::string expect_encoding;
  string_member(record, "expect_encoding", &expect_encoding);
  const bool latin1 = expect_encoding == "latin1";

  const SyslogParseOptions o = options_for(record);
  const Entry entry = entry_for(record);
  Alert alert;
  const ParseStatus st = run(entry, input, o, alert);

  element valid_e;
  bool valid = true;
  if (member(record, "valid", &valid_e) && valid_e.get(valid) != simdjson::SUCCESS) {
    return "bad vector: valid";
  }
  if (!valid) {
    if (st.ok()) return "accepted, want rejected";
    return "";
  }
  if (!st.ok()) {
    return std::string("rejected (") + reject_reason_name(st.reason) + ": " + st.what + " at " +
           std::to_string(st.column) + "), want accepted";
  }
  std::string other;
  if (string_member(record, "expect_same_as_input", &other)) {
    Alert b;
    if (!run(entry, other, o, b).ok()) return "expect_same_as_input: the other input is rejected";
    return same_result(alert, b) ? "" : "differs from expect_same_as_input";
  }
  Comparer cmp(alert, o, latin1);
  object expect;
  if (member_object(record, "expect", &expect)) cmp.all(expect);
  if (member_object(record, "expect_partial", &expect)) cmp.all(expect, /*partial=*/true);
  return cmp.errors();
}

// syslog-loose component tests: each sub-parser checked through the klaxon function that plays
// its role.
std::string check_component(object record) {
  std::string component, input, rest;
  string_member(record, "component", &component);
  string_member(record, "input", &input);
  const bool has_rest = string_member(record, "expect_rest", &rest);
  object expect;
  if (!member_object(record, "expect", &expect)) return "no expect";
  SyslogParseOptions o = options_for(record);
  Alert alert;

  if (component == "pri") {
    if (!parse_rfc3164(input, o, alert).ok()) return "rejected";
    Comparer cmp(alert, o, false);
    cmp.all(expect);
    std::string errors = cmp.errors();
    if (has_rest && alert.message != rest) errors += "rest: " + show(alert.message);
    return errors;
  }
  if (component == "sd_param_value_raw") {
    // The raw text between the quotes, as StructuredDataReader yields it.
    const std::string sd = "[x a=" + input + "]";
    StructuredDataReader reader(sd);
    std::string_view id, name, raw;
    std::string want;
    string_member(expect, "value", &want);
    if (!reader.next_element(id) || !reader.next_param(name, raw)) return "reader found no param";
    return raw == want ? "" : show(raw) + " != " + show(want);
  }
  if (component == "structured_data" || component == "structured_data_params_unescaped") {
    SdList got;
    if (component == "structured_data") {
      // Validation is RFC 5424's: the block parsed as the SD of a minimal message.
      const std::string frame = "<13>1 - - - - - " + input;
      const ParseStatus st = parse_rfc5424(frame, o, alert);
      if (!st.ok()) return std::string("rejected: ") + st.what;
      got = read_sd(alert.syslog.structured_data);
    } else {
      got = read_sd(input);  // unescape_sd_value on the reader's raw values
    }
    SdList want;
    array list;
    element e;
    if (member(expect, "structured_data", &e) && e.get(list) == simdjson::SUCCESS) {
      for (element el : list) {
        object eo;
        std::string id;
        if (el.get(eo) != simdjson::SUCCESS || !string_member(eo, "id", &id)) return "bad vector";
        want.emplace_back(id, std::vector<std::pair<std::string, std::string>>{});
        array params;
        if (member(eo, "params", &e) && e.get(params) == simdjson::SUCCESS) {
          for (element pe : params) {
            array kv;
            if (pe.get(kv) != simdjson::SUCCESS || kv.size() != 2) return "bad vector";
            want.back().second.emplace_back(string_of(kv.at(0).value(), false),
                                            string_of(kv.at(1).value(), false));
          }
        }
      }
    } else if (member(expect, "params", &e) && e.get(list) == simdjson::SUCCESS) {
      if (got.size() != 1) return "want one element";
      want.emplace_back(got[0].first, std::vector<std::pair<std::string, std::string>>{});
      for (element pe : list) {
        array kv;
        if (pe.get(kv) != simdjson::SUCCESS || kv.size() != 2) return "bad vector";
        want.back().second.emplace_back(string_of(kv.at(0).value(), false),
                                        string_of(kv.at(1).value(), false));
      }
    }
    if (got == want) return "";
    std::string diff;
    for (const auto& [id, params] : got) {
      diff += "[" + id;
      for (const auto& [k, v] : params) diff += " " + k + "=" + show(v);
      diff += "]";
    }
    return "got " + diff;
  }
  if (component == "timestamp_rfc3339") {
    // The strict RFC 5424 TIMESTAMP (NILVALUE included) in a minimal message.
    std::string ts = input;
    while (!ts.empty() && ts.back() == ' ') ts.pop_back();
    const ParseStatus st = parse_rfc5424("<13>1 " + ts + " - - - - -", o, alert);
    if (!st.ok()) return std::string("rejected: ") + st.what;
    Comparer cmp(alert, o, false);
    cmp.all(expect);
    return cmp.errors();
  }
  if (component == "timestamp_rfc3164" || component == "timestamp_rfc3164_no_year") {
    // The RFC 3164 timestamp at the head of a message; "x" stands for the text after it.
    const std::string frame = "<13>" + input + (has_rest && rest.empty() ? "" : "x");
    if (!parse_rfc3164(frame, o, alert).ok()) return "rejected";
    if (component == "timestamp_rfc3164") {
      Comparer cmp(alert, o, false);
      cmp.all(expect);
      return cmp.errors();
    }
    char text[32];
    std::snprintf(text, sizeof text, "XXXX-%02d-%02dT%02d:%02d:%02d",
                  static_cast<int>(int_member(expect, "month", 0)),
                  static_cast<int>(int_member(expect, "day", 0)),
                  static_cast<int>(int_member(expect, "hour", 0)),
                  static_cast<int>(int_member(expect, "minute", 0)),
                  static_cast<int>(int_member(expect, "second", 0)));
    const std::string json = std::string("{\"timestamp\": \"") + text + "\"}";
    simdjson::dom::parser parser;
    object synthetic;
    if (parser.parse(json).get(synthetic) != simdjson::SUCCESS) return "internal";
    Comparer cmp(alert, o, false);
    cmp.all(synthetic);
    return cmp.errors();
  }
  return "unknown component " + component;
}

// ---------------------------------------------------------------------------------------------
// One vector file

struct Tally {
  int passed = 0, failed = 0, explained = 0;
};

void run_set(std::string_view set) {
  const std::filesystem::path dir = std::filesystem::path(corpus_dir()) / "vectors";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "corpus not found at " << dir << " (set KLAXON_CORPUS)";
  }
  const std::filesystem::path file = dir / (std::string(set) + ".jsonl");
  std::ifstream in(file);
  ASSERT_TRUE(in) << "cannot open " << file;

  simdjson::dom::parser parser;
  Tally tally;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    object record;
    const auto error = parser.parse(line).get(record);
    ASSERT_EQ(error, simdjson::SUCCESS) << file << ":" << line_no << ": " << error;
    std::string id;
    ASSERT_TRUE(string_member(record, "id", &id)) << file << ":" << line_no;
    element component;
    const std::string failure = member(record, "component", &component) ? check_component(record)
                                                                        : check_parse_case(record);
    const Explained* explained = find_explained(id);
    if (failure.empty()) {
      ++tally.passed;
      EXPECT_EQ(explained, nullptr) << id << " passes now; remove it from kExplained";
    } else if (explained != nullptr) {
      ++tally.explained;
    } else {
      ++tally.failed;
      ADD_FAILURE() << id << ": " << failure;
    }
  }
  std::printf("conformance %.*s: %d passed, %d failed, %d explained\n",
              static_cast<int>(set.size()), set.data(), tally.passed, tally.failed,
              tally.explained);
  EXPECT_GT(tally.passed + tally.failed + tally.explained, 0) << "no vectors in " << file;
}

TEST(SyslogConformance, GoSyslogRfc5424) { run_set("go-syslog/rfc5424"); }
TEST(SyslogConformance, GoSyslogRfc3164) { run_set("go-syslog/rfc3164"); }
TEST(SyslogConformance, SyslogLooseLenient) { run_set("syslog-loose/lenient"); }
TEST(SyslogConformance, SyslogLooseComponents) { run_set("syslog-loose/components"); }
TEST(SyslogConformance, VectorVrlSyslog) { run_set("vector-vrl/syslog"); }

}  // namespace
}  // namespace klaxon
