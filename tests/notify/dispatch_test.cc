// The Dispatcher on an injected clock: aggregation groups, group_wait / group_interval /
// repeat_interval, the notification log, send_resolved, silences, inhibition, suppression
// reports, continue, reload, delivery failures and the start delay.
#include "pipeline/notify/dispatch.h"

#include "pipeline/notify/hash_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <unordered_map>

namespace klaxon::notify {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

Labels labels(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [k, v] : l) out.emplace_back(k, v);
  std::sort(out.begin(), out.end());
  return out;
}

Item item(const char* id, Labels l, int64_t starts = kT0, int64_t ends = 0, uint64_t version = 0) {
  Item it;
  it.id = id;
  it.labels = std::move(l);
  it.starts_ns = starts;
  it.ends_ns = ends;
  it.version = version;
  it.detail = std::string("detail of ") + id;
  return it;
}

std::shared_ptr<const NotifyRouting> routing(const std::string& yaml) {
  auto r = parse_routing_yaml(yaml);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : nullptr;
}

std::vector<std::string> ids(const std::vector<Item>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.id);
  std::sort(out.begin(), out.end());
  return out;
}

using Ids = std::vector<std::string>;

// A dispatcher and what it said, advanced second by second.
struct Fixture {
  explicit Fixture(const std::string& yaml, DispatcherOptions o = {}) : d(routing(yaml), o) {}

  // Advances to t (seconds after kT0) and returns the flushes of that call.
  std::vector<Flush> at(double t) {
    std::vector<Flush> out;
    d.advance(kT0 + static_cast<int64_t>(t * kSec), out, suppressed);
    return out;
  }
  // Steps one second at a time from `from` to `to` (inclusive); all flushes, in order.
  std::vector<Flush> run(int from, int to) {
    std::vector<Flush> all;
    for (int t = from; t <= to; ++t) {
      for (auto& f : at(t)) all.push_back(std::move(f));
    }
    return all;
  }
  void push(const Item& i, double t) { d.upsert(i, kT0 + static_cast<int64_t>(t * kSec)); }

  Dispatcher d;
  std::vector<Suppression> suppressed;
};

constexpr const char* kSimple = R"(
route:
  receiver: soc
  group_by: [category]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 20s
receivers: [{name: soc}]
)";

TEST(NotifyDispatch, GroupsByLabelsAndWaits) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "malware"}, {"host", "h1"}})), 0);
  f.push(item("b", labels({{"category", "malware"}, {"host", "h2"}})), 1);
  f.push(item("c", labels({{"category", "scan"}, {"host", "h1"}})), 1);
  f.push(item("d", labels({{"host", "h3"}})), 1);  // no category: its own group
  EXPECT_EQ(f.d.stats().groups, 3u);
  EXPECT_EQ(f.d.next_due_ns(), kT0 + 2 * kSec);
  EXPECT_TRUE(f.at(1.9).empty());
  auto first = f.at(2);
  ASSERT_EQ(first.size(), 1u);  // the malware group was created at 0
  EXPECT_EQ(first[0].receiver, "soc");
  EXPECT_EQ(first[0].group_key, "{}:{category=\"malware\"}");
  EXPECT_EQ(first[0].group_labels, labels({{"category", "malware"}}));
  EXPECT_EQ(ids(first[0].firing), (Ids{"a", "b"}));
  EXPECT_EQ(first[0].firing[0].detail, "detail of a");
  EXPECT_FALSE(first[0].repeat);
  EXPECT_EQ(first[0].at_ns, kT0 + 2 * kSec);
  auto second = f.at(3);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].group_key, "{}:{category=\"scan\"}");
  EXPECT_EQ(second[1].group_key, "{}:{}");
  EXPECT_EQ(f.d.next_due_ns(), kT0 + 7 * kSec);
}

TEST(NotifyDispatch, IntervalRepeatAndVersions) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "malware"}})), 0);
  ASSERT_EQ(f.at(2).size(), 1u);
  // Unchanged: nothing at the ticks 7, 12, 17, 22 (the last send is not *before* 22 - 20 s);
  // the repeat at the first tick after that.
  f.push(item("a", labels({{"category", "malware"}})), 3);  // same version: no news
  EXPECT_TRUE(f.run(3, 26).empty());
  auto rep = f.at(27);
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_TRUE(rep[0].repeat);
  // A new item joins: sent at the next tick, not at once and not after group_wait.
  f.push(item("b", labels({{"category", "malware"}})), 28);
  EXPECT_TRUE(f.run(28, 31).empty());
  auto joined = f.at(32);
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_FALSE(joined[0].repeat);
  EXPECT_EQ(ids(joined[0].firing), (Ids{"a", "b"}));
  // A new version of a firing item is news.
  f.push(item("a", labels({{"category", "malware"}}), kT0, 0, 1), 33);
  auto bumped = f.at(37);
  ASSERT_EQ(bumped.size(), 1u);
  EXPECT_FALSE(bumped[0].repeat);
  EXPECT_EQ(f.d.stats().flushes_total, 4u);
}

TEST(NotifyDispatch, OldItemDoesNotWaitForGroupWait) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "x"}}), kT0 - 60 * kSec), 0);
  ASSERT_EQ(f.at(0).size(), 1u);
}

TEST(NotifyDispatch, ResolvedSentOnceThenForgotten) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "x"}})), 0);
  f.push(item("b", labels({{"category", "x"}})), 0);
  ASSERT_EQ(f.at(2).size(), 1u);
  f.push(item("a", labels({{"category", "x"}}), kT0, kT0 + 3 * kSec), 3);
  auto r = f.at(7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(ids(r[0].firing), Ids{"b"});
  EXPECT_EQ(ids(r[0].resolved), Ids{"a"});
  EXPECT_EQ(r[0].resolved[0].ends_ns, kT0 + 3 * kSec);
  EXPECT_FALSE(f.d.contains("a"));
  // Everything resolves: told once, then the group goes away.
  f.push(item("b", labels({{"category", "x"}}), kT0, kT0 + 8 * kSec), 8);
  auto last = f.at(12);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(last[0].firing.empty());
  EXPECT_EQ(ids(last[0].resolved), Ids{"b"});
  EXPECT_EQ(f.d.stats().groups, 0u);
  EXPECT_EQ(f.d.stats().items, 0u);
  EXPECT_EQ(f.d.next_due_ns(), std::numeric_limits<int64_t>::max());
  // Firing again later is news.
  f.push(item("b", labels({{"category", "x"}}), kT0 + 20 * kSec), 20);
  EXPECT_EQ(f.at(22).size(), 1u);
}

TEST(NotifyDispatch, EndInTheFutureStillFires) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "x"}}), kT0, kT0 + 4 * kSec), 0);
  auto fl = f.at(2);
  ASSERT_EQ(fl.size(), 1u);
  ASSERT_EQ(fl[0].firing.size(), 1u);
  EXPECT_EQ(fl[0].firing[0].ends_ns, 0);  // shown as firing
  auto r = f.at(7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(ids(r[0].resolved), Ids{"a"});
}

TEST(NotifyDispatch, SendResolvedFalse) {
  Fixture f(R"(
route:
  receiver: quiet
  group_wait: 1s
  group_interval: 5s
receivers: [{name: quiet, send_resolved: false}]
)");
  f.push(item("a", labels({{"n", "a"}})), 0);
  f.push(item("b", labels({{"n", "b"}})), 0);
  ASSERT_EQ(f.at(1).size(), 1u);
  // Only a resolution: not news for this receiver.
  f.push(item("a", labels({{"n", "a"}}), kT0, kT0 + 2 * kSec), 2);
  EXPECT_TRUE(f.at(6).empty());
  EXPECT_FALSE(f.d.contains("a"));  // still removed from the group
  // A new firing item: sent without the resolved ones.
  f.push(item("c", labels({{"n", "c"}})), 7);
  f.push(item("b", labels({{"n", "b"}}), kT0, kT0 + 7 * kSec), 7);
  auto fl = f.at(11);
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_EQ(ids(fl[0].firing), Ids{"c"});
  EXPECT_TRUE(fl[0].resolved.empty());
  // All resolved: nothing is sent, but the log learns it, so c firing again is news.
  f.push(item("c", labels({{"n", "c"}}), kT0, kT0 + 12 * kSec), 12);
  EXPECT_TRUE(f.at(16).empty());
  EXPECT_EQ(f.d.stats().groups, 0u);
  f.push(item("c", labels({{"n", "c"}}), kT0 + 17 * kSec), 17);
  EXPECT_EQ(f.at(18).size(), 1u);
}

TEST(NotifyDispatch, ContinueFansOutToReceivers) {
  Fixture f(R"(
route:
  receiver: soc
  group_wait: 1s
  routes:
    - {matchers: ['severity="critical"'], receiver: pager, continue: true, group_by: [host]}
    - {matchers: ['category="malware"'], receiver: ir}
receivers: [{name: soc}, {name: pager}, {name: ir}]
)");
  f.push(item("a", labels({{"severity", "critical"}, {"category", "malware"}, {"host", "h"}})), 0);
  f.push(item("b", labels({{"severity", "low"}})), 0);
  auto fl = f.at(1);
  ASSERT_EQ(fl.size(), 3u);
  std::vector<std::string> receivers;
  for (const auto& x : fl) receivers.push_back(x.receiver + ":" + x.group_key);
  std::sort(receivers.begin(), receivers.end());
  EXPECT_EQ(receivers, (Ids{"ir:{}/{category=\"malware\"}:{}",
                            "pager:{}/{severity=\"critical\"}:{host=\"h\"}", "soc:{}:{}"}));
}

TEST(NotifyDispatch, GroupByAllLabels) {
  Fixture f(R"(
route: {receiver: soc, group_wait: 1s, group_by: ['...']}
receivers: [{name: soc}]
)");
  f.push(item("a", labels({{"x", "1"}})), 0);
  f.push(item("b", labels({{"x", "1"}, {"y", "2"}})), 0);
  f.push(item("c", labels({{"x", "1"}, {"y", ""}})), 0);  // empty value = absent
  EXPECT_EQ(f.d.stats().groups, 2u);
  EXPECT_EQ(f.at(1).size(), 2u);
}

constexpr const char* kInhibit = R"(
route:
  receiver: soc
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers: [{name: soc}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"medium|low"']
    equal: [host]
  - source_match: {alertname: Both}
    target_match: {alertname: Both}
)";

TEST(NotifyDispatch, InhibitionWithEqualAndReportsOnce) {
  Fixture f(kInhibit);
  f.push(item("crit", labels({{"severity", "critical"}, {"host", "h1"}})), 0);
  f.push(item("med-h1", labels({{"severity", "medium"}, {"host", "h1"}})), 0);
  f.push(item("med-h2", labels({{"severity", "medium"}, {"host", "h2"}})), 0);
  f.push(item("low-nohost", labels({{"severity", "low"}})), 0);
  auto fl = f.at(1);
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_EQ(ids(fl[0].firing), (Ids{"crit", "low-nohost", "med-h2"}));
  ASSERT_EQ(f.suppressed.size(), 1u);
  EXPECT_EQ(f.suppressed[0].item_id, "med-h1");
  EXPECT_EQ(f.suppressed[0].receiver, "soc");
  EXPECT_EQ(f.suppressed[0].reason, "inhibited");
  EXPECT_EQ(f.suppressed[0].by, "crit");
  // Still inhibited on later runs: not reported again.
  f.push(item("new", labels({{"severity", "low"}, {"host", "h3"}})), 1.5);
  EXPECT_EQ(f.at(2).size(), 1u);
  EXPECT_TRUE(f.at(3).empty());
  EXPECT_EQ(f.suppressed.size(), 1u);
  // The source resolves: the target comes back (news), alongside the resolved source.
  f.push(item("crit", labels({{"severity", "critical"}, {"host", "h1"}}), kT0, kT0 + 3 * kSec), 3);
  auto back = f.at(4);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(ids(back[0].firing), (Ids{"low-nohost", "med-h1", "med-h2", "new"}));
  EXPECT_EQ(ids(back[0].resolved), Ids{"crit"});
  EXPECT_EQ(f.suppressed.size(), 1u);
}

TEST(NotifyDispatch, NoSelfOrMutualInhibition) {
  Fixture f(kInhibit);
  f.push(item("b1", labels({{"alertname", "Both"}, {"i", "1"}})), 0);
  f.push(item("b2", labels({{"alertname", "Both"}, {"i", "2"}})), 0);
  auto fl = f.at(1);
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_EQ(ids(fl[0].firing), (Ids{"b1", "b2"}));
  EXPECT_TRUE(f.suppressed.empty());
}

TEST(NotifyDispatch, SilencesMuteAtFlushTimeAndReportOncePerChange) {
  Fixture f(R"(
route: {receiver: soc, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: soc}]
)");
  f.push(item("a", labels({{"host", "db-1"}})), 0);
  f.push(item("b", labels({{"host", "web-1"}})), 0);
  Silence s;
  s.matchers = *parse_matchers("host=~\"db-.*\"");
  s.starts_ns = kT0 + 2 * kSec;
  s.ends_ns = kT0 + 5 * kSec;
  auto id = f.d.silences().add(s, kT0);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(ids(f.at(1)[0].firing), (Ids{"a", "b"}));  // pending: not yet muting
  EXPECT_TRUE(f.at(2).empty());  // a muted: the rest is a subset of what was sent
  ASSERT_EQ(f.suppressed.size(), 1u);
  EXPECT_EQ(f.suppressed[0].reason, "silenced");
  EXPECT_EQ(f.suppressed[0].by, *id);
  EXPECT_EQ(f.suppressed[0].item_id, "a");
  f.push(item("c", labels({{"host", "db-2"}})), 2.5);
  auto three = f.at(3);
  ASSERT_EQ(three.size(), 0u);  // c is silenced from the start
  EXPECT_EQ(f.suppressed.size(), 2u);
  EXPECT_TRUE(f.at(4).empty());
  EXPECT_EQ(f.suppressed.size(), 2u);  // no report on every flush
  // The silence ends: a and c are news again.
  auto after = f.at(5);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(ids(after[0].firing), (Ids{"a", "b", "c"}));
  // Expired early by the API on a second silence: the same.
  Silence s2 = s;
  s2.starts_ns = kT0 + 6 * kSec;
  s2.ends_ns = kT0 + 100 * kSec;
  auto id2 = f.d.silences().add(s2, kT0 + 6 * kSec);
  ASSERT_TRUE(id2.has_value());
  EXPECT_TRUE(f.at(6).empty());
  EXPECT_EQ(f.suppressed.size(), 4u);  // a and c, by the new silence
  ASSERT_TRUE(f.d.silences().expire(*id2, kT0 + 7 * kSec).has_value());
  // Unmuted again, but soc was last told that a, b and c fire: not news (Alertmanager's log).
  EXPECT_TRUE(f.at(7).empty());
  EXPECT_EQ(f.suppressed.size(), 4u);
}

TEST(NotifyDispatch, ReloadResetsTimersWithoutResending) {
  const std::string yaml = R"(
route: {receiver: soc, group_wait: 1s, group_interval: 6s, repeat_interval: 10m}
receivers: [{name: soc}]
)";
  Fixture f(yaml);
  f.push(item("a", labels({{"n", "a"}})), 1);
  EXPECT_EQ(f.at(2).size(), 1u);
  f.d.reload(routing(yaml), kT0 + 3 * kSec);
  EXPECT_EQ(f.d.next_due_ns(), kT0 + 3 * kSec);  // a is old: the new group runs at once
  EXPECT_TRUE(f.at(3).empty());                  // ... and the log says soc knows
  f.push(item("b", labels({{"n", "b"}})), 4);
  EXPECT_TRUE(f.run(4, 8).empty());
  auto fl = f.at(9);
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_EQ(ids(fl[0].firing), (Ids{"a", "b"}));

  // A new tree: items move to their new routes.
  f.d.reload(routing(R"(
route:
  receiver: soc
  group_wait: 1s
  routes: [{match: {n: b}, receiver: other}]
receivers: [{name: soc}, {name: other}]
)"),
             kT0 + 10 * kSec);
  auto moved = f.at(10);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].receiver, "other");
  EXPECT_EQ(f.d.stats().groups, 2u);
}

TEST(NotifyDispatch, DeliveryFailedSendsAgainAtNextTick) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "x"}})), 0);
  auto fl = f.at(2);
  ASSERT_EQ(fl.size(), 1u);
  f.d.delivery_failed(fl[0], kT0 + 3 * kSec);
  auto again = f.at(7);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_FALSE(again[0].repeat);
  EXPECT_TRUE(f.at(12).empty());  // delivered this time

  // A failed resolved notice: the item comes back and is told again.
  f.push(item("a", labels({{"category", "x"}}), kT0, kT0 + 13 * kSec), 13);
  auto res = f.at(17);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_FALSE(f.d.contains("a"));
  f.d.delivery_failed(res[0], kT0 + 18 * kSec);
  EXPECT_TRUE(f.d.contains("a"));
  bool resent = false;
  for (const auto& x : f.run(18, 30)) resent |= ids(x.resolved) == Ids{"a"};
  EXPECT_TRUE(resent);
}

TEST(NotifyDispatch, StartDelayHoldsFlushes) {
  DispatcherOptions o;
  o.dispatch_start_ns = kT0 + 5 * kSec;
  Fixture f(kSimple, o);
  f.push(item("a", labels({{"category", "x"}})), 0);
  EXPECT_EQ(f.d.next_due_ns(), kT0 + 5 * kSec);
  EXPECT_TRUE(f.run(0, 4).empty());
  EXPECT_EQ(f.at(5).size(), 1u);
  EXPECT_EQ(f.d.next_due_ns(), kT0 + 10 * kSec);  // counted from the flush, as in Alertmanager
}

TEST(NotifyDispatch, RemoveAndRelabel) {
  Fixture f(kSimple);
  f.push(item("a", labels({{"category", "x"}})), 0);
  f.push(item("b", labels({{"category", "x"}})), 0);
  EXPECT_TRUE(f.d.remove("a"));
  EXPECT_FALSE(f.d.remove("a"));
  auto fl = f.at(2);
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_EQ(ids(fl[0].firing), Ids{"b"});
  // New labels move the item to another group; the old one, now empty, goes away.
  f.push(item("b", labels({{"category", "y"}})), 3);
  EXPECT_EQ(f.d.stats().groups, 1u);
  auto moved = f.at(5);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].group_key, "{}:{category=\"y\"}");
  // Unsorted labels are sorted on the way in.
  Item u = item("u", {{"z", "1"}, {"category", "y"}});
  f.push(u, 6);
  EXPECT_EQ(f.d.stats().groups, 1u);
}

// The flat index behind ids and groups, against std::unordered_multimap, with a hash of few
// distinct values so that long probe runs and backward-shift deletions are exercised.
TEST(NotifyHashIndex, RandomizedAgainstMultimap) {
  HashIndex index;
  std::unordered_multimap<uint64_t, uint32_t> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const uint64_t h = rng() % 64 * 0x10000;  // collides in the low bits on purpose
    const uint32_t v = rng() % 512;
    if (rng() % 3 != 0) {
      bool present = false;
      auto r = ref.equal_range(h);
      for (auto it = r.first; it != r.second; ++it) present |= it->second == v;
      if (!present) {
        index.insert(h, v);
        ref.emplace(h, v);
      }
    } else {
      bool erased_ref = false;
      auto r = ref.equal_range(h);
      for (auto it = r.first; it != r.second; ++it) {
        if (it->second == v) {
          ref.erase(it);
          erased_ref = true;
          break;
        }
      }
      ASSERT_EQ(index.erase(h, v), erased_ref);
    }
    ASSERT_EQ(index.size(), ref.size());
    // Every stored pair is findable.
    if (step % 97 == 0) {
      for (const auto& [rh, rv] : ref) {
        ASSERT_EQ(index.find(rh, [&](uint32_t x) { return x == rv; }), rv);
      }
    }
  }
}

// Many items moving through groups: removal, relabelling and resolution keep the counts right.
TEST(NotifyDispatch, ChurnKeepsCountsConsistent) {
  Fixture f(R"(
route:
  receiver: soc
  group_by: [g]
  group_wait: 1s
  group_interval: 2s
  routes:
    - {matchers: ['sev="critical"'], receiver: pager, continue: true, group_by: [host]}
receivers: [{name: soc}, {name: pager}]
inhibit_rules:
  - {source_matchers: ['sev="critical"'], target_matchers: ['sev="low"'], equal: [host]}
)");
  std::mt19937 rng(3);
  std::map<std::string, bool> firing;  // id -> whether its last push fired
  for (int step = 0; step < 3000; ++step) {
    std::string id = "i";
    id += std::to_string(rng() % 800);
    const double t = step * 0.01;
    const int op = static_cast<int>(rng() % 10);
    std::string g = "g";
    g += std::to_string(rng() % 7);
    std::string host = "h";
    host += std::to_string(rng() % 13);
    const char* sev = rng() % 5 == 0 ? "critical" : "low";
    Item it = item(id.c_str(), labels({{"g", g.c_str()}, {"host", host.c_str()}, {"sev", sev}}),
                   kT0 + static_cast<int64_t>(t * kSec));
    if (op < 6) {
      f.push(it, t);
      firing[id] = true;
    } else if (op < 8) {
      const bool had = f.d.contains(id);
      EXPECT_EQ(f.d.remove(id), had);
      EXPECT_FALSE(f.d.contains(id));
      firing.erase(id);
    } else if (firing.count(id) != 0) {
      it.ends_ns = kT0 + static_cast<int64_t>(t * kSec);
      f.push(it, t);
      firing[id] = false;
    }
    if (step % 10 == 0) f.at(t);
  }
  // Once every group has run, resolved items are gone and firing ones remain.
  f.run(31, 40);
  size_t want = 0;
  for (const auto& [id, fires] : firing) {
    EXPECT_EQ(f.d.contains(id), fires) << id;
    want += fires ? 1 : 0;
  }
  EXPECT_EQ(f.d.stats().items, want);
}

}  // namespace
}  // namespace klaxon::notify
