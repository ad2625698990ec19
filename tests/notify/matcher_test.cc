// Matchers: Alertmanager's four operators, anchored regexes, missing labels as "", the text
// form (parse and print) and its error messages.
#include "pipeline/notify/matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>

namespace klaxon::notify {
namespace {

Labels labels(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [k, v] : l) out.emplace_back(k, v);
  std::sort(out.begin(), out.end());
  return out;
}

Matcher m(const char* text) {
  auto r = parse_matcher(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().to_string());
  return r ? *r : *Matcher::make("x", MatchOp::kEqual, "");
}

TEST(NotifyMatcher, Operators) {
  const Labels l = labels({{"severity", "critical"}, {"host", "db-1"}});
  EXPECT_TRUE(m("severity=\"critical\"").matches(l));
  EXPECT_FALSE(m("severity=\"high\"").matches(l));
  EXPECT_TRUE(m("severity!=\"high\"").matches(l));
  EXPECT_FALSE(m("severity!=\"critical\"").matches(l));
  EXPECT_TRUE(m("host=~\"db-[0-9]+\"").matches(l));
  EXPECT_FALSE(m("host!~\"db-[0-9]+\"").matches(l));
  EXPECT_TRUE(m("host!~\"web-.*\"").matches(l));
}

TEST(NotifyMatcher, RegexIsFullyAnchored) {
  const Labels l = labels({{"host", "dbadmin"}});
  EXPECT_FALSE(m("host=~\"db\"").matches(l));
  EXPECT_FALSE(m("host=~\"admin\"").matches(l));
  EXPECT_TRUE(m("host=~\"db.*\"").matches(l));
  EXPECT_FALSE(m("host=~\"db|x\"").matches(l));  // literal set fast path
  EXPECT_TRUE(m("host=~\"x|dbadmin\"").matches(l));
  EXPECT_TRUE(m("host=~\"(db|web)admin\"").matches(l));
  EXPECT_FALSE(m("host=~\"a|dba\"").matches(l));  // alternation must cover the whole value
}

TEST(NotifyMatcher, MissingLabelMatchesAsEmpty) {
  const Labels l = labels({{"severity", "low"}});
  EXPECT_TRUE(m("team=\"\"").matches(l));
  EXPECT_FALSE(m("team!=\"\"").matches(l));
  EXPECT_TRUE(m("team=~\".*\"").matches(l));
  EXPECT_FALSE(m("team=~\".+\"").matches(l));
  EXPECT_TRUE(m("team!~\".+\"").matches(l));
  EXPECT_TRUE(matches_empty({m("team=~\".*\""), m("x=\"\"")}));
  EXPECT_FALSE(matches_empty({m("team=~\".*\""), m("x=\"1\"")}));
}

TEST(NotifyMatcher, ParsesListsBracesAndBareValues) {
  auto ms = parse_matchers("{severity=\"critical\", team=~db|web , env!=prod}");
  ASSERT_TRUE(ms.has_value()) << ms.error().to_string();
  ASSERT_EQ(ms->size(), 3u);
  EXPECT_EQ((*ms)[0].to_string(), "severity=\"critical\"");
  EXPECT_EQ((*ms)[1].name(), "team");
  EXPECT_EQ((*ms)[1].op(), MatchOp::kRegex);
  EXPECT_EQ((*ms)[1].value(), "db|web");
  EXPECT_EQ((*ms)[2].op(), MatchOp::kNotEqual);
  EXPECT_EQ((*ms)[2].value(), "prod");

  auto q = parse_matcher(R"(msg="say \"hi\"\n")");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->value(), "say \"hi\"\n");
  EXPECT_EQ(q->to_string(), R"(msg="say \"hi\"\n")");
  auto utf8 = parse_matcher(R"("service.name"="api")");
  ASSERT_TRUE(utf8.has_value());
  EXPECT_EQ(utf8->name(), "service.name");
  EXPECT_EQ(utf8->to_string(), R"("service.name"="api")");
  EXPECT_TRUE(parse_matcher("a=\"\\d+\"").has_value());
}

TEST(NotifyMatcher, ErrorsNameTheText) {
  auto bad_op = parse_matcher("severity~critical");
  ASSERT_FALSE(bad_op.has_value());
  EXPECT_NE(bad_op.error().message.find("severity~critical"), std::string::npos);
  EXPECT_NE(bad_op.error().message.find("expected one of"), std::string::npos);

  auto bad_re = parse_matcher("host=~\"db-(\"");
  ASSERT_FALSE(bad_re.has_value());
  EXPECT_NE(bad_re.error().message.find("bad regex"), std::string::npos);
  EXPECT_NE(bad_re.error().message.find("db-("), std::string::npos);

  EXPECT_FALSE(parse_matcher("a=\"unterminated").has_value());
  EXPECT_FALSE(parse_matcher("").has_value());
  EXPECT_FALSE(parse_matcher("a=1, b=2").has_value());  // exactly one
  EXPECT_FALSE(parse_matchers("{a=1").has_value());
  EXPECT_FALSE(parse_matchers("=x").has_value());
}

TEST(NotifyMatcher, LongValuesDoNotOverflowTheRegexEngine) {
  const std::string v(200'000, 'a');
  auto re = parse_matcher("msg=~\"a*b?a*\"");
  ASSERT_TRUE(re.has_value());
  EXPECT_TRUE(re->matches_value(v));
}

// The shapes that bypass std::regex must decide exactly as std::regex would.
TEST(NotifyMatcher, FastPathsAgreeWithStdRegex) {
  const char* patterns[] = {"db-.*",  ".*\\.internal", ".*prod.*", "ransom.*|wiper.*",
                            "a|b|",   "10\\.0\\..*",   ".*",       ".*.*",
                            "x-\\-y", "db-[0-9]+",     "(db|web)", "a.b",
                            ".+",     "web|.*-lb",     "\\d+",     "café.*"};
  const char* values[] = {"",          "db-",      "db-12",      "xdb-1", "a.internal", "internal",
                          "preprod-x", "prod",     "ransomware", "wiper", "a",          "b",
                          "ab",        "10.0.3.4", "1000.1",     "x--y",  "x-\\-y",     "web",
                          "edge-lb",   "db",       "axb",        "a.b",   "123",        "café-1"};
  for (const char* p : patterns) {
    auto m = parse_matcher(std::string("v=~\"") + p + "\"");
    ASSERT_TRUE(m.has_value()) << p;
    auto nm = Matcher::make("v", MatchOp::kNotRegex, m->value());
    ASSERT_TRUE(nm.has_value());
    const std::regex re(m->value(), std::regex::ECMAScript);
    for (const char* v : values) {
      const bool want = std::regex_match(std::string(v), re);
      EXPECT_EQ(m->matches_value(v), want) << "pattern " << m->value() << " value " << v;
      EXPECT_EQ(nm->matches_value(v), !want) << "pattern " << m->value() << " value " << v;
    }
  }
}

TEST(NotifyMatcher, SortOrderAndPrint) {
  Matchers ms{m("b=\"1\""), m("a!~\"x\""), m("a=\"2\"")};
  std::sort(ms.begin(), ms.end());
  EXPECT_EQ(matchers_to_string(ms), "{a=\"2\", a!~\"x\", b=\"1\"}");
}

}  // namespace
}  // namespace klaxon::notify

namespace klaxon::notify {
namespace {

// Found by notify_fuzz: libstdc++'s regex compiler overflows a signed integer on a huge
// repetition count. Such regexes (a silence made through the API) are refused before it.
TEST(NotifyMatcher, HostileRegexesAreRefusedBeforeStdRegex) {
  EXPECT_FALSE(parse_matchers(R"(team=~"1{1111111111111111111}")").has_value());
  EXPECT_FALSE(parse_matchers(R"(team=~"a{1,99999}")").has_value());
  EXPECT_FALSE(parse_matchers(R"(team=~"(a)\\1111111111111111111")").has_value());
  EXPECT_FALSE(parse_matchers(R"(team=~"(a)\\1")").has_value());
  EXPECT_FALSE(parse_matchers("team=~\"(" + std::string(2000, 'a') + ")+\"").has_value());
  // A long alternation of literals never reaches std::regex: accepted.
  EXPECT_TRUE(parse_matchers("team=~\"" + std::string(2000, 'a') + "|b\"").has_value());
  // Escaped braces are literals; counts up to 9999 are fine.
  EXPECT_TRUE(parse_matchers(R"(team=~"a\\{123456\\}")").has_value());
  EXPECT_TRUE(parse_matchers(R"(team=~"(ab){2,3}")").has_value());
}

}  // namespace
}  // namespace klaxon::notify
