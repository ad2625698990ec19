#include "pipeline/stages/dedupe.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace klaxon {
namespace {

// Event times beyond this are clamped, so that t +- window (<= 2^60) stays far from overflow.
constexpr int64_t kMaxAbsTimeNs = int64_t{1} << 62;

int64_t clamp_time(int64_t t) { return std::clamp(t, -kMaxAbsTimeNs, kMaxAbsTimeNs); }

// Index slots for n entries at a load factor of at most 7/8.
uint64_t slots_for(uint64_t n) { return std::max<uint64_t>(64, (n * 8 + 6) / 7 + 1); }

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer the arrays come from calloc, so that an index past either end hits a
// redzone instead of another mapping.
DedupeTable::Mapping::Mapping(size_t bytes) : p_(std::calloc(1, bytes)), n_(bytes) {
  KLAXON_CHECK(p_ != nullptr);
}

DedupeTable::Mapping::~Mapping() { std::free(p_); }
#else
DedupeTable::Mapping::Mapping(size_t bytes) {
  const size_t page = 4096;
  n_ = (bytes + page - 1) / page * page;
  if (n_ < kHugePage) {
    p_ = mmap(nullptr, n_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
              0);
  } else {
    // Over-map by one huge page and trim both ends so that the start is 2 MiB-aligned:
    // only aligned 2 MiB ranges can be huge pages.
    n_ = (n_ + kHugePage - 1) / kHugePage * kHugePage;
    void* raw = mmap(nullptr, n_ + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw != MAP_FAILED) {
      const auto base = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (base + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
      if (aligned > base) munmap(raw, aligned - base);
      const uintptr_t end = aligned + n_;
      if (base + n_ + kHugePage > end) {
        munmap(reinterpret_cast<void*>(end), base + n_ + kHugePage - end);
      }
      p_ = reinterpret_cast<void*>(aligned);
      // Advice only: without transparent huge pages the table works the same, slower.
      (void)madvise(p_, n_, MADV_HUGEPAGE);
    } else {
      p_ = raw;
    }
  }
  if (p_ == MAP_FAILED) {
    std::fprintf(stderr, "klaxon: dedupe table: mmap of %zu bytes failed: %s\n", n_,
                 std::strerror(errno));
    std::abort();
  }
}

DedupeTable::Mapping::~Mapping() {
  if (p_ != nullptr) munmap(p_, n_);
}
#endif

Status DedupeOptions::validate() const {
  if (window_ns <= 0 || window_ns > kMaxWindowNs) {
    return make_error(ErrorCode::kInvalidArgument,
                      "dedupe.window must be greater than 0 and at most 2^60 ns (~36 years), got " +
                          std::to_string(window_ns) + " ns");
  }
  if (max_entries == 0 || max_entries > kMaxEntries) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "dedupe.max_entries must be between 1 and 2^30, got " + std::to_string(max_entries));
  }
  return ok_status();
}

DedupeTable::DedupeTable(const DedupeOptions& options)
    : options_(options),
      window_ns_(options.window_ns),
      // 64 ticks per window: an expired entry lingers at most 1/64 of a window.
      tick_ns_(std::max<int64_t>(1, options.window_ns / 64)),
      max_cap_(static_cast<uint32_t>(slots_for(options.max_entries))) {
  KLAXON_CHECK(options.validate().has_value());
  cap_ = static_cast<uint32_t>(slots_for(std::min(options.initial_capacity, options.max_entries)));
  index_map_ = Mapping(size_t{cap_} * sizeof(Slot));
  index_ = static_cast<Slot*>(index_map_.data());  // zero-filled: every slot empty
  entries_map_ = Mapping(options.max_entries * sizeof(Entry));
  entries_ = static_cast<Entry*>(entries_map_.data());
  heads_.fill(kNil);
  tails_.fill(kNil);
}

int64_t DedupeTable::tick_of(int64_t t) const {
  // Floor division: ticks are contiguous across zero.
  return t >= 0 ? t / tick_ns_ : -((-t + tick_ns_ - 1) / tick_ns_);
}

DedupeTable::Probe DedupeTable::probe(const Fingerprint& fp, uint32_t tag) const {
  uint32_t pos = home(tag);
  for (uint32_t d = 0;; ++d) {
    const Slot& s = index_[pos];
    if (s.entry == 0) return Probe{false, pos, d};
    if (s.tag == tag) {
      // Same tag means same home, hence same distance: only the full fingerprint can differ.
      if (entry(s.entry - 1).fp == fp) return Probe{true, pos, d};
    } else if (dist(s.tag, pos) < d) {
      // Robin Hood invariant: fp would have displaced this slot, so it is not in the table.
      return Probe{false, pos, d};
    }
    pos = next_pos(pos);
  }
}

void DedupeTable::insert_slot(Slot s, uint32_t pos, uint32_t d) {
  for (;;) {
    Slot& cur = index_[pos];
    if (cur.entry == 0) {
      cur = s;
      return;
    }
    const uint32_t cd = dist(cur.tag, pos);
    if (cd < d) {  // take from the rich: the resident is closer to home than s
      std::swap(cur, s);
      d = cd;
    }
    pos = next_pos(pos);
    ++d;
  }
}

void DedupeTable::erase_slot(uint32_t pos) {
  // Backward shift: pull the following run one step towards home until a slot that is empty
  // or already at home, so lookups never need tombstones.
  for (;;) {
    const uint32_t next = next_pos(pos);
    const Slot& n = index_[next];
    if (n.entry == 0 || dist(n.tag, next) == 0) {
      index_[pos] = Slot{};
      return;
    }
    index_[pos] = n;
    pos = next;
  }
}

uint32_t DedupeTable::slot_of(uint32_t e) const {
  uint32_t pos = home(tag_of(entry(e).fp));
  for (uint32_t steps = 0; steps < cap_; ++steps) {
    if (index_[pos].entry == e + 1) return pos;
    pos = next_pos(pos);
  }
  KLAXON_CHECK(false && "a live entry has no index slot");
  return 0;
}

void DedupeTable::grow() {
  const uint32_t old_cap = cap_;
  Mapping old_map = std::move(index_map_);
  const Slot* old = index_;
  cap_ = std::min(max_cap_, static_cast<uint32_t>(std::max<uint64_t>(
                                uint64_t{old_cap} * 3 / 2, slots_for(uint64_t{size_} + 1))));
  index_map_ = Mapping(size_t{cap_} * sizeof(Slot));
  index_ = static_cast<Slot*>(index_map_.data());
  // Homes come from the tags alone: the entries are not read.
  for (uint32_t i = 0; i < old_cap; ++i) {
    if (old[i].entry != 0) insert_slot(old[i], home(old[i].tag), 0);
  }
  ++stats_.grows;
}

uint32_t DedupeTable::allocate() {
  if (free_ != kNil) {
    const uint32_t e = free_;
    free_ = entry(e).next;
    return e;
  }
  KLAXON_CHECK(used_ < options_.max_entries);  // observe() evicts before this
  return used_++;
}

void DedupeTable::file(uint32_t e, int64_t expiry_ns) {
  // Ticks outside the wheel's span are filed at its near or far end and evicted (near) or
  // refiled (far) when that bucket comes due. Appended at the tail: within a bucket, the
  // entry filed first comes first.
  const int64_t tick =
      std::clamp(tick_of(expiry_ns), cursor_tick_, cursor_tick_ + int64_t{kWheelBuckets} - 1);
  const uint32_t b = bucket_of(tick);
  entry(e).next = kNil;
  if (tails_[b] != kNil) {
    entry(tails_[b]).next = e;
  } else {
    heads_[b] = e;
  }
  tails_[b] = e;
}

uint32_t DedupeTable::pop_head(uint32_t b) {
  const uint32_t e = heads_[b];
  heads_[b] = entry(e).next;
  if (heads_[b] == kNil) tails_[b] = kNil;
  return e;
}

void DedupeTable::remove(uint32_t e) {
  erase_slot(slot_of(e));
  Entry& x = entry(e);
  x.count = 0;
  x.next = free_;
  free_ = e;
  --size_;
}

void DedupeTable::evict_for_capacity() {
  // The entry closest to expiry. Buckets are walked in tick order from the cursor; an entry
  // expires no earlier than the tick it is filed under (its last_seen only grows; entries
  // filed below the span sit in the cursor's bucket, walked first), so once the best
  // candidate's expiry tick is at or before the bucket being walked, nothing later can beat
  // it. At most kMaxCandidates entries are compared, so a wheel full of refreshed entries
  // costs a bounded walk, and the pick is then the best of those.
  uint32_t best = kNil, best_prev = kNil, best_bucket = 0;
  int64_t best_expiry = 0;
  int candidates = 0;
  for (int64_t k = 0; k < int64_t{kWheelBuckets}; ++k) {
    const int64_t tick = cursor_tick_ + k;
    const uint32_t b = bucket_of(tick);
    ++stats_.evict_work;
    for (uint32_t prev = kNil, e = heads_[b]; e != kNil; prev = e, e = entry(e).next) {
      const int64_t expiry = entry(e).last_seen_ns + window_ns_;
      if (best == kNil || expiry < best_expiry) {
        best = e;
        best_prev = prev;
        best_bucket = b;
        best_expiry = expiry;
      }
      ++stats_.evict_work;
      if (++candidates == kMaxCandidates) break;
    }
    if (best != kNil && (candidates == kMaxCandidates || tick_of(best_expiry) <= tick)) break;
  }
  KLAXON_CHECK(best != kNil);  // the table is full, so some bucket holds an entry
  // Unlink through the predecessor found on the walk.
  const uint32_t next = entry(best).next;
  if (best_prev != kNil) {
    entry(best_prev).next = next;
  } else {
    heads_[best_bucket] = next;
  }
  if (tails_[best_bucket] == best) tails_[best_bucket] = best_prev;
  remove(best);
  ++stats_.evicted_capacity;
}

DedupeResult DedupeTable::observe(const Fingerprint& fp, int64_t event_time_ns, uint64_t seq) {
  const int64_t t = clamp_time(event_time_ns);
  ++stats_.observed;
  const uint32_t tag = tag_of(fp);
  Probe p = probe(fp, tag);
  if (p.found) {
    Entry& x = entry(index_[p.pos].entry - 1);
    if (t <= x.last_seen_ns + window_ns_ && t >= x.first_seen_ns - window_ns_) {
      if (x.count != UINT32_MAX) ++x.count;
      x.first_seen_ns = std::min(x.first_seen_ns, t);
      x.last_seen_ns = std::max(x.last_seen_ns, t);
      ++stats_.duplicates;
      return DedupeResult{true, x.count, x.first_seq, x.first_seen_ns, x.last_seen_ns};
    }
    if (t > x.last_seen_ns) {
      // The tracked episode ended: this alert opens the next. Its wheel bucket is now early,
      // which is corrected when that bucket comes due.
      x.first_seq = seq;
      x.first_seen_ns = x.last_seen_ns = t;
      x.count = 1;
      return DedupeResult{false, 1, seq, t, t};
    }
    ++stats_.stale;
    return DedupeResult{false, 1, seq, t, t};
  }

  if (size_ >= options_.max_entries) {
    evict_for_capacity();
    p = probe(fp, tag);  // the backward shift may have moved the insertion point
  }
  if ((uint64_t{size_} + 1) * 8 > uint64_t{cap_} * 7 && cap_ < max_cap_) {
    grow();
    p = probe(fp, tag);
  }
  const uint32_t e = allocate();
  entry(e) = Entry{fp, seq, t, t, 1, kNil};
  ++size_;
  insert_slot(Slot{e + 1, tag}, p.pos, p.dist);
  if (!cursor_set_) {
    // Until evict_expired() says what time it is, centre the wheel's span (4 windows) on the
    // first alert: entries of alerts up to 3 windows older or 1 window newer file exactly.
    cursor_tick_ = tick_of(t) - int64_t{kWheelBuckets} / 2;
    cursor_set_ = true;
  }
  file(e, t + window_ns_);
  return DedupeResult{false, 1, seq, t, t};
}

namespace {
constexpr uint32_t kSnapshotVersion = 1;
constexpr size_t kSnapshotEntry = 44;
template <typename T>
void put_raw(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
template <typename T>
T get_raw(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
}  // namespace

void DedupeTable::append_snapshot(std::string& out) const {
  out.reserve(out.size() + 4 + size_t{size_} * kSnapshotEntry);
  put_raw<uint32_t>(out, kSnapshotVersion);
  for (uint32_t i = 0; i < used_; ++i) {
    const Entry& x = entry(i);
    if (x.count == 0) continue;
    put_raw<uint64_t>(out, x.fp.lo);
    put_raw<uint64_t>(out, x.fp.hi);
    put_raw<uint64_t>(out, x.first_seq);
    put_raw<int64_t>(out, x.first_seen_ns);
    put_raw<int64_t>(out, x.last_seen_ns);
    put_raw<uint32_t>(out, x.count);
  }
}

bool DedupeTable::load_snapshot(std::string_view in) {
  if (in.size() < 4 || get_raw<uint32_t>(in.data()) != kSnapshotVersion ||
      (in.size() - 4) % kSnapshotEntry != 0)
    return false;
  const DedupeStats saved = stats_;
  for (size_t off = 4; off < in.size(); off += kSnapshotEntry) {
    const char* p = in.data() + off;
    const Fingerprint fp{get_raw<uint64_t>(p), get_raw<uint64_t>(p + 8)};
    const uint64_t first_seq = get_raw<uint64_t>(p + 16);
    const int64_t first_seen = clamp_time(get_raw<int64_t>(p + 24));
    const int64_t last_seen = clamp_time(get_raw<int64_t>(p + 32));
    const uint32_t count = get_raw<uint32_t>(p + 40);
    if (count == 0 || first_seen > last_seen) continue;
    // Inserted as an episode at last_seen (filed for expiry from there), then widened.
    observe(fp, last_seen, first_seq);
    const Probe pr = probe(fp, tag_of(fp));
    if (!pr.found) continue;  // evicted for capacity at once: the table is smaller than before
    Entry& x = entry(index_[pr.pos].entry - 1);
    x.first_seq = first_seq;
    x.first_seen_ns = first_seen;
    x.last_seen_ns = last_seen;
    x.count = count;
  }
  stats_ = saved;  // loading is not observing
  return true;
}

size_t DedupeTable::evict_expired(int64_t now_ns, size_t max_work) {
  const int64_t now = clamp_time(now_ns);
  const int64_t now_tick = tick_of(now);
  if (size_ == 0) {
    // Nothing is filed anywhere: the cursor may jump (either way) without losing an entry.
    cursor_tick_ = now_tick;
    cursor_set_ = true;
    caught_up_ = true;
    return 0;
  }
  // The cursor may move freely: a visit checks the entry's exact expiry, so where the cursor
  // stands only decides when an entry is looked at, never the outcome. After a long pause
  // only the last revolution matters (every bucket is visited once in it); a cursor ahead of
  // now (set from a first alert dated in the future) comes back to now.
  if (now_tick - cursor_tick_ > int64_t{kWheelBuckets}) {
    cursor_tick_ = now_tick - int64_t{kWheelBuckets};
  } else if (now_tick < cursor_tick_) {
    cursor_tick_ = now_tick;
  }
  size_t work = 0;
  size_t evicted = 0;
  while (cursor_tick_ < now_tick && work < max_work) {
    const uint32_t b = bucket_of(cursor_tick_);
    while (heads_[b] != kNil && work < max_work) {
      const uint32_t e = pop_head(b);
      ++work;
      // The next entry's cache miss overlaps this one's index probe.
      if (heads_[b] != kNil) __builtin_prefetch(&entry(heads_[b]));
      const int64_t expiry = entry(e).last_seen_ns + window_ns_;
      if (expiry < now) {
        remove(e);
        ++evicted;
      } else {
        // Not due (refreshed since it was filed, or beyond the wheel's span): its tick is at
        // least now_tick > cursor, so it lands in another bucket and this loop ends.
        file(e, expiry);
      }
    }
    if (heads_[b] != kNil) break;  // out of budget inside this bucket
    ++cursor_tick_;
    ++work;
  }
  caught_up_ = cursor_tick_ >= now_tick;
  stats_.evicted_expired += evicted;
  stats_.evict_work += work;
  return evicted;
}

std::optional<DedupeResult> DedupeTable::find(const Fingerprint& fp) const {
  const Probe p = probe(fp, tag_of(fp));
  if (!p.found) return std::nullopt;
  const Entry& x = entry(index_[p.pos].entry - 1);
  return DedupeResult{x.count > 1, x.count, x.first_seq, x.first_seen_ns, x.last_seen_ns};
}

size_t DedupeTable::memory_bytes() const {
  // The entry array counts the pages its high-water mark has touched (the rest is reserved
  // address space, not memory); with huge pages the last one may hold up to 2 MiB more.
  const size_t entry_bytes = (size_t{used_} * sizeof(Entry) + 4095) / 4096 * 4096;
  return sizeof(*this) + index_map_.size() + entry_bytes;
}

}  // namespace klaxon
