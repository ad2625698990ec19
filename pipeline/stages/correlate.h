// The correlate stage: durable alerts in, incidents and their hash-chained events out
// (ARCHITECTURE.md "Correlation").
//
// Data flow and threads:
//   parse workers   CorrelationExtractor::add() per accepted alert -> a CorrelationBatch
//                   riding along with the alert block (no locks; the extractor is const)
//   writer thread   after the block is durable, stamps alert sequences and calls submit(),
//                   which splits the batch by group key among the shards (blocks when a shard
//                   queue is full: backpressure)
//   shard threads   each owns a hash range of group keys: its DedupeTable, the active
//                   incident of each of its groups, their chain heads. Shared nothing, no
//                   locks. Per batch it emits events and incident states as one
//                   IncidentCommit for the incident writer (storage/incident_writer.h).
//
// Per alert (event time decides, see CorrelateOptions):
//   - same fingerprint as an alert of the group's active incident within the dedupe window:
//     a duplicate. Counted on the incident (occurrences, last seen); no event per duplicate:
//     the next alert_linked event carries the count, and a summary event goes out at most
//     once per duplicate_summary interval of event time.
//   - otherwise, when the group has an active incident (open or acknowledged) and the alert
//     is no later than its last_seen + group_window: linked. The links are written as one
//     alert_linked event per incident per flush (once a second, or per 1,000 alerts, or
//     with the incident's next other event); a higher severity raises the incident's with a
//     severity_changed event at once.
//   - otherwise: a new incident, id derived from the alert's sequence (make_incident_id), with
//     a created event.
//
// Crash safety: a shard's events, incident states and covered sequence are written in one
// WriteBatch; a stored state never counts a linked alert that no stored event lists, and the
// covered sequence moves only when every pending state is written (once a second). After a crash,
// restore() reloads the open incidents and the covered sequences, and the daemon replays the alert
// log from replay_from(): alerts a shard already covered are skipped, as are alerts at or below an
// incident's last linked sequence, and ids are derived from sequences, so a replay never opens a
// second incident for the same alerts. The dedupe table is checkpointed every
// dedupe_checkpoint_ns (and at shutdown) with the sequence it covers; the replay starts early
// enough to feed the alerts after it to the table alone, so after a crash repeats are
// recognised as they would have been.
#pragma once

#include "pipeline/core/correlation.h"
#include "pipeline/core/incident.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/stages/dedupe.h"
#include "pipeline/stages/fingerprint.h"
#include "pipeline/stages/sigma/alert_fields.h"
#include "pipeline/stages/sigma/correlator.h"
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/rules.h"

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace klaxon {

// Incident flapping: an incident that resolves and reopens `threshold` times within
// `window` is marked flapping (an event), and is unmarked (another event) once it has gone a
// whole window without reopening: two thresholds (n reopens to set, none to clear) so that
// the mark does not itself flap.
struct FlapOptions {
  int threshold = 3;                           // `correlate.flapping.reopens`
  int64_t window_ns = 3600LL * 1'000'000'000;  // `correlate.flapping.window`
};

struct CorrelateOptions {
  bool enabled = true;
  int shards = 2;                                       // config `correlate.shards`
  Severity min_severity = Severity::kLow;               // lower alerts are stored, not correlated
  FingerprintKey dedupe_key;                            // `dedupe.key`
  DedupeOptions dedupe;                                 // `dedupe.window`, `dedupe.max_entries`
  FingerprintKey group_key = default_group_key();       // `correlate.group_by`
  int64_t group_window_ns = 3600LL * 1'000'000'000;     // `correlate.group_window`
  int64_t allowed_lateness_ns = 300LL * 1'000'000'000;  // `correlate.allowed_lateness`
  int64_t max_future_ns = 300LL * 1'000'000'000;        // event times capped at arrival+this
  int64_t duplicate_summary_ns = 60LL * 1'000'000'000;  // `correlate.duplicate_summary`
  int64_t dedupe_checkpoint_ns = 60LL * 1'000'000'000;  // `dedupe.checkpoint_interval`
  size_t shard_queue_capacity = 256;
  FlapOptions flapping;
  // Sigma rules (`correlate.rules`): base rules matched on the parse workers, correlation
  // rules (event_count, value_count, temporal, ...) evaluated on the shards; a firing raises
  // an incident of the rule's level. Null: none.
  std::shared_ptr<const sigma::RuleSet> rules;
  sigma::CorrelatorOptions sigma;

  // host.name (falling back to the syslog hostname), rule.id, rule.name.
  static FingerprintKey default_group_key();
};

// What became of an IncidentOp, for its `done` callback.
struct IncidentOpResult {
  Status status = ok_status();  // kNotFound: no such incident; kConflict: not in its status
  Incident state;               // after the operation
  uint64_t event_seq = 0;
  Hash256 event_hash{};
};

// A change to an incident from outside the alert stream (an enrichment result, a
// notification attempt; the API's acknowledgement, note or resolution). The shard that owns
// the incident's group applies it as an event on the incident's hash chain: that shard is
// the chain's only writer. Status changes follow the lifecycle:
//   acknowledged  from open                resolved  from open or acknowledged
//   closed        from any but closed      reopened  from resolved or closed (counts a reopen)
//   assigned      from any but closed      other types (notes, enrichment, notifications): any
// and are refused with kConflict otherwise (no event is written).
struct IncidentOp {
  IncidentId incident;
  uint64_t group_hash = 0;  // Incident::group_hash: routes to the owning shard
  IncidentEventType type = IncidentEventType::kEnriched;
  std::string actor;     // "enrich", "user:alice"
  std::string data;      // the event's JSON object
  std::string assignee;  // kAssigned: the new assignee ("" unassigns)
  int64_t time_ns = 0;
  // Optional; called once: after the event is durable (on the incident writer's thread), or
  // at once when the operation is refused (on the shard thread). Must not block.
  std::function<void(IncidentOpResult)> done;
};

// Reads an incident the shard no longer holds in memory (closed, or out of its group window)
// from the store. Called on shard threads; must be thread-safe.
using IncidentLoader = std::function<Result<Incident>(const IncidentId&)>;

// Called on a shard thread right after an incident is created (enrichment requests start
// here). Must not block.
using IncidentCreatedHook = std::function<void(const Incident&)>;

// Fills a CorrelationBatch from alerts: one per thread (it holds the Sigma detector's
// scratch).
class CorrelationExtractor {
 public:
  explicit CorrelationExtractor(std::shared_ptr<const CorrelateOptions> options);
  // Adds the alert as item `index` of `batch`, unless it is below min_severity (returns false;
  // Sigma rules still see it). `record` is where the alert's stored record lies in the
  // batch's arena.
  bool add(const Alert& alert, uint32_t index, ArenaRef record, CorrelationBatch& batch);
  uint64_t sigma_matches() const { return sigma_matches_; }  // base-rule matches so far

 private:
  std::shared_ptr<const CorrelateOptions> options_;
  std::unique_ptr<sigma::Detector> detector_;
  std::unique_ptr<sigma::AlertFieldSource> fields_;
  sigma::DetectScratch scratch_;
  std::vector<uint32_t> matched_;
  uint64_t sigma_matches_ = 0;
};

class CorrelateStage {
 public:
  CorrelateStage(std::shared_ptr<const CorrelateOptions> options,
                 const std::array<uint8_t, 16>& secret, BoundedQueue<IncidentCommit>& out,
                 PipelineMetrics& metrics);
  ~CorrelateStage();

  // Before start(): the incidents that are not closed, each shard's covered sequence
  // (Store::covered_sequences()) and its last dedupe checkpoint (meta `corr/dedupe/<shard>`:
  // u64 sequence covered, then DedupeTable::append_snapshot(); index = shard, may be empty).
  // `stored_shards` is the shard count that wrote them (meta `corr/shards`). With the same
  // count, a shard with no covered sequence yet has covered nothing (its first commit may
  // have been lost to a crash while another shard's landed); with another count every shard
  // starts from the smallest covered sequence and no checkpoint applies. 0: unknown (data
  // from before `corr/shards` existed): the number of covered sequences is taken for it.
  void restore(std::vector<Incident> incidents, const std::vector<uint64_t>& covered,
               const std::vector<std::string>& dedupe_checkpoints = {}, size_t stored_shards = 0);
  // The first alert sequence some shard has not covered: replay the log from here.
  uint64_t replay_from() const;

  // Before start().
  void set_created_hook(IncidentCreatedHook hook) { created_hook_ = std::move(hook); }
  void set_loader(IncidentLoader loader) { loader_ = std::move(loader); }
  void start();
  // Any thread; never blocks. Applied within about 50 ms by the owning shard, or counted and
  // dropped: when that shard's operation queue is full, or when the incident is no longer
  // held in memory (closed, or its group window passed).
  bool apply(IncidentOp op);
  // Writer thread (or the start-up replay): items stamped with their sequences, in sequence
  // order across calls. Blocks while a shard queue is full.
  void submit(std::unique_ptr<CorrelationBatch> batch);
  // Returns once every submitted batch is processed and its commit handed on.
  void drain_and_stop();

  size_t shard_count() const { return shards_.size(); }
  size_t queued() const;  // batches waiting in the shard queues (any thread)
  size_t shard_of(uint64_t group) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(group) * shards_.size()) >> 64);
  }

 private:
  struct Shard;
  std::shared_ptr<const CorrelateOptions> options_;
  std::array<uint8_t, 16> secret_;
  BoundedQueue<IncidentCommit>& out_;
  PipelineMetrics& metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
  IncidentCreatedHook created_hook_;
  IncidentLoader loader_;
  std::atomic<bool> stopping_{false};
};

}  // namespace klaxon
