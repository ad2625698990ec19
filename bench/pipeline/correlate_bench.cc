// The correlate stage's shard loop, end to end on one shard thread: dedupe (with 1 M live
// fingerprints), grouping into incidents, event sealing (SHA-256) and state encoding, with
// the IncidentCommits drained by the benchmark thread as the incident writer would (not
// written to RocksDB: store_bench measures that). Items/s is per shard, i.e. per core.
//
// Arg: the share of alerts, in percent, that are *not* repeats of a live fingerprint (they
// join an incident as a new alert or open one). Floods are mostly repeats; 10 % new is a
// busy SOC, 100 % is the worst case (every alert decoded, linked and listed in an event).
#include "bench/tools/alert_corpus.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/stages/correlate.h"
#include "pipeline/stages/parse.h"

#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

constexpr int64_t kT0 = 1'779'271'262'000'000'000LL;  // 2026-05-20
constexpr uint64_t kLiveKeys = 1'000'000;
constexpr uint64_t kGroups = 10'000;
constexpr size_t kBatch = 4096;

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One real parsed alert's record, shared by every item (decoding costs what it costs).
std::string template_record() {
  bench::CorpusOptions co;
  co.count = 16;
  const auto corpus = bench::make_alerts(co);
  MessageParser parser{ParseOptions{}};
  std::string buf = corpus.front() + std::string(kParsePadding, '\0');
  IngestMeta meta;
  meta.received_ns = kT0;
  Alert a;
  if (!parser.parse(std::string_view(buf.data(), corpus.front().size()), meta, kT0, a).ok())
    std::abort();
  std::string record;
  append_alert_record(a, record);
  return record;
}

void BM_CorrelateShard(benchmark::State& state) {
  const uint64_t new_percent = static_cast<uint64_t>(state.range(0));
  auto options = std::make_shared<CorrelateOptions>();
  options->shards = 1;
  options->dedupe.initial_capacity = 2 * kLiveKeys;
  options->shard_queue_capacity = 16;
  prometheus::Registry registry;
  PipelineMetrics metrics(registry);
  BoundedQueue<IncidentCommit> out(4096);
  CorrelateStage stage(options, {9}, out, metrics);
  stage.start();
  const std::string record = template_record();

  uint64_t seq = 1, fresh = kLiveKeys, x = 12345;
  int64_t t = kT0;
  auto make_batch = [&] {
    auto b = std::make_unique<CorrelationBatch>();
    const ArenaRef ref = b->add(record);
    b->items.reserve(kBatch);
    for (size_t i = 0; i < kBatch; ++i) {
      x = mix(x);
      // Repeats pick one of the live keys; new ones are keys never seen.
      const uint64_t key = (x % 100) < new_percent ? fresh++ : (x >> 8) % kLiveKeys;
      CorrelationItem it;
      it.fingerprint = Fingerprint{mix(key), mix(key ^ 0x5555)};
      it.group = mix(key % kGroups + 77);
      it.time_ns = t;
      it.received_ns = t;
      it.severity = Severity::kHigh;
      it.index = static_cast<uint32_t>(i);
      it.seq = seq++;
      it.record = ref;
      b->items.push_back(it);
      t += 1'000;  // 1 M alerts/s of event time
    }
    b->last_seq = seq - 1;
    return b;
  };
  auto drain = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) {
      while (!out.pop_wait(std::chrono::milliseconds(1000))) {
      }
    }
  };
  // Warm up: every live key seen once.
  {
    for (uint64_t k = 0; k < kLiveKeys; k += kBatch) {
      auto b = std::make_unique<CorrelationBatch>();
      const ArenaRef ref = b->add(record);
      for (uint64_t i = k; i < std::min(kLiveKeys, k + kBatch); ++i) {
        CorrelationItem it;
        it.fingerprint = Fingerprint{mix(i), mix(i ^ 0x5555)};
        it.group = mix(i % kGroups + 77);
        it.time_ns = it.received_ns = t;
        it.severity = Severity::kHigh;
        it.index = static_cast<uint32_t>(i - k);
        it.seq = seq++;
        it.record = ref;
        b->items.push_back(it);
        t += 100;
      }
      b->last_seq = seq - 1;
      stage.submit(std::move(b));
      drain(1);
    }
  }
  // Pre-build the measured batches so that generating them is not measured.
  std::vector<std::unique_ptr<CorrelationBatch>> batches;
  for (auto _ : state) {
    state.PauseTiming();
    batches.clear();
    for (int i = 0; i < 32; ++i) batches.push_back(make_batch());
    state.ResumeTiming();
    for (auto& b : batches) stage.submit(std::move(b));
    drain(32);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 32 * kBatch);
  state.counters["incidents"] = metrics.incidents_created->Value();
  state.counters["events"] = metrics.incident_events->Value();
  stage.drain_and_stop();
}
BENCHMARK(BM_CorrelateShard)
    ->Arg(0)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
