// Realistic alert traffic for benchmarks and the load generator: Suricata EVE and Wazuh-like
// JSON alerts inside RFC 5424 syslog, 300-700 bytes, drawn from a fixed seed, with a
// configurable share of exact duplicates (the same alert sent again, as flapping sensors do).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace klaxon::bench {

struct CorpusOptions {
  size_t count = 10000;          // distinct messages generated
  double duplicate_ratio = 0.0;  // share of messages that repeat an earlier one
  uint64_t seed = 42;
};

// Messages without framing.
std::vector<std::string> make_alerts(const CorpusOptions& options);
// The same, octet-counted (RFC 6587) and concatenated: what a syslog-ng syslog() driver sends.
std::string octet_counted_stream(const std::vector<std::string>& messages);

}  // namespace klaxon::bench
