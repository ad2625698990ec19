// The Sigma engine's costs (pipeline/stages/sigma/): detection of 20 base rules on realistic
// alerts (the bench corpus' Suricata and Wazuh alerts, parsed by klaxon and read through
// AlertFieldSource), the worker-side update building, and the shard-side Correlator on an
// event_count rule grouped over a million distinct keys (steady state with 1 M live groups,
// and a stream of keys that are all new, with expiry keeping ~1 M live).
#include "bench/tools/alert_corpus.h"
#include "pipeline/core/batch.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/sigma/alert_fields.h"
#include "pipeline/stages/sigma/correlator.h"
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/rules.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace klaxon::sigma {
namespace {

constexpr int64_t kT0 = 1'779'271'262'000'000'000LL;  // 2026-05-20, any time works
constexpr int64_t kSec = 1'000'000'000;

// Twenty base rules of the kinds a SOC writes against normalized IDS/HIDS alerts: exact
// values, lists, contains/startswith/endswith, cidr, numeric comparisons, two regular
// expressions and negated filters. Field names are ECS, as AlertFieldSource provides them.
const char* kRules = R"(
title: SSH scan towards port 22
id: r01
detection:
  sel:
    rule.name|contains: 'SSH Scan'
    destination.port: 22
  condition: sel
level: medium
---
title: SQL injection attempt
id: r02
detection:
  sel:
    rule.name|contains|all: ['SQL Injection', 'UNION']
  condition: sel
level: high
---
title: Zbot download pattern
id: r03
detection:
  sel:
    rule.name|contains: 'Zbot'
    rule.category: 'A Network Trojan was detected'
  condition: sel
level: critical
---
title: Root id check
id: r04
detection:
  sel:
    rule.name|endswith: 'id check returned root'
  condition: sel
level: high
---
title: Basic auth password in clear
id: r05
detection:
  sel:
    rule.name|startswith: 'ET POLICY Outgoing Basic Auth'
  condition: sel
level: low
---
title: Hostile TLD lookup
id: r06
detection:
  sel:
    rule.name|re: '\*\.(top|xyz|zip)\b'
  condition: sel
level: medium
---
title: Internal source to documentation net
id: r07
detection:
  sel:
    source.ip|cidr: '10.0.0.0/8'
    destination.ip|cidr: '192.0.2.0/24'
  filter:
    destination.port: 443
  condition: sel and not filter
level: informational
---
title: High severity IDS alert on SSH
id: r08
detection:
  sel:
    event.module: suricata
    event.severity|lte: 1
    network.protocol: ssh
  condition: sel
level: high
---
title: Wazuh sshd brute force
id: r09
detection:
  sel:
    rule.name|contains:
      - 'brute force'
      - 'Multiple failed logins'
  condition: sel
level: high
---
title: Wazuh authentication failure
id: r10
detection:
  sel:
    rule.name|contains: 'authentication failed'
  condition: sel
level: low
---
title: Integrity checksum changed
id: r11
detection:
  sel:
    rule.name: 'Integrity checksum changed.'
  condition: sel
level: medium
---
title: Web server errors
id: r12
detection:
  sel_400:
    rule.name|contains: '400 error'
  sel_multi:
    rule.name|startswith: 'Multiple web server'
  condition: 1 of sel_*
level: low
---
title: Sensor on ids hosts
id: r13
detection:
  sel:
    host.name|startswith: 'ids-'
    host.name|endswith: '.example.org'
    network.transport: TCP
  filter:
    event.action: blocked
  condition: sel and not filter
level: informational
---
title: Rule id in a suspicious range
id: r14
detection:
  sel:
    rule.id|gte: 2003000
    rule.id|lt: 2005000
  condition: sel
level: medium
---
title: Known bad sources
id: r15
detection:
  sel:
    source.ip:
      - 10.1.2.3
      - 10.66.66.66
      - 10.200.1.1
      - 10.13.37.1
  condition: sel
level: critical
---
title: Policy or trojan category
id: r16
detection:
  sel:
    rule.category|re|i: '^(potential corporate privacy violation|a network trojan)'
  condition: sel
level: medium
---
title: Privileged user activity
id: r17
detection:
  sel:
    user.name:
      - root
      - administrator
  condition: sel
level: high
---
title: Outbound TLS from internal
id: r18
detection:
  sel:
    network.protocol: tls
    source.ip|cidr: '10.128.0.0/9'
  condition: sel
level: informational
---
title: Web attack category
id: r19
detection:
  sel:
    rule.category: 'Web Application Attack'
  filter_allowed:
    event.action: blocked
  condition: sel and not filter_allowed
level: high
---
title: Scan or malware from high ports
id: r20
detection:
  sel_sig:
    rule.name|contains:
      - 'SCAN'
      - 'MALWARE'
  sel_port:
    source.port|gt: 40000
  condition: all of sel_*
level: medium
---
title: Many IDS alerts from one source
id: c01
correlation:
  type: event_count
  rules: [r01, r02, r03, r04, r05, r06, r07, r13, r20]
  group-by: [source.ip]
  timespan: 10m
  condition:
    gte: 100000
level: high
)";

const bench::ParsedAlerts& parsed_corpus() { return bench::parsed_alerts(kT0); }

std::shared_ptr<const RuleSet> bench_rules() {
  static const auto rules = [] {
    auto r = load_rules(kRules, LoadOptions{"sigma_bench rules", "message", {}});
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      std::abort();
    }
    return *r;
  }();
  return rules;
}

// Detection of the 20 base rules per alert. The worker runs it right after parsing, while
// the alert is in cache: cycle over 256 alerts.
void BM_Detect20Rules(benchmark::State& state) {
  const bench::ParsedAlerts& c = parsed_corpus();
  const auto rules = bench_rules();
  Detector detector(rules);
  AlertFieldSource source(*rules);
  DetectScratch scratch;
  std::vector<uint32_t> matched;
  const size_t n = std::min<size_t>(256, c.alerts.size());
  size_t i = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    source.set(c.alerts[i++ % n]);
    detector.detect(source, scratch, matched);
    hits += matched.size();
    benchmark::DoNotOptimize(matched.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["base_rules"] = static_cast<double>(rules->base_rules().size());
  state.counters["matches_per_alert"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.counters["unresolved_fields"] = static_cast<double>(source.unresolved().size());
}
BENCHMARK(BM_Detect20Rules);

// The whole worker side: detection plus building the correlation updates (group key,
// hash) for the event_count rule over source.ip.
void BM_DetectAndBuildUpdates(benchmark::State& state) {
  const bench::ParsedAlerts& c = parsed_corpus();
  const auto rules = bench_rules();
  Detector detector(rules);
  AlertFieldSource source(*rules);
  DetectScratch scratch;
  std::vector<uint32_t> matched;
  UpdateBatch updates;
  const size_t n = std::min<size_t>(256, c.alerts.size());
  size_t i = 0;
  uint64_t built = 0;
  for (auto _ : state) {
    const Alert& a = c.alerts[i++ % n];
    source.set(a);
    detector.detect(source, scratch, matched);
    updates.clear();
    detector.build_updates(source, scratch, matched, a.timestamp_ns, updates);
    built += updates.size();
    benchmark::DoNotOptimize(updates);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["updates_per_alert"] =
      static_cast<double>(built) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_DetectAndBuildUpdates);

// Correlation rule alone for the shard benchmarks: event_count by User, 1 h.
std::shared_ptr<const RuleSet> count_rules(const char* timespan) {
  const std::string yaml =
      std::string(
          "title: Login\nid: login\ndetection:\n  sel:\n    EventType: login\n"
          "  condition: sel\n---\ntitle: Many logins\ncorrelation:\n"
          "  type: event_count\n  rules: [login]\n  group-by: [User]\n  timespan: ") +
      timespan + "\n  condition:\n    gte: 1000000\nlevel: high\n";
  auto r = load_rules(yaml);
  if (!r) std::abort();
  return *r;
}

// `count` updates for keys "user-<k>", k = key(i), as a parse worker would build them.
UpdateBatch make_updates(uint64_t count, uint64_t (*key)(uint64_t)) {
  UpdateBatch b;
  std::string k;
  for (uint64_t i = 0; i < count; ++i) {
    k.clear();
    append_group_value(k, "user-" + std::to_string(key(i)));
    CorrelationUpdate u;
    u.correlation = 0;
    u.refs = 1;
    u.has_time = true;
    u.key_hash = group_key_hash(0, k);
    b.add(u, k);
  }
  return b;
}

uint64_t mix(uint64_t x) {  // splitmix64: a random permutation-like order of keys
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Steady state: 1 M live groups (inserted untimed), then updates to random existing groups,
// event time advancing 1 us per update inside a 1 h window. Arg 1: a batch loop that calls
// Correlator::prefetch() 16 updates ahead and prefetch_group() 8 ahead; Arg 0: neither.
void BM_CorrelateExisting1M(benchmark::State& state) {
  constexpr uint64_t kKeys = 1'000'000;
  const auto rules = count_rules("1h");
  CorrelatorOptions o;
  o.max_state_entries = 2'000'000;
  Correlator corr(rules, o);
  std::vector<Firing> firings;
  static const UpdateBatch warm = make_updates(kKeys, [](uint64_t i) { return i; });
  static const UpdateBatch hits =
      make_updates(4 * kKeys, [](uint64_t i) { return mix(i) % 1'000'000; });
  int64_t t = kT0;
  for (size_t i = 0; i < warm.size(); ++i) {
    CorrelationUpdate u = warm[i];
    u.time_ns = t++;
    corr.apply(u, warm.key(i), firings);
  }
  const bool prefetch = state.range(0) != 0;
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % hits.size();
    if (prefetch) {
      corr.prefetch(hits[(k + 16) % hits.size()].key_hash);
      corr.prefetch_group(hits[(k + 8) % hits.size()].key_hash);
    }
    CorrelationUpdate u = hits[k];
    u.time_ns = t += 1000;
    corr.apply(u, hits.key(k), firings);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_groups"] = static_cast<double>(corr.groups());
  state.counters["bytes_per_group"] =
      static_cast<double>(corr.memory_bytes()) / static_cast<double>(corr.groups());
  state.counters["firings"] = static_cast<double>(firings.size());
}
BENCHMARK(BM_CorrelateExisting1M)->Arg(0)->Arg(1);

// Every update a key not seen within the window: a 1 s window and 1 us per update keep about
// 1 M groups live while each update creates one and expiry removes one (2 M keys cycled, so
// a key comes back only after its old group expired).
void BM_CorrelateNewKeys1M(benchmark::State& state) {
  constexpr uint64_t kKeys = 2'000'000;
  const auto rules = count_rules("1s");
  CorrelatorOptions o;
  o.max_state_entries = 2'000'000;
  Correlator corr(rules, o);
  std::vector<Firing> firings;
  static const UpdateBatch keys = make_updates(kKeys, [](uint64_t i) { return mix(i); });
  int64_t t = kT0;
  size_t i = 0;
  // Untimed warm-up: one window's worth, so the timed part runs at ~1 M live groups.
  for (; i < 1'000'000; ++i) {
    CorrelationUpdate u = keys[i];
    u.time_ns = t += 1000;
    corr.apply(u, keys.key(i), firings);
  }
  for (auto _ : state) {
    const size_t k = i++ % keys.size();
    CorrelationUpdate u = keys[k];
    u.time_ns = t += 1000;
    corr.apply(u, keys.key(k), firings);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_groups"] = static_cast<double>(corr.groups());
  state.counters["expired"] = static_cast<double>(corr.stats().expired);
  state.counters["bytes_per_group"] =
      static_cast<double>(corr.memory_bytes()) / static_cast<double>(corr.groups());
}
BENCHMARK(BM_CorrelateNewKeys1M);

}  // namespace
}  // namespace klaxon::sigma

BENCHMARK_MAIN();
