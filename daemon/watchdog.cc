#include "daemon/watchdog.h"

#include "pipeline/core/batch.h"
#include "pipeline/core/incident.h"
#include "pipeline/core/log.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/stages/correlate.h"

#include <boost/asio/post.hpp>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <cstdio>

namespace klaxon {

namespace {

std::string seconds_text(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(d.count()) / 1e6);
  return buf;
}

}  // namespace

Watchdog::Watchdog(std::vector<Probe> probes, Options options)
    : probes_(std::move(probes)), state_(probes_.size()), options_(std::move(options)) {
  if (!options_.ping) options_.ping = [] { sd_notify(0, "WATCHDOG=1"); };
}

Watchdog::~Watchdog() { stop(); }

void Watchdog::start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    do {
      lock.unlock();
      tick(Clock::now());
      lock.lock();
    } while (!cv_.wait_for(lock, options_.period, [this] { return stopping_; }));
  });
}

void Watchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Watchdog::tick(Clock::time_point now) {
  bool healthy = true;
  for (size_t i = 0; i < probes_.size(); ++i) {
    const Sample s = probes_[i].sample();
    State& st = state_[i];
    if (first_ || !s.busy || s.progress != st.progress) {
      st.last_ok = now;
      st.progress = s.progress;
      if (st.stalled) {
        st.stalled = false;
        log_event(LogLevel::kInfo, "watchdog", "stage moving again, pinging systemd again",
                  {{"stage", probes_[i].name}});
      }
      continue;
    }
    if (now - st.last_ok <= options_.stall_limit) continue;
    healthy = false;
    if (!st.stalled) {
      // Logged once per stall: systemd's kill follows within one watchdog interval.
      st.stalled = true;
      log_event(
          LogLevel::kError, "watchdog",
          "stage has work waiting but made no progress: no longer pinging systemd",
          {{"stage", probes_[i].name},
           {"stalled_seconds", seconds_text(std::chrono::duration_cast<std::chrono::microseconds>(
                                   now - st.last_ok))}});
    }
  }
  first_ = false;
  if (healthy) options_.ping();
  return healthy;
}

std::chrono::microseconds systemd_watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

Watchdog::Probe io_context_probe(boost::asio::io_context& io, std::string name) {
  // Shared with the posted handler, which may outlive the probe (or never run).
  struct Beat {
    std::atomic<bool> pending{false};
    std::atomic<uint64_t> count{0};
  };
  auto beat = std::make_shared<Beat>();
  return {std::move(name), [&io, beat] {
            Watchdog::Sample s;
            if (io.stopped()) return s;
            s.busy = beat->pending.load();
            s.progress = static_cast<double>(beat->count.load());
            if (!s.busy) {
              beat->pending.store(true);
              boost::asio::post(io, [beat] {
                beat->count.fetch_add(1);
                beat->pending.store(false);
              });
            }
            return s;
          }};
}

std::unique_ptr<Watchdog> start_pipeline_watchdog(
    boost::asio::io_context& io, const BoundedQueue<RawBatch>& parse_queue,
    const BoundedQueue<EncodedBlock>& persist_queue,
    const BoundedQueue<IncidentCommit>& incident_queue, const CorrelateStage* correlate,
    const PipelineMetrics& metrics) {
  const std::chrono::microseconds interval = systemd_watchdog_interval();
  if (interval.count() == 0) return nullptr;
  // Progress is read from the metrics each stage already keeps: every batch a stage finishes
  // moves one of them. A stuck stage also stops the stages before it (full queues), so the
  // probes of those stall too.
  const PipelineMetrics* m = &metrics;
  std::vector<Watchdog::Probe> probes;
  probes.push_back(io_context_probe(io, "io"));
  probes.push_back({"parse", [&parse_queue, m] {
                      double done = m->parse_accepted->Value();
                      for (const auto* r : m->rejected) done += r ? r->Value() : 0.0;
                      return Watchdog::Sample{parse_queue.size() > 0, done};
                    }});
  probes.push_back({"persist", [&persist_queue, m] {
                      return Watchdog::Sample{persist_queue.size() > 0,
                                              m->commits->Value() + m->commit_errors->Value()};
                    }});
  if (correlate) {
    // A shard finishes each batch by handing the incident writer a commit.
    probes.push_back({"correlate", [correlate, m] {
                        return Watchdog::Sample{
                            correlate->queued() > 0,
                            m->incident_commits->Value() + m->correlate_new_incident->Value() +
                                m->correlate_linked->Value() + m->correlate_duplicate->Value() +
                                m->correlate_replayed->Value()};
                      }});
  }
  probes.push_back({"incident_writer", [&incident_queue, m] {
                      return Watchdog::Sample{
                          incident_queue.size() > 0,
                          m->incident_commits->Value() + m->incident_commit_errors->Value()};
                    }});
  Watchdog::Options o;
  o.period = interval / 2;
  o.stall_limit = interval;
  auto w = std::make_unique<Watchdog>(std::move(probes), o);
  w->start();
  log_event(
      LogLevel::kInfo, "watchdog", "pinging the systemd watchdog",
      {{"interval_seconds", seconds_text(interval)}, {"every_seconds", seconds_text(o.period)}});
  return w;
}

}  // namespace klaxon
