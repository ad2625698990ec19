// The dedupe stage's costs: fingerprinting one alert, DedupeTable::observe() at 1 M and 10 M
// live entries with a steady mix of duplicates and new keys (time-based expiry running as in
// the shard), evict_expired() per entry evicted, and the process RSS that 10 M live
// fingerprints take (the "10 million live fingerprints fit in 1 GiB").
#include "bench/tools/alert_corpus.h"
#include "pipeline/core/batch.h"
#include "pipeline/stages/dedupe.h"
#include "pipeline/stages/fingerprint.h"
#include "pipeline/stages/parse.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace klaxon {
namespace {

constexpr int64_t kT0 = 1'779'271'262'000'000'000LL;  // 2026-05-20, any time works

uint64_t mix(uint64_t x) {  // splitmix64: ids -> well-spread 128-bit fingerprints
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
Fingerprint fp(uint64_t id) { return Fingerprint{mix(id), mix(id ^ 0x5555555555555555ULL)}; }

// xorshift64*: cheap enough not to show in a ~100 ns operation.
struct Rng {
  uint64_t s = 0x2545f4914f6cdd1dULL;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dULL;
  }
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((__uint128_t{next()} * n) >> 64); }
};

// A "Key: N kB" line of a /proc file, in bytes: VmRSS, VmHWM (status), AnonHugePages
// (smaps_rollup).
size_t proc_kib_field(const char* file, const char* key) {
  FILE* f = std::fopen(file, "r");
  if (f == nullptr) return 0;
  char line[256];
  size_t kib = 0;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      kib = std::strtoull(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}

// Linux: writing 5 to clear_refs resets VmHWM to the current RSS.
void reset_peak_rss() {
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

const bench::ParsedAlerts& parsed_corpus() { return bench::parsed_alerts(kT0); }

// Process RSS for 10 M live fingerprints: VmRSS read before the table exists and after 10 M
// distinct keys went in (no expiry). Arg 0: grown from the default initial capacity (the
// counter max_stall_ms bounds the longest single observe(), an index rehash); Arg 1:
// presized. Runs once each, first, with the peak (VmHWM) reset before each.
void BM_Rss10M(benchmark::State& state) {
  constexpr uint64_t kN = 10'000'000;
  for (auto _ : state) {
    reset_peak_rss();
    const size_t rss_before = proc_kib_field("/proc/self/status", "VmRSS");
    DedupeOptions o;
    o.window_ns = 3600LL * 1'000'000'000;
    o.max_entries = kN;
    if (state.range(0) == 1) o.initial_capacity = kN;
    auto table = std::make_unique<DedupeTable>(o);
    int64_t max_stall_ns = 0;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    for (uint64_t i = 0; i < kN; ++i) {
      (void)table->observe(fp(i), kT0 + static_cast<int64_t>(i), i);
      if ((i & 1023) == 0) {
        // Sampled every 1,024 inserts: a rehash shows up as one long gap between samples
        // (which also holds ~1,000 ordinary inserts, ~0.1-0.2 ms).
        const auto t = std::chrono::steady_clock::now();
        max_stall_ns = std::max<int64_t>(max_stall_ns, (t - last).count());
        last = t;
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const size_t rss_after = proc_kib_field("/proc/self/status", "VmRSS");
    const size_t hwm = proc_kib_field("/proc/self/status", "VmHWM");
    const size_t huge = proc_kib_field("/proc/self/smaps_rollup", "AnonHugePages");
    KLAXON_CHECK(table->size() == kN);
    const double rss = static_cast<double>(rss_after - rss_before);
    state.counters["live_entries"] = static_cast<double>(table->size());
    state.counters["rss_MiB"] = rss / (1024.0 * 1024.0);
    state.counters["rss_bytes_per_entry"] = rss / static_cast<double>(kN);
    state.counters["table_bytes_per_entry"] =
        static_cast<double>(table->memory_bytes()) / static_cast<double>(kN);
    state.counters["peak_rss_MiB"] = static_cast<double>(hwm - rss_before) / (1024.0 * 1024.0);
    state.counters["insert_ns"] = secs * 1e9 / static_cast<double>(kN);
    state.counters["max_stall_ms"] = static_cast<double>(max_stall_ns) / 1e6;
    state.counters["index_grows"] = static_cast<double>(table->stats().grows);
    state.counters["huge_pages_MiB"] = static_cast<double>(huge) / (1024.0 * 1024.0);
  }
}
BENCHMARK(BM_Rss10M)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

// Arg 0: the default key (six fields). Arg 1: the default key plus rule.name,
// destination.port and message (a longer key).
void BM_Fingerprint(benchmark::State& state) {
  const bench::ParsedAlerts& c = parsed_corpus();
  FingerprintKey key;
  if (state.range(0) == 1) {
    key = *FingerprintKey::parse({"event.module", "rule.id", "host.name", "source.ip",
                                  "destination.ip", "user.name", "rule.name", "destination.port",
                                  "message"});
  }
  // The stage fingerprints an alert right after parsing it, while it is in cache: cycle over
  // 256 alerts (all 10,000 would measure cache misses on the benchmark's own copies).
  const size_t n = std::min<size_t>(256, c.alerts.size());
  size_t i = 0;
  uint64_t acc = 0;
  for (auto _ : state) {
    acc ^= key.compute(c.alerts[i++ % n]).lo;
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["corpus_alerts"] = static_cast<double>(c.alerts.size());
}
BENCHMARK(BM_Fingerprint)->Arg(0)->Arg(1);

// Steady state at ~N live entries, as a shard runs: each op is, with probability p, a
// repeat of a random key among the M most recent (a duplicate, at a random place in the
// table), else a new key. Event time advances 1 us per op and the window spans M new keys,
// so keys expire as fast as new ones arrive; evict_expired() runs every 256 ops (a batch).
// Repeats keep some keys alive after they leave the M most recent, so M = N / (1 + g) with
// g = 1 - (1 - e^-l) / l, l = p / (1 - p) (the expected extension of a key's life, in
// windows). Untimed warm-up: two windows. The index is presized for 1.2 N (load ~0.73, the
// middle of the 0.58-0.875 range a growing table goes through). Args: N, duplicate %, and
// whether DedupeTable::prefetch() is called 8 alerts ahead (as a batch loop can).
void BM_Observe(benchmark::State& state) {
  const auto n = static_cast<double>(state.range(0));
  const double p = static_cast<double>(state.range(1)) / 100.0;
  const double l = p / (1.0 - p);
  const double g = 1.0 - (1.0 - std::exp(-l)) / l;
  const auto m = static_cast<uint64_t>(n / (1.0 + g));
  constexpr int64_t kDt = 1000;  // ns of event time per op
  DedupeOptions o;
  o.window_ns = static_cast<int64_t>(static_cast<double>(m) / (1.0 - p)) * kDt;
  o.max_entries = static_cast<size_t>(2 * n);
  o.initial_capacity = static_cast<size_t>(1.2 * n);
  DedupeTable table(o);
  const auto p_threshold = static_cast<uint64_t>(p * 18446744073709551616.0);
  Rng rng;
  int64_t now = kT0;
  uint64_t next_id = 0, seq = 0, dups = 0;
  (void)table.evict_expired(now);
  // The next alerts' keys are drawn kAhead ops early, so that the prefetching variant can
  // hint them; the plain variant draws them the same way and ignores the hint.
  const bool prefetch = state.range(2) != 0;
  constexpr size_t kAhead = 8;
  std::array<Fingerprint, kAhead> ring;
  size_t r = 0;
  auto draw = [&] {
    const bool repeat = next_id >= m && rng.next() < p_threshold;
    return fp(repeat ? next_id - 1 - rng.below(m) : next_id++);
  };
  for (Fingerprint& f : ring) f = draw();
  auto op = [&] {
    now += kDt;
    const Fingerprint f = ring[r];
    ring[r] = draw();
    if (prefetch) table.prefetch(ring[r]);
    r = (r + 1) % kAhead;
    const bool dup = table.observe(f, now, seq++).duplicate;
    if ((seq & 255) == 0) (void)table.evict_expired(now);
    return dup;
  };
  const int64_t warmup = 2 * o.window_ns / kDt;
  for (int64_t i = 0; i < warmup; ++i) (void)op();
  const size_t live_before = table.size();
  for (auto _ : state) dups += op();
  state.SetItemsProcessed(state.iterations());
  state.counters["live_entries"] = static_cast<double>(table.size() + live_before) / 2;
  state.counters["dup_ratio"] = static_cast<double>(dups) / static_cast<double>(state.iterations());
  state.counters["bytes_per_entry"] =
      static_cast<double>(table.memory_bytes()) / static_cast<double>(table.size());
}
BENCHMARK(BM_Observe)
    ->ArgNames({"live", "dup_pct", "prefetch"})
    ->Args({1'000'000, 10, 0})
    ->Args({1'000'000, 90, 0})
    ->Args({1'000'000, 10, 1})
    ->Args({1'000'000, 90, 1})
    ->Args({10'000'000, 10, 0})
    ->Args({10'000'000, 90, 0})
    ->Args({10'000'000, 10, 1})
    ->Args({10'000'000, 90, 1})
    ->Iterations(10'000'000)
    ->Unit(benchmark::kNanosecond);

// evict_expired() per entry removed: 1 M entries spread over one window, evicted 1,000 at a
// time (about what a shard sees per batch at 1 M/s of new keys), refilled when empty.
void BM_EvictExpired(benchmark::State& state) {
  constexpr uint64_t kN = 1'000'000;
  constexpr int64_t kWindow = 300LL * 1'000'000'000;
  DedupeOptions o;
  o.window_ns = kWindow;
  o.max_entries = kN;
  o.initial_capacity = kN;
  DedupeTable table(o);
  uint64_t round = 0;
  int64_t now = 0;
  auto refill = [&] {
    const int64_t base = kT0 + static_cast<int64_t>(round) * 4 * kWindow;
    (void)table.evict_expired(base);  // empty: puts the wheel's cursor at the start
    for (uint64_t i = 0; i < kN; ++i) {
      (void)table.observe(fp(round * kN + i), base + static_cast<int64_t>(i) * kWindow / kN, i);
    }
    now = base + kWindow;  // the first entries are just due
    ++round;
  };
  refill();
  size_t evicted = 0;
  for (auto _ : state) {
    now += kWindow / 1000;
    evicted += table.evict_expired(now, 1'000'000);
    if (table.size() == 0) {
      state.PauseTiming();
      refill();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(evicted));
  state.counters["evicted_per_call"] =
      static_cast<double>(evicted) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_EvictExpired)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
