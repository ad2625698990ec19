#include "pipeline/stages/sigma/correlator.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace klaxon::sigma {

namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = int64_t{1} << 62;  // event times are clamped to +-2^62 ns

// Floor division for negative times too (bucket of -1 s is [-timespan, 0)).
int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

Status CorrelatorOptions::validate() const {
  auto bad = [](const char* key, const char* what) {
    return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": " + what);
  };
  // Durations stay below 2^61 ns (~73 years) so that time + duration never overflows with
  // times clamped to +-2^62.
  if (suppress_ns < 0 || suppress_ns > kMaxTime / 2) {
    return bad("suppress", "expected a duration from 0 to ~70 years");
  }
  if (allowed_lateness_ns < 0 || allowed_lateness_ns > kMaxTime / 2) {
    return bad("allowed_lateness", "expected a duration from 0 to ~70 years");
  }
  if (max_group_entries < 1 || max_group_entries > (uint64_t{1} << 32)) {
    return bad("max_group_entries", "expected 1 to 2^32");
  }
  if (max_state_entries < 1 || max_state_entries > (size_t{1} << 30)) {
    return bad("max_state_entries", "expected 1 to 2^30");
  }
  if (max_total_entries < 1) return bad("max_total_entries", "expected at least 1");
  return ok_status();
}

// Settings of one correlation rule, resolved once so that apply() reads one struct.
struct Correlator::Rule {
  const CorrelationRule* rule = nullptr;
  CorrelationType type = CorrelationType::kEventCount;
  WindowMode window = WindowMode::kSliding;
  int64_t timespan = 0;
  int64_t gap = 0;
  int64_t suppress = 0;
  MatchAction action = MatchAction::kContinue;
  uint64_t cap = 0;
  Severity level = Severity::kMedium;
  uint32_t nrefs = 0;
};

// The entries of one window in time order, with room for one entry inside the group: most
// groups of a scan or spray see one event, and then never allocate (the allocator was ~15%
// of an update that creates a group, bench/pipeline/sigma_bench.cc). Entries [head, n) of
// the heap vector once a second one arrives; the consumed prefix is reclaimed in bulk.
class Correlator::Ring {
 public:
  struct Entry {
    int64_t t;
    uint64_t v;
  };
  size_t size() const { return n_; }
  Entry& operator[](size_t i) { return data()[head_ + i]; }
  const Entry& operator[](size_t i) const { return data()[head_ + i]; }

  // Inserts in time order (from the back: late entries are rare and close to it). With
  // merge, an entry at the same time absorbs v instead. Returns whether an entry was added.
  bool insert(int64_t t, uint64_t v, bool merge) {
    if (heap_.empty() && n_ == 1 && merge && one_.t == t) {
      one_.v += v;  // a burst at one time stays inline
      return false;
    }
    if (heap_.empty() && n_ == 1) {
      heap_.reserve(4);
      heap_.push_back(one_);
      head_ = 0;
    }
    if (heap_.empty()) {
      if (n_ == 0) {
        one_ = Entry{t, v};
        n_ = 1;
        return true;
      }
    }
    size_t pos = heap_.size();
    while (pos > head_ && heap_[pos - 1].t > t) --pos;
    if (merge && pos > head_ && heap_[pos - 1].t == t) {
      heap_[pos - 1].v += v;
      return false;
    }
    heap_.insert(heap_.begin() + static_cast<std::ptrdiff_t>(pos), Entry{t, v});
    ++n_;
    return true;
  }
  Entry pop_front() {
    const Entry e = (*this)[0];
    --n_;
    if (heap_.empty()) return e;
    ++head_;
    if (n_ == 0) {
      heap_.clear();  // capacity kept: the window is likely to fill again
      head_ = 0;
    } else if (head_ >= 16 && head_ * 2 >= heap_.size()) {
      heap_.erase(heap_.begin(), heap_.begin() + head_);
      head_ = 0;
    }
    return e;
  }
  void clear() {
    heap_.clear();
    head_ = 0;
    n_ = 0;
  }

 private:
  Entry* data() { return heap_.empty() ? &one_ : heap_.data(); }
  const Entry* data() const { return heap_.empty() ? &one_ : heap_.data(); }

  Entry one_{0, 0};
  std::vector<Entry> heap_;
  uint32_t head_ = 0;
  uint32_t n_ = 0;
};

// One window: the state of one (correlation, group key).
//   ring     entries in time order: event_count {time, events at that time}, value_count
//            {time, value hash}, temporal_ordered {time, rule mask}, value_* {time, double
//            bits}.
//   aux      value_count: {occurrences, value hash} sorted by hash (the distinct values);
//            temporal: {latest time, unused} per referenced rule.
struct Correlator::Group {
  using Entry = Ring::Entry;
  // Layout for cache misses: a lookup compares correlation, hash and key (SSO up to 15
  // bytes), all in the first 64 bytes; the window times follow; the sweep reads live,
  // correlation, has_fire and the three times.
  uint32_t correlation = 0;
  bool live = false;
  bool has_fire = false;
  uint64_t hash = 0;
  std::string key;
  int64_t last_t = kNoTime;  // latest event time in the window; kNoTime: empty window
  int64_t anchor = 0;        // tumbling: bucket start; session: session start
  int64_t last_fire = 0;
  uint32_t next = kNil;  // on the free list
  uint64_t count = 0;    // event_count: events retained
  double sum = 0;        // value_sum / value_avg: sum of retained values
  Ring ring;
  std::vector<Entry> aux;

  size_t size() const { return ring.size(); }
};

Correlator::Correlator(std::shared_ptr<const RuleSet> rules, CorrelatorOptions options)
    : rules_(std::move(rules)), options_(options) {
  KLAXON_CHECK(options_.validate().has_value());
  const auto& corrs = rules_->correlations();
  rule_.resize(corrs.size());
  for (size_t i = 0; i < corrs.size(); ++i) {
    const CorrelationRule& c = corrs[i];
    Rule& r = rule_[i];
    r.rule = &c;
    r.type = c.type;
    r.window = c.window;
    r.timespan = c.timespan_ns;
    r.gap = c.gap_ns;
    r.suppress = c.suppress_ns.value_or(options_.suppress_ns);
    r.action = c.action.value_or(options_.action_on_match);
    r.cap = c.max_group_entries.value_or(options_.max_group_entries);
    r.nrefs = static_cast<uint32_t>(c.refs.size());
    // Without its own level a correlation is as severe as the worst rule it correlates.
    r.level = c.meta.level;
    if (!c.meta.has_level) {
      bool any = false;
      for (const auto& ref : c.refs) {
        const RuleMeta& m =
            ref.is_correlation ? corrs[ref.index].meta : rules_->base_rules()[ref.index].meta;
        if (m.has_level && (!any || m.level > r.level)) {
          r.level = m.level;
          any = true;
        }
      }
    }
  }
  slots_.assign(1024, Slot{});
  mask_ = 1023;
}

Correlator::~Correlator() = default;

void Correlator::prefetch(uint64_t key_hash) const {
  __builtin_prefetch(&slots_[static_cast<uint32_t>(key_hash >> 32) & mask_]);
}

void Correlator::prefetch_group(uint64_t key_hash) const {
  // Only the home slot: good enough at load <= 3/4, and never a loop in a hint.
  const Slot s = slots_[static_cast<uint32_t>(key_hash >> 32) & mask_];
  if (s.group != 0 && s.tag == static_cast<uint32_t>(key_hash >> 32)) {
    __builtin_prefetch(&groups_[s.group - 1]);
  }
}

// ---- index: linear probing over {group + 1, high hash bits}, backward-shift deletion

uint32_t Correlator::probe(uint32_t tag, uint64_t hash, uint32_t correlation, std::string_view key,
                           bool* found) const {
  uint32_t pos = tag & mask_;
  while (true) {
    const Slot& s = slots_[pos];
    if (s.group == 0) {
      *found = false;
      return pos;
    }
    // The tag filters out almost every other key without touching its group (a cache miss
    // each); only a tag match compares hash, correlation and key bytes.
    if (s.tag == tag) {
      const Group& g = groups_[s.group - 1];
      if (g.hash == hash && g.correlation == correlation && g.key == key) {
        *found = true;
        return pos;
      }
    }
    pos = (pos + 1) & mask_;
  }
}

void Correlator::erase_slot(uint32_t pos) {
  // Backward shift: pull later entries of the probe run into the hole while that does not
  // move them before their home slot, so lookups never need tombstones.
  uint32_t hole = pos;
  uint32_t j = pos;
  while (true) {
    j = (j + 1) & mask_;
    const Slot s = slots_[j];
    if (s.group == 0) break;
    const uint32_t home = s.tag & mask_;
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole] = Slot{};
}

void Correlator::grow() {
  // Re-placing by tag alone never reads a group: doubling the index of a million groups
  // costs one pass over 8-byte slots.
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = static_cast<uint32_t>(slots_.size() - 1);
  for (const Slot& s : old) {
    if (s.group == 0) continue;
    uint32_t pos = s.tag & mask_;
    while (slots_[pos].group != 0) pos = (pos + 1) & mask_;
    slots_[pos] = s;
  }
}

uint32_t Correlator::find_or_insert(const CorrelationUpdate& u, std::string_view key) {
  const auto tag = static_cast<uint32_t>(u.key_hash >> 32);
  bool found = false;
  uint32_t pos = probe(tag, u.key_hash, u.correlation, key, &found);
  if (found) return slots_[pos].group - 1;
  // A new group: make room first (expired groups, then the sampled group closest to expiry).
  // Removals and growth move slots, so the insert position is probed again only after them.
  bool moved = false;
  if (live_ >= options_.max_state_entries) {
    if (has_watermark_) {
      stats_.expired += sweep(watermark_ - options_.allowed_lateness_ns, kNil, kEvictionCandidates);
    }
    if (live_ >= options_.max_state_entries) evict_one(kNil, &stats_.evicted_capacity);
    moved = true;
  }
  // Load factor at most 3/4 keeps probe runs short.
  if ((live_ + 1) * 4 > slots_.size() * 3) {
    grow();
    moved = true;
  }
  if (moved) pos = probe(tag, u.key_hash, u.correlation, key, &found);
  // Removed groups are reused before the deque grows, so memory follows the high-water mark.
  uint32_t g;
  if (free_ != kNil) {
    g = free_;
    free_ = groups_[g].next;
  } else {
    g = static_cast<uint32_t>(groups_.size());
    groups_.emplace_back();
  }
  Group& grp = groups_[g];
  grp.key.assign(key);
  if (grp.key.capacity() > 15) key_bytes_ += grp.key.capacity();
  grp.hash = u.key_hash;
  grp.correlation = u.correlation;
  grp.live = true;
  // A temporal window is one "latest hit" per referenced rule, allocated once.
  if (rule_[u.correlation].type == CorrelationType::kTemporal) {
    grp.aux.assign(rule_[u.correlation].nrefs, Group::Entry{kNoTime, 0});
    total_entries_ += grp.aux.size();
  }
  slots_[pos] = Slot{g + 1, tag};
  ++live_;
  return g;
}

void Correlator::remove_group(uint32_t g) {
  Group& x = groups_[g];
  bool found = false;
  const uint32_t pos =
      probe(static_cast<uint32_t>(x.hash >> 32), x.hash, x.correlation, x.key, &found);
  KLAXON_CHECK(found);
  erase_slot(pos);
  total_entries_ -= x.size() + x.aux.size();
  if (x.key.capacity() > 15) key_bytes_ -= x.key.capacity();
  // Release the window's memory; the slot of the vector is reused by the next new group.
  x = Group{};
  x.next = free_;
  free_ = g;
  --live_;
}

void Correlator::evict_one(uint32_t keep, uint64_t* counter) {
  // Sampled eviction: of the next kEvictionCandidates live groups at the hand, the one whose
  // state ends first (it had the least future anyway). Exact LRU would cost a linked list
  // touched on every update; sampling costs nothing until the table is full.
  const auto n = static_cast<uint32_t>(groups_.size());
  uint32_t victim = kNil;
  int64_t best = 0;
  size_t seen = 0;
  for (uint32_t k = 0; k < n && seen < kEvictionCandidates; ++k) {
    const uint32_t g = (hand_ + k) % n;
    if (!groups_[g].live || g == keep) continue;
    ++seen;
    const int64_t end = expiry_time(groups_[g]);
    if (victim == kNil || end < best) {
      victim = g;
      best = end;
    }
  }
  if (victim == kNil) return;
  remove_group(victim);
  ++*counter;
}

// When a group stops mattering: no later event can still fall into its window (each
// window mode ends differently), and its suppression has run out.
int64_t Correlator::expiry_time(const Group& g) const {
  const Rule& r = rule_[g.correlation];
  int64_t end = kNoTime;
  if (g.last_t != kNoTime) {
    switch (r.window) {
      case WindowMode::kSliding:
        end = g.last_t + r.timespan;
        break;
      case WindowMode::kTumbling:
        end = g.anchor + r.timespan;
        break;
      case WindowMode::kSession:
        end = std::min(g.last_t + r.gap, g.anchor + r.timespan);
        break;
    }
  }
  if (g.has_fire && r.suppress > 0) end = std::max(end, g.last_fire + r.suppress);
  return end;
}

size_t Correlator::sweep(int64_t now, uint32_t keep, size_t budget) {
  // The clock hand walks the group array in order (sequential memory: the prefetcher keeps
  // ahead), removing what expired; free slots cost one flag test.
  const size_t n = groups_.size();
  size_t removed = 0;
  for (size_t k = 0; k < budget && k < n; ++k) {
    const uint32_t g = hand_;
    hand_ = hand_ + 1 >= n ? 0 : hand_ + 1;
    if (!groups_[g].live || g == keep) continue;
    if (expiry_time(groups_[g]) < now) {
      remove_group(g);
      ++removed;
    }
  }
  return removed;
}

size_t Correlator::expire(int64_t now_ns, size_t max_work) {
  const size_t removed =
      sweep(now_ns - options_.allowed_lateness_ns, kNil, std::min(max_work, groups_.size()));
  stats_.expired += removed;
  return removed;
}

size_t Correlator::memory_bytes() const {
  return sizeof(*this) + groups_.size() * sizeof(Group) + slots_.capacity() * sizeof(Slot) +
         total_entries_ * sizeof(Group::Entry) + key_bytes_ + rule_.capacity() * sizeof(Rule);
}

// ---- windows

// Empties the window but keeps what outlives it: the key and the last firing (suppression).
void Correlator::clear_window(Group& g) {
  total_entries_ -= g.size();
  g.ring.clear();
  g.count = 0;
  g.sum = 0;
  g.last_t = kNoTime;
  if (rule_[g.correlation].type == CorrelationType::kTemporal) {
    for (auto& e : g.aux) e = Group::Entry{kNoTime, 0};
  } else {
    total_entries_ -= g.aux.size();
    g.aux.clear();
  }
}

// Decides where an event at t goes: false when it is too late for the group's window.
bool Correlator::admit(Group& g, const Rule& r, int64_t t) {
  switch (r.window) {
    case WindowMode::kSliding:
      if (g.last_t == kNoTime) {
        g.last_t = t;
        return true;
      }
      // Too late: it would be evicted at once by the window's own end.
      if (t < g.last_t - r.timespan) return false;
      if (t > g.last_t) {
        g.last_t = t;
        const int64_t cutoff = t - r.timespan;
        while (g.size() > 0 && g.ring[0].t < cutoff) drop_front(g, r);
      }
      return true;
    case WindowMode::kTumbling: {
      // anchor holds the start of the bucket the window counts.
      const int64_t bucket = floor_div(t, r.timespan) * r.timespan;
      if (g.last_t != kNoTime) {
        if (bucket < g.anchor) return false;
        if (bucket > g.anchor) {
          clear_window(g);
          ++stats_.window_resets;
        }
      }
      if (g.last_t == kNoTime) g.anchor = bucket;
      g.last_t = std::max(g.last_t, t);
      return true;
    }
    case WindowMode::kSession:
      // anchor holds the session's first event time (kept even when the cap drops entries,
      // so truncation can never stretch a session past its timespan).
      if (g.last_t != kNoTime) {
        if (t < g.anchor) return false;
        if (t - g.last_t > r.gap || t - g.anchor > r.timespan) {
          clear_window(g);
          ++stats_.window_resets;
        }
      }
      if (g.last_t == kNoTime) g.anchor = t;
      g.last_t = std::max(g.last_t, t);
      return true;
  }
  return true;
}

void Correlator::insert_entry(Group& g, int64_t t, uint64_t v, bool merge_runs) {
  // event_count folds events at the same time into one entry (bursts cost one entry).
  if (g.ring.insert(t, v, merge_runs)) ++total_entries_;
}

// Removes the oldest entry and takes it out of the running aggregates.
void Correlator::drop_front(Group& g, const Rule& r) {
  const Group::Entry e = g.ring.pop_front();
  --total_entries_;
  switch (r.type) {
    case CorrelationType::kEventCount:
      g.count -= e.v;
      break;
    case CorrelationType::kValueCount: {
      // One occurrence fewer of this value; the value leaves the distinct set at zero.
      auto it = std::lower_bound(g.aux.begin(), g.aux.end(), e.v,
                                 [](const Group::Entry& a, uint64_t h) { return a.v < h; });
      if (it != g.aux.end() && it->v == e.v && --it->t == 0) {
        g.aux.erase(it);
        --total_entries_;
      }
      break;
    }
    case CorrelationType::kValueSum:
    case CorrelationType::kValueAvg:
      g.sum -= std::bit_cast<double>(e.v);
      break;
    default:
      break;
  }
  if (g.size() == 0 && g.sum != 0) g.sum = 0;  // no drift once the window is empty
}

// Adds the update to the window and keeps the aggregates (count, distinct set, sum) current,
// so evaluate() is O(1) for the common types.
void Correlator::push(Group& g, const Rule& r, const CorrelationUpdate& u, int64_t t) {
  switch (r.type) {
    case CorrelationType::kEventCount:
      insert_entry(g, t, 1, /*merge_runs=*/true);
      ++g.count;
      // The cap counts events: drop the oldest ones, a whole entry when it empties.
      while (g.count > r.cap) {
        Group::Entry& front = g.ring[0];
        ++stats_.entries_truncated;
        if (front.v > 1) {
          --front.v;
          --g.count;
        } else {
          drop_front(g, r);
        }
      }
      return;
    case CorrelationType::kValueCount: {
      // An event without the field(s) adds nothing (rsigma does the same).
      if (!u.has_value) return;
      insert_entry(g, t, u.value_hash, false);
      auto it = std::lower_bound(g.aux.begin(), g.aux.end(), u.value_hash,
                                 [](const Group::Entry& a, uint64_t h) { return a.v < h; });
      if (it != g.aux.end() && it->v == u.value_hash) {
        ++it->t;
      } else {
        g.aux.insert(it, Group::Entry{1, u.value_hash});
        ++total_entries_;
      }
      break;
    }
    case CorrelationType::kTemporal:
      // Only the latest hit of each rule matters for "was it seen in the window".
      for (uint64_t m = u.refs; m != 0; m &= m - 1) {
        Group::Entry& e = g.aux[static_cast<size_t>(std::countr_zero(m))];
        e.t = std::max(e.t, t);
      }
      return;
    case CorrelationType::kTemporalOrdered:
      if (u.refs == 0) return;
      insert_entry(g, t, u.refs, false);
      break;
    case CorrelationType::kValueSum:
    case CorrelationType::kValueAvg:
    case CorrelationType::kValuePercentile:
      if (!u.has_value) return;
      insert_entry(g, t, std::bit_cast<uint64_t>(u.number), false);
      g.sum += u.number;
      break;
  }
  while (g.size() > r.cap) {
    drop_front(g, r);
    ++stats_.entries_truncated;
  }
}

namespace {

bool eval_expression(const std::vector<RefExpr>& expr, uint32_t node, uint64_t present) {
  const RefExpr& e = expr[node];
  switch (e.kind) {
    case RefExpr::kRef:
      return (present >> e.ref) & 1;
    case RefExpr::kAnd:
      for (uint32_t c : e.children) {
        if (!eval_expression(expr, c, present)) return false;
      }
      return true;
    case RefExpr::kOr:
      for (uint32_t c : e.children) {
        if (eval_expression(expr, c, present)) return true;
      }
      return false;
    case RefExpr::kNot:
      return !eval_expression(expr, e.children[0], present);
  }
  return false;
}

}  // namespace

// The aggregated value of the window and whether the rule's condition holds for it.
bool Correlator::evaluate(Group& g, const Rule& r, double* value) {
  const CorrelationRule& c = *r.rule;
  switch (r.type) {
    case CorrelationType::kEventCount:
      *value = static_cast<double>(g.count);
      break;
    case CorrelationType::kValueCount:
      *value = static_cast<double>(g.aux.size());
      break;
    case CorrelationType::kTemporal: {
      // A rule is present when its latest hit is inside the window (sliding: not older than
      // the window end minus timespan; tumbling/session: since the window started).
      const int64_t cutoff = r.window == WindowMode::kSliding ? g.last_t - r.timespan : kNoTime + 1;
      uint64_t present = 0;
      for (uint32_t i = 0; i < r.nrefs; ++i) {
        if (g.aux[i].t != kNoTime && g.aux[i].t >= cutoff) present |= uint64_t{1} << i;
      }
      *value = std::popcount(present);
      if (!c.expression.empty()) {
        return eval_expression(c.expression, static_cast<uint32_t>(c.expression.size() - 1),
                               present);
      }
      break;
    }
    case CorrelationType::kTemporalOrdered: {
      if (!c.expression.empty()) {
        uint64_t present = 0;
        for (size_t i = 0; i < g.ring.size(); ++i) present |= g.ring[i].v;
        if (!eval_expression(c.expression, static_cast<uint32_t>(c.expression.size() - 1),
                             present)) {
          return false;
        }
      }
      // Is there one hit per rule, in rule order, with non-decreasing times? Take the earliest
      // possible hit for each rule in turn (greedy is optimal: an earlier choice never leaves
      // fewer options). A hit at the same time as the previous one counts, as in rsigma.
      size_t pos = 0;
      bool ordered = true;
      for (uint32_t k = 0; k < r.nrefs && ordered; ++k) {
        while (pos < g.ring.size() && !((g.ring[pos].v >> k) & 1)) ++pos;
        if (pos == g.ring.size()) {
          ordered = false;
          break;
        }
        while (pos > 0 && g.ring[pos - 1].t == g.ring[pos].t) --pos;
      }
      *value = ordered ? r.nrefs : 0;
      break;
    }
    case CorrelationType::kValueSum:
      *value = g.sum;
      break;
    case CorrelationType::kValueAvg:
      *value = g.size() == 0 ? 0 : g.sum / static_cast<double>(g.size());
      break;
    case CorrelationType::kValuePercentile: {
      // Linear interpolation between the closest ranks (rank = p/100 * (n-1)).
      const size_t n = g.size();
      if (n == 0) return false;
      auto& v = percentile_scratch_;
      v.clear();
      for (size_t i = 0; i < g.ring.size(); ++i) v.push_back(std::bit_cast<double>(g.ring[i].v));
      const double rank = c.percentile / 100.0 * static_cast<double>(n - 1);
      const auto lo = static_cast<size_t>(std::floor(rank));
      const size_t hi = std::min(lo + 1, n - 1);
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
      const double a = v[lo];
      double b = a;
      if (hi != lo) b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
      *value = a + (rank - static_cast<double>(lo)) * (b - a);
      break;
    }
  }
  return c.threshold.check(*value);
}

void Correlator::apply(const CorrelationUpdate& u, std::string_view key, std::vector<Firing>& out) {
  ++stats_.updates;
  if (u.correlation >= rule_.size()) {
    ++stats_.invalid_updates;
    return;
  }
  int64_t t;
  // Event time only; clamped so that time +- durations cannot overflow.
  if (u.has_time) {
    t = std::clamp(u.time_ns, -kMaxTime, kMaxTime);
  } else if (options_.timestamp_fallback == TimestampFallback::kWatermark && has_watermark_) {
    t = watermark_;
  } else {
    ++stats_.skipped_no_time;
    return;
  }
  if (!has_watermark_ || t > watermark_) {
    watermark_ = t;
    has_watermark_ = true;
  }
  // The deque never moves groups, so this reference survives the evictions below.
  const Rule& r = rule_[u.correlation];
  const uint32_t gi = find_or_insert(u, key);
  Group& g = groups_[gi];
  if (!admit(g, r, t)) {
    ++stats_.late_discarded;
  } else {
    push(g, r, u, t);
    double value = 0;
    if (evaluate(g, r, &value)) {
      // Suppression compares event times; a late event inside the period is suppressed too.
      if (r.suppress > 0 && g.has_fire && t - g.last_fire < r.suppress) {
        ++stats_.suppressed;
      } else {
        Firing f;
        f.correlation = u.correlation;
        f.level = r.level;
        f.time_ns = t;
        f.value = value;
        decode_group_key(*r.rule, g.key, f.group);
        out.push_back(std::move(f));
        ++stats_.firings;
        g.has_fire = true;
        g.last_fire = t;
        if (r.action == MatchAction::kReset) {
          clear_window(g);
          ++stats_.window_resets;
        }
      }
    }
  }
  // Bounds and cleanup after the update, never evicting the group just updated.
  while (total_entries_ > options_.max_total_entries && live_ > 1) {
    evict_one(gi, &stats_.evicted_memory);
  }
  stats_.expired +=
      sweep(watermark_ - options_.allowed_lateness_ns, gi, options_.expire_per_update);
}

void Correlator::apply(const UpdateBatch& batch, std::vector<Firing>& out) {
  for (size_t i = 0; i < batch.size(); ++i) apply(batch[i], batch.key(i), out);
}

void build_chained_updates(const RuleSet& rules, const Firing& firing, UpdateBatch& out) {
  const auto& corrs = rules.correlations();
  if (firing.correlation >= corrs.size()) return;
  std::string key;
  for (const auto& use : rules.uses_of_correlation(firing.correlation)) {
    const CorrelationRule& parent = corrs[use.correlation];
    key.clear();
    for (FieldId f : parent.group_fields[use.position]) {
      const std::string& name = rules.fields()[f].name;
      std::optional<std::string_view> v;
      for (const GroupValue& gv : firing.group) {
        if (gv.field == name && gv.present) v = gv.value;
      }
      append_group_value(key, v);
    }
    // Several positions of one parent may name the same child: one update with all bits.
    bool merged = false;
    for (size_t i = 0; i < out.size() && !merged; ++i) {
      if (out[i].correlation == use.correlation && out.key(i) == key &&
          out[i].time_ns == firing.time_ns) {
        out.at(i).refs |= uint64_t{1} << use.position;
        merged = true;
      }
    }
    if (merged) continue;
    CorrelationUpdate u;
    u.correlation = use.correlation;
    u.refs = uint64_t{1} << use.position;
    u.time_ns = firing.time_ns;
    u.has_time = true;
    u.key_hash = group_key_hash(use.correlation, key);
    out.add(u, key);
  }
}

}  // namespace klaxon::sigma
