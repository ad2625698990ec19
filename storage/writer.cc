#include "storage/writer.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"
#include "storage/group_loop.h"

#include <chrono>
#include <memory>
#include <vector>

namespace klaxon {

GroupCommitWriter::GroupCommitWriter(Store& store, BoundedQueue<EncodedBlock>& in,
                                     PipelineMetrics& metrics, size_t max_group)
    : store_(store), in_(in), metrics_(metrics), max_group_(max_group) {}

GroupCommitWriter::~GroupCommitWriter() { drain_and_stop(); }

void GroupCommitWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void GroupCommitWriter::drain_and_stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

void GroupCommitWriter::run() {
  metrics_.last_sequence->Set(static_cast<double>(store_.next_sequence()));
  run_group_loop(
      in_, max_group_, stopping_, "alert", metrics_.commit_errors,
      [&](const std::vector<const EncodedBlock*>& views) { return store_.commit(views); },
      [&](std::vector<std::unique_ptr<EncodedBlock>>& group, uint64_t first_seq,
          int64_t commit_ns) {
        uint64_t alerts = 0, bytes = 0, raw = 0, dead = 0;
        int64_t oldest = group.front()->oldest_enqueued_ns;
        for (auto& b : group) {
          alerts += b->count;
          bytes += b->bytes.size();
          raw += b->raw_bytes;
          dead += b->rejected.size();
          if (b->oldest_enqueued_ns && b->oldest_enqueued_ns < oldest)
            oldest = b->oldest_enqueued_ns;
        }
        metrics_.commit_seconds->Observe(static_cast<double>(commit_ns) * 1e-9);
        metrics_.commits->Increment();
        metrics_.persisted_alerts->Increment(static_cast<double>(alerts));
        metrics_.persisted_bytes->Increment(static_cast<double>(bytes));
        metrics_.persisted_raw_bytes->Increment(static_cast<double>(raw));
        metrics_.dead_letters->Increment(static_cast<double>(dead));
        metrics_.last_sequence->Set(static_cast<double>(store_.next_sequence()));
        // Only now may sources acknowledge upstream (Kafka offsets, HTTP replies).
        for (auto& b : group) {
          for (auto& cb : b->on_durable) cb();
        }
        // Correlation sees only durable alerts, so every incident links alerts that exist.
        uint64_t seq = first_seq;
        for (auto& b : group) {
          if (b->count == 0) continue;
          if (correlation_sink_ && b->correlation) {
            for (CorrelationItem& it : b->correlation->items) it.seq = seq + it.index;
            for (uint64_t& a : b->correlation->update_alert) a += seq;  // position -> sequence
            b->correlation->last_seq = seq + b->count - 1;
            b->correlation->enqueued_ns = b->oldest_enqueued_ns;
            correlation_sink_(std::move(b->correlation));
          }
          seq += b->count;
        }
        if (oldest > 0)
          metrics_.pipeline_latency_seconds->Observe(static_cast<double>(monotonic_ns() - oldest) *
                                                     1e-9);
      });
}

}  // namespace klaxon
