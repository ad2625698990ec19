// Realistic alert traffic for benchmarks and the load generator: Suricata EVE and Wazuh-like
// JSON alerts inside RFC 5424 syslog, 300-700 bytes, drawn from a fixed seed, with a
// configurable share of exact duplicates (the same alert sent again, as flapping sensors do).
#pragma once

#include "pipeline/core/alert.h"

#include <cstdint>
#include <deque>
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

// The default corpus parsed once by the real MessageParser, every string field copied so the
// Alert views stay valid (raw and ingest metadata cleared, received at `received_ns`): where
// benchmarks of the stages after parsing start. Built on first use; read-only after.
struct ParsedAlerts {
  std::deque<std::string> strings;  // stable addresses
  std::vector<Alert> alerts;
};
const ParsedAlerts& parsed_alerts(int64_t received_ns);

}  // namespace klaxon::bench
