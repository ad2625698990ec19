// The loop both writer threads run (GroupCommitWriter for alerts, IncidentWriter for
// incidents): pop everything waiting (up to max_group items) as one group, commit it, and
// retry a failed commit with backoff forever, never dropping it (the producers stall behind
// it: backpressure). Returns once `stopping` is set and the queue is empty.
//
// commit(views) returns Result<R>; done(group, result, commit_ns) runs after each successful
// commit. Called on the writer thread only.
#pragma once

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"
#include "pipeline/core/queue.h"

#include <prometheus/counter.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace klaxon {

template <typename T, typename CommitFn, typename DoneFn>
void run_group_loop(BoundedQueue<T>& in, size_t max_group, const std::atomic<bool>& stopping,
                    const char* what, prometheus::Counter* errors, CommitFn&& commit,
                    DoneFn&& done) {
  std::vector<std::unique_ptr<T>> group;
  std::vector<const T*> views;
  for (;;) {
    auto first = in.pop_wait(std::chrono::milliseconds(50));
    if (!first) {
      if (stopping.load() && in.size() == 0) break;
      continue;
    }
    group.clear();
    group.push_back(std::move(first));
    while (group.size() < max_group) {
      auto more = in.try_pop();
      if (!more) break;
      group.push_back(std::move(more));
    }
    views.clear();
    for (auto& item : group) views.push_back(item.get());
    const int64_t t0 = monotonic_ns();
    for (int attempt = 0;; ++attempt) {
      auto r = commit(views);
      if (r.has_value()) {
        done(group, *r, monotonic_ns() - t0);
        break;
      }
      errors->Increment();
      log_event(LogLevel::kError, "storage", std::string(what) + " commit failed, retrying",
                {{"error", r.error().to_string()}, {"attempt", std::to_string(attempt)}});
      const int delay_ms = std::min(1000, 10 << std::min(attempt, 7));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
  }
}

}  // namespace klaxon
