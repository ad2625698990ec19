// LookupCache: answers by key, each with its own expiry, bounded in entries, least recently
// used evicted first.
//
// Positive answers expire with their record's TTL, negative and failed ones with theirs (the
// Enricher decides the TTL; see EnrichOptions). An expired entry is a miss and is removed when
// found. Time is passed in (monotonic ns), so tests drive expiry without sleeping.
//
// Thread-safety: every member takes one mutex. The Enricher's I/O thread reads and writes;
// callers of Enricher::lookup_cached() read from their own threads. Hits return a shared
// pointer to the immutable answer, so no string is copied under the lock.
#pragma once

#include "enrich/lookup.h"

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace klaxon::enrich {

// "<kind digit><normalized value>": one namespace per lookup kind.
std::string cache_key(LookupKind kind, std::string_view normalized_value);

class LookupCache {
 public:
  explicit LookupCache(size_t capacity);
  LookupCache(const LookupCache&) = delete;
  LookupCache& operator=(const LookupCache&) = delete;

  // The live answer for key, refreshed as most recently used; nullptr on a miss. An expired
  // entry is removed (counted in expired(); *expired set when given).
  std::shared_ptr<const Answer> get(std::string_view key, int64_t now_ns, bool* expired = nullptr);

  // Inserts or replaces. A full cache first evicts its least recently used entry (counted in
  // evicted()); returns true when it did. A zero capacity or expires_ns <= now_ns stores
  // nothing.
  bool put(std::string_view key, std::shared_ptr<const Answer> answer, int64_t expires_ns,
           int64_t now_ns);

  size_t size() const;
  size_t capacity() const { return capacity_; }
  uint64_t evicted() const;
  uint64_t expired() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Answer> answer;
    int64_t expires_ns;
  };
  using List = std::list<Entry>;

  const size_t capacity_;
  mutable std::mutex mu_;
  List lru_;                                                    // front: most recently used
  std::unordered_map<std::string_view, List::iterator> index_;  // keys view into lru_ nodes
  uint64_t evicted_ = 0;
  uint64_t expired_ = 0;
};

}  // namespace klaxon::enrich
