#include "storage/incident_writer.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

namespace klaxon {

IncidentWriter::IncidentWriter(Store& store, BoundedQueue<IncidentCommit>& in,
                               PipelineMetrics& metrics, size_t max_group)
    : store_(store), in_(in), metrics_(metrics), max_group_(max_group) {}

IncidentWriter::~IncidentWriter() { drain_and_stop(); }

void IncidentWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void IncidentWriter::drain_and_stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

void IncidentWriter::run() {
  std::vector<std::unique_ptr<IncidentCommit>> group;
  std::vector<const IncidentCommit*> views;
  for (;;) {
    auto first = in_.pop_wait(std::chrono::milliseconds(50));
    if (!first) {
      if (stopping_.load() && in_.size() == 0) break;
      continue;
    }
    group.clear();
    group.push_back(std::move(first));
    while (group.size() < max_group_) {
      auto more = in_.try_pop();
      if (!more) break;
      group.push_back(std::move(more));
    }
    views.clear();
    int64_t oldest = 0;
    for (auto& c : group) {
      views.push_back(c.get());
      if (c->oldest_enqueued_ns && (oldest == 0 || c->oldest_enqueued_ns < oldest))
        oldest = c->oldest_enqueued_ns;
    }
    const int64_t t0 = monotonic_ns();
    int attempt = 0;
    for (;;) {
      auto r = store_.commit_incidents(views);
      if (r.has_value()) break;
      // Never drop evidence: keep the group and retry; the shards wait behind it.
      metrics_.incident_commit_errors->Increment();
      log_event(LogLevel::kError, "storage", "incident commit failed, retrying",
                {{"error", r.error().to_string()}, {"attempt", std::to_string(attempt)}});
      const int delay_ms = std::min(1000, 10 << std::min(attempt++, 7));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    const int64_t t1 = monotonic_ns();
    metrics_.incident_commit_seconds->Observe(static_cast<double>(t1 - t0) * 1e-9);
    metrics_.incident_commits->Increment();
    if (oldest > 0)
      metrics_.incident_latency_seconds->Observe(static_cast<double>(t1 - oldest) * 1e-9);
  }
}

}  // namespace klaxon
