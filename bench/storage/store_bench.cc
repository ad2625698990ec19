// Group-commit cost: blocks of N encoded alerts per RocksDB WriteBatch, with and without
// fsync. Items = alerts. Runs against a temp directory on the data disk.
#include "bench/tools/alert_corpus.h"
#include "pipeline/core/block.h"
#include "storage/store.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

namespace klaxon {
namespace {

void BM_CommitBlock(benchmark::State& state) {
  const size_t per_block = static_cast<size_t>(state.range(0));
  const bool sync = state.range(1) != 0;
  const auto msgs = bench::make_alerts({});
  // Pre-encode one block: alerts are ~1.6 KiB of JSON each (raw + ECS fields).
  BlockBuilder b(1);
  for (size_t i = 0; i < per_block; ++i) {
    const std::string& m = msgs[i % msgs.size()];
    b.begin_record().append("{\"event\":{\"original\":\"" + m.substr(0, m.find('"')) +
                            "\"},\"n\":" + std::to_string(i) + "," + m.substr(m.find('{') + 1));
    b.end_record();
  }
  EncodedBlock block;
  b.finish(block);
  const std::string dir = "bench-store-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.sync = sync;
  auto store = Store::open(dir, o);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  const EncodedBlock* group[] = {&block};
  for (auto _ : state) {
    auto r = (*store)->commit(group);
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_block));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block.bytes.size()));
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CommitBlock)
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({4096, 1})
    ->Args({4096, 0})
    ->UseRealTime();

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
