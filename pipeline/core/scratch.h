// Scratch: per-worker bytes that Alert views may point into when a value had to be rewritten
// (unescaped CEF/LEEF values, a label key built from two parts). reset(n) before each message
// makes n bytes available without moving the buffer, so views taken earlier in the same
// message stay valid; the buffer only ever grows, so the hot path does not allocate.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace klaxon {

class Scratch {
 public:
  // At least `bytes` can be taken until the next reset. Earlier views become invalid.
  void reset(size_t bytes) {
    if (bytes > capacity_) {
      capacity_ = bytes < 4096 ? 4096 : bytes + bytes / 2;
      buf_ = std::make_unique<char[]>(capacity_);
    }
    used_ = 0;
  }
  // n bytes, or nullptr when this message's budget is spent.
  char* take(size_t n) {
    if (n > capacity_ - used_) return nullptr;
    char* p = buf_.get() + used_;
    used_ += n;
    return p;
  }
  // Gives back the unused tail of the last take(n) (take n, write k <= n, give back n - k).
  void give_back(size_t n) { used_ -= n <= used_ ? n : used_; }
  // A copy of s in the scratch; empty view when it does not fit.
  std::string_view copy(std::string_view s) {
    char* p = take(s.size());
    if (!p) return {};
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  size_t remaining() const { return capacity_ - used_; }

 private:
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

}  // namespace klaxon
