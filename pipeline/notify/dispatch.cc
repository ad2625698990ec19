#include "pipeline/notify/dispatch.h"

#include "pipeline/core/result.h"
#include "pipeline/notify/hash_index.h"
#include "pipeline/notify/inhibit.h"
#include "pipeline/notify/label_key.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>

namespace klaxon::notify {

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaintenanceEveryNs = 15LL * 60 * 1'000'000'000;

// What routing and inhibition decide from a label set; shared by all items whose labels agree
// on the names the routing config looks at.
struct StaticInfo {
  std::vector<uint32_t> routes;
  std::vector<uint8_t> rule_flags;  // per inhibit rule: kRuleSource | kRuleTarget
  bool any_source = false;
  bool any_target = false;
};
// Indices into SilenceSet::list() of the silences whose matchers match (not expired when
// computed); valid while the set's generation is unchanged.
using SilenceCandidates = std::vector<uint32_t>;

struct Membership {
  uint32_t group;
  uint32_t pos;  // index in the group's member list
};

enum class MuteReason : uint8_t { kNone, kSilenced, kInhibited };

// The last suppression reported for (item, receiver).
struct MuteState {
  uint32_t receiver;
  MuteReason reason;
  uint32_t by_item;  // kInhibited: the inhibiting item's slot
  std::string by;    // silence id or inhibiting item id
};

struct ItemRec {
  Item item;
  uint64_t id_hash = 0;
  std::shared_ptr<const StaticInfo> info;
  std::vector<Membership> groups;
  std::shared_ptr<const SilenceCandidates> silence_candidates;
  uint64_t silence_gen = std::numeric_limits<uint64_t>::max();
  std::vector<MuteState> mutes;
  bool live = false;
};

struct Group {
  uint32_t route = 0;
  uint64_t hash = 0;
  Labels labels;
  std::string key;
  uint64_t log_key = 0;  // notification log: (group key, receiver)
  std::vector<uint32_t> members;
  int64_t due_ns = 0;
  uint32_t timer_gen = 0;
  bool has_flushed = false;
  bool live = false;
};

// What a receiver was last told about a group: Alertmanager's nflog entry.
struct LogEntry {
  std::vector<uint64_t> firing;    // sorted hashes of (id, version)
  std::vector<uint64_t> resolved;  // sorted hashes of id
  int64_t at_ns = 0;
  // The entry before the last send, for delivery_failed().
  bool had_prev = false;
  std::vector<uint64_t> prev_firing;
  std::vector<uint64_t> prev_resolved;
  int64_t prev_at_ns = 0;
};

// Items in fixed-size chunks: growing never moves them (no 20 MB copy at 100,000 items).
template <typename T>
class Slab {
 public:
  T& operator[](uint32_t i) { return chunks_[i >> kShift][i & kMask]; }
  const T& operator[](uint32_t i) const { return chunks_[i >> kShift][i & kMask]; }
  uint32_t size() const { return size_; }
  void emplace_back() {
    if ((size_ & kMask) == 0) chunks_.push_back(std::make_unique<T[]>(kChunk));
    ++size_;
  }

 private:
  static constexpr uint32_t kShift = 10;
  static constexpr uint32_t kChunk = 1u << kShift;
  static constexpr uint32_t kMask = kChunk - 1;
  std::vector<std::unique_ptr<T[]>> chunks_;
  uint32_t size_ = 0;
};

struct Timer {
  int64_t due_ns;
  uint32_t group;
  uint32_t gen;
  bool operator>(const Timer& o) const {
    return due_ns != o.due_ns ? due_ns > o.due_ns : group > o.group;
  }
};

uint64_t firing_hash(const ItemRec& r) { return hash_combine(r.id_hash, r.item.version); }

bool is_resolved(const Item& it, int64_t now_ns) { return it.ends_ns != 0 && it.ends_ns <= now_ns; }

// The group labels of an item for a route: the group_by labels it has (empty values count as
// absent, as in Alertmanager where a label with an empty value does not exist).
template <typename F>
void for_each_group_label(const Route& route, const Labels& labels, F&& f) {
  if (route.group_by_all) {
    for (const auto& [n, v] : labels) {
      if (!v.empty()) f(n, v);
    }
    return;
  }
  auto it = labels.begin();
  for (const auto& n : route.group_by) {
    while (it != labels.end() && it->first < n) ++it;
    if (it != labels.end() && it->first == n && !it->second.empty()) f(it->first, it->second);
  }
}

std::string labels_to_string(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(labels[i].first);
    out.append("=\"");
    for (char c : labels[i].second) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (c == '\n') {
        out.append("\\n");
        continue;
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

bool sorted_subset(const std::vector<uint64_t>& sub, const std::vector<uint64_t>& set) {
  return std::includes(set.begin(), set.end(), sub.begin(), sub.end());
}

}  // namespace

struct Dispatcher::State {
  Slab<ItemRec> items;
  std::vector<uint32_t> free_items;
  HashIndex by_id;  // hash of the id -> item slot

  uint32_t find(std::string_view id) const {
    return by_id.find(hash_bytes(id), [&](uint32_t idx) { return items[idx].item.id == id; });
  }

  std::vector<Group> groups;
  std::vector<uint32_t> free_groups;
  HashIndex group_index;  // hash(route, group labels) -> group slot
  size_t live_groups = 0;
  // Mutable: next_due_ns() drops stale timers on the way.
  mutable std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;

  std::unordered_map<uint64_t, LogEntry> nflog;
  InhibitIndex inhibit;

  // Interned results, keyed by their bytes.
  std::unordered_map<std::string, std::shared_ptr<const StaticInfo>> static_cache;
  std::unordered_map<std::string, std::shared_ptr<const SilenceCandidates>> silence_cache;
  uint64_t silence_cache_gen = std::numeric_limits<uint64_t>::max();

  int64_t next_maintenance_ns = std::numeric_limits<int64_t>::min();
  DispatcherStats stats;

  // Scratch buffers reused across calls.
  std::string key;
  std::vector<uint32_t> route_scratch;
  std::vector<uint8_t> flag_scratch;
  std::vector<uint32_t> firing_idx, resolved_idx, resolved_all;
  std::vector<uint64_t> firing_h, resolved_h;

  bool timer_live(const Timer& t) const {
    return t.group < groups.size() && groups[t.group].live && groups[t.group].timer_gen == t.gen;
  }
};

Dispatcher::Dispatcher(std::shared_ptr<const NotifyRouting> routing, DispatcherOptions options)
    : routing_(std::move(routing)), options_(options), s_(std::make_unique<State>()) {
  KLAXON_CHECK(routing_ != nullptr && !routing_->routes().empty());
  s_->inhibit.reset(routing_->inhibit_rules());
}

Dispatcher::~Dispatcher() = default;

// Everything the Dispatcher does, on its state: a class of the .cc only, so that the header
// stays free of internals. Made per call; holds references only.
class DispatchOps {
 public:
  DispatchOps(const NotifyRouting& routing, const DispatcherOptions& options, SilenceSet& silences,
              Dispatcher::State& s)
      : routing_(routing), options_(options), silences_(silences), s_(s) {}

  // Matching is done per item (label sets of incidents are nearly all distinct, so a cache
  // keyed on them would miss); the few distinct results are interned, so that items share
  // them instead of allocating their own.
  std::shared_ptr<const StaticInfo> static_info(const Labels& labels) {
    routing_.match(labels, s_.route_scratch);
    inhibit_rule_flags(routing_.inhibit_rules(), labels, s_.flag_scratch);
    s_.key.assign(reinterpret_cast<const char*>(s_.route_scratch.data()),
                  s_.route_scratch.size() * sizeof(uint32_t));
    s_.key.append(reinterpret_cast<const char*>(s_.flag_scratch.data()), s_.flag_scratch.size());
    auto it = s_.static_cache.find(s_.key);
    if (it != s_.static_cache.end()) return it->second;
    auto info = std::make_shared<StaticInfo>();
    info->routes = s_.route_scratch;
    info->rule_flags = s_.flag_scratch;
    for (uint8_t f : info->rule_flags) {
      info->any_source |= (f & kRuleSource) != 0;
      info->any_target |= (f & kRuleTarget) != 0;
    }
    if (s_.static_cache.size() >= options_.cache_limit) s_.static_cache.clear();
    s_.static_cache.emplace(s_.key, info);
    return info;
  }

  // The silences whose matchers match the item (not expired when computed), recomputed when
  // the silence set changed since; nullptr when there is none (most items).
  const SilenceCandidates* silence_candidates(ItemRec& rec, int64_t now_ns) {
    const uint64_t gen = silences_.generation();
    if (s_.silence_cache_gen != gen) {
      s_.silence_cache.clear();
      s_.silence_cache_gen = gen;
    }
    if (rec.silence_gen != gen) {
      s_.route_scratch.clear();
      silences_.matching(rec.item.labels, s_.route_scratch);
      // Expired silences never match again unless edited, which bumps the generation.
      const auto& list = silences_.list();
      s_.route_scratch.erase(std::remove_if(s_.route_scratch.begin(), s_.route_scratch.end(),
                                            [&](uint32_t i) { return list[i].ends_ns <= now_ns; }),
                             s_.route_scratch.end());
      rec.silence_gen = gen;
      rec.silence_candidates.reset();
      if (!s_.route_scratch.empty()) {
        s_.key.assign(reinterpret_cast<const char*>(s_.route_scratch.data()),
                      s_.route_scratch.size() * sizeof(uint32_t));
        auto it = s_.silence_cache.find(s_.key);
        if (it == s_.silence_cache.end()) {
          if (s_.silence_cache.size() >= options_.cache_limit) s_.silence_cache.clear();
          it = s_.silence_cache
                   .emplace(s_.key, std::make_shared<SilenceCandidates>(s_.route_scratch))
                   .first;
        }
        rec.silence_candidates = it->second;
      }
    }
    return rec.silence_candidates.get();
  }

  void arm(uint32_t slot, int64_t due_ns) {
    Group& g = s_.groups[slot];
    g.due_ns = due_ns;
    ++g.timer_gen;
    s_.timers.push(Timer{due_ns, slot, g.timer_gen});
  }

  uint64_t group_hash(uint32_t route, const Labels& labels) const {
    uint64_t h = hash_mix(route + 1);
    for_each_group_label(routing_.routes()[route], labels, [&](const auto& n, const auto& v) {
      h = hash_combine(h, hash_bytes(n));
      h = hash_combine(h, hash_bytes(v));
    });
    return h;
  }

  bool group_has_labels(const Group& g, const Labels& labels) const {
    size_t i = 0;
    bool same = true;
    for_each_group_label(routing_.routes()[g.route], labels, [&](const auto& n, const auto& v) {
      if (!same) return;
      same = i < g.labels.size() && g.labels[i].first == n && g.labels[i].second == v;
      ++i;
    });
    return same && i == g.labels.size();
  }

  uint32_t find_or_create_group(uint32_t route, const Labels& labels, int64_t now_ns) {
    const uint64_t h = group_hash(route, labels);
    const uint32_t found = s_.group_index.find(h, [&](uint32_t slot) {
      const Group& g = s_.groups[slot];
      return g.route == route && group_has_labels(g, labels);
    });
    if (found != kNone) return found;
    uint32_t slot;
    if (!s_.free_groups.empty()) {
      slot = s_.free_groups.back();
      s_.free_groups.pop_back();
    } else {
      slot = static_cast<uint32_t>(s_.groups.size());
      s_.groups.emplace_back();
    }
    Group& g = s_.groups[slot];
    const Route& r = routing_.routes()[route];
    g.route = route;
    g.hash = h;
    g.labels.clear();
    for_each_group_label(r, labels,
                         [&](const auto& n, const auto& v) { g.labels.emplace_back(n, v); });
    g.key = r.key + ":" + labels_to_string(g.labels);
    g.log_key = hash_combine(hash_bytes(g.key), hash_bytes(routing_.receiver_of(r).name));
    g.members.clear();
    g.has_flushed = false;
    g.live = true;
    s_.group_index.insert(h, slot);
    ++s_.live_groups;
    arm(slot, now_ns + r.group_wait_ns);
    return slot;
  }

  void destroy_group(uint32_t slot) {
    Group& g = s_.groups[slot];
    s_.group_index.erase(g.hash, slot);
    g.live = false;
    ++g.timer_gen;  // its pending timer is stale now
    g.members.clear();
    g.labels.clear();
    g.key.clear();
    --s_.live_groups;
    s_.free_groups.push_back(slot);
  }

  void add_member(uint32_t slot, uint32_t idx, int64_t now_ns) {
    Group& g = s_.groups[slot];
    ItemRec& rec = s_.items[idx];
    rec.groups.push_back(Membership{slot, static_cast<uint32_t>(g.members.size())});
    g.members.push_back(idx);
    maybe_flush_now(slot, rec.item, now_ns);
  }

  // Alertmanager: an item that started more than group_wait ago does not wait for a group
  // that has not flushed yet.
  void maybe_flush_now(uint32_t slot, const Item& item, int64_t now_ns) {
    Group& g = s_.groups[slot];
    const Route& r = routing_.routes()[g.route];
    if (!g.has_flushed && item.starts_ns + r.group_wait_ns < now_ns && g.due_ns > now_ns) {
      arm(slot, now_ns);
    }
  }

  // Removes membership m of item idx; destroys the group when it empties.
  void remove_membership(uint32_t idx, size_t m) {
    ItemRec& rec = s_.items[idx];
    const Membership ms = rec.groups[m];
    Group& g = s_.groups[ms.group];
    const uint32_t last = g.members.back();
    g.members[ms.pos] = last;
    g.members.pop_back();
    if (last != idx) {
      for (auto& lm : s_.items[last].groups) {
        if (lm.group == ms.group) lm.pos = ms.pos;
      }
    }
    rec.groups[m] = rec.groups.back();
    rec.groups.pop_back();
    if (g.members.empty()) destroy_group(ms.group);
  }

  void attach(uint32_t idx, int64_t now_ns) {
    ItemRec& rec = s_.items[idx];
    rec.info = static_info(rec.item.labels);
    for (uint32_t route : rec.info->routes) {
      const uint32_t slot = find_or_create_group(route, s_.items[idx].item.labels, now_ns);
      add_member(slot, idx, now_ns);
    }
    const ItemRec& r = s_.items[idx];
    if (r.info->any_source) {
      s_.inhibit.add(idx, r.item.labels, r.info->rule_flags.data(), r.item.ends_ns);
    }
  }

  void detach(uint32_t idx) {
    while (!s_.items[idx].groups.empty()) remove_membership(idx, s_.items[idx].groups.size() - 1);
    s_.inhibit.remove(idx);
  }

  void free_item(uint32_t idx) {
    detach(idx);
    ItemRec& rec = s_.items[idx];
    s_.by_id.erase(rec.id_hash, idx);
    rec = ItemRec{};
    s_.free_items.push_back(idx);
  }

  void upsert(Item item, int64_t now_ns) {
    if (!std::is_sorted(item.labels.begin(), item.labels.end(),
                        [](const auto& a, const auto& b) { return a.first < b.first; })) {
      std::sort(item.labels.begin(), item.labels.end());
    }
    if (const uint32_t idx = s_.find(item.id); idx != kNone) {
      ItemRec& rec = s_.items[idx];
      if (rec.item.labels == item.labels) {
        rec.item = std::move(item);
        s_.inhibit.set_ends(idx, rec.item.ends_ns);
        for (const auto& m : rec.groups) maybe_flush_now(m.group, rec.item, now_ns);
        return;
      }
      // New labels: other routes, other groups, maybe other inhibit buckets.
      detach(idx);
      rec.item = std::move(item);
      rec.silence_candidates.reset();
      rec.silence_gen = std::numeric_limits<uint64_t>::max();
      attach(idx, now_ns);
      return;
    }
    uint32_t idx;
    if (!s_.free_items.empty()) {
      idx = s_.free_items.back();
      s_.free_items.pop_back();
    } else {
      idx = s_.items.size();
      s_.items.emplace_back();
    }
    ItemRec& rec = s_.items[idx];
    rec.item = std::move(item);
    rec.id_hash = hash_bytes(rec.item.id);
    rec.live = true;
    s_.by_id.insert(rec.id_hash, idx);
    attach(idx, now_ns);
  }

  // Decides whether item idx is muted for a receiver at now_ns, and reports a change.
  bool muted(uint32_t idx, uint32_t receiver, int64_t now_ns, std::vector<Suppression>& out) {
    ItemRec& rec = s_.items[idx];
    MuteState* st = nullptr;
    for (auto& m : rec.mutes) {
      if (m.receiver == receiver) st = &m;
    }
    MuteReason reason = MuteReason::kNone;
    uint32_t by_item = kNone;
    const std::string* by = nullptr;

    // Alertmanager's order: the inhibition stage runs before the silence stage.
    if (rec.info->any_target && s_.inhibit.source_count() > 0) {
      std::optional<uint32_t> prefer;
      if (st != nullptr && st->reason == MuteReason::kInhibited) prefer = st->by_item;
      if (auto src =
              s_.inhibit.muted_by(rec.item.labels, rec.info->rule_flags.data(), now_ns, prefer)) {
        reason = MuteReason::kInhibited;
        by_item = *src;
        by = &s_.items[*src].item.id;
      }
    }
    const SilenceCandidates* candidates = reason == MuteReason::kNone && silences_.size() > 0
                                              ? silence_candidates(rec, now_ns)
                                              : nullptr;
    if (candidates != nullptr) {
      const auto& list = silences_.list();
      for (uint32_t c : *candidates) {
        if (silence_state(list[c], now_ns) != SilenceState::kActive) continue;
        // Keep naming the silence reported before while it still holds.
        if (by == nullptr || (st != nullptr && list[c].id == st->by)) by = &list[c].id;
        reason = MuteReason::kSilenced;
        if (st == nullptr || list[c].id == st->by) break;
      }
    }

    if (reason == MuteReason::kNone) {
      if (st != nullptr) {
        if (st != &rec.mutes.back()) *st = std::move(rec.mutes.back());
        rec.mutes.pop_back();
      }
      return false;
    }
    if (st != nullptr && st->reason == reason && st->by == *by) return true;
    if (st == nullptr) {
      rec.mutes.push_back(MuteState{receiver, reason, kNone, {}});
      st = &rec.mutes.back();
    }
    st->reason = reason;
    st->by_item = by_item;
    st->by = *by;
    out.push_back(Suppression{routing_.receivers()[receiver].name, rec.item.id,
                              reason == MuteReason::kSilenced ? "silenced" : "inhibited", *by});
    ++s_.stats.suppressions_total;
    return true;
  }

  void sort_for_output(std::vector<uint32_t>& idx) const {
    std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
      const Item& x = s_.items[a].item;
      const Item& y = s_.items[b].item;
      if (x.labels != y.labels) return x.labels < y.labels;
      return x.id < y.id;
    });
  }

  void run_group(uint32_t slot, int64_t due_ns, int64_t now_ns, std::vector<Flush>& out,
                 std::vector<Suppression>& suppressed) {
    ++s_.stats.group_runs_total;
    const Route& route = routing_.routes()[s_.groups[slot].route];
    const uint32_t receiver_idx = route.receiver;
    const Receiver& receiver = routing_.receivers()[receiver_idx];

    // Re-arm first, as Alertmanager resets the timer before it flushes. Counted from the due
    // time, not from now, so that a caller with a coarse clock does not drift.
    {
      Group& g = s_.groups[slot];
      g.has_flushed = true;
      int64_t next = due_ns + route.group_interval_ns;
      if (next <= now_ns) next = now_ns + route.group_interval_ns;
      arm(slot, next);
    }

    s_.firing_idx.clear();
    s_.resolved_idx.clear();
    s_.resolved_all.clear();
    for (uint32_t idx : s_.groups[slot].members) {
      const bool resolved = is_resolved(s_.items[idx].item, now_ns);
      if (resolved) s_.resolved_all.push_back(idx);
      if (muted(idx, receiver_idx, now_ns, suppressed)) continue;
      (resolved ? s_.resolved_idx : s_.firing_idx).push_back(idx);
    }
    s_.firing_h.clear();
    s_.resolved_h.clear();
    for (uint32_t idx : s_.firing_idx) s_.firing_h.push_back(firing_hash(s_.items[idx]));
    for (uint32_t idx : s_.resolved_idx) s_.resolved_h.push_back(s_.items[idx].id_hash);
    std::sort(s_.firing_h.begin(), s_.firing_h.end());
    std::sort(s_.resolved_h.begin(), s_.resolved_h.end());

    // Alertmanager's DedupStage.needsUpdate.
    const uint64_t log_key = s_.groups[slot].log_key;
    auto entry_it = s_.nflog.find(log_key);
    const LogEntry* entry = entry_it == s_.nflog.end() ? nullptr : &entry_it->second;
    bool send = false;
    bool repeat = false;
    if (entry == nullptr) {
      send = !s_.firing_h.empty();
    } else if (!sorted_subset(s_.firing_h, entry->firing)) {
      send = true;
    } else if (s_.firing_h.empty()) {
      send = !entry->firing.empty();
    } else if (receiver.send_resolved && !sorted_subset(s_.resolved_h, entry->resolved)) {
      send = true;
    } else if (entry->at_ns < now_ns - route.repeat_interval_ns) {
      send = repeat = true;
    }

    if (send) {
      // A receiver without send_resolved is not told that everything resolved, but the log
      // records it, so that the items firing again later are news (Alertmanager's RetryStage).
      if (receiver.send_resolved || !s_.firing_idx.empty()) {
        const Group& g = s_.groups[slot];
        Flush f;
        f.receiver = receiver.name;
        f.group_key = g.key;
        f.group_labels = g.labels;
        f.repeat = repeat;
        f.at_ns = now_ns;
        sort_for_output(s_.firing_idx);
        f.firing.reserve(s_.firing_idx.size());
        for (uint32_t idx : s_.firing_idx) {
          f.firing.push_back(s_.items[idx].item);
          f.firing.back().ends_ns = 0;
        }
        if (receiver.send_resolved) {
          sort_for_output(s_.resolved_idx);
          f.resolved.reserve(s_.resolved_idx.size());
          for (uint32_t idx : s_.resolved_idx) f.resolved.push_back(s_.items[idx].item);
        }
        out.push_back(std::move(f));
        ++s_.stats.flushes_total;
      }
      LogEntry& e = s_.nflog[log_key];
      if (entry != nullptr) {
        e.had_prev = true;
        e.prev_firing = std::move(e.firing);
        e.prev_resolved = std::move(e.resolved);
        e.prev_at_ns = e.at_ns;
      }
      e.firing = s_.firing_h;
      e.resolved = s_.resolved_h;
      e.at_ns = now_ns;
    } else {
      ++s_.stats.deduplicated_total;
    }

    // Resolved items are done with in this group, told or not (Alertmanager deletes them
    // after every successful pipeline run); an item in no group any more is forgotten.
    for (uint32_t idx : s_.resolved_all) {
      ItemRec& rec = s_.items[idx];
      for (size_t m = 0; m < rec.groups.size(); ++m) {
        if (rec.groups[m].group == slot) {
          remove_membership(idx, m);
          break;
        }
      }
      if (s_.items[idx].groups.empty()) free_item(idx);
    }
  }

  void maintenance(int64_t now_ns) {
    if (now_ns < s_.next_maintenance_ns) return;
    s_.next_maintenance_ns = now_ns + kMaintenanceEveryNs;
    for (auto it = s_.nflog.begin(); it != s_.nflog.end();) {
      if (it->second.at_ns < now_ns - options_.nflog_retention_ns) {
        it = s_.nflog.erase(it);
      } else {
        ++it;
      }
    }
    silences_.gc(now_ns, options_.silence_retention_ns);
  }

 private:
  const NotifyRouting& routing_;
  const DispatcherOptions& options_;
  SilenceSet& silences_;
  Dispatcher::State& s_;
};

void Dispatcher::upsert(const Item& item, int64_t now_ns) {
  DispatchOps(*routing_, options_, silences_, *s_).upsert(item, now_ns);
}

void Dispatcher::upsert(Item&& item, int64_t now_ns) {
  DispatchOps(*routing_, options_, silences_, *s_).upsert(std::move(item), now_ns);
}

bool Dispatcher::remove(std::string_view id) {
  const uint32_t idx = s_->find(id);
  if (idx == kNone) return false;
  DispatchOps(*routing_, options_, silences_, *s_).free_item(idx);
  return true;
}

bool Dispatcher::contains(std::string_view id) const { return s_->find(id) != kNone; }

void Dispatcher::advance(int64_t now_ns, std::vector<Flush>& out,
                         std::vector<Suppression>& suppressed) {
  DispatchOps ops(*routing_, options_, silences_, *s_);
  ops.maintenance(now_ns);
  if (now_ns < options_.dispatch_start_ns) return;
  auto& timers = s_->timers;
  while (!timers.empty()) {
    const Timer t = timers.top();
    if (!s_->timer_live(t)) {
      timers.pop();
      continue;
    }
    if (t.due_ns > now_ns) break;
    timers.pop();
    ops.run_group(t.group, std::max(t.due_ns, options_.dispatch_start_ns), now_ns, out, suppressed);
  }
}

int64_t Dispatcher::next_due_ns() const {
  auto& timers = s_->timers;
  while (!timers.empty() && !s_->timer_live(timers.top())) timers.pop();
  if (timers.empty()) return kNever;
  return std::max(timers.top().due_ns, options_.dispatch_start_ns);
}

void Dispatcher::reload(std::shared_ptr<const NotifyRouting> routing, int64_t now_ns) {
  KLAXON_CHECK(routing != nullptr && !routing->routes().empty());
  std::shared_ptr<const NotifyRouting> old = std::move(routing_);
  routing_ = std::move(routing);
  State& s = *s_;
  s.static_cache.clear();
  s.inhibit.reset(routing_->inhibit_rules());
  s.groups.clear();
  s.free_groups.clear();
  s.group_index.clear();
  s.live_groups = 0;
  s.timers = {};
  DispatchOps ops(*routing_, options_, silences_, s);
  for (uint32_t idx = 0; idx < s.items.size(); ++idx) {
    ItemRec& rec = s.items[idx];
    if (!rec.live) continue;
    rec.groups.clear();
    // Suppression reports follow receivers by name.
    for (size_t m = 0; m < rec.mutes.size();) {
      const int r = routing_->find_receiver(old->receivers()[rec.mutes[m].receiver].name);
      if (r < 0) {
        rec.mutes[m] = std::move(rec.mutes.back());
        rec.mutes.pop_back();
        continue;
      }
      rec.mutes[m].receiver = static_cast<uint32_t>(r);
      ++m;
    }
    ops.attach(idx, now_ns);
  }
}

void Dispatcher::delivery_failed(const Flush& flush, int64_t now_ns) {
  const uint64_t log_key = hash_combine(hash_bytes(flush.group_key), hash_bytes(flush.receiver));
  auto it = s_->nflog.find(log_key);
  if (it != s_->nflog.end() && it->second.at_ns == flush.at_ns) {
    LogEntry& e = it->second;
    if (e.had_prev) {
      e.firing = std::move(e.prev_firing);
      e.resolved = std::move(e.prev_resolved);
      e.at_ns = e.prev_at_ns;
      e.had_prev = false;
    } else {
      s_->nflog.erase(it);
    }
  }
  DispatchOps ops(*routing_, options_, silences_, *s_);
  for (const Item& item : flush.resolved) {
    if (!contains(item.id)) ops.upsert(item, now_ns);
  }
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats st = s_->stats;
  st.items = s_->by_id.size();
  st.groups = s_->live_groups;
  st.nflog_entries = s_->nflog.size();
  return st;
}

}  // namespace klaxon::notify
