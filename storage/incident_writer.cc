#include "storage/incident_writer.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"
#include "storage/group_loop.h"

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
  run_group_loop(
      in_, max_group_, stopping_, "incident", metrics_.incident_commit_errors,
      [&](const std::vector<const IncidentCommit*>& views) -> Result<bool> {
        KLAXON_TRY(store_.commit_incidents(views));
        return true;
      },
      [&](std::vector<std::unique_ptr<IncidentCommit>>& group, bool, int64_t commit_ns) {
        int64_t oldest = 0;
        for (auto& c : group) {
          if (on_written_) on_written_(*c);
          for (auto& cb : c->on_durable) cb();
          if (c->oldest_enqueued_ns && (oldest == 0 || c->oldest_enqueued_ns < oldest))
            oldest = c->oldest_enqueued_ns;
        }
        metrics_.incident_commit_seconds->Observe(static_cast<double>(commit_ns) * 1e-9);
        metrics_.incident_commits->Increment();
        if (oldest > 0)
          metrics_.incident_latency_seconds->Observe(static_cast<double>(monotonic_ns() - oldest) *
                                                     1e-9);
      });
}

}  // namespace klaxon
