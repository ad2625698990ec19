// IncidentWriter: the one thread that writes incident events and states.
//
// Pops every IncidentCommit the correlation shards queued (up to max_group), writes them as
// one RocksDB WriteBatch through Store::commit_incidents() (a shard's events, states and
// covered sequence land together or not at all), then counts them. A failed commit is retried
// with backoff and never dropped: the shards stall behind it, then the alert writer
// (backpressure). drain_and_stop() returns once everything queued is durable; call it after
// the correlate stage has stopped.
#pragma once

#include "pipeline/core/incident.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "storage/store.h"

#include <atomic>
#include <functional>
#include <thread>

namespace klaxon {

class IncidentWriter {
 public:
  IncidentWriter(Store& store, BoundedQueue<IncidentCommit>& in, PipelineMetrics& metrics,
                 size_t max_group = 64);
  ~IncidentWriter();

  // Before start(): called on the writer thread with each commit once it is durable (the
  // notifier learns of incident changes here). Must not block.
  void set_on_written(std::function<void(const IncidentCommit&)> fn) {
    on_written_ = std::move(fn);
  }
  void start();
  void drain_and_stop();

 private:
  void run();

  Store& store_;
  BoundedQueue<IncidentCommit>& in_;
  PipelineMetrics& metrics_;
  size_t max_group_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::function<void(const IncidentCommit&)> on_written_;
};

}  // namespace klaxon
