// Per-message cost of each step a worker does: syslog parse, JSON body mapping, SHA-256,
// JSON encoding, and all of them together plus zstd block compression (what one worker
// thread sustains).
#include "bench/tools/alert_corpus.h"
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/block.h"
#include "pipeline/core/sha256.h"
#include "pipeline/stages/json_map.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/syslog_parse.h"

#include <benchmark/benchmark.h>

namespace klaxon {
namespace {

// Messages laid out as a RawBatch would hold them (padding after the last one).
struct Corpus {
  Corpus() {
    const auto msgs = bench::make_alerts({});
    for (const auto& m : msgs) {
      frames.push_back(
          FrameRef{static_cast<uint32_t>(buffer.size()), static_cast<uint32_t>(m.size())});
      buffer += m;
      bytes += m.size();
    }
    buffer.append(kParsePadding, '\0');
  }
  std::string_view frame(size_t i) const {
    const auto& f = frames[i % frames.size()];
    return std::string_view(buffer.data() + f.offset, f.length);
  }
  std::string buffer;
  std::vector<FrameRef> frames;
  size_t bytes = 0;
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

void BM_SyslogParse(benchmark::State& state) {
  const Corpus& c = corpus();
  SyslogParseOptions o;
  o.now_ns = 1'779'271'262'000'000'000LL;
  Alert a;
  size_t i = 0;
  for (auto _ : state) {
    a = Alert{};
    benchmark::DoNotOptimize(parse_syslog(c.frame(i++), o, a));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SyslogParse);

void BM_JsonMap(benchmark::State& state) {
  const Corpus& c = corpus();
  JsonMapper m;
  Alert a;
  size_t i = 0;
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    const std::string_view body = f.substr(f.find('{'));
    a = Alert{};
    benchmark::DoNotOptimize(m.map(body, a));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonMap);

void BM_Sha256(benchmark::State& state) {
  const Corpus& c = corpus();
  Sha256 sha;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(sha.digest(c.frame(i++)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256);

void BM_EncodeAlertJson(benchmark::State& state) {
  const Corpus& c = corpus();
  MessageParser p{ParseOptions{}};
  std::vector<Alert> alerts(256);
  IngestMeta meta;
  meta.peer = "127.0.0.1:5000";
  meta.listener = "syslog_tcp";
  meta.received_ns = 1'779'271'262'000'000'000LL;
  // Only the encoding is timed; the alerts' views stay valid because the corpus outlives
  // them (JSON-derived views are re-parsed per message, so use syslog-only fields here).
  SyslogParseOptions so;
  for (size_t i = 0; i < alerts.size(); ++i) (void)parse_syslog(c.frame(i), so, alerts[i]);
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    append_alert_json(alerts[i++ % alerts.size()], out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeAlertJson);

// Everything one worker does per message, and the block compression amortised over 4096.
void BM_WorkerPerMessage(benchmark::State& state) {
  const Corpus& c = corpus();
  MessageParser p{ParseOptions{}};
  BlockBuilder builder(static_cast<int>(state.range(0)));
  IngestMeta meta;
  meta.peer = "127.0.0.1:5000";
  meta.listener = "syslog_tcp";
  meta.received_ns = 1'779'271'262'000'000'000LL;
  Alert a;
  EncodedBlock block;
  size_t i = 0, in_bytes = 0;
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    in_bytes += f.size();
    if (p.parse(f, meta, meta.received_ns, a).ok()) {
      append_alert_record(a, builder.begin_record());
      builder.end_record();
    }
    if (builder.count() == 4096) builder.finish(block);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(in_bytes));
  state.counters["block_bytes_per_alert"] =
      block.count ? static_cast<double>(block.bytes.size()) / block.count : 0;
}
// Arg: zstd level (negative levels are zstd's fast modes; 0 stores blocks uncompressed).
BENCHMARK(BM_WorkerPerMessage)->Arg(1)->Arg(-1)->Arg(-5)->Arg(0);

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
