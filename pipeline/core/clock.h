// Clocks. Wall time (UTC ns) stamps alerts; monotonic time measures durations. Tests that need
// a fixed "now" pass it in explicitly (MessageParser::parse takes now_ns).
#pragma once

#include <chrono>
#include <cstdint>

namespace klaxon {

inline int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace klaxon
