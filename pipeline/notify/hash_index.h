// HashIndex: an open-addressing multimap from a 64-bit hash to a 32-bit slot number, for the
// dispatcher's id and group lookups. The caller keeps the real keys (in its slots) and checks
// them with a predicate, so equal hashes may map to several slots. Linear probing in one
// flat array (one cache miss per lookup where std::unordered_multimap takes two or three),
// backward-shift deletion (no tombstones). Single-threaded, like its owner.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace klaxon::notify {

class HashIndex {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

  void insert(uint64_t hash, uint32_t value) {
    if ((size_ + 1) * 4 > cells_.size() * 3) grow();
    size_t i = home(hash);
    while (cells_[i].value != kNone) i = (i + 1) & mask_;
    cells_[i] = Cell{hash, value};
    ++size_;
  }

  // The first value stored under `hash` for which pred(value) holds, else kNone.
  template <typename Pred>
  uint32_t find(uint64_t hash, Pred&& pred) const {
    if (size_ == 0) return kNone;
    for (size_t i = home(hash); cells_[i].value != kNone; i = (i + 1) & mask_) {
      if (cells_[i].hash == hash && pred(cells_[i].value)) return cells_[i].value;
    }
    return kNone;
  }

  bool erase(uint64_t hash, uint32_t value) {
    if (size_ == 0) return false;
    size_t i = home(hash);
    while (cells_[i].value != kNone && !(cells_[i].hash == hash && cells_[i].value == value)) {
      i = (i + 1) & mask_;
    }
    if (cells_[i].value == kNone) return false;
    // Backward shift: pull later cells of the run into the hole when their home allows it.
    size_t j = i;
    while (true) {
      cells_[i].value = kNone;
      while (true) {
        j = (j + 1) & mask_;
        if (cells_[j].value == kNone) {
          --size_;
          return true;
        }
        const size_t k = home(cells_[j].hash);
        // Movable when its home k is not cyclically in (i, j].
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) break;
      }
      cells_[i] = cells_[j];
      i = j;
    }
  }

  size_t size() const { return size_; }
  void clear() {
    cells_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  struct Cell {
    uint64_t hash = 0;
    uint32_t value = kNone;
  };

  size_t home(uint64_t hash) const {
    // Fibonacci hashing spreads hashes whose low bits are poor (std::hash of integers).
    return static_cast<size_t>((hash * 0x9e3779b97f4a7c15ULL) >> 20) & mask_;
  }

  void grow() {
    std::vector<Cell> old = std::move(cells_);
    const size_t n = old.empty() ? 64 : old.size() * 2;
    cells_.assign(n, Cell{});
    mask_ = n - 1;
    size_ = 0;
    for (const Cell& c : old) {
      if (c.value != kNone) insert(c.hash, c.value);
    }
  }

  std::vector<Cell> cells_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace klaxon::notify
