#include "pipeline/stages/correlate.h"

#include "pipeline/core/alert_record.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/log.h"
#include "pipeline/stages/syslog_parse.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <unordered_set>

namespace klaxon {

FingerprintKey CorrelateOptions::default_group_key() {
  return FingerprintKey(
      {FingerprintField::kHostName, FingerprintField::kRuleId, FingerprintField::kRuleName},
      /*seed=*/0x6b6c61786f6e6731ULL);
}

namespace {

std::string_view host_of(const Alert& a) {
  return a.host_name.empty() ? a.syslog.hostname : a.host_name;
}

// What an incident is called: the rule that fired, else what sent it and where, else the
// start of the message.
void append_title(const Alert& a, std::string& out) {
  if (!a.rule_name.empty()) {
    out.append(a.rule_name);
    return;
  }
  if (!a.rule_id.empty()) {
    out.append("rule ").append(a.rule_id);
    return;
  }
  std::string_view what = !a.event_module.empty()       ? a.event_module
                          : !a.observer_product.empty() ? a.observer_product
                                                        : a.syslog.appname;
  std::string_view msg = a.message.substr(0, 120);
  // Never cut a UTF-8 sequence in two.
  while (!msg.empty() && msg.size() < a.message.size() &&
         (static_cast<uint8_t>(a.message[msg.size()]) & 0xC0) == 0x80)
    msg.remove_suffix(1);
  if (!what.empty()) out.append(what).append(": ");
  if (!msg.empty()) {
    out.append(msg);
  } else {
    out.append("alert");
  }
  const std::string_view host = host_of(a);
  if (!host.empty()) out.append(" on ").append(host);
}

std::string_view category_of(const Alert& a) {
  if (!a.rule_category.empty()) return a.rule_category;
  if (!a.event_category.empty()) return a.event_category;
  if (!a.event_module.empty()) return a.event_module;
  return "uncategorized";
}

// Dedupe is looked up inside a group: the same fingerprint in two groups is two keys.
Fingerprint in_group(const Fingerprint& fp, uint64_t group) {
  return Fingerprint{fp.lo ^ group, fp.hi ^ (group * 0x9E3779B97F4A7C15ULL)};
}

// A JSON number (counts and aggregates of correlation rules); null when not finite.
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.15g", v);
  out.append(buf, static_cast<size_t>(n));
}

void append_time_member(JsonObjectWriter& w, std::string& out, std::string_view key, int64_t ns) {
  w.key(key);
  out.push_back('"');
  append_rfc3339(ns, out);
  out.push_back('"');
}

}  // namespace

CorrelationExtractor::CorrelationExtractor(std::shared_ptr<const CorrelateOptions> options)
    : options_(std::move(options)) {
  if (options_->rules) {
    detector_ = std::make_unique<sigma::Detector>(options_->rules);
    fields_ = std::make_unique<sigma::AlertFieldSource>(*options_->rules);
  }
}

bool CorrelationExtractor::add(const Alert& a, uint32_t index, ArenaRef record,
                               CorrelationBatch& batch) {
  const CorrelateOptions& o = *options_;
  int64_t time_ns = a.has_timestamp ? a.timestamp_ns : a.ingest.received_ns;
  if (a.ingest.received_ns > 0 && time_ns > a.ingest.received_ns + o.max_future_ns)
    time_ns = a.ingest.received_ns + o.max_future_ns;
  if (detector_) {
    // Base rules see every alert, whatever its severity: a burst of low ones is what many
    // correlation rules count.
    fields_->set(a);
    detector_->detect(*fields_, scratch_, matched_);
    if (!matched_.empty()) {
      sigma_matches_ += matched_.size();
      const size_t before = batch.updates.size();
      detector_->build_updates(*fields_, scratch_, matched_, time_ns, batch.updates);
      batch.update_alert.resize(batch.updates.size(), index);
      (void)before;
    }
  }
  if (a.severity < o.min_severity) return false;
  CorrelationItem item;
  item.index = index;
  item.severity = a.severity;
  item.received_ns = a.ingest.received_ns;
  // A sender with a clock in the future must not hold an episode open for years.
  item.time_ns = time_ns;
  item.fingerprint = o.dedupe_key.compute(a);
  item.group = o.group_key.compute(a).lo;
  item.record = record;
  batch.items.push_back(item);
  return true;
}

// ---- shards ----

// The incident a group's alerts currently join, with what has not been written yet.
struct ActiveIncident {
  Incident state;
  int64_t last_write_ns = 0;             // monotonic: when its state last went into a commit
  std::vector<uint64_t> pending_alerts;  // linked since the last alert_linked event
  uint64_t pending_duplicates = 0;
  int64_t pending_last_seen_ns = 0;
  int64_t last_linked_event_ns = 0;  // event time of the last alert_linked event
  bool touched = false;              // in this batch's touched list
  bool dirty = false;                // state to write
  bool evented = false;              // events written since the state was: write it with them
  // Hashes of the observables stored, so that a linked alert costs a few lookups, not a scan
  // of up to 160 strings. Filled from the state on first use (a restored incident).
  std::unordered_set<uint64_t> observed;
  std::array<uint16_t, kObservableKindCount> per_kind{};
  bool observed_loaded = false;
  std::vector<int64_t> reopens;  // times of recent reopenings (flapping), oldest first
};

struct IncidentIdHash {
  size_t operator()(const IncidentId& id) const {
    uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return static_cast<size_t>(h);
  }
};

uint64_t observable_hash(ObservableKind kind, std::string_view value) {
  return XXH3_64bits_withSeed(value.data(), value.size(), static_cast<uint64_t>(kind) + 1);
}

struct CorrelateStage::Shard {
  Shard(const CorrelateOptions& o, size_t queue_capacity)
      : queue(queue_capacity), ops(4096), dedupe(o.dedupe) {
    if (o.rules) correlator = std::make_unique<sigma::Correlator>(o.rules, o.sigma);
  }

  std::unique_ptr<sigma::Correlator> correlator;  // Sigma correlation state of this shard
  std::vector<sigma::Firing> firings;
  uint64_t n_firings = 0;
  BoundedQueue<CorrelationBatch> queue;
  BoundedQueue<IncidentOp> ops;  // IncidentOps for this shard's incidents
  DedupeTable dedupe;
  std::unordered_map<uint64_t, std::unique_ptr<ActiveIncident>> groups;
  // Incidents that left `groups` (a successor took their group, or their window passed),
  // most recent last: outside operations (a late acknowledgement, a closure notice's delivery)
  // still find them here, with their latest state, even before that state is written.
  // Bounded; older ones are read back from the store through the loader.
  std::unordered_map<IncidentId, std::unique_ptr<ActiveIncident>, IncidentIdHash> cold;
  std::deque<IncidentId> cold_order;
  std::vector<ActiveIncident*> touched;
  uint64_t covered = 0;      // restored: alerts up to here were correlated before (replay skips)
  uint64_t dedupe_from = 0;  // restored: the dedupe checkpoint covers alerts up to here
  int64_t last_dedupe_checkpoint_ns = 0;  // monotonic
  uint64_t processed = 0;                 // the last alert sequence this run has processed
  uint64_t persisted = 0;          // every alert up to here is reflected in what was handed on
  int64_t last_full_flush_ns = 0;  // monotonic
  uint32_t index = 0;
  int64_t max_time_ns = std::numeric_limits<int64_t>::min();
  int64_t last_expiry_scan_ns = 0;  // monotonic
  std::thread thread;
  // Counters for the current batch, added to the metrics once per batch.
  uint64_t n_new = 0, n_linked = 0, n_dup = 0, n_replayed = 0, n_events = 0;
  uint64_t n_ops = 0, n_ops_not_active = 0;
  int64_t reported_entries = 0, reported_active = 0;
  uint64_t reported_cap_evicted = 0;
};

CorrelateStage::CorrelateStage(std::shared_ptr<const CorrelateOptions> options,
                               const std::array<uint8_t, 16>& secret,
                               BoundedQueue<IncidentCommit>& out, PipelineMetrics& metrics)
    : options_(std::move(options)), secret_(secret), out_(out), metrics_(metrics) {
  const int n = std::max(1, options_->shards);
  for (int i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(*options_, options_->shard_queue_capacity));
    shards_.back()->index = static_cast<uint32_t>(i);
  }
}

CorrelateStage::~CorrelateStage() { drain_and_stop(); }

void CorrelateStage::restore(std::vector<Incident> incidents, const std::vector<uint64_t>& covered,
                             const std::vector<std::string>& dedupe_checkpoints,
                             size_t stored_shards) {
  if (stored_shards == 0) stored_shards = covered.size();
  const bool same_layout = stored_shards == shards_.size();
  // A shard count that changed since the last run: the smallest covered sequence is safe for
  // every shard (replayed alerts at or below an incident's last linked one are skipped).
  uint64_t floor = UINT64_MAX;
  for (uint64_t c : covered) floor = std::min(floor, c);
  if (covered.empty() || (!same_layout && covered.size() < stored_shards)) floor = 0;
  for (auto& s : shards_) {
    if (same_layout) {
      s->covered = s->index < covered.size() ? covered[s->index] : 0;
    } else {
      s->covered = floor;
    }
    // A checkpoint fits only the shard that wrote it (same hash range): with another shard
    // count the table starts empty.
    s->dedupe_from = s->covered;
    if (same_layout && dedupe_checkpoints.size() == shards_.size() &&
        dedupe_checkpoints[s->index].size() >= 8) {
      const std::string& c = dedupe_checkpoints[s->index];
      uint64_t seq = 0;
      for (int i = 0; i < 8; ++i) seq |= uint64_t{static_cast<uint8_t>(c[i])} << (8 * i);
      if (seq <= s->covered && s->dedupe.load_snapshot(std::string_view(c).substr(8)))
        s->dedupe_from = seq;
    }
  }
  for (Incident& in : incidents) {
    if (in.status == IncidentStatus::kClosed) continue;
    Shard& s = *shards_[shard_of(in.group_hash)];
    auto& slot = s.groups[in.group_hash];
    // Two incidents of one group (an old one still open): the newer one is the active one.
    if (slot && slot->state.last_alert_seq >= in.last_alert_seq) continue;
    slot = std::make_unique<ActiveIncident>();
    slot->state = std::move(in);
    slot->last_linked_event_ns = slot->state.last_seen_ns;
    s.max_time_ns = std::max(s.max_time_ns, slot->state.last_seen_ns);
  }
  for (auto& sh : shards_) {
    sh->reported_active = static_cast<int64_t>(sh->groups.size());
    metrics_.correlate_active_incidents->Increment(static_cast<double>(sh->reported_active));
  }
}

uint64_t CorrelateStage::replay_from() const {
  uint64_t from = UINT64_MAX;
  for (auto& s : shards_) from = std::min(from, std::min(s->covered, s->dedupe_from) + 1);
  return from;
}

void CorrelateStage::submit(std::unique_ptr<CorrelationBatch> batch) {
  const size_t n = shards_.size();
  std::vector<std::unique_ptr<CorrelationBatch>> parts(n);
  for (size_t i = 0; i < n; ++i) {
    parts[i] = std::make_unique<CorrelationBatch>();
    parts[i]->arena = batch->arena;  // shared, read-only from here on
    parts[i]->last_seq = batch->last_seq;
    parts[i]->enqueued_ns = batch->enqueued_ns;
  }
  if (n == 1) {
    parts[0]->items = std::move(batch->items);
    parts[0]->updates = std::move(batch->updates);
    parts[0]->update_alert = std::move(batch->update_alert);
  } else {
    for (size_t i = 0; i < batch->updates.size(); ++i) {
      CorrelationBatch& p = *parts[shard_of(batch->updates[i].key_hash)];
      p.updates.append(batch->updates, i);
      p.update_alert.push_back(batch->update_alert[i]);
    }
    for (auto& p : parts) p->items.reserve(batch->items.size() / n + 16);
    for (const CorrelationItem& it : batch->items) parts[shard_of(it.group)]->items.push_back(it);
  }
  // Every shard gets its part, empty or not: it moves the shard's covered sequence on.
  for (size_t i = 0; i < n; ++i) {
    while (!shards_[i]->queue.try_push(parts[i]))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void CorrelateStage::start() {
  for (auto& sp : shards_) {
    Shard* s = sp.get();
    s->thread = std::thread([this, s] {
      const CorrelateOptions& o = *options_;
      std::unique_ptr<IncidentCommit> commit;

      auto emit = [&](ActiveIncident& ai, IncidentEventType type, int64_t time_ns, std::string data,
                      std::string actor = "correlate") {
        IncidentEvent e;
        e.incident = ai.state.id;
        e.seq = ai.state.next_event_seq++;
        e.type = type;
        e.time_ns = time_ns;
        e.actor = std::move(actor);
        e.data = std::move(data);
        e.prev_hash = ai.state.head_hash;
        std::string value = seal_incident_event(e);
        ai.state.head_hash = e.hash;
        commit->events.emplace_back(incident_event_key(e.incident, e.seq), std::move(value));
        ai.dirty = true;
        ai.evented = true;
        ++s->n_events;
      };
      // Writes the alerts and duplicates linked since the last alert_linked event.
      auto flush_linked = [&](ActiveIncident& ai, int64_t time_ns) {
        if (ai.pending_alerts.empty() && ai.pending_duplicates == 0) return;
        // Hot incidents list at most this many sequences per event.
        constexpr size_t kMaxPerEvent = 1000;
        size_t done = 0;
        do {
          const size_t n = std::min(kMaxPerEvent, ai.pending_alerts.size() - done);
          std::string data;
          JsonObjectWriter w(data);
          w.key("alerts");
          data.push_back('[');
          for (size_t i = 0; i < n; ++i) {
            if (i) data.push_back(',');
            append_int(data, static_cast<int64_t>(ai.pending_alerts[done + i]));
          }
          data.push_back(']');
          done += n;
          if (done == ai.pending_alerts.size()) {
            w.num("duplicates", static_cast<int64_t>(ai.pending_duplicates));
            w.num("alert_count", static_cast<int64_t>(ai.state.alert_count));
            w.num("occurrences", static_cast<int64_t>(ai.state.occurrences));
            append_time_member(w, data, "last_seen", ai.pending_last_seen_ns);
          }
          w.close();
          emit(ai, IncidentEventType::kAlertLinked, time_ns, std::move(data));
        } while (done < ai.pending_alerts.size());
        ai.pending_alerts.clear();
        ai.pending_duplicates = 0;
        ai.last_linked_event_ns = ai.pending_last_seen_ns;
      };
      // A stored state never counts a linked alert that no stored event lists: the pending
      // links go out first. (Repeats may run ahead of the last summary event.)
      auto write_state = [&](ActiveIncident& ai) {
        if (!ai.pending_alerts.empty()) flush_linked(ai, ai.pending_last_seen_ns);
        commit->incidents.emplace_back(
            std::string(reinterpret_cast<const char*>(ai.state.id.bytes.data()), 16),
            encode_incident(ai.state));
        ai.dirty = false;
        ai.evented = false;
        ai.last_write_ns = monotonic_ns();
      };
      // The table as of s->persisted, written with the commit that moves covered there.
      auto checkpoint_dedupe = [&] {
        std::string v;
        for (int i = 0; i < 8; ++i)
          v.push_back(static_cast<char>((s->persisted >> (8 * i)) & 0xFF));
        s->dedupe.append_snapshot(v);
        commit->meta.emplace_back("corr/dedupe/" + std::to_string(s->index), std::move(v));
      };
      auto keep_cold = [&](std::unique_ptr<ActiveIncident> ai) {
        const IncidentId id = ai->state.id;
        s->cold[id] = std::move(ai);
        s->cold_order.push_back(id);
      };
      // Called between batches (nothing of theirs is in a touched list then). An entry leaves
      // only once its last state is surely in the store (its commit went out a minute ago or
      // more): the loader must never read back a state older than the chain's head.
      auto trim_cold = [&] {
        constexpr size_t kMaxCold = 4096;
        constexpr int64_t kSettledNs = 60LL * 1'000'000'000;
        const int64_t now = monotonic_ns();
        while (s->cold.size() > kMaxCold && !s->cold_order.empty()) {
          auto it = s->cold.find(s->cold_order.front());
          if (it == s->cold.end()) {
            s->cold_order.pop_front();
            continue;
          }
          const ActiveIncident& ai = *it->second;
          if (ai.dirty || ai.touched || now - ai.last_write_ns < kSettledNs) break;
          s->cold_order.pop_front();
          s->cold.erase(it);
        }
        if (s->cold_order.size() > 4 * kMaxCold) {  // ids pushed again after a reload
          std::deque<IncidentId> live;
          for (const IncidentId& id : s->cold_order)
            if (s->cold.count(id)) live.push_back(id);
          s->cold_order.swap(live);
        }
      };
      auto touch = [&](ActiveIncident& ai) {
        if (!ai.touched) {
          ai.touched = true;
          s->touched.push_back(&ai);
        }
      };
      // The alert itself, decoded from its record: only for alerts that open or join an
      // incident. A record that does not decode (cannot happen: this process wrote it) still
      // counts, with no text.
      Alert alert;
      auto decode = [&](const CorrelationBatch& b, const CorrelationItem& it) -> const Alert& {
        if (!read_alert_record(b.str(it.record), alert)) alert = Alert{};
        return alert;
      };
      auto observe = [&](ActiveIncident& ai, const Alert& a) {
        Incident& st = ai.state;
        if (!ai.observed_loaded) {
          for (const Observable& ob : st.observables) {
            ai.observed.insert(observable_hash(ob.kind, ob.value));
            ++ai.per_kind[static_cast<size_t>(ob.kind)];
          }
          ai.observed_loaded = true;
        }
        auto add = [&](ObservableKind kind, std::string_view value) {
          if (value.empty()) return;
          const uint64_t h = observable_hash(kind, value);
          if (ai.observed.count(h)) return;
          uint16_t& n = ai.per_kind[static_cast<size_t>(kind)];
          if (n >= kMaxObservablesPerKind) {
            ++st.observables_dropped;  // an alert whose value is not kept
            return;
          }
          ai.observed.insert(h);
          ++n;
          st.observables.push_back(Observable{kind, std::string(value)});
        };
        add(ObservableKind::kSourceIp, a.source_ip);
        add(ObservableKind::kDestinationIp, a.destination_ip);
        add(ObservableKind::kHost, host_of(a));
        add(ObservableKind::kUser, a.user_name);
        add(ObservableKind::kRule, a.rule_name.empty() ? a.rule_id : a.rule_name);
      };
      auto raise_severity = [&](ActiveIncident& ai, const CorrelationItem& it) {
        if (it.severity <= ai.state.severity) return;
        // The change is its own event, after the alerts that caused it.
        flush_linked(ai, it.received_ns);
        std::string data;
        JsonObjectWriter w(data);
        w.str("from", severity_name(ai.state.severity));
        w.str("to", severity_name(it.severity));
        w.num("alert", static_cast<int64_t>(it.seq));
        w.close();
        ai.state.severity = it.severity;
        emit(ai, IncidentEventType::kSeverityChanged, it.received_ns, std::move(data));
      };
      // The group's previous incident stops taking alerts: write what it still owes and take
      // it out of this batch's touched list (the slot is about to hold its successor).
      auto retire = [&](std::unique_ptr<ActiveIncident>& slot, int64_t time_ns) {
        if (!slot) return;
        flush_linked(*slot, time_ns);
        if (slot->dirty) write_state(*slot);
        if (slot->touched)
          std::replace(s->touched.begin(), s->touched.end(), slot.get(),
                       static_cast<ActiveIncident*>(nullptr));
        slot->touched = false;
        keep_cold(std::move(slot));
      };
      auto open_incident = [&](std::unique_ptr<ActiveIncident>& slot, const CorrelationBatch& b,
                               const CorrelationItem& it) {
        retire(slot, it.received_ns);
        slot = std::make_unique<ActiveIncident>();
        Incident& st = slot->state;
        st.id = make_incident_id(secret_, it.seq, 0);
        const Alert& a = decode(b, it);
        append_title(a, st.title);
        st.category.assign(category_of(a));
        st.severity = it.severity;
        st.group_hash = it.group;
        st.created_ns = it.received_ns;
        st.status_changed_ns = it.received_ns;
        st.first_seen_ns = st.last_seen_ns = it.time_ns;
        st.first_alert_seq = st.last_alert_seq = it.seq;
        st.alert_count = st.occurrences = 1;
        observe(*slot, a);
        std::string data;
        JsonObjectWriter w(data);
        w.num("alert", static_cast<int64_t>(it.seq));
        w.str("title", st.title);
        w.str("category", st.category);
        w.str("severity", severity_name(st.severity));
        w.key("group");
        o.group_key.append_json(a, data);
        append_time_member(w, data, "first_seen", it.time_ns);
        w.close();
        emit(*slot, IncidentEventType::kCreated, it.received_ns, std::move(data));
        slot->pending_last_seen_ns = it.time_ns;
        slot->last_linked_event_ns = it.time_ns;
        touch(*slot);
        ++s->n_new;
        if (created_hook_) created_hook_(slot->state);
      };

      // A Sigma correlation rule fired: the (rule, group key) has an incident of its own, joined
      // by later firings within the group window like any group.
      auto raise_rule = [&](const sigma::Firing& f, uint64_t key_hash, uint64_t seq) {
        const sigma::CorrelationRule& rule = o.rules->correlations()[f.correlation];
        const uint64_t group = key_hash ^ 0x5349474d41525545ULL;  // apart from grouping keys
        auto& slot = s->groups[group];
        if (slot && seq <= slot->state.last_alert_seq) return;  // replayed
        const bool joinable = slot &&
                              (slot->state.status == IncidentStatus::kOpen ||
                               slot->state.status == IncidentStatus::kAcknowledged) &&
                              f.time_ns <= slot->state.last_seen_ns + o.group_window_ns;
        ++s->n_firings;
        if (joinable) {
          ActiveIncident& ai = *slot;
          ai.state.last_alert_seq = seq;
          ++ai.state.alert_count;
          ++ai.state.occurrences;
          ai.state.last_seen_ns = std::max(ai.state.last_seen_ns, f.time_ns);
          ai.pending_last_seen_ns = ai.state.last_seen_ns;
          ai.pending_alerts.push_back(seq);
          ai.dirty = true;
          touch(ai);
          CorrelationItem it;
          it.seq = seq;
          it.severity = f.level;
          it.received_ns = f.time_ns;
          raise_severity(ai, it);
          return;
        }
        retire(slot, f.time_ns);
        slot = std::make_unique<ActiveIncident>();
        Incident& st = slot->state;
        st.id = make_incident_id(secret_, seq, 1 + f.correlation);
        st.title = rule.meta.title;
        for (size_t g = 0; g < f.group.size(); ++g) {
          st.title += g == 0 ? " (" : ", ";
          st.title += f.group[g].field + "=" + (f.group[g].present ? f.group[g].value : "-");
          if (g + 1 == f.group.size()) st.title += ")";
        }
        st.category = "correlation";
        st.rule = !rule.meta.id.empty()     ? rule.meta.id
                  : !rule.meta.name.empty() ? rule.meta.name
                                            : rule.meta.title;
        st.severity = f.level;
        st.group_hash = group;
        st.created_ns = st.status_changed_ns = f.time_ns;
        st.first_seen_ns = st.last_seen_ns = f.time_ns;
        st.first_alert_seq = st.last_alert_seq = seq;
        st.alert_count = st.occurrences = 1;
        std::string data;
        JsonObjectWriter w(data);
        w.num("alert", static_cast<int64_t>(seq));
        w.str("title", st.title);
        w.str("category", st.category);
        w.str("severity", severity_name(st.severity));
        w.str("rule", st.rule);
        w.key("value");
        append_double(data, f.value);
        w.key("group");
        {
          JsonObjectWriter gw(data);
          for (const sigma::GroupValue& g : f.group) {
            if (g.present) {
              gw.str(g.field, g.value);
            } else {
              gw.raw(g.field, "null");
            }
          }
          gw.close();
        }
        append_time_member(w, data, "first_seen", f.time_ns);
        w.close();
        emit(*slot, IncidentEventType::kCreated, f.time_ns, std::move(data));
        slot->pending_last_seen_ns = slot->last_linked_event_ns = f.time_ns;
        touch(*slot);
        ++s->n_new;
        if (created_hook_) created_hook_(slot->state);
      };
      // An outside change: an event on the incident's chain. The incident is the group's
      // active one, or one that left its group (cold), or one read back from the store.
      auto find_incident = [&](const IncidentOp& op) -> ActiveIncident* {
        auto g = s->groups.find(op.group_hash);
        if (g != s->groups.end() && g->second && g->second->state.id == op.incident)
          return g->second.get();
        auto c = s->cold.find(op.incident);
        if (c != s->cold.end()) {
          // Recently used: to the back of the eviction order (the older position is
          // skipped when trimming reaches it, the id being found again later).
          s->cold_order.push_back(op.incident);
          return c->second.get();
        }
        if (!loader_) return nullptr;
        auto loaded = loader_(op.incident);
        // Only the shard that owns the group may write the chain.
        if (!loaded || shard_of(loaded->group_hash) != s->index) return nullptr;
        auto ai = std::make_unique<ActiveIncident>();
        ai->state = std::move(*loaded);
        ai->last_linked_event_ns = ai->state.last_seen_ns;
        ActiveIncident* raw = ai.get();
        keep_cold(std::move(ai));
        return raw;
      };
      auto apply_op = [&](IncidentOp& op) {
        auto refuse = [&](ErrorCode code, std::string why) {
          if (op.done) {
            IncidentOpResult r;
            r.status = make_error(code, std::move(why));
            op.done(std::move(r));
          }
        };
        ActiveIncident* found = find_incident(op);
        if (found == nullptr) {
          ++s->n_ops_not_active;
          refuse(ErrorCode::kNotFound, "no incident " + op.incident.to_string());
          return;
        }
        ActiveIncident& ai = *found;
        Incident& st = ai.state;
        const IncidentStatus from = st.status;
        auto conflict = [&] {
          refuse(ErrorCode::kConflict, std::string("incident is ") + incident_status_name(from));
        };
        IncidentStatus to = from;
        switch (op.type) {
          case IncidentEventType::kAcknowledged:
            if (from != IncidentStatus::kOpen) return conflict();
            to = IncidentStatus::kAcknowledged;
            break;
          case IncidentEventType::kResolved:
            if (from != IncidentStatus::kOpen && from != IncidentStatus::kAcknowledged)
              return conflict();
            to = IncidentStatus::kResolved;
            break;
          case IncidentEventType::kClosed:
            if (from == IncidentStatus::kClosed) return conflict();
            to = IncidentStatus::kClosed;
            break;
          case IncidentEventType::kReopened:
            if (from != IncidentStatus::kResolved && from != IncidentStatus::kClosed)
              return conflict();
            to = IncidentStatus::kOpen;
            break;
          case IncidentEventType::kAssigned:
            if (from == IncidentStatus::kClosed) return conflict();
            st.assignee = op.assignee;
            break;
          default:
            break;
        }
        flush_linked(ai, op.time_ns);  // the chain keeps the order things happened in
        if (to != from) {
          st.status = to;
          st.status_changed_ns = op.time_ns;
          if (op.type == IncidentEventType::kReopened) ++st.reopen_count;
        }
        emit(ai, op.type, op.time_ns, std::move(op.data), std::move(op.actor));
        ai.dirty = true;
        touch(ai);
        ++s->n_ops;
        if (op.done) {
          IncidentOpResult r;
          r.state = st;
          r.event_seq = st.next_event_seq - 1;
          r.event_hash = st.head_hash;
          commit->on_durable.push_back(
              [done = std::move(op.done), r = std::move(r)]() mutable { done(std::move(r)); });
        }
      };
      // A resolved incident that takes a new alert is reopened; reopening often within the
      // flapping window marks it flapping.
      auto reopen_by_alert = [&](ActiveIncident& ai, const CorrelationItem& it) {
        flush_linked(ai, it.received_ns);
        Incident& st = ai.state;
        st.status = IncidentStatus::kOpen;
        st.status_changed_ns = it.received_ns;
        ++st.reopen_count;
        std::string data;
        JsonObjectWriter w(data);
        w.num("alert", static_cast<int64_t>(it.seq));
        w.str("reason", "a new alert");
        w.num("reopen_count", static_cast<int64_t>(st.reopen_count));
        w.close();
        emit(ai, IncidentEventType::kReopened, it.received_ns, std::move(data));
        auto& r = ai.reopens;
        r.push_back(it.received_ns);
        r.erase(
            std::remove_if(r.begin(), r.end(),
                           [&](int64_t t) { return t + o.flapping.window_ns < it.received_ns; }),
            r.end());
        if (!st.flapping && static_cast<int>(r.size()) >= o.flapping.threshold) {
          st.flapping = true;
          std::string f;
          JsonObjectWriter fw(f);
          fw.raw("flapping", "true");
          fw.num("reopens", static_cast<int64_t>(r.size()));
          fw.num("window_s", o.flapping.window_ns / 1'000'000'000);
          fw.close();
          emit(ai, IncidentEventType::kFlapping, it.received_ns, std::move(f));
        }
      };

      for (;;) {
        auto batch = s->queue.pop_wait(std::chrono::milliseconds(50));
        if (!batch && s->ops.size() == 0) {
          if (stopping_.load() && s->queue.size() == 0) break;
          continue;
        }
        if (!batch) batch = std::make_unique<CorrelationBatch>();  // operations only
        commit = std::make_unique<IncidentCommit>();
        commit->shard = s->index;
        commit->oldest_enqueued_ns = batch->enqueued_ns;
        for (const CorrelationItem& it : batch->items) {
          if (it.seq <= s->covered) {
            // Correlated before; the dedupe table has not seen it since its checkpoint.
            if (it.seq > s->dedupe_from)
              s->dedupe.observe(in_group(it.fingerprint, it.group), it.time_ns, it.seq);
            s->max_time_ns = std::max(s->max_time_ns, it.time_ns);
            ++s->n_replayed;
            continue;
          }
          s->max_time_ns = std::max(s->max_time_ns, it.time_ns);
          auto& slot = s->groups[it.group];
          if (slot && it.seq <= slot->state.last_alert_seq) {
            // Counted before a crash: the replay must not count it twice.
            if (it.seq > s->dedupe_from)
              s->dedupe.observe(in_group(it.fingerprint, it.group), it.time_ns, it.seq);
            ++s->n_replayed;
            continue;
          }
          const DedupeResult d =
              s->dedupe.observe(in_group(it.fingerprint, it.group), it.time_ns, it.seq);
          const bool joinable = slot &&
                                (slot->state.status == IncidentStatus::kOpen ||
                                 slot->state.status == IncidentStatus::kAcknowledged ||
                                 slot->state.status == IncidentStatus::kResolved) &&
                                it.time_ns <= slot->state.last_seen_ns + o.group_window_ns;
          if (!joinable) {
            open_incident(slot, *batch, it);
            continue;
          }
          ActiveIncident& ai = *slot;
          if (ai.state.status == IncidentStatus::kResolved) reopen_by_alert(ai, it);
          Incident& st = ai.state;
          st.last_alert_seq = it.seq;
          ++st.occurrences;
          st.first_seen_ns = std::min(st.first_seen_ns, it.time_ns);
          st.last_seen_ns = std::max(st.last_seen_ns, it.time_ns);
          ai.pending_last_seen_ns = st.last_seen_ns;
          ai.dirty = true;
          touch(ai);
          if (d.duplicate) {
            ++ai.pending_duplicates;
            ++s->n_dup;
            // A flood of repeats is summarised in event time, not written per repeat.
            if (it.time_ns >= ai.last_linked_event_ns + o.duplicate_summary_ns)
              flush_linked(ai, it.received_ns);
          } else {
            ++st.alert_count;
            ai.pending_alerts.push_back(it.seq);
            observe(ai, decode(*batch, it));
            ++s->n_linked;
          }
          raise_severity(ai, it);
        }
        // Sigma: the updates of this shard's keys. Alerts a shard covered before a crash are
        // not fed again (their effect on the lost window state cannot be rebuilt exactly).
        if (s->correlator) {
          for (size_t i = 0; i < batch->updates.size(); ++i) {
            const uint64_t seq = batch->update_alert[i];
            if (seq <= s->covered) continue;
            s->firings.clear();
            s->correlator->apply(batch->updates[i], batch->updates.key(i), s->firings);
            for (const sigma::Firing& f : s->firings)
              raise_rule(f, batch->updates[i].key_hash, seq);
          }
          if (s->max_time_ns != std::numeric_limits<int64_t>::min())
            s->correlator->expire(s->max_time_ns - o.allowed_lateness_ns, 4096);
        }
        // Outside changes, after the alerts that came before them (bounded per round).
        for (int n = 0; n < 1024; ++n) {
          auto op = s->ops.try_pop();
          if (!op) break;
          apply_op(*op);
        }
        // A state must land with the events it heads. Linked alerts and repeats alone wait
        // for the flush below (at most a second, or 1,000 alerts): one alert_linked event and
        // one state write per incident per flush, not per batch.
        for (ActiveIncident* ai : s->touched) {
          if (ai == nullptr) continue;
          ai->touched = false;
          if (ai->pending_alerts.size() >= 1000) flush_linked(*ai, ai->pending_last_seen_ns);
          if (ai->evented) write_state(*ai);
        }
        s->touched.clear();
        s->processed = std::max(s->processed, batch->last_seq);
        // Once a second every pending state is written and the covered sequence moves on.
        // Between flushes a crash replays from the last one: an alert already reflected in
        // its incident's stored state is at or below that state's last_alert_seq, and is
        // skipped, so nothing is counted twice.
        const int64_t now_ns = monotonic_ns();
        if (now_ns - s->last_full_flush_ns >= 1'000'000'000) {
          s->last_full_flush_ns = now_ns;
          for (auto& [group, ai] : s->groups) {
            if (ai->dirty) write_state(*ai);
          }
          s->persisted = s->processed;
          if (now_ns - s->last_dedupe_checkpoint_ns >= o.dedupe_checkpoint_ns) {
            s->last_dedupe_checkpoint_ns = now_ns;
            checkpoint_dedupe();
          }
        }
        commit->covered_seq = std::max(s->persisted, s->covered);

        // Expiry by event time: groups whose window has passed the watermark let go of their
        // incident (it stays open in the store), dedupe entries likewise. Work is bounded.
        const bool any_time = s->max_time_ns != std::numeric_limits<int64_t>::min();
        const int64_t watermark = any_time ? s->max_time_ns - o.allowed_lateness_ns : 0;
        if (any_time) s->dedupe.evict_expired(watermark);
        const int64_t now = monotonic_ns();
        if (any_time && now - s->last_expiry_scan_ns > 1'000'000'000) {
          s->last_expiry_scan_ns = now;
          for (auto it = s->groups.begin(); it != s->groups.end();) {
            ActiveIncident& ai = *it->second;
            if (ai.state.last_seen_ns + o.group_window_ns < watermark) {
              if (ai.pending_duplicates) flush_linked(ai, ai.state.last_seen_ns);
              if (ai.dirty) write_state(ai);
              keep_cold(std::move(it->second));
              it = s->groups.erase(it);
            } else {
              // A flapping incident that has not reopened for a whole window is unmarked.
              const int64_t last_reopen =
                  ai.reopens.empty() ? ai.state.status_changed_ns : ai.reopens.back();
              if (ai.state.flapping && last_reopen + o.flapping.window_ns < wall_ns()) {
                ai.reopens.clear();
                ai.state.flapping = false;
                emit(ai, IncidentEventType::kFlapping, wall_ns(), R"({"flapping":false})");
                write_state(ai);
              }
              ++it;
            }
          }
        }

        metrics_.correlate_new_incident->Increment(static_cast<double>(s->n_new));
        metrics_.incidents_created->Increment(static_cast<double>(s->n_new));
        metrics_.correlate_linked->Increment(static_cast<double>(s->n_linked));
        metrics_.correlate_duplicate->Increment(static_cast<double>(s->n_dup));
        metrics_.correlate_replayed->Increment(static_cast<double>(s->n_replayed));
        metrics_.incident_events->Increment(static_cast<double>(s->n_events));
        metrics_.sigma_firings->Increment(static_cast<double>(s->n_firings));
        metrics_.incident_ops_applied->Increment(static_cast<double>(s->n_ops));
        metrics_.incident_ops_not_active->Increment(static_cast<double>(s->n_ops_not_active));
        s->n_ops = s->n_ops_not_active = 0;
        s->n_firings = 0;
        s->n_new = s->n_linked = s->n_dup = s->n_replayed = s->n_events = 0;
        // Gauges shared by the shards move by each shard's change.
        const auto entries = static_cast<int64_t>(s->dedupe.size());
        const auto active = static_cast<int64_t>(s->groups.size());
        metrics_.dedupe_entries->Increment(static_cast<double>(entries - s->reported_entries));
        metrics_.correlate_active_incidents->Increment(
            static_cast<double>(active - s->reported_active));
        s->reported_entries = entries;
        s->reported_active = active;
        const uint64_t cap_evicted = s->dedupe.stats().evicted_capacity;
        metrics_.dedupe_evicted_capacity->Increment(
            static_cast<double>(cap_evicted - s->reported_cap_evicted));
        s->reported_cap_evicted = cap_evicted;
        trim_cold();
        while (!out_.try_push(commit)) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      // Shutdown: duplicates counted since the last event are written too, and the outside
      // changes still queued.
      commit = std::make_unique<IncidentCommit>();
      commit->shard = s->index;
      while (auto op = s->ops.try_pop()) apply_op(*op);
      for (ActiveIncident* ai : s->touched) {
        if (ai != nullptr && ai->evented) write_state(*ai);
      }
      s->touched.clear();
      for (auto& [group, ai] : s->groups) {
        flush_linked(*ai, ai->state.last_seen_ns);
        if (ai->dirty) write_state(*ai);
      }
      s->persisted = std::max(s->processed, s->covered);
      commit->covered_seq = s->persisted;
      checkpoint_dedupe();
      metrics_.incident_events->Increment(static_cast<double>(s->n_events));
      while (!out_.try_push(commit)) std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  }
}

bool CorrelateStage::apply(IncidentOp op) {
  auto p = std::make_unique<IncidentOp>(std::move(op));
  Shard& s = *shards_[shard_of(p->group_hash)];
  if (s.ops.try_push(p)) return true;
  metrics_.incident_ops_queue_full->Increment();
  return false;
}

size_t CorrelateStage::queued() const {
  size_t n = 0;
  for (auto& s : shards_) n += s->queue.size();
  return n;
}

void CorrelateStage::drain_and_stop() {
  stopping_.store(true);
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

}  // namespace klaxon
