// The dedupe stage's state: which fingerprints were seen, when, how often, and which alert
// opened each episode (ARCHITECTURE.md "Correlation": same fingerprint inside the window is
// one alert with a counter).
//
// Owner and threads: a DedupeTable belongs to exactly one shard thread, which owns the hash
// range of the fingerprints it is given. It has no locks and no atomics; calling it from two
// threads is a bug. It may be handed to another thread only with a happens-before edge (e.g.
// built before the shard thread starts). It never calls a clock: every time is passed in.
//
// Window semantics (event time: the alert's @timestamp, or its arrival time when it has none;
// the caller decides). An entry stands for one *episode* of one fingerprint: the alerts seen
// so far, spanning [first_seen, last_seen] in event time. An alert at time t with that
// fingerprint is a duplicate when
//     first_seen - window <= t <= last_seen + window
// (both ends inclusive). It then raises the count and widens the span: last_seen = max,
// first_seen = min. The window therefore slides with last_seen (Alertmanager-like: a
// repeating alert stays one alert for as long as it keeps repeating within the window), and
// an alert that arrives late (t < last_seen) is a duplicate as long as it is inside the span
// or within the window before it, so the verdict does not depend on arrival order.
// Otherwise the alert is not a duplicate:
//   - t > last_seen + window: a new episode; the entry restarts at this alert.
//   - t < first_seen - window: a *stale* alert from before the tracked episode; it is reported
//     as new but not tracked (the newer episode is kept), and counted in DedupeStats::stale.
//     Callers that drop alerts later than their allowed lateness never produce these.
// first_seq is the sequence number of the alert that opened the episode (the one linked to
// an incident), which need not be the earliest in event time when alerts arrive out of order.
//
// Expiry: an entry expires when now > last_seen + window, where `now` is what the caller
// passes to evict_expired(): the shard's event-time watermark (the largest event time seen
// minus the allowed lateness), so a late alert still finds its episode. Eviction only frees
// memory; the verdict above is computed from the stored times and never depends on whether
// eviction has run yet. Time is kept exactly (int64 nanoseconds, no epoch base): event times
// are clamped to +-2^62 ns (years 1824..2116) so that t +- window cannot overflow. Callers
// should cap event times that lie in the future (a sender with a wrong clock) before they
// reach the table and the watermark: an entry dated in 2100 would not expire by time.
//
// Memory: 48 bytes per entry plus 8 bytes per slot of the hash index (load factor at most
// 7/8, grown by 1.5x, so 9.1 to 13.7 bytes per entry): 57 to 62 bytes per live entry, ~58 at
// a million; memory_bytes() counts it (measured RSS is in bench/README.md). Both arrays are
// anonymous mappings advised for transparent huge pages: at millions of entries each probe
// is a TLB miss with 4 KiB pages, and a virtual machine's nested page walk makes that miss
// cost as much as the cache miss. The entry array is reserved for max_entries up front
// (address space only, MAP_NORESERVE: 48 bytes x max_entries) and committed as it is first
// used. Memory follows the high-water mark: entries freed by eviction are reused by new
// ones, but neither array is given back when the table shrinks (max_entries bounds the peak).
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/stages/fingerprint.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace klaxon {

struct DedupeOptions {
  // How far apart in event time two alerts with the same fingerprint may be and still be one
  // episode (config `dedupe.window`). At most kMaxWindowNs.
  int64_t window_ns = 5LL * 60 * 1'000'000'000;
  // Live entries at most (config `dedupe.max_entries`, per shard). A new fingerprint beyond it
  // evicts the entry closest to expiry, counted in DedupeStats::evicted_capacity. At most
  // kMaxEntries.
  size_t max_entries = 4'000'000;
  // Entries the index is sized for at construction. Growing rehashes the index (its 8-byte
  // slots only, not the entries): a stall of ~0.1-0.5 s at millions of entries (measured on
  // the bench VM); size it for the expected load to avoid that. Clamped to max_entries.
  size_t initial_capacity = 1024;

  static constexpr int64_t kMaxWindowNs = int64_t{1} << 60;  // ~36 years
  static constexpr size_t kMaxEntries = size_t{1} << 30;

  // kInvalidArgument naming the key (`dedupe.window`, `dedupe.max_entries`) and the range.
  Status validate() const;
};

// What observe() decided, and the state of the episode the alert belongs to (for a stale
// alert: the alert alone).
struct DedupeResult {
  bool duplicate = false;     // an earlier alert of this episode was seen
  uint32_t count = 1;         // alerts in the episode including this one; saturates at 2^32-1
  uint64_t first_seq = 0;     // sequence number of the alert that opened the episode
  int64_t first_seen_ns = 0;  // earliest event time in the episode
  int64_t last_seen_ns = 0;   // latest event time in the episode
};

// Cumulative counters, for the stage to export (klaxon_dedupe_*_total). Plain integers: read
// them on the owning thread.
struct DedupeStats {
  uint64_t observed = 0;
  uint64_t duplicates = 0;
  uint64_t stale = 0;             // alerts before a tracked episode by more than the window
  uint64_t evicted_expired = 0;   // by evict_expired()
  uint64_t evicted_capacity = 0;  // by observe() at max_entries: dedupe lost for those keys
  uint64_t grows = 0;             // index rehashes
  uint64_t evict_work = 0;        // entries visited plus wheel buckets passed, by both
};

// Open addressing, Robin Hood probing with backward-shift deletion (no tombstones). The
// index holds {entry number, 32 hash bits} and nothing else, so probing touches one array and
// a rehash never reads the entries; the entries never move (an entry keeps its number for
// life; freed numbers go on a free list for the next insert).
// Expiry is a hashed timing wheel of kWheelBuckets buckets, each a FIFO singly-linked list
// through the entries; a tick is window/64. observe() files a new entry under its expiry and
// does not touch the wheel for duplicates: an entry whose last_seen moved on is refiled when
// its old bucket comes due (lazy), so a duplicate costs one index probe and one entry access,
// and an eviction one entry access and one index probe.
class DedupeTable {
 public:
  static constexpr size_t kDefaultEvictWork = 4096;
  static constexpr uint32_t kWheelBuckets = 256;  // a power of two

  // KLAXON_CHECKs options.validate(): validate config first.
  explicit DedupeTable(const DedupeOptions& options);

  // One alert: fingerprint, event time (UTC ns) and its sequence number. Amortised O(1);
  // allocates only when the index grows (a rehash).
  DedupeResult observe(const Fingerprint& fp, int64_t event_time_ns, uint64_t seq);

  // Removes entries with last_seen + window < now_ns, oldest ticks first. Does at most
  // `max_work` units of work (an entry visited or a wheel bucket passed), never a scan of the
  // table, and continues where it stopped on the next call; expiry_caught_up() says whether
  // it reached now. Entries whose expiry lies in now's tick go on the next tick. Returns how
  // many entries it removed.
  size_t evict_expired(int64_t now_ns, size_t max_work = kDefaultEvictWork);
  // True when the last evict_expired() call processed every tick before its now_ns.
  bool expiry_caught_up() const { return caught_up_; }

  // A hint for batch loops: starts loading the index slot that observe(fp) reads first, so
  // that its cache miss overlaps the work on earlier alerts. Call it some alerts ahead (8 in
  // bench/) of the matching observe(); it changes nothing.
  void prefetch(const Fingerprint& fp) const { __builtin_prefetch(&index_[home(tag_of(fp))]); }

  // The entry for fp, if tracked (duplicate = count > 1). No side effects.
  std::optional<DedupeResult> find(const Fingerprint& fp) const;

  // Checkpoints: appends every live entry (44 bytes each, little-endian: fp lo, hi, first_seq,
  // first_seen, last_seen, u32 count) after a u32 version; load_snapshot() puts them into a
  // table (normally empty) as if observed. False on a malformed snapshot (nothing loaded).
  void append_snapshot(std::string& out) const;
  bool load_snapshot(std::string_view in);

  size_t size() const { return size_; }
  size_t index_slots() const { return cap_; }
  // The memory this table holds: itself, the index mapping and the pages of the entry array
  // up to its high-water mark (not the reserved rest, which is address space only). With
  // huge pages the RSS may be up to 2 MiB above this per array; bench/ measures RSS.
  size_t memory_bytes() const;
  const DedupeStats& stats() const { return stats_; }
  const DedupeOptions& options() const { return options_; }
  int64_t tick_ns() const { return tick_ns_; }

 private:
  // An anonymous private mapping (zero-filled, committed on first touch), 2 MiB-aligned and
  // advised for huge pages when it is at least that large. Aborts when the mapping fails.
  class Mapping {
   public:
    Mapping() = default;
    explicit Mapping(size_t bytes);
    ~Mapping();
    Mapping(Mapping&& o) noexcept { swap(o); }
    Mapping& operator=(Mapping&& o) noexcept {
      swap(o);
      return *this;
    }
    void* data() const { return p_; }
    size_t size() const { return n_; }

   private:
    void swap(Mapping& o) noexcept {
      std::swap(p_, o.p_);
      std::swap(n_, o.n_);
    }
    void* p_ = nullptr;
    size_t n_ = 0;
  };

  struct Slot {
    uint32_t entry = 0;  // entry number + 1; 0 = empty
    uint32_t tag = 0;    // top 32 bits of Fingerprint::hi: gives the home slot and a filter
  };
  struct Entry {
    Fingerprint fp;
    uint64_t first_seq;
    int64_t first_seen_ns;
    int64_t last_seen_ns;
    uint32_t count;  // 0: the entry is free
    uint32_t next;   // the next entry in its wheel bucket, or on the free list; kNil at the end
  };
  static_assert(sizeof(Entry) == 48);
  struct Probe {
    bool found;
    uint32_t pos;   // the matching slot, or where the new slot goes
    uint32_t dist;  // its distance from the home slot
  };

  static constexpr uint32_t kNil = UINT32_MAX;
  static constexpr int kMaxCandidates = 16;  // entries compared per capacity eviction

  static uint32_t tag_of(const Fingerprint& fp) { return static_cast<uint32_t>(fp.hi >> 32); }
  // Lemire's fast range reduction: any capacity, no modulo.
  uint32_t home(uint32_t tag) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(tag) * cap_) >> 32);
  }
  uint32_t dist(uint32_t tag, uint32_t pos) const {
    const uint32_t h = home(tag);
    return pos >= h ? pos - h : pos + cap_ - h;
  }
  uint32_t next_pos(uint32_t pos) const { return pos + 1 == cap_ ? 0 : pos + 1; }
  Entry& entry(uint32_t i) { return entries_[i]; }
  const Entry& entry(uint32_t i) const { return entries_[i]; }
  int64_t tick_of(int64_t t) const;
  static uint32_t bucket_of(int64_t tick) {
    return static_cast<uint32_t>(static_cast<uint64_t>(tick) & (kWheelBuckets - 1));
  }

  Probe probe(const Fingerprint& fp, uint32_t tag) const;
  void insert_slot(Slot s, uint32_t pos, uint32_t dist);
  void erase_slot(uint32_t pos);
  uint32_t slot_of(uint32_t e) const;
  void grow();
  uint32_t allocate();
  void file(uint32_t e, int64_t expiry_ns);
  uint32_t pop_head(uint32_t b);
  void remove(uint32_t e);  // e must already be out of the wheel
  void evict_for_capacity();

  DedupeOptions options_;
  int64_t window_ns_;
  int64_t tick_ns_;
  uint32_t max_cap_;  // index slots needed for max_entries; growth stops there

  Mapping index_map_;
  Slot* index_ = nullptr;
  uint32_t cap_ = 0;
  Mapping entries_map_;  // max_entries entries, reserved
  Entry* entries_ = nullptr;
  uint32_t size_ = 0;     // live entries
  uint32_t used_ = 0;     // entry numbers ever handed out (the high-water mark)
  uint32_t free_ = kNil;  // free list head

  std::array<uint32_t, kWheelBuckets> heads_;  // each bucket's FIFO, kNil when empty
  std::array<uint32_t, kWheelBuckets> tails_;
  int64_t cursor_tick_ = 0;  // the oldest tick not yet processed by evict_expired()
  bool cursor_set_ = false;
  bool caught_up_ = true;

  DedupeStats stats_;
};

}  // namespace klaxon
