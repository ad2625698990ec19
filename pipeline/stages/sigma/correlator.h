// The stateful half of Sigma: correlation windows per (correlation rule, group key), fed by
// CorrelationUpdates, producing Firings.
//
// Owner and threads: one Correlator per shard thread, which owns the hash range of the
// group keys routed to it (route an update by `key_hash % shards`; the table uses the high
// bits). No locks, no atomics, no clock: every time is the event time carried by the update
// (ns), and the only notion of "now" is the shard's watermark, the largest event time it has
// seen. The RuleSet is shared read-only with the Detector that built the updates (same
// RuleSet object, or the indices do not line up).
//
// Window semantics (event time decides, as in rsigma; see pipeline/README.md for the table):
//   sliding   the window of a group ends at the latest event time it has seen (T) and holds
//             the entries with time >= T - timespan (both ends inclusive). A late event with
//             time < T - timespan is discarded; later ones are inserted in time order, so
//             what a window holds does not depend on arrival order.
//   tumbling  buckets [k*timespan, (k+1)*timespan); an event of a later bucket starts a new
//             window, one of an earlier bucket is discarded (it must not wipe the active one).
//   session   extends while events are at most `gap` apart; an event more than `gap` after
//             the latest, or more than `timespan` after the session's first, starts a new one.
// The condition is checked after every update of a group; without suppression it fires on
// every update while it holds (rsigma's default). `suppress` withholds firings of the same
// (correlation, group) for that long after one; action `reset` clears the window after one.
//
// Bounds (each hit is counted in CorrelatorStats): max_group_entries per window (the oldest
// entries go first; a session keeps its start), max_state_entries groups and
// max_total_entries window entries over all groups (beyond either, the group closest to
// expiry among kEvictionCandidates sampled goes, as in the dedupe table). Groups whose
// windows and suppression ended before the watermark (minus allowed lateness) are removed by
// a clock hand that sweeps the group array a few groups per update (sequential memory, no
// list to maintain), or by expire(). Expiry only frees memory: for an event no further
// behind the watermark than allowed_lateness, an expired group behaves exactly like a new
// one, so results do not depend on when the sweep runs (later events may differ).
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/result.h"
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/rules.h"

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

enum class TimestampFallback : uint8_t {
  kSkip,       // an update without event time changes no state (counted)
  kWatermark,  // it is taken to happen at the shard's watermark (skipped before the first)
};

struct CorrelatorOptions {
  // rsigma `suppress`: after a firing, the same (correlation, group key) does not fire again
  // until this much event time has passed. 0 = off. A rule's klaxon.suppress overrides it.
  int64_t suppress_ns = 0;
  // rsigma `action_on_match`. A rule's klaxon.action overrides it.
  MatchAction action_on_match = MatchAction::kContinue;
  TimestampFallback timestamp_fallback = TimestampFallback::kSkip;
  // Events (event_count) or entries (other types) one window keeps; the oldest are dropped
  // beyond it. An event_count rule needing more than this can never fire: size it to the
  // largest threshold. A rule's klaxon.max_group_entries overrides it.
  uint64_t max_group_entries = 100'000;
  // Groups per Correlator (per shard).
  size_t max_state_entries = 1'000'000;
  // Window entries over all groups (16 bytes each; event_count stores one entry per distinct
  // event time, not per event).
  size_t max_total_entries = size_t{1} << 24;
  // How far behind the watermark an event may arrive and still find its group's state.
  int64_t allowed_lateness_ns = 0;
  // Groups the clock hand examines for expiry on each update. With b per update an expired
  // group waits at most groups/b updates, so about b/(b-1) times the live groups are held.
  size_t expire_per_update = 4;

  // kInvalidArgument naming the option and its range.
  Status validate() const;
};

struct CorrelatorStats {
  uint64_t updates = 0;
  uint64_t firings = 0;
  uint64_t suppressed = 0;         // condition held but suppressed
  uint64_t skipped_no_time = 0;    // updates without time under TimestampFallback::kSkip
  uint64_t late_discarded = 0;     // before the group's window (see window semantics)
  uint64_t window_resets = 0;      // tumbling/session windows restarted, action reset
  uint64_t entries_truncated = 0;  // dropped by max_group_entries
  uint64_t evicted_capacity = 0;   // groups dropped by max_state_entries (state lost!)
  uint64_t evicted_memory = 0;     // groups dropped by max_total_entries (state lost!)
  uint64_t expired = 0;            // groups removed because their windows ended
  uint64_t invalid_updates = 0;    // correlation index out of range (a RuleSet mix-up)
};

struct Firing {
  uint32_t correlation = 0;            // index into RuleSet::correlations()
  Severity level = Severity::kMedium;  // the rule's level, else the highest of its rules
  int64_t time_ns = 0;                 // event time of the update that fired
  double value = 0;                    // count, distinct count, sum, average or percentile
  std::vector<GroupValue> group;       // group-by fields in order, with the events' values
};

class Correlator {
 public:
  // KLAXON_CHECKs options.validate(): validate config first.
  explicit Correlator(std::shared_ptr<const RuleSet> rules, CorrelatorOptions options = {});
  ~Correlator();
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;

  // One update (key: its encoded group key). Appends firings to `out`. Amortised O(1) for
  // event_count, value_sum and value_avg; the others scan their window (bounded by
  // max_group_entries). Allocates when a new group or a window grows.
  void apply(const CorrelationUpdate& u, std::string_view key, std::vector<Firing>& out);
  void apply(const UpdateBatch& batch, std::vector<Firing>& out);

  // Moves the clock hand over up to max_work groups (default: all), removing those whose
  // windows and suppression ended before now_ns - allowed lateness. Returns how many it
  // removed.
  size_t expire(int64_t now_ns, size_t max_work = std::numeric_limits<size_t>::max());

  // Hints for batch loops, which change nothing: prefetch() loads the index slot apply()
  // probes first for this hash; prefetch_group() (call it later, once the slot is likely
  // cached) reads that slot and loads the group it names. E.g. prefetch 16 updates ahead
  // and prefetch_group 8 ahead: the random misses of a large table then overlap.
  void prefetch(uint64_t key_hash) const;
  void prefetch_group(uint64_t key_hash) const;

  bool has_watermark() const { return has_watermark_; }
  int64_t watermark_ns() const { return watermark_; }
  size_t groups() const { return live_; }
  size_t entries() const { return total_entries_; }
  // Approximate heap use: groups, index, window entries and group-key bytes.
  size_t memory_bytes() const;
  const CorrelatorStats& stats() const { return stats_; }
  const CorrelatorOptions& options() const { return options_; }
  const RuleSet& rules() const { return *rules_; }

 private:
  struct Rule;   // per-correlation settings resolved from rule and options
  class Ring;    // a window's entries
  struct Group;  // one window
  struct Slot {
    uint32_t group = 0;  // group index + 1; 0 = empty
    uint32_t tag = 0;    // high 32 bits of the key hash: home slot and a filter
  };
  static constexpr uint32_t kNil = UINT32_MAX;
  static constexpr size_t kEvictionCandidates = 16;

  uint32_t find_or_insert(const CorrelationUpdate& u, std::string_view key);
  uint32_t probe(uint32_t tag, uint64_t hash, uint32_t correlation, std::string_view key,
                 bool* found) const;
  void erase_slot(uint32_t pos);
  void grow();
  void remove_group(uint32_t g);
  bool admit(Group& g, const Rule& r, int64_t t);
  void push(Group& g, const Rule& r, const CorrelationUpdate& u, int64_t t);
  void insert_entry(Group& g, int64_t t, uint64_t v, bool merge_runs);
  void drop_front(Group& g, const Rule& r);
  void clear_window(Group& g);
  bool evaluate(Group& g, const Rule& r, double* value);
  int64_t expiry_time(const Group& g) const;
  size_t sweep(int64_t now, uint32_t keep, size_t budget);
  void evict_one(uint32_t keep, uint64_t* counter);

  std::shared_ptr<const RuleSet> rules_;
  CorrelatorOptions options_;
  std::vector<Rule> rule_;
  // A deque: growing it never moves the groups (a vector of a million 200-byte groups would
  // stall the shard for a copy of 200 MB at each doubling).
  std::deque<Group> groups_;
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t free_ = kNil;
  uint32_t hand_ = 0;  // the clock hand: next group index the sweep examines
  size_t live_ = 0;
  size_t total_entries_ = 0;
  size_t key_bytes_ = 0;
  bool has_watermark_ = false;
  int64_t watermark_ = 0;
  std::vector<double> percentile_scratch_;
  CorrelatorStats stats_;
};

// The updates a firing feeds into correlations that refer to its rule (chaining, spec
// "Related rules"): the parent's group-by values are taken from the firing's group by name
// (after the parent's aliases); a name the child does not group by is absent. Route them
// like any update (their key_hash); the firing's time is their time.
void build_chained_updates(const RuleSet& rules, const Firing& firing, UpdateBatch& out);

}  // namespace klaxon::sigma
