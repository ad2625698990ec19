// GroupCommitWriter: the one thread that writes the alert log.
//
// Pops every EncodedBlock waiting in the persist queue (up to max_group blocks), writes them
// as one RocksDB WriteBatch (one fsync when sync is on), then updates the metrics. A failed
// commit is retried with backoff and never drops the blocks: the pipeline stalls behind it
// (backpressure) until the disk comes back. drain_and_stop() returns after everything that
// was queued is durable.
#pragma once

#include "pipeline/core/batch.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "storage/store.h"

#include <atomic>
#include <functional>
#include <thread>

namespace klaxon {

class GroupCommitWriter {
 public:
  GroupCommitWriter(Store& store, BoundedQueue<EncodedBlock>& in, PipelineMetrics& metrics,
                    size_t max_group = 64);
  ~GroupCommitWriter();

  // Receives each durable block's CorrelationBatch with the alert sequences stamped, in
  // sequence order, on the writer thread (it may block: backpressure). Set before start().
  using CorrelationSink = std::function<void(std::unique_ptr<CorrelationBatch>)>;
  void set_correlation_sink(CorrelationSink sink) { correlation_sink_ = std::move(sink); }

  void start();
  void drain_and_stop();

 private:
  void run();

  Store& store_;
  BoundedQueue<EncodedBlock>& in_;
  PipelineMetrics& metrics_;
  size_t max_group_;
  CorrelationSink correlation_sink_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace klaxon
