#include "enrich/cache.h"

namespace klaxon::enrich {

std::string cache_key(LookupKind kind, std::string_view normalized_value) {
  std::string key;
  key.reserve(normalized_value.size() + 1);
  key.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  key.append(normalized_value);
  return key;
}

LookupCache::LookupCache(size_t capacity) : capacity_(capacity) { index_.reserve(capacity); }

std::shared_ptr<const Answer> LookupCache::get(std::string_view key, int64_t now_ns,
                                               bool* expired) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  const List::iterator e = it->second;
  if (e->expires_ns <= now_ns) {
    index_.erase(it);
    lru_.erase(e);
    ++expired_;
    if (expired) *expired = true;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, e);  // most recently used; iterators stay valid
  return e->answer;
}

bool LookupCache::put(std::string_view key, std::shared_ptr<const Answer> answer,
                      int64_t expires_ns, int64_t now_ns) {
  if (capacity_ == 0 || expires_ns <= now_ns) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->answer = std::move(answer);
    it->second->expires_ns = expires_ns;
    lru_.splice(lru_.begin(), lru_, it->second);
    return false;
  }
  bool evicted = false;
  if (lru_.size() >= capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++evicted_;
    evicted = true;
  }
  lru_.push_front(Entry{std::string(key), std::move(answer), expires_ns});
  index_.emplace(lru_.front().key, lru_.begin());
  return evicted;
}

size_t LookupCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

uint64_t LookupCache::evicted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evicted_;
}

uint64_t LookupCache::expired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expired_;
}

}  // namespace klaxon::enrich
