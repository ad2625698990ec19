// Deliverer: sends OutboundRequests to their integrations, with retries, and reports every
// attempt — the proof of transmission (status, time, SHA-256 of the bytes sent).
//
// Ownership: the Deliverer owns one thread, one libcurl multi handle shared by all
// integrations (HTTP and SMTP transfers side by side), and per integration a bounded queue,
// a token bucket and its metrics. Requests are moved in by submit() and leave through the
// callback with a final outcome (delivered, failed, dropped) or, at stop(), in the list of
// unfinished ids. The caller owns persistence: it writes the request to its outbox before
// submit(), records each AttemptResult, and deletes the outbox entry on a final outcome.
//
// Threads: submit() may be called from any thread and never blocks on the network: it
// takes a mutex for a queue push and wakes the delivery thread. The callback runs on the
// delivery thread; it must not throw and should be quick (it delays every integration).
// stop() is called once, from one thread other than the delivery thread (not from the
// callback: it joins that thread); the destructor calls it when nobody did.
//
// Isolation: each integration has its own queue, in-flight limit and per-request timeout,
// and libcurl resolves names asynchronously, so a receiver that accepts and never answers
// holds only its own requests until their timeout.
//
// Order: requests about the same incident to the same integration go one at a time, in
// submission order, even across retries: a PagerDuty resolve never overtakes its trigger.
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/notify/notification.h"
#include "pipeline/sinks/config.h"
#include "pipeline/sinks/request.h"

#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sinks {

// One attempt, or a drop. Final outcomes: kDelivered, kFailed, kDropped.
struct AttemptResult {
  uint64_t id = 0;  // the caller's id from submit()
  std::string integration;
  std::string receiver;
  notify::NotifyKind kind = notify::NotifyKind::kTrigger;
  std::string idempotency_key;
  std::vector<std::string> incident_ids;
  int attempt = 0;       // 1 for the first attempt (counting previous_attempts); 0 if dropped
  long http_status = 0;  // SMTP reply code for email; 0 on network error
  std::string error;     // "" when delivered
  int64_t sent_ns = 0;   // wall clock when the attempt started
  int64_t latency_ns = 0;
  std::string body_sha256;  // hex of the exact bytes sent
  enum Outcome { kDelivered, kRetrying, kFailed, kDropped } outcome = kFailed;
  int64_t next_attempt_ns = 0;  // wall clock of the next attempt when kRetrying
};
const char* outcome_name(AttemptResult::Outcome o);  // delivered, retrying, failed, dropped

struct DelivererOptions {
  int64_t backoff_base_ns = 1'000'000'000;   // first retry waits up to this
  int64_t backoff_cap_ns = 300'000'000'000;  // no wait longer than 5 min (Retry-After aside)
  uint64_t seed = 0;                         // jitter; 0: from std::random_device
};

class Deliverer {
 public:
  using Callback = std::function<void(const AttemptResult&)>;

  // Starts the delivery thread. Integration names must be unique (parse_integrations makes
  // them so for one receiver; the caller across receivers).
  static Result<std::unique_ptr<Deliverer>> start(std::vector<IntegrationConfig> integrations,
                                                  Callback on_attempt,
                                                  prometheus::Registry& registry,
                                                  DelivererOptions options = {});
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Queues a request for its integration (request.integration). True when queued. False
  // when refused: after stop(), for an unknown integration (no callback: the caller keeps
  // the outbox entry), or when the queue is full under drop_newest (the callback also
  // reports it as kDropped). Under drop_oldest a full queue drops its oldest waiting request
  // instead (reported kDropped). Counted in klaxon_sink_dropped_total{reason="queue_full"}.
  bool submit(uint64_t id, OutboundRequest request);

  // Stops taking work and starting attempts, lets requests in flight finish until
  // `deadline`, then aborts the rest. Returns the ids without a final outcome (queued,
  // waiting to retry, aborted in flight): the caller keeps them in its outbox. Joins the
  // delivery thread; later calls return an empty list.
  std::vector<uint64_t> stop(std::chrono::steady_clock::time_point deadline);

  // Requests held for an integration (queued, waiting to retry, in flight); 0 if unknown.
  size_t held(std::string_view integration) const;

  struct Impl;

 private:
  explicit Deliverer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace klaxon::sinks
