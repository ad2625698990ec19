// Hashing helpers for the notifier's indexes: 64-bit hashes of strings and label values, and
// projection keys (the values of a fixed list of label names) that let the dispatcher cache
// what depends on a few labels only (which routes match, which silences could match) across
// the many items that agree on those labels.
//
// Free functions over values; any thread. The hashes are for in-memory tables only: they are
// never stored or sent, so they may change between versions.
#pragma once

#include "pipeline/notify/notification.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::notify {

inline uint64_t hash_bytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

// Order-dependent combination (boost::hash_combine's 64-bit variant, with a final mix so that
// small integers spread over the whole word).
inline uint64_t hash_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}
inline uint64_t hash_combine(uint64_t seed, uint64_t v) {
  return seed ^ (hash_mix(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// The values of `names` (sorted) in `labels`, joined by a separator byte that label values in
// practice never hold ('\x1f', unit separator); absent labels are empty, as a matcher sees them.
inline void projection_key(const Labels& labels, const std::vector<std::string>& names,
                           std::string& out) {
  out.clear();
  auto it = labels.begin();
  for (const auto& n : names) {
    // Both sides are sorted by name: one merge pass instead of a lookup per name.
    while (it != labels.end() && it->first < n) ++it;
    if (it != labels.end() && it->first == n) {
      // Escape the separator so that two different projections never share a key.
      for (char c : it->second) {
        if (c == '\x1f' || c == '\x1e') out.push_back('\x1e');
        out.push_back(c);
      }
    }
    out.push_back('\x1f');
  }
}

}  // namespace klaxon::notify
