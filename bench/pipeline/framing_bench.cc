// Framing throughput: octet-counted and LF-delimited streams of realistic alerts.
#include "bench/tools/alert_corpus.h"
#include "pipeline/sources/framing.h"

#include <benchmark/benchmark.h>

namespace klaxon {
namespace {

void run(benchmark::State& state, const std::string& stream, size_t messages) {
  FramerOptions o;
  for (auto _ : state) {
    SyslogFramer f(o);
    size_t frames = 0;
    f.scan(
        stream, [&](size_t, size_t) { ++frames; }, [](RejectReason, size_t, size_t, size_t) {});
    benchmark::DoNotOptimize(frames);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}

void BM_FrameOctetCounted(benchmark::State& state) {
  const auto msgs = bench::make_alerts({});
  run(state, bench::octet_counted_stream(msgs), msgs.size());
}
BENCHMARK(BM_FrameOctetCounted);

void BM_FrameLfDelimited(benchmark::State& state) {
  const auto msgs = bench::make_alerts({});
  std::string s;
  for (const auto& m : msgs) s += m + "\n";
  run(state, s, msgs.size());
}
BENCHMARK(BM_FrameLfDelimited);

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
