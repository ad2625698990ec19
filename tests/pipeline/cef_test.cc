// Unit tests of the CEF and LEEF parsers (pipeline/stages/cef.h): tokenizer rules (escapes,
// spaces, keys), the ECS mapping and the severity crosswalk, custom labels, time values, the
// bodies inside syslog envelopes through MessageParser, and hostile input (which must end in a
// clean error or a parse, never a crash; this suite also runs under ASan + UBSan).
#include "pipeline/stages/cef.h"

#include "pipeline/core/batch.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/syslog_parse.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t kNow = 1'779'271'262'000'000'000LL;  // 2026-05-20T10:01:02Z

struct Cef {
  ParseStatus status;
  CefHeader header;
  Pairs pairs;
  Scratch scratch;
  std::string input;
};

// Tokenizes `text` (kept alive in the result, as the header's views need).
std::unique_ptr<Cef> tokenize_cef(std::string text) {
  auto r = std::make_unique<Cef>();
  r->input = std::move(text);
  r->scratch.reset(r->input.size());
  r->status = parse_cef_record(r->input, r->scratch, r->header,
                               [&](std::string_view k, std::string_view v) {
                                 r->pairs.emplace_back(std::string(k), std::string(v));
                               });
  return r;
}

struct Leef {
  ParseStatus status;
  LeefHeader header;
  Pairs pairs;
  Scratch scratch;
  std::string input;
};

std::unique_ptr<Leef> tokenize_leef(std::string text) {
  auto r = std::make_unique<Leef>();
  r->input = std::move(text);
  r->scratch.reset(r->input.size());
  r->status = parse_leef_record(r->input, r->scratch, r->header,
                                [&](std::string_view k, std::string_view v) {
                                  r->pairs.emplace_back(std::string(k), std::string(v));
                                });
  return r;
}

struct Mapped {
  ParseStatus status;
  Alert alert;
  Scratch scratch;
  std::string input;
  std::string label(std::string_view key) const {
    for (size_t i = 0; i < alert.label_count; ++i) {
      if (alert.labels[i].key == key) return std::string(alert.labels[i].value);
    }
    return "<absent>";
  }
};

std::unique_ptr<Mapped> map(std::string text, int64_t now = kNow, int32_t offset = 0) {
  auto r = std::make_unique<Mapped>();
  r->input = std::move(text);
  r->scratch.reset(r->input.size() + 256);
  KvFormatOptions o;
  o.now_ns = now;
  o.default_utc_offset_s = offset;
  r->status = r->input.rfind("LEEF:", 0) == 0 ? map_leef(r->input, o, r->scratch, r->alert)
                                              : map_cef(r->input, o, r->scratch, r->alert);
  return r;
}

int64_t utc(int y, int mo, int d, int h, int mi, int s, int64_t frac_ns = 0) {
  using namespace std::chrono;
  const sys_days days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  return duration_cast<nanoseconds>((days + hours{h} + minutes{mi} + seconds{s}).time_since_epoch())
             .count() +
         frac_ns;
}

constexpr std::string_view kHead = "CEF:0|Vendor|Product|1.0|100|Name|5|";

// ---------------------------------------------------------------------------------------------
// CEF tokenizer

TEST(CefTokenizer, HeaderEscapes) {
  auto r = tokenize_cef(R"(CEF:1|Ex\|ample|back\\slash|1.0\\|sig\|1|a \| b \\ c|Very-High|)");
  ASSERT_TRUE(r->status.ok()) << r->status.what;
  EXPECT_EQ(r->header.version, "1");
  EXPECT_EQ(r->header.device_vendor, "Ex|ample");
  EXPECT_EQ(r->header.device_product, R"(back\slash)");
  EXPECT_EQ(r->header.device_version, R"(1.0\)");
  EXPECT_EQ(r->header.signature_id, "sig|1");
  EXPECT_EQ(r->header.name, R"(a | b \ c)");
  EXPECT_EQ(r->header.severity, "Very-High");
  EXPECT_TRUE(r->pairs.empty());
}

TEST(CefTokenizer, HeaderKeepsOtherBackslashesAndEquals) {
  auto r = tokenize_cef(R"(CEF:0|a\b|p=q|1|1|n|1|)");
  ASSERT_TRUE(r->status.ok());
  EXPECT_EQ(r->header.device_vendor, R"(a\b)");
  EXPECT_EQ(r->header.device_product, "p=q");
}

TEST(CefTokenizer, ExtensionEscapes) {
  auto r = tokenize_cef(std::string(kHead) + R"(msg=a\=b\\c\nd\re \| \x end\ k2=v\=)");
  ASSERT_TRUE(r->status.ok()) << r->status.what;
  ASSERT_EQ(r->pairs.size(), 2u);
  EXPECT_EQ(r->pairs[0],
            (std::pair<std::string, std::string>{"msg", "a=b\\c\nd\re \\| \\x end\\"}));
  EXPECT_EQ(r->pairs[1].second, "v=");
}

TEST(CefTokenizer, LoneBackslashAtEnd) {
  auto r = tokenize_cef(std::string(kHead) + "a=b\\");
  ASSERT_TRUE(r->status.ok());
  ASSERT_EQ(r->pairs.size(), 1u);
  EXPECT_EQ(r->pairs[0].second, "b\\");
}

TEST(CefTokenizer, SpacesInValues) {
  auto r = tokenize_cef(std::string(kHead) +
                        "  src=10.0.0.1   msg=a long  message with = signs   dproc=IE x.x  ");
  ASSERT_TRUE(r->status.ok()) << r->status.what;
  const Pairs want = {
      {"src", "10.0.0.1"}, {"msg", "a long  message with = signs"}, {"dproc", "IE x.x"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(CefTokenizer, KeysThatAreNotKeys) {
  // "Guid:test=" and "?id=" are value text: ':' and '?' cannot be in a key; "status=" after
  // '=' has no space before it.
  auto r = tokenize_cef(std::string(kHead) +
                        "app=Foo; Guid:test= u=https://h/?id=1&a=b msg=status=ok ad.x[0]=y "
                        "ad.Error_,Code=3 k-1=z");
  ASSERT_TRUE(r->status.ok()) << r->status.what;
  const Pairs want = {{"app", "Foo; Guid:test="}, {"u", "https://h/?id=1&a=b"},
                      {"msg", "status=ok"},       {"ad.x[0]", "y"},
                      {"ad.Error_,Code", "3"},    {"k-1", "z"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(CefTokenizer, QuotedValuesAndEmptyValues) {
  auto r = tokenize_cef(std::string(kHead) + R"(a="x y" b= c="" d='q')");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"a", "x y"}, {"b", ""}, {"c", ""}, {"d", "'q'"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(CefTokenizer, PipesInExtensionAreText) {
  auto r = tokenize_cef(std::string(kHead) + R"(a=x|y b=p\|q)");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"a", "x|y"}, {"b", "p\\|q"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(CefTokenizer, PrefixAndTrailingNewline) {
  auto r = tokenize_cef("Sep 29 08:26:10 host CEF:1|V|P|1|1|N|2|src=1.2.3.4\r\n");
  ASSERT_TRUE(r->status.ok());
  EXPECT_EQ(r->header.prefix, "Sep 29 08:26:10 host");
  ASSERT_EQ(r->pairs.size(), 1u);
  EXPECT_EQ(r->pairs[0].second, "1.2.3.4");
}

TEST(CefTokenizer, Rejections) {
  struct Case {
    std::string input;
    RejectReason reason;
  };
  const Case cases[] = {
      {"not cef", RejectReason::kFormat},
      {"CEF:0|V|P|1|1|N|", RejectReason::kFormat},      // 6 fields
      {"CEF:0|V|P|1|1|N|5", RejectReason::kFormat},     // severity not ended by '|'
      {"CEF:0|V|P|1|1|N|5\\|", RejectReason::kFormat},  // the last '|' is escaped
      {"CEF:", RejectReason::kFormat},
      {std::string(kHead) + "just words", RejectReason::kFormat},
      {std::string(kHead) + "=x", RejectReason::kFormat},  // '=' with no key
      {std::string(kHead) + "words then a=b", RejectReason::kFormat},
      {std::string(kHead) + "a=b\nCEF:0|V|P|1|1|N|5|a=b", RejectReason::kFormat},
      {std::string(kHead) + "a=\xC3\x28", RejectReason::kInvalidUtf8},
      {std::string("CEF:0|V\xFF|P|1|1|N|5|"), RejectReason::kInvalidUtf8},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    auto r = tokenize_cef(c.input);
    EXPECT_FALSE(r->status.ok());
    EXPECT_EQ(r->status.reason, c.reason);
    EXPECT_LE(r->status.column, c.input.size());
  }
}

TEST(CefTokenizer, StrayEqualsAfterAKeyIsValueText) {
  auto r = tokenize_cef(std::string(kHead) + "act=Accept =0.0.0.0 x==y");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"act", "Accept =0.0.0.0"}, {"x", "=y"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(CefTokenizer, ScratchTooSmallIsAnError) {
  const std::string in = std::string(kHead) + R"(a=\\\\\\\\\\\\\\\\)";
  Scratch scratch;
  scratch.reset(1);  // 4096 bytes minimum: spend them first
  ASSERT_NE(scratch.take(scratch.remaining()), nullptr);
  CefHeader h;
  const ParseStatus s = parse_cef_record(in, scratch, h, [](std::string_view, std::string_view) {});
  EXPECT_EQ(s.reason, RejectReason::kTooLarge);
}

// ---------------------------------------------------------------------------------------------
// CEF -> Alert

TEST(CefMap, HeaderAndObservables) {
  auto m =
      map("CEF:0|Example\\|Corp|Edge FW|4.2|block-7|Blocked inbound SSH|7|src=192.0.2.7 spt=51515 "
          "dst=198.51.100.20 dpt=22 proto=TCP app=HTTPS act=blocked cat=/Attack/Scan "
          "msg=rule id\\=7 hit\\nsecond line shost=attacker.example dhost=web01 dvchost=fw01 "
          "suser=eve duser=root request=https://user@www.example.org:8443/a?b=c fname=x.exe "
          "filePath=C:\\\\tmp\\\\x.exe fileHash=" +
          std::string(64, 'a') + " dproc=sshd sproc=ssh rt=1616623591694 outcome=failure");
  ASSERT_TRUE(m->status.ok()) << m->status.what;
  const Alert& a = m->alert;
  EXPECT_EQ(a.observer_vendor, "Example|Corp");
  EXPECT_EQ(a.observer_product, "Edge FW");
  EXPECT_EQ(a.rule_id, "block-7");
  EXPECT_EQ(a.rule_name, "Blocked inbound SSH");
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_module, "cef");
  EXPECT_EQ(a.event_dataset, "cef.edge_fw");
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.event_severity, 7);
  EXPECT_EQ(a.source_ip, "192.0.2.7");
  EXPECT_EQ(a.source_port, 51515);
  EXPECT_EQ(a.destination_ip, "198.51.100.20");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.network_transport, "tcp");
  EXPECT_EQ(a.network_protocol, "https");
  EXPECT_EQ(a.event_action, "blocked");
  EXPECT_EQ(a.rule_category, "/Attack/Scan");
  EXPECT_EQ(a.message, "rule id=7 hit\nsecond line");
  EXPECT_EQ(a.host_name, "web01");  // the target before the source
  EXPECT_EQ(m->label("shost"), "attacker.example");
  EXPECT_EQ(a.observer_name, "fw01");
  EXPECT_EQ(a.user_name, "root");
  EXPECT_EQ(m->label("suser"), "eve");
  EXPECT_EQ(a.url_original, "https://user@www.example.org:8443/a?b=c");
  EXPECT_EQ(a.url_domain, "www.example.org");
  EXPECT_EQ(a.file_name, "x.exe");
  EXPECT_EQ(a.file_path, "C:\\tmp\\x.exe");
  EXPECT_EQ(a.file_hash_sha256, std::string(64, 'a'));
  EXPECT_EQ(a.process_name, "sshd");
  EXPECT_EQ(m->label("sproc"), "ssh");
  EXPECT_TRUE(a.has_timestamp);
  EXPECT_EQ(a.timestamp_ns, utc(2021, 3, 24, 22, 6, 31, 694'000'000));
  EXPECT_EQ(m->label("outcome"), "failure");
  EXPECT_EQ(m->label("deviceVersion"), "4.2");
}

TEST(CefMap, HashesByLength) {
  const std::string md5(32, 'b'), sha1(40, 'C');
  auto m = map(std::string(kHead) + "fileHash=" + md5);
  EXPECT_EQ(m->alert.file_hash_md5, md5);
  m = map(std::string(kHead) + "fileHash=" + sha1);
  EXPECT_EQ(m->alert.file_hash_sha1, sha1);
  m = map(std::string(kHead) + "fileHash=1bad1dea");  // neither: kept as a label
  EXPECT_TRUE(m->alert.file_hash_md5.empty());
  EXPECT_EQ(m->label("fileHash"), "1bad1dea");
  m = map(std::string(kHead) + "fileHash=" + std::string(31, 'a') + "g");
  EXPECT_TRUE(m->alert.file_hash_md5.empty());
}

TEST(CefMap, CustomFieldsFoldIntoLabels) {
  auto m = map(std::string(kHead) +
               "cs1Label=Rule Name cs1=Allow all cn1=42 cs2=unlabelled cs3Label=no value "
               "deviceCustomString4=long cs4Label=Long Name cfp15=3.14 cfp15Label=pi "
               "c6a2=fd00::1 c6a2Label=Source IPv6 flexString1=a flexString1=b "
               "flexString1Label=Flex deviceCustomDate1=1 deviceCustomDate1Label=When cnt=3");
  ASSERT_TRUE(m->status.ok()) << m->status.what;
  EXPECT_EQ(m->label("Rule Name"), "Allow all");
  EXPECT_EQ(m->label("cn1"), "42");  // no label: its own key
  EXPECT_EQ(m->label("cs2"), "unlabelled");
  EXPECT_EQ(m->label("no value"), "<absent>");
  EXPECT_EQ(m->label("cs3Label"), "<absent>");
  EXPECT_EQ(m->label("Long Name"), "long");  // the long name shares cs4's number
  EXPECT_EQ(m->label("pi"), "3.14");
  EXPECT_EQ(m->label("Source IPv6"), "fd00::1");
  EXPECT_EQ(m->label("Flex"), "a");  // the first value; the repeat is a plain label
  EXPECT_EQ(m->label("flexString1"), "b");
  EXPECT_EQ(m->label("When"), "1");
  EXPECT_EQ(m->label("cnt"), "3");  // not a custom field
  EXPECT_TRUE(is_cef_custom_field("cs6Label"));
  EXPECT_TRUE(is_cef_custom_field("c6a12"));
  EXPECT_FALSE(is_cef_custom_field("cs0"));
  EXPECT_FALSE(is_cef_custom_field("cnt"));
  EXPECT_FALSE(is_cef_custom_field("cs1label"));
}

TEST(CefMap, SeverityCrosswalk) {
  const std::pair<std::string_view, Severity> table[] = {
      {"0", Severity::kLow},
      {"3", Severity::kLow},
      {"4", Severity::kMedium},
      {"6", Severity::kMedium},
      {"7", Severity::kHigh},
      {"8", Severity::kHigh},
      {"9", Severity::kCritical},
      {"10", Severity::kCritical},
      {"Unknown", Severity::kInfo},
      {"low", Severity::kLow},
      {"Medium", Severity::kMedium},
      {"HIGH", Severity::kHigh},
      {"Very-High", Severity::kCritical},
      {"very high", Severity::kCritical},
  };
  for (const auto& [text, want] : table) {
    SCOPED_TRACE(text);
    Severity got;
    int64_t number;
    ASSERT_TRUE(cef_severity(text, &got, &number));
    EXPECT_EQ(got, want);
    EXPECT_EQ(number, text[0] >= '0' && text[0] <= '9' ? std::stoi(std::string(text)) : -1);
  }
  Severity s;
  int64_t n;
  for (std::string_view bad : {"", "11", "-1", "5.5", "urgent", "|10"}) {
    EXPECT_FALSE(cef_severity(bad, &s, &n)) << bad;
  }
  // An unreadable header severity leaves the level alone (info for a bare body).
  auto m = map("CEF:0|V|P|1|1|N|bogus|");
  ASSERT_TRUE(m->status.ok());
  EXPECT_EQ(m->alert.severity, Severity::kInfo);
  EXPECT_EQ(m->alert.event_severity, -1);
}

TEST(CefMap, PortsAndTransport) {
  auto m = map(std::string(kHead) + "spt=70000 dpt=x proto=17");
  EXPECT_EQ(m->alert.source_port, -1);
  EXPECT_EQ(m->label("spt"), "70000");
  EXPECT_EQ(m->label("dpt"), "x");
  EXPECT_EQ(m->alert.network_transport, "udp");
  m = map(std::string(kHead) + "proto=FOO sourcePort=0 destinationPort=65535");
  EXPECT_EQ(m->alert.network_transport, "FOO");
  EXPECT_EQ(m->alert.source_port, 0);
  EXPECT_EQ(m->alert.destination_port, 65535);
}

TEST(CefMap, RepeatedKeysFirstWins) {
  auto m = map(std::string(kHead) + "src=1.1.1.1 sourceAddress=2.2.2.2 src=3.3.3.3");
  EXPECT_EQ(m->alert.source_ip, "1.1.1.1");
  EXPECT_EQ(m->label("sourceAddress"), "2.2.2.2");
  EXPECT_EQ(m->label("src"), "3.3.3.3");
}

TEST(CefMap, Timestamps) {
  // rt before start/end; a year-less rt gets the year near `now`; dtz as a fixed offset.
  auto m = map(std::string(kHead) + "end=1 start=2 rt=May 19 23:00:00.123456789 dtz=+02:00");
  ASSERT_TRUE(m->alert.has_timestamp);
  EXPECT_EQ(m->alert.timestamp_ns, utc(2026, 5, 19, 21, 0, 0, 123'456'789));
  EXPECT_EQ(m->label("start"), "2");
  EXPECT_EQ(m->label("end"), "1");
  EXPECT_EQ(m->label("dtz"), "<absent>");
  // A zone name is not applied (no tz database) and stays a label; parse.timezone applies.
  m = map(std::string(kHead) + "rt=Jul 19 2017 10:50:21.127 dtz=Europe/Moscow", kNow, 3600);
  EXPECT_EQ(m->alert.timestamp_ns, utc(2017, 7, 19, 9, 50, 21, 127'000'000));
  EXPECT_EQ(m->label("dtz"), "Europe/Moscow");
  // An unreadable rt: start is used, rt kept as a label.
  m = map(std::string(kHead) + "rt=yesterday start=2025-06-29T23:35:00Z");
  EXPECT_EQ(m->alert.timestamp_ns, utc(2025, 6, 29, 23, 35, 0));
  EXPECT_EQ(m->label("rt"), "yesterday");
}

TEST(CefMap, LabelsBeyondTheLimitAreCounted) {
  std::string in(kHead);
  for (int i = 0; i < 40; ++i) in.append("k").append(std::to_string(i)).append("=v ");
  auto m = map(in);
  ASSERT_TRUE(m->status.ok());
  EXPECT_EQ(m->alert.label_count, kMaxAlertLabels);
  // 40 extensions + deviceVersion = 41 labels wanted, 24 kept.
  EXPECT_EQ(m->alert.labels_dropped, 41 - kMaxAlertLabels);
  EXPECT_EQ(m->label("deviceVersion"), "1.0");  // header labels go first
}

// ---------------------------------------------------------------------------------------------
// LEEF

TEST(Leef, Version1TabDelimited) {
  auto r = tokenize_leef(
      "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\t"
      "cat=anomaly\tusrName=joe black\tmsg=a=b\tc");
  ASSERT_TRUE(r->status.ok()) << r->status.what;
  EXPECT_EQ(r->header.version, "1.0");
  EXPECT_EQ(r->header.vendor, "Microsoft");
  EXPECT_EQ(r->header.product_version, "4.0 SP1");
  EXPECT_EQ(r->header.event_id, "15345");
  EXPECT_EQ(r->header.delimiter, "\t");
  EXPECT_FALSE(r->header.has_delimiter_field);
  const Pairs want = {{"src", "192.0.2.0"}, {"dst", "172.50.123.1"},  {"sev", "5"},
                      {"cat", "anomaly"},   {"usrName", "joe black"}, {"msg", "a=b\tc"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(Leef, Version2Delimiters) {
  struct Case {
    std::string field, delim, sep;
  };
  const Case cases[] = {
      {"^", "^", "^"},
      {"x09", "\t", "\t"},
      {"0x09", "\t", "\t"},
      {"0x7c", "|", "|"},
      {"x5E", "^", "^"},
      {"xA6", "\xC2\xA6", "\xC2\xA6"},
      {"\xC2\xA6", "\xC2\xA6", "\xC2\xA6"},
      {";", ";", ";"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    auto r = tokenize_leef("LEEF:2.0|Lancope|StealthWatch|1.0|41|" + c.field + "|src=10.0.1.8" +
                           c.sep + "dst=10.0.0.5" + c.sep + "sev=5");
    ASSERT_TRUE(r->status.ok()) << r->status.what;
    EXPECT_TRUE(r->header.has_delimiter_field);
    EXPECT_EQ(r->header.delimiter, c.delim);
    const Pairs want = {{"src", "10.0.1.8"}, {"dst", "10.0.0.5"}, {"sev", "5"}};
    EXPECT_EQ(r->pairs, want);
  }
}

TEST(Leef, Version2WithoutDelimiterField) {
  auto r = tokenize_leef("LEEF:2.0|Zscaler|NSS|3.6|ALLOW|cat=firewall\tusrName=jane\tsrc=1.2.3.4");
  ASSERT_TRUE(r->status.ok());
  EXPECT_FALSE(r->header.has_delimiter_field);
  EXPECT_EQ(r->pairs.size(), 3u);
  // A '|' inside the first attribute does not make it a delimiter field.
  r = tokenize_leef("LEEF:2.0|V|P|1|E|a=x|y\tb=2");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"a", "x|y"}, {"b", "2"}};
  EXPECT_EQ(r->pairs, want);
  // An empty delimiter field means TAB; an empty one followed by '|' names '|'.
  r = tokenize_leef("LEEF:2.0|V|P|1|E||a=1\tb=2");
  ASSERT_TRUE(r->status.ok());
  EXPECT_EQ(r->header.delimiter, "\t");
  EXPECT_EQ(r->pairs, (Pairs{{"a", "1"}, {"b", "2"}}));
  r = tokenize_leef("LEEF:2.0|V|P|1|E|||a=1|b=2");
  ASSERT_TRUE(r->status.ok());
  EXPECT_EQ(r->header.delimiter, "|");
  EXPECT_EQ(r->pairs, (Pairs{{"a", "1"}, {"b", "2"}}));
  // Delimiter field and no attributes.
  r = tokenize_leef("LEEF:2.0|V|P|1|E|^");
  ASSERT_TRUE(r->status.ok());
  EXPECT_EQ(r->header.delimiter, "^");
  EXPECT_TRUE(r->pairs.empty());
}

TEST(Leef, DelimiterInsideAValue) {
  auto r = tokenize_leef("LEEF:2.0|V|P|1|E|^|a=x^y^^b = 2 ^ c=\"q^r\"^");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"a", "x^y"}, {"b", "2"}, {"c", "q^r"}};
  EXPECT_EQ(r->pairs, want);
}

TEST(Leef, EscapedTabStandIn) {
  // The two characters "\t" separate attributes when there is no TAB...
  auto r = tokenize_leef(R"(LEEF:2.0|V|P|1|E|cat=$type\tusrName=$admin\tpath=C:\temp\x.exe)");
  ASSERT_TRUE(r->status.ok());
  const Pairs want = {{"cat", "$type"}, {"usrName", "$admin"}, {"path", R"(C:\temp\x.exe)"}};
  EXPECT_EQ(r->pairs, want);
  // ...but not when real TABs are there.
  r = tokenize_leef("LEEF:1.0|V|P|1|E|path=C:\\temp\\a=b\tx=1");
  ASSERT_TRUE(r->status.ok());
  const Pairs want2 = {{"path", "C:\\temp\\a=b"}, {"x", "1"}};
  EXPECT_EQ(r->pairs, want2);
}

TEST(Leef, Rejections) {
  for (std::string in : {"LEEF:3.0|V|P|1|E|a=b", "LEEF:1.0|V|P|1|", "LEEF:1.0|V|P|1|E|words",
                         "LEEF:2.0|V|P|1|E|^|=x", "LEEF:", "LEEF:1.0|V|P|1|E|a=\xFF"}) {
    SCOPED_TRACE(in);
    auto r = tokenize_leef(in);
    EXPECT_FALSE(r->status.ok());
  }
}

TEST(LeefMap, Fields) {
  auto m =
      map("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^srcPort=5000^"
          "dstPort=22^sev=9^cat=scan^usrName=joe^identHostName=ws1^proto=6^"
          "url=http://evil.example/x^devTime=May 20 2026 10:01:02.5 +0200^"
          "devTimeFormat=MMM dd yyyy HH:mm:ss.S Z^policy=p1");
  ASSERT_TRUE(m->status.ok()) << m->status.what;
  const Alert& a = m->alert;
  EXPECT_EQ(a.observer_vendor, "Lancope");
  EXPECT_EQ(a.observer_product, "StealthWatch");
  EXPECT_EQ(a.rule_id, "41");
  EXPECT_EQ(a.event_module, "leef");
  EXPECT_EQ(a.event_dataset, "leef.stealthwatch");
  EXPECT_EQ(a.source_ip, "10.0.1.8");
  EXPECT_EQ(a.source_port, 5000);
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.event_severity, 9);
  EXPECT_EQ(a.rule_category, "scan");
  EXPECT_EQ(a.user_name, "joe");
  EXPECT_EQ(a.host_name, "ws1");
  EXPECT_EQ(a.network_transport, "tcp");
  EXPECT_EQ(a.url_domain, "evil.example");
  EXPECT_TRUE(a.has_timestamp);
  EXPECT_EQ(a.timestamp_ns, utc(2026, 5, 20, 8, 1, 2, 500'000'000));
  EXPECT_EQ(m->label("devTimeFormat"), "<absent>");  // used
  EXPECT_EQ(m->label("policy"), "p1");
  EXPECT_EQ(m->label("productVersion"), "1.0");
}

TEST(LeefMap, DevTimeWithoutFormatAndBadSev) {
  auto m = map("LEEF:1.0|V|P|1|E|devTime=1616623591694\tsev=high-ish");
  ASSERT_TRUE(m->status.ok());
  EXPECT_EQ(m->alert.timestamp_ns, utc(2021, 3, 24, 22, 6, 31, 694'000'000));
  EXPECT_EQ(m->label("sev"), "high-ish");
  EXPECT_EQ(m->alert.severity, Severity::kInfo);
  // A format that does not fit: the time stays a label, and so does the format.
  m = map("LEEF:1.0|V|P|1|E|devTime=20260520\tdevTimeFormat=yyyy-MM-dd");
  EXPECT_FALSE(m->alert.has_timestamp);
  EXPECT_EQ(m->label("devTime"), "20260520");
  EXPECT_EQ(m->label("devTimeFormat"), "yyyy-MM-dd");
}

// ---------------------------------------------------------------------------------------------
// Time values

TEST(CefTime, Forms) {
  int64_t ns;
  ASSERT_TRUE(parse_cef_timestamp("1616623591694.176789", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2021, 3, 24, 22, 6, 31, 694'176'789));
  ASSERT_TRUE(parse_cef_timestamp("Jun 17 2027 17:57:06.456 -07:00", kNow, 3600, &ns));
  EXPECT_EQ(ns, utc(2027, 6, 18, 0, 57, 6, 456'000'000));
  ASSERT_TRUE(parse_cef_timestamp("Jun 17 2027 17:57:06", kNow, 3600, &ns));
  EXPECT_EQ(ns, utc(2027, 6, 17, 16, 57, 6));
  ASSERT_TRUE(parse_cef_timestamp("Mar 17 2021 12:34:56.987654321 UTC", kNow, 3600, &ns));
  EXPECT_EQ(ns, utc(2021, 3, 17, 12, 34, 56, 987'654'321));
  ASSERT_TRUE(parse_cef_timestamp("Mar 17 2021 12:34:56 PST", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2021, 3, 17, 20, 34, 56));
  ASSERT_TRUE(parse_cef_timestamp("2019-11-21 13:44:35", kNow, -3600, &ns));
  EXPECT_EQ(ns, utc(2019, 11, 21, 14, 44, 35));
  // Year-less: this year, the previous one when > 2 days ahead, next year from December.
  ASSERT_TRUE(parse_cef_timestamp("May 22 00:00:00", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2026, 5, 22, 0, 0, 0));
  ASSERT_TRUE(parse_cef_timestamp("May 23 00:00:00", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2025, 5, 23, 0, 0, 0));
  ASSERT_TRUE(parse_cef_timestamp("Jan 01 00:00:08", utc(2020, 12, 31, 23, 53, 8), 0, &ns));
  EXPECT_EQ(ns, utc(2021, 1, 1, 0, 0, 8));
  ASSERT_TRUE(parse_cef_timestamp("Feb 29 01:23:45", utc(2025, 2, 8, 0, 0, 0), 0, &ns));
  EXPECT_EQ(ns, utc(2024, 2, 29, 1, 23, 45));
  for (std::string_view bad :
       {"", "Last Thursday", "0", "123.", "Jun 31 2027 10:00:00", "Jun 17 2027 25:00:00",
        "Jun 17 2027 10:00:00 Europe/Paris", "Jun 17 2027 10:00:00.1234567890",
        "99999999999999999999", "2026-13-01T00:00:00Z", "Jun 17 1500 10:00:00"}) {
    EXPECT_FALSE(parse_cef_timestamp(bad, kNow, 0, &ns)) << bad;
  }
}

TEST(CefTime, JavaPatterns) {
  int64_t ns;
  ASSERT_TRUE(parse_java_date("2019-11-21 13:44:35", "yyyy-MM-dd HH:mm:ss", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2019, 11, 21, 13, 44, 35));
  ASSERT_TRUE(parse_java_date("20191121134435", "yyyyMMddHHmmss", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2019, 11, 21, 13, 44, 35));
  ASSERT_TRUE(parse_java_date("Thu, 21 Nov 19 1:44:35 PM +0100", "EEE, dd MMM yy h:mm:ss a Z", kNow,
                              0, &ns));
  EXPECT_EQ(ns, utc(2019, 11, 21, 12, 44, 35));
  ASSERT_TRUE(
      parse_java_date("2019-11-21T13:44:35.123Z", "yyyy-MM-dd'T'HH:mm:ss.SSSX", kNow, 3600, &ns));
  EXPECT_EQ(ns, utc(2019, 11, 21, 13, 44, 35, 123'000'000));
  ASSERT_TRUE(parse_java_date("May 19 10:00:00", "MMM dd HH:mm:ss", kNow, 0, &ns));
  EXPECT_EQ(ns, utc(2026, 5, 19, 10, 0, 0));
  EXPECT_FALSE(parse_java_date("2019-11-21", "yyyy-MM-dd HH", kNow, 0, &ns));
  EXPECT_FALSE(parse_java_date("2019-11-21", "yyyy-DDD", kNow, 0, &ns));  // unsupported letter
  EXPECT_FALSE(parse_java_date("21", "dd", kNow, 0, &ns));                // no month
  EXPECT_FALSE(parse_java_date("2019-11-21 x", "yyyy-MM-dd", kNow, 0, &ns));
}

TEST(CefTime, Offsets) {
  int32_t off = 1;
  const std::pair<std::string_view, int32_t> ok[] = {
      {"Z", 0},      {"UTC", 0},          {"GMT", 0},        {"+03:00", 10800}, {"-0530", -19800},
      {"+3", 10800}, {"GMT+01:00", 3600}, {"UTC-5", -18000}, {"CEST", 7200},    {"pst", -28800}};
  for (const auto& [text, want] : ok) {
    ASSERT_TRUE(parse_utc_offset(text, &off)) << text;
    EXPECT_EQ(off, want) << text;
  }
  for (std::string_view bad : {"", "Europe/Moscow", "+25:00", "GMTx", "IST", "+03:0"}) {
    EXPECT_FALSE(parse_utc_offset(bad, &off)) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Through MessageParser: envelopes and explicit formats

struct Padded {
  explicit Padded(std::string s) : text(std::move(s)), len(text.size()) {
    text.append(kParsePadding, '\0');
  }
  std::string_view view() const { return std::string_view(text.data(), len); }
  std::string text;
  size_t len;
};

ParseStatus parse_frame(MessageParser& parser, const std::string& frame, InputFormat format,
                        Alert& alert, const Padded** keep = nullptr) {
  static thread_local std::vector<std::unique_ptr<Padded>> frames;
  frames.push_back(std::make_unique<Padded>(frame));
  if (keep != nullptr) *keep = frames.back().get();
  IngestMeta meta;
  meta.format = format;
  return parser.parse(frames.back()->view(), meta, kNow, alert);
}

constexpr std::string_view kCefBody =
    "CEF:0|Example\\|Corp|EdgeFW|4.2|block-7|Blocked inbound SSH|9|src=192.0.2.7 spt=51515 "
    "dst=198.51.100.20 dpt=22 msg=rule id\\=7 hit cs1Label=policy cs1=default deny";

TEST(CefMessage, InSyslogEnvelopes) {
  MessageParser parser{ParseOptions{}};
  const std::string frames[] = {
      "<134>May 20 10:01:02 fw01 " + std::string(kCefBody),
      "<134>1 2026-05-20T10:01:02.5Z fw01 edge - - - " + std::string(kCefBody),
      "May 20 10:01:02 fw01 " + std::string(kCefBody),
      "<134>" + std::string(kCefBody),
      std::string(kCefBody),
  };
  for (const std::string& frame : frames) {
    for (InputFormat f : {InputFormat::kAuto, InputFormat::kCef}) {
      SCOPED_TRACE(frame + " / " + input_format_name(f));
      Alert a;
      const ParseStatus s = parse_frame(parser, frame, f, a);
      ASSERT_TRUE(s.ok()) << s.what << " at " << s.column;
      EXPECT_EQ(a.format, InputFormat::kCef);
      EXPECT_EQ(a.observer_vendor, "Example|Corp");
      EXPECT_EQ(a.rule_name, "Blocked inbound SSH");
      EXPECT_EQ(a.severity, Severity::kCritical);  // the body's level wins over the PRI
      EXPECT_EQ(a.source_port, 51515);
      EXPECT_EQ(a.message, "rule id=7 hit");
      EXPECT_EQ(a.labels[1].key, "policy");
      if (frame.find("fw01") != std::string::npos) {
        EXPECT_EQ(a.syslog.hostname, "fw01");
      }
    }
  }
}

// A sender that writes a host but no timestamp: RFC 3164 reads "fw01" as the start of MSG.
// The record behind it is still found (and a "CEF:" inside prose without a version and `|`
// is not).
TEST(CefMessage, BehindFreeTextWithoutATimestamp) {
  MessageParser parser{ParseOptions{}};
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kCef}) {
    Alert a;
    const ParseStatus s = parse_frame(parser, "<134>fw01 " + std::string(kCefBody), f, a);
    ASSERT_TRUE(s.ok()) << s.what << " at " << s.column;
    EXPECT_EQ(a.format, InputFormat::kCef);
    EXPECT_EQ(a.rule_name, "Blocked inbound SSH");
    EXPECT_EQ(a.source_ip, "192.0.2.7");
  }
  Alert a;
  ASSERT_TRUE(
      parse_frame(parser, "<134>fw01 note: see CEF: the format", InputFormat::kAuto, a).ok());
  EXPECT_EQ(a.format, InputFormat::kSyslog);
  EXPECT_EQ(parse_frame(parser, "<134>fw01 note: see CEF: the format", InputFormat::kCef, a).reason,
            RejectReason::kFormat);
}

TEST(CefMessage, BodyTimeWinsOverTheEnvelope) {
  MessageParser parser{ParseOptions{}};
  Alert a;
  ASSERT_TRUE(parse_frame(parser,
                          "<134>1 2026-05-20T10:01:02.5Z fw01 edge - - - " + std::string(kCefBody) +
                              " rt=1616623591694",
                          InputFormat::kAuto, a)
                  .ok());
  EXPECT_EQ(a.timestamp_ns, utc(2021, 3, 24, 22, 6, 31, 694'000'000));
  // Without a time in the body the envelope's stays.
  ASSERT_TRUE(parse_frame(parser,
                          "<134>1 2026-05-20T10:01:02.5Z fw01 edge - - - " + std::string(kCefBody),
                          InputFormat::kAuto, a)
                  .ok());
  EXPECT_EQ(a.timestamp_ns, utc(2026, 5, 20, 10, 1, 2, 500'000'000));
}

TEST(CefMessage, LeefInEnvelope) {
  MessageParser parser{ParseOptions{}};
  Alert a;
  const ParseStatus s =
      parse_frame(parser,
                  "<13>May 20 10:01:02 ids01 LEEF:2.0|Example|Sensor|3.1|SSH-SCAN|^|cat=scan^sev=6^"
                  "src=192.0.2.7^dst=198.51.100.20^dstPort=22^devTime=May 20 2026 10:01:02^"
                  "devTimeFormat=MMM dd yyyy HH:mm:ss",
                  InputFormat::kLeef, a);
  ASSERT_TRUE(s.ok()) << s.what;
  EXPECT_EQ(a.format, InputFormat::kLeef);
  EXPECT_EQ(a.rule_id, "SSH-SCAN");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.timestamp_ns, utc(2026, 5, 20, 10, 1, 2));
}

TEST(CefMessage, ExplicitFormatRejectsOtherBodies) {
  MessageParser parser{ParseOptions{}};
  Alert a;
  ParseStatus s = parse_frame(parser, R"({"alert":{"signature":"x"}})", InputFormat::kCef, a);
  EXPECT_EQ(s.reason, RejectReason::kFormat);
  s = parse_frame(parser, R"(<13>May 20 10:01:02 h app: {"a":1})", InputFormat::kCef, a);
  EXPECT_EQ(s.reason, RejectReason::kFormat);
  s = parse_frame(parser, std::string(kCefBody), InputFormat::kLeef, a);
  EXPECT_EQ(s.reason, RejectReason::kFormat);
  // A malformed CEF body is rejected with its column in the frame.
  const std::string frame = "<134>May 20 10:01:02 fw01 CEF:0|V|P|1|1|N|5|words";
  s = parse_frame(parser, frame, InputFormat::kAuto, a);
  EXPECT_EQ(s.reason, RejectReason::kFormat);
  EXPECT_EQ(s.column, frame.find("words"));
}

// ---------------------------------------------------------------------------------------------
// Hostile input: a clean error or a parse, never a crash (ASan/UBSan run this too)

TEST(CefHostile, ManyPipes) {
  std::string in = "CEF:0";
  in.append(10'000, '|');
  auto r = tokenize_cef(in);  // seven empty fields, then an extension of '|'s without a key
  EXPECT_EQ(r->status.reason, RejectReason::kFormat);
  EXPECT_TRUE(r->pairs.empty());
  r = tokenize_cef("CEF:0" + std::string(7, '|') + "a=" + std::string(10'000, '|'));
  ASSERT_TRUE(r->status.ok());
  ASSERT_EQ(r->pairs.size(), 1u);
  EXPECT_EQ(r->pairs[0].second.size(), 10'000u);
  in = "CEF:0";
  for (int i = 0; i < 10'000; ++i) in += "\\|";
  r = tokenize_cef(in);
  EXPECT_EQ(r->status.reason, RejectReason::kFormat);
  auto l = tokenize_leef("LEEF:2.0" + std::string(10'000, '|'));
  EXPECT_TRUE(l->status.ok() || l->status.reason == RejectReason::kFormat);
  auto m = map("CEF:0|V|P|1|1|N|5|a=" + std::string(10'000, '|'));
  EXPECT_TRUE(m->status.ok());
}

TEST(CefHostile, HugeNumberOfExtensions) {
  std::string in(kHead);
  for (int i = 0; i < 20'000; ++i) {
    in.append("cs").append(std::to_string(i % 200)).append("=v k");
    in.append(std::to_string(i)).append("=x ");
  }
  auto m = map(in);
  ASSERT_TRUE(m->status.ok());
  EXPECT_EQ(m->alert.label_count, kMaxAlertLabels);
  EXPECT_GT(m->alert.labels_dropped, 20'000);
  std::string leef = "LEEF:1.0|V|P|1|E|";
  for (int i = 0; i < 20'000; ++i) leef.append("k").append(std::to_string(i)).append("=v\t");
  m = map(leef);
  ASSERT_TRUE(m->status.ok());
  EXPECT_EQ(m->alert.label_count, kMaxAlertLabels);
}

TEST(CefHostile, PathologicalEqualsAndBackslashes) {
  for (std::string tail :
       {std::string(50'000, '='), std::string(50'000, '\\'), "a=" + std::string(50'000, '='),
        "a=" + std::string(50'000, 'x') + "=", "a=" + std::string(25'000, ' ') + "b=c",
        std::string("a=\\"), "a=" + std::string(50'000, '\\')}) {
    auto m = map(std::string(kHead) + tail);
    EXPECT_TRUE(m->status.ok() || m->status.reason == RejectReason::kFormat);
  }
}

TEST(CefHostile, RandomBytesNeverCrash) {
  std::mt19937 rng(4);
  const std::string alphabet = "CEFLEF:|\\=  \tabc019^x\"\n\r\xC3\xA9\xFF";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), len(0, 200);
  for (int i = 0; i < 20'000; ++i) {
    std::string in = i % 2 ? "CEF:0|" : "LEEF:2.0|";
    const size_t n = len(rng);
    for (size_t k = 0; k < n; ++k) in += alphabet[pick(rng)];
    auto m = map(in);
    if (m->status.ok()) {
      // Every view lies in the input or the scratch.
      EXPECT_LE(m->alert.label_count, kMaxAlertLabels);
    } else {
      EXPECT_LE(m->status.column, in.size()) << in;
    }
  }
}

}  // namespace
}  // namespace klaxon
