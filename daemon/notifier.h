// Notifier: tells people about incidents, and keeps the proof (ARCHITECTURE.md
// "Notification"). It joins the routing library (pipeline/notify/: routes, aggregation groups,
// silences, inhibition), the sinks (pipeline/sinks/: bytes and delivery) and the incident
// chains (every decision and every attempt is an event).
//
// What it does with each durable incident state (IncidentWriter::set_on_written):
//   - open or acknowledged: an item in the Dispatcher (labels from incident_labels()); its
//     flushes become trigger / update / repeat notifications; a version change (severity rose,
//     alerts joined) is news at the next group_interval, which is the update's rate limit.
//   - acknowledged: an acknowledge notice to every receiver told so far; escalation stops.
//   - resolved: the item resolves; receivers with send_resolved hear it at the next flush.
//   - closed: the closure notice, to every receiver told so far (escalation receivers too).
//   - reopened: fires again (a new version).
// The notification matrix (`notify.policies`: severity x category) adds, per incident, an
// acknowledgement deadline and escalation levels (receivers told when nobody acknowledged
// `after` the incident opened) and an optional external-report deadline (e.g. 72 h for a CUI
// incident), whose receivers are told `warn_before` it.
//
// Proof and persistence (column family `outbox`, storage/store.h):
//   "o/<id>"  every request, written before it is handed to the Deliverer, deleted on a final
//             outcome; after a crash the rest is sent again (same bytes, same idempotency key).
//   "n/<id>"  what each receiver was told of each incident (its notification log), escalation
//             level and report warning: a restart does not page twice.
//   "s/<id>"  silences.
// Every attempt becomes a notification_delivered / notification_failed event on the incident's
// chain (receiver, integration, status, latency, SHA-256 of the bytes sent); every muted
// notification a notification_suppressed event with the reason; each escalation an escalated
// event. Events go through the correlation shard that owns the chain (IncidentOp).
//
// Threads: one notifier thread owns the Dispatcher and the tracked incidents; on_commit() (the
// incident writer's thread) and delivery results (the Deliverer's thread) only queue. The
// silence calls of the API (I/O thread) take the same mutex the notifier thread holds while it
// works.
#pragma once

#include "daemon/incident_api.h"
#include "pipeline/notify/dispatch.h"
#include "pipeline/sinks/config.h"
#include "pipeline/sinks/deliverer.h"
#include "pipeline/stages/correlate.h"
#include "storage/store.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace klaxon {

// One row of the notification matrix, matched in order; the first that fits applies.
struct NotifyPolicy {
  std::vector<std::string> severities;  // empty: any
  std::vector<std::string> categories;  // empty: any
  int64_t ack_deadline_ns = 0;          // 0: the first escalation level's `after`, or none
  struct Level {
    int64_t after_ns = 0;  // since the incident opened (or reopened), unacknowledged
    std::vector<std::string> receivers;
  };
  std::vector<Level> escalation;
  int64_t report_deadline_ns = 0;  // since the incident opened; 0: none
  int64_t report_warn_before_ns = 0;
  std::vector<std::string> report_receivers;  // empty: everyone told so far
};

struct NotifierConfig {
  std::shared_ptr<const notify::NotifyRouting> routing;
  std::vector<sinks::IntegrationConfig> integrations;  // every receiver's, unique names
  std::map<std::string, std::vector<size_t>> receiver_integrations;
  std::vector<NotifyPolicy> policies;
  std::string external_url;
};

// Parses the `notify:` map (route, receivers, inhibit_rules, policies, external_url). Errors
// name the key. Receivers named by policies must exist.
Result<NotifierConfig> parse_notifier_config(const std::string& yaml_text);

// The labels an incident is routed, silenced and inhibited by: severity, category, status,
// rule, title, incident (id), flapping, and the first host, source_ip, destination_ip, user
// among its observables.
notify::Labels incident_labels(const Incident& in);

struct NotifierOptions {
  int64_t tick_ns = 200'000'000;  // how often timers are looked at, at the least
  sinks::DelivererOptions delivery;
};

class Notifier final : public SilenceService {
 public:
  // Loads the notification log, silences and the outbox, re-sends what the outbox holds,
  // takes in every incident not closed (so that a crash between a commit and its notification
  // loses nothing), and starts the notifier thread.
  static Result<std::unique_ptr<Notifier>> start(Store& store, CorrelateStage& correlate,
                                                 NotifierConfig config,
                                                 prometheus::Registry& registry,
                                                 NotifierOptions options = {});
  ~Notifier() override;

  // SIGHUP: new routes, inhibit rules, policies and external_url apply at once (aggregation
  // groups are rebuilt; what receivers were told is kept). A change to the receivers'
  // integrations (URLs, keys, limits) needs a restart: kInvalidArgument, nothing changed.
  Status reload(NotifierConfig config);

  // IncidentWriter::set_on_written: queues the commit's incident states. Never blocks long.
  void on_commit(const IncidentCommit& commit);
  // Stops the thread and the Deliverer (what is unsent stays in the outbox); the last attempt
  // results become events. Call before the correlate stage stops. The destructor stops too
  // but records nothing (the stage may be gone).
  void stop() { stop(true); }

  Result<std::string> create_silence(std::string_view body, const std::string& actor) override;
  Result<std::string> expire_silence(std::string_view id, const std::string& actor) override;
  std::string list_silences_json() override;

 private:
  struct Tracked;
  Notifier(Store& store, CorrelateStage& correlate, NotifierConfig config,
           prometheus::Registry& registry, NotifierOptions options);
  void stop(bool record);
  Status load();
  void run();
  void take_state(const Incident& in, int64_t now);
  void advance(int64_t now);
  void on_attempt(const sinks::AttemptResult& r);
  void record_attempt(const sinks::AttemptResult& r);
  void send(notify::Notification n, const std::vector<Tracked*>& about);
  void tell_directly(Tracked& t, notify::NotifyKind kind, const std::vector<std::string>& receivers,
                     const std::string& reason, int64_t now);
  void event(const Incident& in, IncidentEventType type, std::string actor, std::string data);
  void persist(const Tracked& t);
  // Writes this round's outbox puts and deletes as one batch, then hands the new requests to
  // the Deliverer (the intent is written before anything is sent).
  void flush_outbox();
  notify::IncidentView view_of(const Tracked& t) const;
  const NotifyPolicy* policy_for(const Incident& in) const;

  Store& store_;
  CorrelateStage& correlate_;
  NotifierConfig config_;
  NotifierOptions options_;
  std::unique_ptr<sinks::Deliverer> deliverer_;

  std::mutex mu_;  // the dispatcher and tracked incidents (notifier thread, silence calls)
  std::unique_ptr<notify::Dispatcher> dispatcher_;
  std::unordered_map<std::string, std::unique_ptr<Tracked>> tracked_;  // by incident id text
  uint64_t next_outbox_id_ = 1;
  int64_t next_deadline_scan_ns_ = 0;
  std::vector<std::pair<std::string, std::string>> outbox_puts_;  // this round's, under mu_
  std::vector<std::string> outbox_deletes_;
  std::vector<std::pair<uint64_t, sinks::OutboundRequest>> outbox_submits_;

  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::vector<std::string> inbox_states_;  // encoded incidents
  std::vector<sinks::AttemptResult> inbox_results_;
  bool stopping_ = false;
  std::thread thread_;

  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Family<prometheus::Counter>& suppressed_;
  prometheus::Counter& escalations_;
  prometheus::Gauge& tracked_gauge_;
  prometheus::Gauge& outbox_gauge_;
  int64_t outbox_pending_ = 0;
};

}  // namespace klaxon
