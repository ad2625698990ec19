// Watchdog: feeds systemd's WatchdogSec= while the pipeline is alive, and only then.
//
// With WatchdogSec= in the unit, systemd passes WATCHDOG_USEC (and WATCHDOG_PID) and kills the
// process (SIGABRT, then Restart=on-failure) when no "WATCHDOG=1" arrives within that time. A
// blind timer would keep a wedged daemon alive, so each ping depends on probes: a probe names
// a stage, says whether work is waiting for it (busy) and reads a number that grows whenever
// the stage gets work done (progress). An idle stage is healthy; a busy stage whose progress
// has not moved for longer than `stall_limit` is stalled. While any stage is stalled the
// watchdog logs it (once per stall) and sends no pings, so systemd restarts klaxond between
// stall_limit and stall_limit + WATCHDOG_USEC after the stage stopped.
//
// Threads: one of its own, ticking every `period` (half of WATCHDOG_USEC for klaxond). Probes
// run on that thread, so they must only read thread-safe state (atomic counters, queue
// sizes). tick() is public so tests can drive it with their own clock. The destructor stops
// and joins the thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace klaxon {

class CorrelateStage;
struct PipelineMetrics;
struct RawBatch;
struct EncodedBlock;
struct IncidentCommit;
template <typename T>
class BoundedQueue;

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    bool busy = false;      // work is waiting for the stage
    double progress = 0.0;  // grows when the stage gets work done
  };
  struct Probe {
    std::string name;
    std::function<Sample()> sample;
  };
  struct Options {
    std::chrono::microseconds period{15'000'000};       // between ticks (and pings)
    std::chrono::microseconds stall_limit{30'000'000};  // busy without progress this long: stalled
    std::function<void()> ping;                         // default: sd_notify("WATCHDOG=1")
  };

  Watchdog(std::vector<Probe> probes, Options options);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void start();
  void stop();
  // Samples every probe and pings when none is stalled; returns whether it pinged.
  bool tick(Clock::time_point now);

 private:
  struct State {
    double progress = 0.0;
    Clock::time_point last_ok{};  // last time the stage was idle or had moved
    bool stalled = false;         // logged as stalled, not yet recovered
  };

  std::vector<Probe> probes_;
  std::vector<State> state_;
  Options options_;
  bool first_ = true;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The interval systemd expects pings within (WATCHDOG_USEC, when WATCHDOG_PID is unset or
// names this process); zero when no watchdog is configured.
std::chrono::microseconds systemd_watchdog_interval();

// A probe of an Asio event loop: a no-op posted on one tick must have run by a later one.
// A stopped loop counts as idle (klaxond stops its loop when it starts draining).
Watchdog::Probe io_context_probe(boost::asio::io_context& io, std::string name);

// klaxond's watchdog: probes for the I/O thread, the parse workers, the group-commit writer,
// the correlation shards (correlate may be null) and the incident writer, pinging every half
// of WATCHDOG_USEC with a stall limit of WATCHDOG_USEC. Null when systemd asked for none.
// Everything passed in must outlive the returned object.
std::unique_ptr<Watchdog> start_pipeline_watchdog(
    boost::asio::io_context& io, const BoundedQueue<RawBatch>& parse_queue,
    const BoundedQueue<EncodedBlock>& persist_queue,
    const BoundedQueue<IncidentCommit>& incident_queue, const CorrelateStage* correlate,
    const PipelineMetrics& metrics);

}  // namespace klaxon
