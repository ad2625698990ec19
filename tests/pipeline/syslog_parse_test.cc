// Unit tests for the syslog parsers (pipeline/stages/syslog_parse.h): RFC 5424 strictness, the
// RFC 3164 variants of ecosystem.md §1.2, timestamps, structured data, and robustness on hostile
// bytes (CVE regressions, naughty strings, NUL bytes, invalid UTF-8, a mutation loop). Built with
// ASan/UBSan, an out-of-bounds read fails the run. Cross-project vectors live in
// syslog_conformance_test.cc.
#include "pipeline/stages/syslog_parse.h"

#include "pipeline/core/alert.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

// UTC nanoseconds computed with std::chrono, independently of days_from_civil().
int64_t ns_of(int y, int mo, int d, int h = 0, int mi = 0, int s = 0, int64_t frac_ns = 0) {
  using namespace std::chrono;
  const sys_days days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  const auto t = days + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<nanoseconds>(t.time_since_epoch()).count() + frac_ns;
}

constexpr int64_t kSec = 1'000'000'000;

SyslogParseOptions options_at(int64_t now_ns, int32_t offset_s = 0) {
  SyslogParseOptions o;
  o.now_ns = now_ns;
  o.default_utc_offset_s = offset_s;
  return o;
}

// The injected clock of most tests: 2026-11-23T08:25:34Z.
const SyslogParseOptions kOpts = options_at(ns_of(2026, 11, 23, 8, 25, 34));

// Every view the parser fills must be empty or lie inside the frame.
void expect_views_inside(const Alert& a, std::string_view frame) {
  const auto inside = [&](std::string_view v, const char* name) {
    if (v.empty()) return;
    const char* b = frame.data();
    const char* e = frame.data() + frame.size();
    EXPECT_TRUE(v.data() >= b && v.data() + v.size() <= e) << name << " points outside the frame";
  };
  inside(a.syslog.hostname, "hostname");
  inside(a.syslog.appname, "appname");
  inside(a.syslog.procid, "procid");
  inside(a.syslog.msgid, "msgid");
  inside(a.syslog.structured_data, "structured_data");
  inside(a.message, "message");
}

// ---------------------------------------------------------------------------------------------
// Time helpers

TEST(DaysFromCivil, MatchesStdChrono) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(2000, 2, 29), 11016);
  using namespace std::chrono;
  for (int y : {0, 1, 1600, 1677, 1900, 1969, 1999, 2000, 2024, 2100, 2262, 9999}) {
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d : {1u, 28u}) {
        const sys_days want{year{y} / month{m} / day{d}};
        EXPECT_EQ(days_from_civil(y, m, d), want.time_since_epoch().count()) << y << "-" << m;
      }
    }
  }
}

TEST(AppendRfc3339, FormatsUtcAndTrimsTheFraction) {
  const auto fmt = [](int64_t ns) {
    std::string out = "x";
    append_rfc3339(ns, out);
    return out.substr(1);
  };
  EXPECT_EQ(fmt(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(fmt(ns_of(2026, 11, 23, 8, 25, 34, 123'000'000)), "2026-11-23T08:25:34.123Z");
  EXPECT_EQ(fmt(ns_of(2026, 11, 23, 8, 25, 34, 123'456'789)), "2026-11-23T08:25:34.123456789Z");
  EXPECT_EQ(fmt(ns_of(2026, 11, 23, 8, 25, 34, 5)), "2026-11-23T08:25:34.000000005Z");
  EXPECT_EQ(fmt(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(fmt(ns_of(1969, 12, 3, 23, 58, 58)), "1969-12-03T23:58:58Z");
  // The extremes of int64 nanoseconds format without overflow.
  EXPECT_EQ(fmt(std::numeric_limits<int64_t>::min()), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(fmt(std::numeric_limits<int64_t>::max()), "2262-04-11T23:47:16.854775807Z");
}

TEST(ParseRfc3339, AcceptsTheLenientShapes) {
  struct Case {
    std::string_view text;
    int64_t ns;
    size_t consumed;
  };
  const int64_t base = ns_of(2026, 5, 20, 8, 14, 15);
  const Case cases[] = {
      {"2026-05-20T08:14:15Z", base, 20},
      {"2026-05-20t08:14:15z", base, 20},
      {"2026-05-20 08:14:15Z", base, 20},
      {"2026-05-20T08:14:15+02:00", base - 2 * 3600 * kSec, 25},
      {"2026-05-20T08:14:15-0800", base + 8 * 3600 * kSec, 24},
      {"2026-05-20T08:14:15+05 rest", base - 5 * 3600 * kSec, 22},
      {"2026-05-20T08:14:15.003114+02:00", base + 3'114'000 - 2 * 3600 * kSec, 32},
      {"2026-05-20T08:14:15.123456789Z", base + 123'456'789, 30},
      {"2026-05-20T08:14:15.123456789123Z", base + 123'456'789, 33},  // beyond ns: dropped
      {"2026-05-20T08:14:15 host", base + 3600 * kSec * -1, 19},      // default offset +1h
      {"2026-05-20T08:14:15.Z", base - 3600 * kSec, 19},              // '.' without digits: stop
      {"2016-12-31T23:59:60Z", ns_of(2017, 1, 1), 20},                // leap second, lenient
  };
  for (const auto& c : cases) {
    int64_t ns = 0;
    size_t consumed = 0;
    ASSERT_TRUE(parse_rfc3339(c.text, 3600, &ns, &consumed)) << c.text;
    // The zone-less cases use the default offset of +01:00.
    EXPECT_EQ(ns, c.ns) << c.text;
    EXPECT_EQ(consumed, c.consumed) << c.text;
  }
}

TEST(ParseRfc3339, RejectsWhatIsNoTimestamp) {
  for (std::string_view text :
       {"", "2026", "2026-05-20", "2026-05-20T", "2026-05-20T08:14", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-05-20T24:00:00Z",
        "2026-05-20T08:60:00Z", "2026-05-20T08:14:61Z", "2026-05-20X08:14:15Z",
        "1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "20a6-05-20T08:14:15Z", "Nov 23"}) {
    int64_t ns = 0;
    size_t consumed = 0;
    EXPECT_FALSE(parse_rfc3339(text, 0, &ns, &consumed)) << text;
  }
}

TEST(ParseRfc3339, EveryTruncationIsSafe) {
  const std::string full = "2026-05-20T08:14:15.003114+02:00";
  for (size_t n = 0; n <= full.size(); ++n) {
    // A heap copy of exactly n bytes: ASan catches any read past it.
    const std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
    std::memcpy(buf.get(), full.data(), n);
    int64_t ns = 0;
    size_t consumed = 0;
    if (parse_rfc3339(std::string_view(buf.get(), n), 0, &ns, &consumed)) {
      EXPECT_LE(consumed, n);
      EXPECT_GE(n, 19u);
    }
  }
}

TEST(ParseRfc3339, RoundTripsAppendRfc3339) {
  for (int64_t ns : {int64_t{0}, int64_t{-1}, ns_of(2026, 11, 23, 8, 25, 34, 123'456'789),
                     ns_of(1985, 4, 12, 23, 20, 50, 520'000'000), ns_of(2262, 4, 11)}) {
    std::string text;
    append_rfc3339(ns, text);
    int64_t back = 0;
    size_t consumed = 0;
    ASSERT_TRUE(parse_rfc3339(text, 0, &back, &consumed)) << text;
    EXPECT_EQ(back, ns) << text;
    EXPECT_EQ(consumed, text.size());
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 5424

struct Parse {
  explicit Parse(std::string_view f, const SyslogParseOptions& o = kOpts) : frame(f) {
    status = parse_rfc5424(frame, o, alert);
    expect_views_inside(alert, frame);
  }
  std::string frame;
  Alert alert;
  ParseStatus status;
};

TEST(ParseRfc5424, RfcExamples) {
  // RFC 5424 §6.5, examples 1-4 (example 1 with a real BOM).
  Parse e1(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' "
      "failed for lonvick on /dev/pts/8");
  ASSERT_TRUE(e1.status.ok()) << e1.status.what;
  const Alert& a = e1.alert;
  EXPECT_EQ(a.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(a.syslog.facility, 4);
  EXPECT_EQ(a.syslog.severity, 2);
  EXPECT_EQ(a.syslog.version, 1);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_TRUE(a.has_timestamp);
  EXPECT_EQ(a.timestamp_ns, ns_of(2003, 10, 11, 22, 14, 15, 3'000'000));
  EXPECT_EQ(a.syslog.hostname, "mymachine.example.com");
  EXPECT_EQ(a.syslog.appname, "su");
  EXPECT_EQ(a.syslog.procid, "");
  EXPECT_EQ(a.syslog.msgid, "ID47");
  EXPECT_EQ(a.syslog.structured_data, "");
  EXPECT_TRUE(a.syslog.has_bom);
  EXPECT_EQ(a.message, "'su root' failed for lonvick on /dev/pts/8");

  Parse e2(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
      "the do-nuts.");
  ASSERT_TRUE(e2.status.ok());
  EXPECT_EQ(e2.alert.timestamp_ns, ns_of(2003, 8, 24, 12, 14, 15, 3'000));
  EXPECT_EQ(e2.alert.syslog.procid, "8710");
  EXPECT_FALSE(e2.alert.syslog.has_bom);
  EXPECT_EQ(e2.alert.message, "%% It's time to make the do-nuts.");
  EXPECT_EQ(e2.alert.severity, Severity::kLow);

  Parse e3(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBF"
      "An application event log entry...");
  ASSERT_TRUE(e3.status.ok());
  EXPECT_EQ(e3.alert.syslog.structured_data,
            "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]");
  EXPECT_EQ(e3.alert.message, "An application event log entry...");

  Parse e4(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
      "class=\"high\"]");
  ASSERT_TRUE(e4.status.ok());
  EXPECT_EQ(e4.alert.message, "");
  EXPECT_TRUE(
      e4.alert.syslog.structured_data.ends_with("\"1011\"][examplePriority@32473 class=\"high\"]"));
}

TEST(ParseRfc5424, MinimalAndNilValues) {
  Parse p("<0>1 - - - - - -");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.alert.syslog.facility, 0);
  EXPECT_EQ(p.alert.syslog.severity, 0);
  EXPECT_FALSE(p.alert.has_timestamp);
  EXPECT_TRUE(p.alert.syslog.hostname.empty());
  EXPECT_TRUE(p.alert.message.empty());

  Parse trailing_sp("<191>999 - - - - - - ");  // SP then an empty MSG
  ASSERT_TRUE(trailing_sp.status.ok());
  EXPECT_EQ(trailing_sp.alert.syslog.facility, 23);
  EXPECT_EQ(trailing_sp.alert.syslog.severity, 7);
  EXPECT_EQ(trailing_sp.alert.syslog.version, 999);
  EXPECT_EQ(trailing_sp.alert.severity, Severity::kInfo);
}

struct Rejection {
  std::string_view frame;
  RejectReason reason;
};

void expect_rejections(const std::vector<Rejection>& cases) {
  for (const auto& c : cases) {
    Parse p(c.frame);
    EXPECT_EQ(p.status.reason, c.reason) << c.frame << " -> " << p.status.what;
    EXPECT_STRNE(p.status.what, "") << c.frame;
    EXPECT_LE(p.status.column, c.frame.size()) << c.frame;
  }
}

TEST(ParseRfc5424, Pri) {
  Parse p191("<191>1 - - - - - -");
  EXPECT_TRUE(p191.status.ok());
  expect_rejections({
      {"", RejectReason::kEmpty},
      {"122 - - - - - -", RejectReason::kRfc5424},
      {"(190>1 - - - - - -", RejectReason::kRfc5424},
      {"<192>1 - - - - - -", RejectReason::kBadPri},
      {"<00>1 - - - - - -", RejectReason::kBadPri},
      {"<012>1 - - - - - -", RejectReason::kBadPri},
      {"<1234>1 - - - - - -", RejectReason::kBadPri},
      {"<>1 - - - - - -", RejectReason::kBadPri},
      {"<abc>1 - - - - - -", RejectReason::kBadPri},
      {"<87]1 - - - - - -", RejectReason::kBadPri},
      {"<13", RejectReason::kBadPri},
      {"<", RejectReason::kBadPri},
  });
  // A PRI made of a million digits: bounded work, a clean reason.
  const std::string huge = "<" + std::string(1'000'000, '9') + ">1 - - - - - -";
  Parse h(huge);
  EXPECT_EQ(h.status.reason, RejectReason::kBadPri);
}

TEST(ParseRfc5424, Version) {
  EXPECT_TRUE(Parse("<1>2 - - - - - -").status.ok());
  expect_rejections({
      {"<1>0 - - - - - -", RejectReason::kRfc5424},
      {"<1>1000 - - - - - -", RejectReason::kRfc5424},
      {"<1>1", RejectReason::kRfc5424},
      {"<1>1- - - - - -", RejectReason::kRfc5424},
      {"<1> - - - - - -", RejectReason::kRfc5424},
      {"<1>a - - - - - -", RejectReason::kRfc5424},
  });
}

TEST(ParseRfc5424, TimestampProfile) {
  Parse ok("<1>1 2020-02-29T23:59:59.999999+14:00 - - - - -");  // leap day, 6 digits
  ASSERT_TRUE(ok.status.ok());
  EXPECT_EQ(ok.alert.timestamp_ns, ns_of(2020, 2, 29, 9, 59, 59, 999'999'000));
  Parse old("<1>1 1969-12-03T23:58:58+00:00 - - - - -");
  ASSERT_TRUE(old.status.ok());
  EXPECT_EQ(old.alert.timestamp_ns, ns_of(1969, 12, 3, 23, 58, 58));
  expect_rejections({
      {"<1>1 2003-09-29T22:09:01.0000001Z - - - - -", RejectReason::kRfc5424},  // 7 digits
      {"<1>1 2003-09-29t22:09:01Z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:01z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:01 - - - - -", RejectReason::kRfc5424},  // no offset
      {"<1>1 2003-09-29T22:09:01+0200 - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:01+24:00 - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:01-07:60 - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:60Z - - - - -", RejectReason::kRfc5424},  // no leap seconds
      {"<1>1 2003-09-31T22:09:01Z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2018-02-29T22:09:01Z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-13-01T22:09:01Z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2003-09-29T22:09:01.Z - - - - -", RejectReason::kRfc5424},
      {"<1>1 2006-01-02T15:04:05Z+07:00 - - - - -", RejectReason::kRfc5424},
      {"<1>1 1000-01-01T00:00:00Z - - - - -", RejectReason::kRfc5424},  // beyond int64 ns
      {"<1>1 -- - - - - -", RejectReason::kRfc5424},
  });
}

TEST(ParseRfc5424, EveryTruncationIsRejectedCleanly) {
  const std::string full = "<165>1 2003-08-24T05:14:15.000003-07:00 host app 42 ID [a b=\"c\"]";
  for (size_t n = 0; n < full.size(); ++n) {
    const std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
    std::memcpy(buf.get(), full.data(), n);
    Alert a;
    const ParseStatus st = parse_rfc5424(std::string_view(buf.get(), n), kOpts, a);
    EXPECT_FALSE(st.ok()) << full.substr(0, n);
    EXPECT_LE(st.column, n);
  }
  EXPECT_TRUE(Parse(full).status.ok());
}

TEST(ParseRfc5424, HeaderFieldLengths) {
  const std::string h255(255, 'h'), a48(48, 'a'), p128(128, 'p'), m32(32, 'm');
  Parse max("<1>1 - " + h255 + " " + a48 + " " + p128 + " " + m32 + " -");
  ASSERT_TRUE(max.status.ok()) << max.status.what;
  EXPECT_EQ(max.alert.syslog.hostname.size(), 255u);
  EXPECT_EQ(max.alert.syslog.appname.size(), 48u);
  EXPECT_EQ(max.alert.syslog.procid.size(), 128u);
  EXPECT_EQ(max.alert.syslog.msgid.size(), 32u);
  for (const std::string& frame : {"<1>1 - " + h255 + "h - - - -", "<1>1 - - " + a48 + "a - - -",
                                   "<1>1 - - - " + p128 + "p - -", "<1>1 - - - - " + m32 + "m -"}) {
    Parse p(frame);
    EXPECT_EQ(p.status.reason, RejectReason::kRfc5424) << frame;
  }
  Parse col("<1>1 - " + h255 + "h - - - -");
  EXPECT_EQ(col.status.column, 7u + 255u);  // where the 256th byte is
}

TEST(ParseRfc5424, HeaderFieldsArePrintableUsAscii) {
  expect_rejections({
      {"<1>1 - ho\x01st - - - -"sv, RejectReason::kRfc5424},
      {"<1>1 - host\nname - - - -"sv, RejectReason::kRfc5424},
      {"<1>1 - h\xC3\xA9 - - - -"sv, RejectReason::kRfc5424},  // UTF-8 is not PRINTUSASCII
      {"<1>1 - - a\x7Fpp - - -"sv, RejectReason::kRfc5424},
      {"<1>1 - - - p\0id - -"sv, RejectReason::kRfc5424},
      {"<1>1 -  - - - -"sv, RejectReason::kRfc5424},  // two spaces: empty field
      {"<1>1 - - - - -"sv, RejectReason::kRfc5424},   // no STRUCTURED-DATA
      {"<1>1 - - - - - -\n\t\t<2>1 - - - - - -"sv, RejectReason::kRfc5424},
  });
}

TEST(ParseRfc5424, StructuredDataIsValidatedAndKeptRaw) {
  Parse p("<1>1 - - - - - [a@1 x=\"1\" y=\"\"][empty][esc v=\"q\\\"b\\\\s\\]e\"] msg");
  ASSERT_TRUE(p.status.ok()) << p.status.what;
  EXPECT_EQ(p.alert.syslog.structured_data,
            "[a@1 x=\"1\" y=\"\"][empty][esc v=\"q\\\"b\\\\s\\]e\"]");
  EXPECT_EQ(p.alert.message, "msg");

  StructuredDataReader reader(p.alert.syslog.structured_data);
  std::string_view id, name, raw;
  ASSERT_TRUE(reader.next_element(id));
  EXPECT_EQ(id, "a@1");
  ASSERT_TRUE(reader.next_param(name, raw));
  EXPECT_EQ(name, "x");
  EXPECT_EQ(raw, "1");
  ASSERT_TRUE(reader.next_param(name, raw));
  EXPECT_EQ(name, "y");
  EXPECT_EQ(raw, "");
  EXPECT_FALSE(reader.next_param(name, raw));
  ASSERT_TRUE(reader.next_element(id));
  EXPECT_EQ(id, "empty");
  EXPECT_FALSE(reader.next_param(name, raw));
  ASSERT_TRUE(reader.next_element(id));
  EXPECT_EQ(id, "esc");
  ASSERT_TRUE(reader.next_param(name, raw));
  EXPECT_EQ(raw, "q\\\"b\\\\s\\]e");
  std::string value = "v=";
  unescape_sd_value(raw, value);
  EXPECT_EQ(value, "v=q\"b\\s]e");
  EXPECT_FALSE(reader.next_param(name, raw));
  EXPECT_FALSE(reader.next_element(id));
  EXPECT_FALSE(reader.next_element(id));
}

TEST(ParseRfc5424, StructuredDataViolations) {
  const std::string id33(33, 'i'), id32(32, 'i');
  EXPECT_TRUE(Parse("<1>1 - - - - - [" + id32 + " " + id32 + "=\"v\"]").status.ok());
  expect_rejections({
      {"<1>1 - - - - - X", RejectReason::kRfc5424},
      {"<1>1 - - - - - []", RejectReason::kRfc5424},
      {"<1>1 - - - - - [ ]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [=]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [\"]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=\"abc", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=\"abc\\", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=1]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x= \"1\"]", RejectReason::kRfc5424},  // SP after '='
      {"<1>1 - - - - - [id x=\"1\" ]", RejectReason::kRfc5424},  // SP before ']'
      {"<1>1 - - - - - [id  x=\"1\"]", RejectReason::kRfc5424},  // two spaces
      {"<1>1 - - - - - [id x=\"1\"y=\"2\"]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=\"a]b\"]", RejectReason::kRfc5424},   // unescaped ']'
      {"<1>1 - - - - - [id x=\"a\"b\"]", RejectReason::kRfc5424},  // unescaped '"'
      {"<1>1 - - - - - [id x=\"\\n\"]", RejectReason::kRfc5424},   // go-syslog ErrEscape
      {"<1>1 - - - - - [id x=\"a\\\"]", RejectReason::kRfc5424},   // \" then no close
      {"<1>1 - - - - - [id][id]", RejectReason::kRfc5424},         // duplicate SD-ID
      {"<1>1 - - - - - [a x=\"1\"][b][a y=\"2\"]", RejectReason::kRfc5424},
      {"<1>1 - - - - - [id x=\"1\"]msg", RejectReason::kRfc5424},  // no SP before MSG
  });
}

TEST(ParseRfc5424, ManyStructuredDataElements) {
  // 2000 distinct elements are fine; a repeat of one of the first 192 ids is caught.
  std::string sd;
  for (int i = 0; i < 2000; ++i) sd += "[e" + std::to_string(i) + " k=\"v\"]";
  EXPECT_TRUE(Parse("<1>1 - - - - - " + sd + " m").status.ok());
  for (std::string_view again : {"[e7]", "[e15]", "[e16]", "[e150]", "[e191]"}) {
    Parse dup("<1>1 - - - - - " + sd + std::string(again) + " m");
    EXPECT_EQ(dup.status.reason, RejectReason::kRfc5424) << again;
    EXPECT_STREQ(dup.status.what, "duplicate SD-ID") << again;
  }
  // Past the first 192 distinct ids a repeat among the later ones is not tracked (bounded work).
  EXPECT_TRUE(Parse("<1>1 - - - - - " + sd + "[e1999] m").status.ok());
}

TEST(ParseRfc5424, MessageAndBom) {
  Parse bom_only("<1>8 - - - - - - \xEF\xBB\xBF");
  ASSERT_TRUE(bom_only.status.ok());
  EXPECT_TRUE(bom_only.alert.syslog.has_bom);
  EXPECT_EQ(bom_only.alert.message, "");

  Parse not_first("<1>1 - - - - - - x\xEF\xBB\xBF");
  ASSERT_TRUE(not_first.status.ok());
  EXPECT_FALSE(not_first.alert.syslog.has_bom);
  EXPECT_EQ(not_first.alert.message, "x\xEF\xBB\xBF");

  // MSG-ANY: without a BOM any bytes are fine, NUL and invalid UTF-8 included.
  Parse any("<1>1 - - - - - - a\0b\xFF\xC0\xAF\n"sv);
  ASSERT_TRUE(any.status.ok());
  EXPECT_EQ(any.alert.message, "a\0b\xFF\xC0\xAF\n"sv);

  Parse utf8("<1>1 - - - - - - \xEF\xBB\xBF\xCE\xBA\xE1\xBD\xB9\xF0\x9D\x84\x9E");
  ASSERT_TRUE(utf8.status.ok());
  EXPECT_EQ(utf8.alert.message, "\xCE\xBA\xE1\xBD\xB9\xF0\x9D\x84\x9E");

  // MSG-UTF8: after a BOM the bytes must be UTF-8 (overlong, surrogate, > U+10FFFF, truncated).
  for (std::string_view bad :
       {"\xC0\xAF"sv, "\xE0\x80\xAF"sv, "\xED\xA0\x80"sv, "\xF4\x90\x80\x80"sv, "\xF0\x9D\x84"sv,
        "\xFF"sv, "ok\x80"sv, "\xC3\x28"sv}) {
    const std::string frame = "<1>1 - - - - - - \xEF\xBB\xBF" + std::string(bad);
    Parse strict(frame);
    EXPECT_EQ(strict.status.reason, RejectReason::kInvalidUtf8) << frame;
    EXPECT_GE(strict.status.column, 20u);
    SyslogParseOptions lax = kOpts;
    lax.compliant_msg = false;
    Parse accepted(frame, lax);
    EXPECT_TRUE(accepted.status.ok()) << frame;
    EXPECT_EQ(accepted.alert.message, bad);
    EXPECT_TRUE(accepted.alert.syslog.has_bom);
  }
}

TEST(ParseRfc5424, FailureKeepsWhatWasParsed) {
  Parse p("<29>1 2016-01-15T01:00:43Z hn S - - [meta escape=\"]\"] tail");
  EXPECT_EQ(p.status.reason, RejectReason::kRfc5424);
  EXPECT_EQ(p.status.column, 50u);
  EXPECT_EQ(p.alert.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(p.alert.syslog.facility, 3);
  EXPECT_EQ(p.alert.syslog.hostname, "hn");
  EXPECT_TRUE(p.alert.has_timestamp);
  EXPECT_TRUE(p.alert.message.empty());
}

TEST(ParseRfc5424, ResetsThePreviousResult) {
  Alert a;
  ASSERT_TRUE(parse_rfc5424("<1>1 - host app 1 id [x y=\"z\"] msg", kOpts, a).ok());
  ASSERT_TRUE(parse_rfc5424("<1>1 - - - - - -", kOpts, a).ok());
  EXPECT_TRUE(a.syslog.hostname.empty());
  EXPECT_TRUE(a.syslog.structured_data.empty());
  EXPECT_TRUE(a.message.empty());
}

// ---------------------------------------------------------------------------------------------
// Detection (parse_syslog)

struct Syslog {
  explicit Syslog(std::string_view f, const SyslogParseOptions& o = kOpts) : frame(f) {
    status = parse_syslog(frame, o, alert);
    expect_views_inside(alert, frame);
  }
  std::string frame;
  Alert alert;
  ParseStatus status;
};

TEST(ParseSyslog, DetectsRfc5424ByPriVersionSpace) {
  Syslog strict("<13>1 2026-05-20T08:14:15Z host app - - - text");
  ASSERT_TRUE(strict.status.ok());
  EXPECT_EQ(strict.alert.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(strict.alert.syslog.version, 1);

  Syslog broken("<13>1 this is not RFC 5424");
  EXPECT_EQ(broken.status.reason, RejectReason::kRfc5424);

  Syslog bsd("<13>Oct 11 22:14:15 host app: text");
  ASSERT_TRUE(bsd.status.ok());
  EXPECT_EQ(bsd.alert.syslog.format, SyslogFormat::kRfc3164);

  // Multi-digit VERSION and a missing PRI are not detected, but the RFC 3164 path takes a
  // strictly valid RFC 5424 layout as such.
  Syslog v10("<13>10 - host app - - - text");
  ASSERT_TRUE(v10.status.ok());
  EXPECT_EQ(v10.alert.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(v10.alert.syslog.version, 10);
  EXPECT_EQ(v10.alert.syslog.appname, "app");
  Syslog no_pri("1 2020-05-22T14:59:09.250-03:00 host app 6589 - - text");
  ASSERT_TRUE(no_pri.status.ok());
  EXPECT_EQ(no_pri.alert.syslog.format, SyslogFormat::kRfc5424);
  EXPECT_EQ(no_pri.alert.syslog.facility, -1);
  EXPECT_EQ(no_pri.alert.syslog.procid, "6589");
  EXPECT_EQ(no_pri.alert.timestamp_ns, ns_of(2020, 5, 22, 17, 59, 9, 250'000'000));
  // ... and otherwise it is plain RFC 3164 text.
  Syslog v10_bad("<13>10 apples");
  ASSERT_TRUE(v10_bad.status.ok());
  EXPECT_EQ(v10_bad.alert.syslog.format, SyslogFormat::kRfc3164);
  EXPECT_EQ(v10_bad.alert.message, "10 apples");
}

TEST(ParseSyslog, TrimsSurroundingWhitespace) {
  Syslog s(
      "\n   <13>1 2019-02-13T19:48:34+00:00 host root 8449 - [meta sequenceId=\"1\"] hi\r\n  ");
  ASSERT_TRUE(s.status.ok());
  EXPECT_EQ(s.alert.message, "hi");
  Syslog bad("  \t<13>1 x");
  EXPECT_EQ(bad.status.reason, RejectReason::kRfc5424);
  EXPECT_EQ(bad.status.column, 3u + 6u);  // offset into the untrimmed frame
}

TEST(ParseSyslog, EmptyFrames) {
  for (std::string_view frame : {""sv, " "sv, "\r\n"sv, "\t \n"sv}) {
    Syslog s(frame);
    EXPECT_EQ(s.status.reason, RejectReason::kEmpty);
  }
  Alert a;
  EXPECT_EQ(parse_rfc3164("", kOpts, a).reason, RejectReason::kEmpty);
  // A NUL byte is content, not whitespace.
  Syslog nul("\0"sv);
  EXPECT_TRUE(nul.status.ok());
  EXPECT_EQ(nul.alert.message, "\0"sv);
}

// ---------------------------------------------------------------------------------------------
// RFC 3164

struct Bsd {
  explicit Bsd(std::string_view f, const SyslogParseOptions& o = kOpts) : frame(f) {
    status = parse_rfc3164(frame, o, alert);
    expect_views_inside(alert, frame);
  }
  std::string frame;
  Alert alert;
  ParseStatus status;
};

struct Want {
  int facility;
  int64_t ts;  // -1: no timestamp
  std::string_view host, app, pid, msg, sd = "";
};

void expect_bsd(std::string_view frame, const Want& w, const SyslogParseOptions& o = kOpts) {
  Bsd b(frame, o);
  ASSERT_TRUE(b.status.ok()) << frame << ": " << b.status.what;
  const Alert& a = b.alert;
  EXPECT_EQ(a.syslog.format, SyslogFormat::kRfc3164) << frame;
  EXPECT_EQ(a.syslog.facility, w.facility) << frame;
  EXPECT_EQ(a.has_timestamp, w.ts >= 0) << frame;
  if (w.ts >= 0) {
    std::string got, want;
    append_rfc3339(a.timestamp_ns, got);
    append_rfc3339(w.ts, want);
    EXPECT_EQ(got, want) << frame;
  }
  EXPECT_EQ(a.syslog.hostname, w.host) << frame;
  EXPECT_EQ(a.syslog.appname, w.app) << frame;
  EXPECT_EQ(a.syslog.procid, w.pid) << frame;
  EXPECT_EQ(a.syslog.structured_data, w.sd) << frame;
  EXPECT_EQ(a.message, w.msg) << frame;
}

TEST(ParseRfc3164, EcosystemVariants) {
  // ecosystem.md §1.2, one row each.
  expect_bsd("<13>Nov 23 08:34:30 myapp[14766]: local default format",
             {1, ns_of(2026, 11, 23, 8, 34, 30), "", "myapp", "14766", "local default format"});
  expect_bsd(
      "<13>2026-05-20T08:14:15.003114+02:00 web-01 sshd[42]: Accepted publickey",
      {1, ns_of(2026, 5, 20, 6, 14, 15, 3'114'000), "web-01", "sshd", "42", "Accepted publickey"});
  expect_bsd("<189>1234: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0",
             {23, ns_of(2026, 3, 1, 18, 46, 11, 123'000'000), "", "%SYS-5-CONFIG_I", "",
              "Configured from console by vty0"});
  expect_bsd("<13>Feb  5 2026 17:32:18 fw/ctx@node prog: with year",
             {1, ns_of(2026, 2, 5, 17, 32, 18), "fw/ctx@node", "prog", "", "with year"});
  expect_bsd("<13>FEB  5 17:32:18 host -- MARK --",
             {1, ns_of(2026, 2, 5, 17, 32, 18), "host", "", "", "-- MARK --"});
  expect_bsd("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown",
             {-1, ns_of(2026, 6, 14, 15, 16, 1), "combo", "sshd(pam_unix)", "19939",
              "check pass; user unknown"});
  expect_bsd("<134>Feb 25 14:09:07 fw1 CEF:0|Vendor|Prod|1.0|100|Blocked|5|src=192.0.2.7",
             {16, ns_of(2026, 2, 25, 14, 9, 7), "fw1", "", "",
              "CEF:0|Vendor|Prod|1.0|100|Blocked|5|src=192.0.2.7"});
  expect_bsd("<134>Feb 25 14:09:07 fw1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=1",
             {16, ns_of(2026, 2, 25, 14, 9, 7), "fw1", "", "",
              "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=1"});
  expect_bsd(
      "<134>Feb 25 14:09:07 sensor @cee: {\"event_type\":\"alert\"}",
      {16, ns_of(2026, 2, 25, 14, 9, 7), "sensor", "", "", "@cee: {\"event_type\":\"alert\"}"});
  expect_bsd("<134>Feb 25 14:09:07 sensor {\"event_type\": \"alert\"}",
             {16, ns_of(2026, 2, 25, 14, 9, 7), "sensor", "", "", "{\"event_type\": \"alert\"}"});
  // RFC 3164 §5.4: TAG ends at SP (like syslog-ng's program "Use").
  expect_bsd("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
             {1, ns_of(2026, 2, 5, 17, 32, 18), "10.0.0.99", "Use", "", "the BFG!"});
}

TEST(ParseRfc3164, TimestampShapes) {
  const int64_t t = ns_of(2026, 8, 7, 6, 30, 0);
  expect_bsd("<34>Aug  7 06:30:00 h a: m", {4, t, "h", "a", "", "m"});
  expect_bsd("<34>Aug 7 06:30:00 h a: m", {4, t, "h", "a", "", "m"});
  expect_bsd("<34>Aug 07 06:30:00 h a: m", {4, t, "h", "a", "", "m"});
  expect_bsd("<34>aug 07 06:30:00 h a: m", {4, t, "h", "a", "", "m"});
  expect_bsd("<34>Aug  7 06:30:00.5 h a: m", {4, t + 500'000'000, "h", "a", "", "m"});
  expect_bsd("<34>Aug  7 06:30:00.123456789123 h a: m", {4, t + 123'456'789, "h", "a", "", "m"});
  expect_bsd("<34>Aug  7 06:30:00: h a: m", {4, t, "h", "a", "", "m"});  // trailing ':'
  expect_bsd("<34> Aug  7 06:30:00 h a: m", {4, t, "h", "a", "", "m"});  // SP after PRI
  expect_bsd("<34>.Aug  7 06:30:00: a: m", {4, t, "", "a", "", "m"});    // Cisco '.' marker
  expect_bsd("<34>12: Aug  7 06:30:00 UTC: a: m", {4, t, "", "a", "", "m"},
             options_at(ns_of(2026, 11, 23), 7200));  // UTC overrides the default zone
  expect_bsd("<166>Jan 05 2021 13:01:02: %ASA-6-302013: Built outbound",
             {20, ns_of(2021, 1, 5, 13, 1, 2), "", "%ASA-6-302013", "", "Built outbound"});
  expect_bsd("<34>2026-08-07 06:30:00 h a: m", {4, t, "h", "a", "", "m"});
  expect_bsd("<34>2026-08-07T06:30:00Z h a: m", {4, t, "h", "a", "", "m"});
  // The default zone applies to zone-less stamps: 06:30 at UTC+2 is 04:30Z.
  expect_bsd("<34>Aug  7 06:30:00 h a: m", {4, t - 2 * 3600 * kSec, "h", "a", "", "m"},
             options_at(ns_of(2026, 11, 23), 7200));
  expect_bsd("<34>2026-08-07 06:30:00 h a: m", {4, t - 2 * 3600 * kSec, "h", "a", "", "m"},
             options_at(ns_of(2026, 11, 23), 7200));
  // Not timestamps: the text stays.
  expect_bsd("<34>Aug  7 06:30 h a: m", {4, -1, "", "", "", "Aug  7 06:30 h a: m"});
  expect_bsd("<34>Aug 32 06:30:00 x", {4, -1, "", "", "", "Aug 32 06:30:00 x"});
  expect_bsd("<34>Aug  7 24:00:00 x", {4, -1, "", "", "", "Aug  7 24:00:00 x"});
  expect_bsd("<34>Foo  7 06:30:00 x", {4, -1, "", "", "", "Foo  7 06:30:00 x"});
  expect_bsd("<34>Aug  7 06:30:00x", {4, -1, "", "", "", "Aug  7 06:30:00x"});
}

TEST(ParseRfc3164, YearInference) {
  // Now: 2026-01-01T00:30:00Z.
  const SyslogParseOptions o = options_at(ns_of(2026, 1, 1, 0, 30, 0));
  expect_bsd("Dec 31 23:59:59 h a: m", {-1, ns_of(2025, 12, 31, 23, 59, 59), "h", "a", "", "m"}, o);
  expect_bsd("Jan  1 23:00:00 h a: m", {-1, ns_of(2026, 1, 1, 23, 0, 0), "h", "a", "", "m"}, o);
  expect_bsd("Jan  2 01:00:00 h a: m", {-1, ns_of(2025, 1, 2, 1, 0, 0), "h", "a", "", "m"}, o);
  // The year is the one of the default zone: at UTC-1 it is still 2025 there.
  const SyslogParseOptions west = options_at(ns_of(2026, 1, 1, 0, 30, 0), -3600);
  expect_bsd("Dec 31 23:00:00 h a: m",
             {-1, ns_of(2025, 12, 31, 23, 0, 0) + 3600 * kSec, "h", "a", "", "m"}, west);
  // Feb 29: last year's leap day, or no timestamp at all.
  expect_bsd("Feb 29 12:00:00 h a: m", {-1, ns_of(2024, 2, 29, 12), "h", "a", "", "m"},
             options_at(ns_of(2025, 3, 1)));
  expect_bsd("Feb 29 12:00:00 h a: m", {-1, -1, "", "", "", "Feb 29 12:00:00 h a: m"},
             options_at(ns_of(2026, 3, 1)));
}

TEST(ParseRfc3164, HostnameAndTagHeuristic) {
  const int64_t t = ns_of(2026, 10, 11, 22, 14, 15);
  expect_bsd("<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
             {4, t, "mymachine", "su", "", "'su root' failed"});
  expect_bsd("<34>Oct 11 22:14:15 mymachine: text", {4, t, "", "mymachine", "", "text"});
  expect_bsd("<34>Oct 11 22:14:15 : text", {4, t, "", "", "", "text"});
  expect_bsd("<34>Oct 11 22:14:15 host :", {4, t, "host", "", "", ""});
  expect_bsd("<34>Oct 11 22:14:15 host  two spaces", {4, t, "host", "", "", "two spaces"});
  expect_bsd("<34>Oct 11 22:14:15 lone", {4, t, "", "", "", "lone"});
  expect_bsd("<34>Oct 11 22:14:15 host root[8539]:no space",
             {4, t, "host", "root", "8539", "no space"});
  expect_bsd("<34>Oct 11 22:14:15 host root[8539] text", {4, t, "host", "root", "8539", "text"});
  expect_bsd("<34>Oct 11 22:14:15 host root[8539]x", {4, t, "host", "", "", "root[8539]x"});
  expect_bsd("<34>Oct 11 22:14:15 host root[] x", {4, t, "host", "", "", "root[] x"});
  expect_bsd("<34>Oct 11 22:14:15 host http://x.org is down",
             {4, t, "host", "", "", "http://x.org is down"});
  expect_bsd("<34>Oct 11 22:14:15 host a=1 b=2", {4, t, "host", "", "", "a=1 b=2"});
  expect_bsd("<34>Oct 11 22:14:15 h\xC3\xBC \xC3\xA4pp m",
             {4, t, "h\xC3\xBC", "\xC3\xA4pp", "", "m"});
  const std::string tag32(32, 't');
  expect_bsd("<34>Oct 11 22:14:15 host " + tag32 + ": m", {4, t, "host", tag32, "", "m"});
  const std::string tag33 = tag32 + "t";
  const std::string long_frame = "<34>Oct 11 22:14:15 host " + tag33 + ": m";
  expect_bsd(long_frame, {4, t, "host", "", "", tag33 + ": m"});
  // Without a timestamp a hostname needs a clear tag after it.
  expect_bsd("host tag: m", {-1, -1, "host", "tag", "", "m"});
  expect_bsd("tag[1]: m", {-1, -1, "", "tag", "1", "m"});
  expect_bsd("<13>just some text", {1, -1, "", "", "", "just some text"});
  expect_bsd("complete and utter gobbledegook",
             {-1, -1, "", "", "", "complete and utter gobbledegook"});
}

TEST(ParseRfc3164, RsyslogStructuredDataAfterTheTag) {
  const int64_t t = ns_of(2026, 2, 13, 21, 31, 56);
  expect_bsd(
      "<190>Feb 13 21:31:56 h liblogging-stdlog:  [origin software=\"rsyslogd\" "
      "x-pid=\"8979\"] start",
      {23, t, "h", "liblogging-stdlog", "", "start",
       "[origin software=\"rsyslogd\" x-pid=\"8979\"]"});
  // Not SD: kernel uptime stamps, brackets glued to text, invalid or repeated elements.
  expect_bsd("<4>Feb 13 21:31:56 h kernel: [123456.789012] eth0 up",
             {0, t, "h", "kernel", "", "[123456.789012] eth0 up"});
  expect_bsd("<4>Feb 13 21:31:56 h kernel: [WAN x=\"1\"]IN=eth0",
             {0, t, "h", "kernel", "", "[WAN x=\"1\"]IN=eth0"});
  expect_bsd("<4>Feb 13 21:31:56 h k: [software=\"rsyslogd\"] start",
             {0, t, "h", "k", "", "[software=\"rsyslogd\"] start"});
  expect_bsd("<4>Feb 13 21:31:56 h k: [a x=\"1\"][a y=\"2\"] start",
             {0, t, "h", "k", "", "[a x=\"1\"][a y=\"2\"] start"});
}

TEST(ParseRfc3164, BadPri) {
  for (std::string_view frame : {"<999>text"sv, "<192>text"sv, "<1000>text"sv, "<abc>text"sv,
                                 "<>text"sv, "<a>"sv, "<html>x"sv, "<0013>x"sv}) {
    Bsd b(frame);
    EXPECT_EQ(b.status.reason, RejectReason::kBadPri) << frame;
    EXPECT_STRNE(b.status.what, "");
  }
  // Built in place: `"<" + std::string(...)` trips a GCC 12 -Wrestrict false positive.
  std::string huge(1'000'003, '7');
  huge.front() = '<';
  huge[huge.size() - 2] = '>';
  huge.back() = 'x';
  EXPECT_EQ(Bsd(huge).status.reason, RejectReason::kBadPri);
  // '<' that does not open a PRI is text.
  expect_bsd("<3 hearts", {-1, -1, "", "", "", "<3 hearts"});
  expect_bsd("<", {-1, -1, "", "", "", "<"});
  expect_bsd("<?xml version=\"1.0\"?>", {-1, -1, "", "", "", "<?xml version=\"1.0\"?>"});
  expect_bsd("<013>x", {1, -1, "", "", "", "x"});  // leading zeros tolerated here
  // Only a PRI: accepted, empty message, severity from the PRI.
  Bsd only("<11>");
  ASSERT_TRUE(only.status.ok());
  EXPECT_EQ(only.alert.syslog.severity, 3);
  EXPECT_EQ(only.alert.severity, Severity::kHigh);
  EXPECT_EQ(only.alert.message, "");
}

TEST(ParseRfc3164, SeverityOnlyFromAPri) {
  Alert a;
  a.severity = Severity::kMedium;  // e.g. set by an earlier stage
  ASSERT_TRUE(parse_rfc3164("no pri here", kOpts, a).ok());
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.syslog.facility, -1);
  EXPECT_EQ(a.syslog.severity, -1);
}

// syslog-ng CVE-2022-38725: a truncated RFC 3164 timestamp read past the buffer. Every prefix,
// in an exactly sized heap buffer, must parse cleanly.
TEST(ParseRfc3164, TruncatedTimestampsCve2022_38725) {
  for (std::string_view full :
       {"<190>Feb 28 2026 12:34:56.123456: host app[1]: message"sv,
        "<189>1234: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured"sv,
        "<13>2026-05-20T08:14:15.003114+02:00 web-01 sshd[42]: x"sv,
        "<13>Oct  1 22:14:15 h a:"sv}) {
    for (size_t n = 0; n <= full.size(); ++n) {
      const std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
      std::memcpy(buf.get(), full.data(), n);
      const std::string_view frame(buf.get(), n);
      Alert a;
      const ParseStatus st = parse_rfc3164(frame, kOpts, a);
      if (n == 0) {
        EXPECT_EQ(st.reason, RejectReason::kEmpty);
        continue;
      }
      EXPECT_TRUE(st.ok()) << frame << ": " << st.what;
      expect_views_inside(a, frame);
    }
  }
  // The exact syslog-ng regression shape: the frame ends inside the timestamp.
  expect_bsd("<190>Feb 28 2", {23, -1, "", "", "", "Feb 28 2"});
  expect_bsd("<190>Feb 28 12:34:5", {23, -1, "", "", "", "Feb 28 12:34:5"});
  expect_bsd("<190>Feb", {23, -1, "", "", "", "Feb"});
}

TEST(ParseRfc3164, BytesAreKept) {
  Bsd nul("<13>Oct 11 22:14:15 host app: a\0b"sv);
  ASSERT_TRUE(nul.status.ok());
  EXPECT_EQ(nul.alert.message, "a\0b"sv);
  Bsd nul_host("<13>Oct 11 22:14:15 ho\0st app: m"sv);
  ASSERT_TRUE(nul_host.status.ok());
  EXPECT_EQ(nul_host.alert.syslog.hostname, "");
  EXPECT_EQ(nul_host.alert.message, "ho\0st app: m"sv);
  Bsd latin1("<13>Oct 11 22:14:15 host app: caf\xE9 \xFF\xFE");
  ASSERT_TRUE(latin1.status.ok());
  EXPECT_EQ(latin1.alert.message, "caf\xE9 \xFF\xFE");
  Bsd crlf("<13>Oct 11 22:14:15 host app: line\r\n");
  EXPECT_EQ(crlf.alert.message, "line");
}

// ---------------------------------------------------------------------------------------------
// StructuredDataReader and unescape_sd_value on arbitrary (unvalidated) text

TEST(StructuredDataReader, SurvivesMalformedText) {
  for (std::string_view sd : {""sv, "["sv, "[a"sv, "[a "sv, "[a b"sv, "[a b="sv, "[a b=\""sv,
                              "[a b=\"\\"sv, "[a b=\"x\""sv, "[a b=\"x\" c]"sv, "x[a]"sv, "[a]x"sv,
                              "[]"sv, "[a b=x]"sv, "[a =\"1\"]"sv, "]]]"sv, "[a b=\"\\\"]"sv}) {
    StructuredDataReader reader(sd);
    std::string_view id, name, raw;
    int steps = 0;
    while (reader.next_element(id) && ++steps < 100) {
      while (reader.next_param(name, raw) && ++steps < 100) {
        EXPECT_LE(raw.data() + raw.size(), sd.data() + sd.size());
      }
    }
    EXPECT_LT(steps, 100) << sd;
  }
  StructuredDataReader fresh("[a b=\"1\"]");
  std::string_view name, raw;
  EXPECT_FALSE(fresh.next_param(name, raw));  // no element yet
}

TEST(UnescapeSdValue, ResolvesOnlyTheThreeEscapes) {
  std::string out;
  unescape_sd_value(R"(a\"b\\c\]d\ne\)", out);
  EXPECT_EQ(out, R"(a"b\c]d\ne\)");
}

// ---------------------------------------------------------------------------------------------
// Robustness: naughty strings and mutated frames never crash and always explain themselves

bool clear_status(const ParseStatus& st) {
  if (st.ok()) return true;
  return st.what != nullptr && st.what[0] != '\0' &&
         (st.reason == RejectReason::kEmpty || st.reason == RejectReason::kBadPri ||
          st.reason == RejectReason::kRfc5424 || st.reason == RejectReason::kInvalidUtf8);
}

void exercise(std::string_view frame) {
  for (auto* parse : {&parse_syslog, &parse_rfc5424, &parse_rfc3164}) {
    Alert a;
    const ParseStatus st = parse(frame, kOpts, a);
    EXPECT_TRUE(clear_status(st)) << frame;
    EXPECT_LE(st.column, frame.size()) << frame;
    expect_views_inside(a, frame);
    if (st.ok() && !a.syslog.structured_data.empty()) {
      StructuredDataReader reader(a.syslog.structured_data);
      std::string_view id, name, raw;
      std::string value;
      while (reader.next_element(id)) {
        while (reader.next_param(name, raw)) unescape_sd_value(raw, value);
      }
    }
  }
  // The lenient parser only ever rejects empty frames and bad PRIs.
  Alert a;
  const ParseStatus st = parse_rfc3164(frame, kOpts, a);
  EXPECT_TRUE(st.ok() || st.reason == RejectReason::kEmpty || st.reason == RejectReason::kBadPri)
      << frame;
}

std::string corpus_dir() {
  const char* env = std::getenv("KLAXON_CORPUS");
  return env != nullptr && *env != '\0' ? env : "/work/shared/corpus";
}

TEST(Robustness, BigListOfNaughtyStrings) {
  const std::filesystem::path file =
      std::filesystem::path(corpus_dir()) / "big-list-of-naughty-strings" / "blns.txt";
  if (!std::filesystem::is_directory(file.parent_path())) {
    GTEST_SKIP() << "corpus not found at " << file.parent_path() << " (set KLAXON_CORPUS)";
  }
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "cannot open " << file;
  std::string line;
  int strings = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++strings;
    exercise(line);
    exercise("<13>Oct 11 22:14:15 host app[1]: " + line);
    exercise("<13>" + line);
    exercise("<13>1 2026-11-23T08:25:34Z host app - - - " + line);
    exercise("<13>1 2026-11-23T08:25:34Z host app - - - \xEF\xBB\xBF" + line);
    exercise("<13>1 - " + line + " app - - - m");
    exercise("<13>1 - - - - - [id x=\"" + line + "\"] m");
    exercise("<13>1 - - - - - [" + line + "] m");
    // As the whole RFC 5424 MSG a naughty string comes back unchanged (a leading U+FEFF is
    // the BOM and is lifted out).
    Alert a;
    const std::string frame = "<13>1 - h a - - - " + line;
    const ParseStatus st = parse_rfc5424(frame, kOpts, a);
    ASSERT_TRUE(clear_status(st)) << line;
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) {
      EXPECT_TRUE(a.syslog.has_bom);
    } else {
      ASSERT_TRUE(st.ok()) << line;
      EXPECT_EQ(a.message, line);
    }
    // Through the lenient parser the line survives inside the message (minus spaces at its
    // ends, which are trimmed, and an SD block at its start, which is lifted out).
    const std::string bsd = "<13>Oct 11 22:14:15 host app: x " + line;
    ASSERT_TRUE(parse_rfc3164(bsd, kOpts, a).ok()) << line;
    EXPECT_EQ(a.syslog.appname, "app");
  }
  EXPECT_GT(strings, 400);
}

TEST(Robustness, MutatedFrames) {
  const std::vector<std::string> seeds = {
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\"][x@1 a=\"\\]\\\"\\\\\"] \xEF\xBB\xBF"
      "An application event",
      "<189>1234: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured from console by vty0",
      "<190>Feb 13 21:31:56 74794bfb6795 liblogging-stdlog:  [origin software=\"rsyslogd\"] start",
      "<13>2026-05-20T08:14:15.003114+02:00 web-01 sshd[42]: Accepted",
      "1 2020-05-22T14:59:09.250-03:00 host app 6589 - - text",
  };
  std::mt19937 rng(20261123);  // fixed seed: reproducible
  const std::string alphabet = "<>[]\"\\= :-.*T0123456789Z+\xEF\xBB\xBF\x80\xFF\0\n"s;
  for (int i = 0; i < 20000; ++i) {
    std::string frame = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !frame.empty(); ++e) {
      const size_t at = rng() % frame.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0:
          frame[at] = c;
          break;
        case 1:
          frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          frame.erase(at, 1);
          break;
        case 3:
          frame.resize(at);
          break;
      }
    }
    // An exactly sized heap copy, so ASan sees any read past the end.
    const std::unique_ptr<char[]> buf(new char[frame.empty() ? 1 : frame.size()]);
    std::memcpy(buf.get(), frame.data(), frame.size());
    exercise(std::string_view(buf.get(), frame.size()));
  }
}

}  // namespace
}  // namespace klaxon
