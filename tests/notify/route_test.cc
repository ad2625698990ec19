// The routing config: durations, the route tree (inheritance, continue, nesting, group_by),
// receivers, inhibit rules and the errors a bad config gets.
#include "pipeline/notify/route.h"

#include <gtest/gtest.h>

#include <string>

namespace klaxon::notify {
namespace {

constexpr int64_t kSec = 1'000'000'000;

Labels labels(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [k, v] : l) out.emplace_back(k, v);
  std::sort(out.begin(), out.end());
  return out;
}

std::shared_ptr<const NotifyRouting> parse_ok(const std::string& yaml) {
  auto r = parse_routing_yaml(yaml);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : nullptr;
}

std::string parse_err(const std::string& yaml) {
  auto r = parse_routing_yaml(yaml);
  EXPECT_FALSE(r.has_value()) << yaml;
  return r ? std::string() : r.error().message;
}

// The receivers of the routes an item goes to, in order.
std::vector<std::string> receivers_for(const NotifyRouting& routing, const Labels& l) {
  std::vector<std::string> out;
  for (uint32_t r : routing.match(l)) out.push_back(routing.receiver_of(routing.routes()[r]).name);
  return out;
}

TEST(NotifyDuration, PrometheusSyntax) {
  EXPECT_EQ(*parse_duration("1ms"), 1'000'000);
  EXPECT_EQ(*parse_duration("30s"), 30 * kSec);
  EXPECT_EQ(*parse_duration("5m"), 300 * kSec);
  EXPECT_EQ(*parse_duration("4h"), 4 * 3600 * kSec);
  EXPECT_EQ(*parse_duration("1d"), 86400 * kSec);
  EXPECT_EQ(*parse_duration("1w"), 7 * 86400 * kSec);
  EXPECT_EQ(*parse_duration("1h30m"), 5400 * kSec);
  EXPECT_EQ(*parse_duration("4900ms"), 4900 * 1'000'000LL);
  EXPECT_EQ(*parse_duration("1m30s500ms"), 90 * kSec + 500'000'000);
  EXPECT_EQ(*parse_duration("0"), 0);
  for (const char* bad :
       {"", "5", "m", "1.5s", "30m1h", "1s1s", "10x", "-1s", " 1s", "99999999999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
  EXPECT_NE(parse_duration("30m1h").error().message.find("30m1h"), std::string::npos);
  EXPECT_EQ(format_duration(5400 * kSec), "1h30m");
  EXPECT_EQ(format_duration(4900 * 1'000'000LL), "4s900ms");
  EXPECT_EQ(format_duration(0), "0s");
}

constexpr const char* kTree = R"(
route:
  receiver: soc
  group_by: [category]
  group_wait: 10s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_interval: 1m
      continue: true
      routes:
        - match: {host: db-1}
          receiver: dba
          group_by: ['...']
        - match_re: {host: "web-.*"}
          repeat_interval: 1h
    - match: {category: malware}
      receiver: ir
    - matchers: ['severity=~"critical|high"']
      receiver: tier2
      group_by: []
receivers:
  - name: soc
    webhook_configs: [{url: 'http://example.invalid'}]
  - name: pager
    send_resolved: false
  - {name: dba}
  - {name: ir}
  - {name: tier2}
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_match_re: {severity: "medium|low"}
    equal: [host]
)";

TEST(NotifyRoute, InheritanceAndDefaults) {
  auto routing = parse_ok(kTree);
  ASSERT_NE(routing, nullptr);
  const auto& rs = routing->routes();
  ASSERT_EQ(rs.size(), 6u);
  const Route& root = rs[0];
  EXPECT_EQ(root.key, "{}");
  EXPECT_EQ(root.group_wait_ns, 10 * kSec);
  EXPECT_EQ(root.group_interval_ns, kDefaultGroupIntervalNs);
  EXPECT_EQ(root.repeat_interval_ns, kDefaultRepeatIntervalNs);
  ASSERT_EQ(root.children.size(), 3u);

  const Route& crit = rs[1];
  EXPECT_EQ(crit.key, "{}/{severity=\"critical\"}");
  EXPECT_EQ(crit.group_by, std::vector<std::string>{"category"});  // inherited
  EXPECT_EQ(crit.group_wait_ns, 10 * kSec);                        // inherited
  EXPECT_EQ(crit.group_interval_ns, 60 * kSec);
  EXPECT_TRUE(crit.continue_matching);

  const Route& dba = rs[2];
  EXPECT_TRUE(dba.group_by_all);
  EXPECT_EQ(dba.group_interval_ns, 60 * kSec);  // from its parent, not the root
  EXPECT_EQ(routing->receiver_of(dba).name, "dba");

  const Route& web = rs[3];
  EXPECT_EQ(routing->receiver_of(web).name, "pager");  // receiver inherited
  EXPECT_EQ(web.repeat_interval_ns, 3600 * kSec);
  EXPECT_EQ(web.key, "{}/{severity=\"critical\"}/{host=~\"web-.*\"}");

  const Route& tier2 = rs[5];
  EXPECT_TRUE(tier2.group_by.empty());  // explicit [] is not inherited
  EXPECT_FALSE(tier2.group_by_all);

  EXPECT_TRUE(routing->receivers()[0].send_resolved);
  EXPECT_FALSE(routing->receivers()[1].send_resolved);
  ASSERT_EQ(routing->inhibit_rules().size(), 1u);
  EXPECT_EQ(routing->inhibit_rules()[0].equal, std::vector<std::string>{"host"});
  EXPECT_EQ(routing->matched_label_names(),
            (std::vector<std::string>{"category", "host", "severity"}));
}

TEST(NotifyRoute, MatchDepthFirstWithContinue) {
  auto routing = parse_ok(kTree);
  ASSERT_NE(routing, nullptr);
  // Critical on db-1: pager's child dba matches; pager continues, so malware and tier2 are
  // tried too; tier2 matches (it does not continue, but it is last).
  EXPECT_EQ(receivers_for(*routing, labels({{"severity", "critical"}, {"host", "db-1"}})),
            (std::vector<std::string>{"dba", "tier2"}));
  // Critical elsewhere: no child of pager matches, so pager itself does.
  EXPECT_EQ(receivers_for(*routing, labels({{"severity", "critical"}, {"host", "x"}})),
            (std::vector<std::string>{"pager", "tier2"}));
  // Critical malware: pager continues to ir, which stops the search (tier2 not reached).
  EXPECT_EQ(receivers_for(*routing, labels({{"severity", "critical"}, {"category", "malware"}})),
            (std::vector<std::string>{"pager", "ir"}));
  EXPECT_EQ(receivers_for(*routing, labels({{"severity", "high"}})),
            (std::vector<std::string>{"tier2"}));
  // Nothing matches: the root.
  EXPECT_EQ(receivers_for(*routing, labels({{"severity", "low"}})),
            (std::vector<std::string>{"soc"}));
  EXPECT_EQ(receivers_for(*routing, {}), (std::vector<std::string>{"soc"}));
}

TEST(NotifyRoute, DuplicateSiblingsGetDistinctKeys) {
  auto routing = parse_ok(R"(
route:
  receiver: a
  routes:
    - {match: {x: "1"}, receiver: a, continue: true}
    - {match: {x: "1"}, receiver: b}
receivers: [{name: a}, {name: b}]
)");
  ASSERT_NE(routing, nullptr);
  EXPECT_NE(routing->routes()[1].key, routing->routes()[2].key);
}

TEST(NotifyRoute, Errors) {
  const std::string receivers = "receivers: [{name: a}, {name: b}]\n";
  EXPECT_NE(parse_err("route: {receiver: nope}\n" + receivers).find("undefined receiver \"nope\""),
            std::string::npos);
  EXPECT_NE(parse_err("route: {group_by: [x]}\n" + receivers).find("notify.route.receiver"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, match: {x: y}}\n" + receivers)
                .find("root route must not have matchers"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, continue: true}\n" + receivers).find("continue"),
            std::string::npos);
  const std::string bad_matcher =
      parse_err("route: {receiver: a, routes: [{matchers: ['sev=~\"(\"']}]}\n" + receivers);
  EXPECT_NE(bad_matcher.find("notify.route.routes[0].matchers[0]"), std::string::npos);
  EXPECT_NE(bad_matcher.find("sev=~"), std::string::npos);
  const std::string bad_re =
      parse_err("route: {receiver: a, routes: [{match_re: {host: '[a-'}}]}\n" + receivers);
  EXPECT_NE(bad_re.find("notify.route.routes[0].match_re.host"), std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, group_wait: 5 minutes}\n" + receivers)
                .find("notify.route.group_wait: bad duration \"5 minutes\""),
            std::string::npos);
  EXPECT_NE(
      parse_err("route: {receiver: a, group_interval: 0s}\n" + receivers).find("cannot be zero"),
      std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, group_by: ['...', host]}\n" + receivers).find("'...'"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, group_by: [x, x]}\n" + receivers).find("duplicated"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, routes: [{recever: b}]}\n" + receivers)
                .find("notify.route.routes[0].recever: unknown key"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a, continue: maybe}\n" + receivers)
                .find("expected true or false"),
            std::string::npos);
  EXPECT_NE(
      parse_err("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n").find("not unique"),
      std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a}\nreceivers: [{send_resolved: true}]\n")
                .find("notify.receivers[0].name"),
            std::string::npos);
  EXPECT_NE(parse_err("receivers: [{name: a}]\n").find("notify.route"), std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a}\n" + receivers +
                      "inhibit_rules: [{source_match: {a: b}, equal: 'host'}]\n")
                .find("notify.inhibit_rules[0].equal"),
            std::string::npos);
  EXPECT_NE(parse_err("route: {receiver: a}\n" + receivers +
                      "inhibit_rules: [{source_match: {a: b}, target: {c: d}}]\n")
                .find("unknown key"),
            std::string::npos);
  EXPECT_FALSE(parse_routing_yaml("route: [").has_value());
}

TEST(NotifyRoute, EmptyInhibitRuleAndReceiverKeysForOthers) {
  auto routing = parse_ok(R"(
route: {receiver: a}
receivers:
  - name: a
    slack_configs: [{api_url_file: /nonexistent}]
    pagerduty_configs: [{routing_key: x}]
inhibit_rules:
  -
external_url: https://klaxon.example
)");
  ASSERT_NE(routing, nullptr);
  ASSERT_EQ(routing->inhibit_rules().size(), 1u);
  EXPECT_TRUE(routing->inhibit_rules()[0].source.empty());
}

}  // namespace
}  // namespace klaxon::notify
