// Notification decisions for 100,000 open incidents (issue 7's target: within one second of
// CPU): routing through a 10-route tree, grouping, silences and inhibition, and the flushes.
//
// Traffic: 100,000 items with the labels klaxon's incidents carry (category, severity, rule,
// host, source_ip, status, title, incident), drawn from a fixed seed over 10 categories, 5
// severities, 200 rules, 5,000 hosts and 20,000 source addresses; every label set is unique
// (the incident id). Config: the tree below (10 routes, `continue`, regexes, group_by on
// low- and high-cardinality labels), 20 silences (equality and regex, on hosts, rules,
// addresses, categories) and 2 inhibit rules (critical mutes medium/low on the same host; a
// host_down incident mutes everything else on its host).
//
// Benchmarks (CPU time per iteration is the figure):
//   BM_UpsertAndFirstFlush  a fresh Dispatcher, 100,000 upserts, then advance() past
//                           group_wait: every group flushes once (the issue's figure)
//   BM_Upsert               the upserts alone
//   BM_FirstFlush           the first advance() alone (every group flushes once)
//   BM_SteadyTick           one group_interval later with nothing new: every group runs and
//                           the notification log finds nothing to send
#include "pipeline/notify/dispatch.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace klaxon::notify {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kSec;
constexpr int kItems = 100'000;

constexpr const char* kConfig = R"(
route:
  receiver: soc
  group_by: [category, rule]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [host]
      continue: true
    - matchers: ['category="malware"']
      receiver: ir
      routes:
        - matchers: ['host=~"db-.*"']
          receiver: dba
        - matchers: ['rule=~"ransom.*|wiper.*"']
          receiver: ir-lead
    - matchers: ['category=~"scan|recon"', 'severity!="info"']
      receiver: netops
      group_by: [source_ip]
    - matchers: ['category="auth"']
      receiver: iam
      routes:
        - matchers: ['rule="impossible_travel"']
          receiver: iam-lead
    - matchers: ['severity=~"low|info"']
      receiver: digest
      group_by: [category]
      group_interval: 1h
receivers:
  - {name: soc}
  - {name: pager, send_resolved: false}
  - {name: ir}
  - {name: dba}
  - {name: ir-lead}
  - {name: netops}
  - {name: iam}
  - {name: iam-lead}
  - {name: digest}
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"medium|low"']
    equal: [host]
  - source_matchers: ['rule="host_down"']
    target_matchers: ['rule!="host_down"']
    equal: [host]
)";

const char* const kCategories[] = {"malware", "scan",   "recon",    "auth",    "exfiltration",
                                   "policy",  "outage", "phishing", "lateral", "c2"};
const char* const kSeverities[] = {"critical", "high", "medium", "low", "info"};

std::vector<Item> make_items() {
  std::mt19937_64 rng(42);
  std::vector<std::string> rules;
  for (int i = 0; i < 200; ++i) {
    static const char* const kPrefix[] = {"ransom_",    "wiper_",      "ssh_brute_",
                                          "port_scan_", "dns_tunnel_", "impossible_travel",
                                          "exfil_"};
    std::string r = kPrefix[i % 7];
    if (i % 7 != 5) r += std::to_string(i);
    rules.push_back(r);
  }
  rules[198] = "test_canary";
  rules[199] = "host_down";
  std::vector<Item> items;
  items.reserve(kItems);
  for (int i = 0; i < kItems; ++i) {
    const int h = static_cast<int>(rng() % 5000);
    std::string host = (h % 10 == 0 ? "db-" : h % 50 == 1 ? "lab-" : "host-") + std::to_string(h);
    const uint32_t ip = static_cast<uint32_t>(rng() % 20000);
    std::string src = "10." + std::to_string(ip >> 16 & 255) + "." + std::to_string(ip >> 8 & 255) +
                      "." + std::to_string(ip & 255);
    const std::string& rule = rules[rng() % rules.size()];
    const char* cat = kCategories[rng() % 10];
    const char* sev = kSeverities[(rng() % 100) < 1 ? 0 : 1 + rng() % 4];
    char id[40];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(rng()), i);
    Item it;
    it.id = id;
    it.labels = {
        {"category", cat}, {"host", host},     {"incident", id},   {"rule", rule},
        {"severity", sev}, {"source_ip", src}, {"status", "open"}, {"title", rule + " on " + host}};
    it.starts_ns = kT0 - static_cast<int64_t>(rng() % 10) * kSec;
    it.version = 1;
    it.detail = std::string("{\"incident\":\"") + id + "\"}";
    items.push_back(std::move(it));
  }
  return items;
}

const std::vector<Item>& items() {
  static const std::vector<Item> kAll = make_items();
  return kAll;
}

std::shared_ptr<const NotifyRouting> routing() {
  static const auto kRouting = [] {
    auto r = parse_routing_yaml(kConfig);
    if (!r) {
      std::fprintf(stderr, "config: %s\n", r.error().to_string().c_str());
      std::abort();
    }
    return *r;
  }();
  return kRouting;
}

void add_silences(Dispatcher& d) {
  const char* const kSilences[] = {
      "host=\"host-12\"",
      "host=\"host-1234\"",
      "host=~\"lab-.*\"",
      "rule=~\"test_.*\"",
      "source_ip=\"10.0.0.7\"",
      "category=\"policy\", severity=\"low\"",
      "host=\"db-3020\"",
      "rule=\"ssh_brute_2\"",
      "source_ip=~\"10\\\\.0\\\\.1\\\\..*\"",
      "host=\"host-4\"",
      "host=\"host-4444\"",
      "category=\"phishing\", host=~\"host-1.*\"",
      "rule=\"dns_tunnel_4\"",
      "host=\"host-2222\"",
      "severity=\"info\", category=\"scan\"",
      "host=\"host-3333\"",
      "host=\"host-77\"",
      "rule=~\"port_scan_1[0-9]+\"",
      "source_ip=\"10.0.78.1\"",
      "host=\"db-10\"",
  };
  for (const char* text : kSilences) {
    Silence s;
    auto ms = parse_matchers(text);
    if (!ms) {
      std::fprintf(stderr, "silence %s: %s\n", text, ms.error().to_string().c_str());
      std::abort();
    }
    s.matchers = *ms;
    s.starts_ns = kT0 - 3600 * kSec;
    s.ends_ns = kT0 + 3600 * kSec;
    s.created_by = "bench";
    if (!d.silences().add(s, kT0 - 3600 * kSec)) std::abort();
  }
}

void report(benchmark::State& state, const Dispatcher& d, size_t flushes, size_t suppressed,
            size_t notified) {
  const auto st = d.stats();
  state.counters["items"] = static_cast<double>(st.items);
  state.counters["groups"] = static_cast<double>(st.groups);
  state.counters["flushes"] = static_cast<double>(flushes);
  state.counters["notified_items"] = static_cast<double>(notified);
  state.counters["suppressions"] = static_cast<double>(suppressed);
}

void BM_UpsertAndFirstFlush(benchmark::State& state) {
  const auto& all = items();
  size_t flushes = 0, suppressed = 0, notified = 0;
  std::unique_ptr<Dispatcher> last;
  for (auto _ : state) {
    state.PauseTiming();
    last.reset();
    auto d = std::make_unique<Dispatcher>(routing());
    add_silences(*d);
    std::vector<Flush> out;
    std::vector<Suppression> sup;
    state.ResumeTiming();
    for (const Item& it : all) d->upsert(it, kT0);
    d->advance(kT0 + 31 * kSec, out, sup);
    benchmark::DoNotOptimize(out.data());
    state.PauseTiming();
    flushes = out.size();
    suppressed = sup.size();
    notified = 0;
    for (const auto& f : out) notified += f.firing.size();
    out.clear();  // the flushes' memory is freed outside the timed region
    last = std::move(d);
    state.ResumeTiming();
  }
  report(state, *last, flushes, suppressed, notified);
}
BENCHMARK(BM_UpsertAndFirstFlush)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_Upsert(benchmark::State& state) {
  const auto& all = items();
  std::unique_ptr<Dispatcher> last;
  for (auto _ : state) {
    state.PauseTiming();
    last.reset();
    auto d = std::make_unique<Dispatcher>(routing());
    add_silences(*d);
    state.ResumeTiming();
    for (const Item& it : all) d->upsert(it, kT0);
    state.PauseTiming();
    last = std::move(d);
    state.ResumeTiming();
  }
  report(state, *last, 0, 0, 0);
}
BENCHMARK(BM_Upsert)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_FirstFlush(benchmark::State& state) {
  const auto& all = items();
  size_t flushes = 0, suppressed = 0, notified = 0;
  std::unique_ptr<Dispatcher> last;
  for (auto _ : state) {
    state.PauseTiming();
    last.reset();
    auto d = std::make_unique<Dispatcher>(routing());
    add_silences(*d);
    for (const Item& it : all) d->upsert(it, kT0);
    std::vector<Flush> out;
    std::vector<Suppression> sup;
    state.ResumeTiming();
    d->advance(kT0 + 31 * kSec, out, sup);
    state.PauseTiming();
    flushes = out.size();
    suppressed = sup.size();
    notified = 0;
    for (const auto& f : out) notified += f.firing.size();
    out.clear();
    last = std::move(d);
    state.ResumeTiming();
  }
  report(state, *last, flushes, suppressed, notified);
}
BENCHMARK(BM_FirstFlush)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_SteadyTick(benchmark::State& state) {
  const auto& all = items();
  size_t flushes = 0;
  std::unique_ptr<Dispatcher> last;
  for (auto _ : state) {
    state.PauseTiming();
    last.reset();
    auto d = std::make_unique<Dispatcher>(routing());
    add_silences(*d);
    for (const Item& it : all) d->upsert(it, kT0);
    std::vector<Flush> out;
    std::vector<Suppression> sup;
    d->advance(kT0 + 31 * kSec, out, sup);
    out.clear();
    state.ResumeTiming();
    d->advance(kT0 + 31 * kSec + 5 * 60 * kSec, out, sup);
    state.PauseTiming();
    flushes = out.size();
    last = std::move(d);
    state.ResumeTiming();
  }
  report(state, *last, flushes, 0, 0);
}
BENCHMARK(BM_SteadyTick)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace klaxon::notify

BENCHMARK_MAIN();
