// EnrichMetrics: every metric handle enrichment updates, created once in the constructor and
// never looked up afterwards. prometheus-cpp handles are atomic: request() (any thread) and
// the I/O thread both update them. Names and labels are listed in enrich/README.md.
#pragma once

#include "enrich/lookup.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>

namespace klaxon::enrich {

enum class DropReason : uint8_t { kQueueFull = 0, kInFlight, kWaiters, kShutdown };
inline constexpr int kDropReasonCount = 4;
const char* drop_reason_name(DropReason reason);

// Hostile or broken answers, by what was done about them.
enum class Hostile : uint8_t {
  kPtrEscaped = 0,   // a PTR name with bytes outside [A-Za-z0-9_-]: kept, escaped
  kPtrOverCap,       // PTR records beyond kMaxRecords: dropped
  kDnsMalformed,     // a response that does not parse: dropped
  kRdapOversized,    // an RDAP document over rdap_max_bytes: dropped
  kRdapMalformed,    // an RDAP body that is not an RDAP object: dropped
  kWhoisOversized,   // a WHOIS reply over whois_max_bytes: cut, the rest parsed
  kWhoisNoClose,     // a WHOIS server that did not close within the time cap: dropped
  kFieldTruncated,   // an RDAP/WHOIS field over kMaxFieldBytes: cut
  kReferralRefused,  // a redirect or referral to a private, loopback or non-https target
};
inline constexpr int kHostileCount = 9;
const char* hostile_name(Hostile h);

struct EnrichMetrics {
  explicit EnrichMetrics(prometheus::Registry& registry);

  prometheus::Counter& lookup(LookupKind k, LookupStatus s) {
    return *lookups[static_cast<size_t>(k)][static_cast<size_t>(s)];
  }
  static size_t idx(LookupKind k) { return static_cast<size_t>(k); }

  // klaxon_enrich_lookups_total{kind,result}: requests, by their first callback's status.
  std::array<std::array<prometheus::Counter*, kLookupStatusCount>, kLookupKindCount> lookups{};
  std::array<prometheus::Counter*, kLookupKindCount> late{};              // late_answers_total
  std::array<prometheus::Counter*, kLookupKindCount> cache_hits{};        // cache_hits_total
  std::array<prometheus::Counter*, kLookupKindCount> cache_misses{};      // cache_misses_total
  std::array<prometheus::Counter*, kLookupKindCount> coalesced{};         // coalesced_total
  std::array<prometheus::Counter*, kLookupKindCount> queries{};           // queries_total
  std::array<prometheus::Histogram*, kLookupKindCount> lookup_seconds{};  // lookup_duration
  std::array<prometheus::Histogram*, kLookupKindCount> query_seconds{};   // query_duration
  std::array<prometheus::Counter*, kDropReasonCount> dropped{};           // dropped_total{reason}
  std::array<prometheus::Counter*, kHostileCount> hostile{};              // hostile_answers_total
  prometheus::Counter* cache_evicted = nullptr;  // cache_evictions_total{reason="capacity"}
  prometheus::Counter* cache_expired = nullptr;  // cache_evictions_total{reason="expired"}
  prometheus::Gauge* cache_entries = nullptr;
  prometheus::Gauge* in_flight = nullptr;    // distinct queries on the network
  prometheus::Gauge* queue_depth = nullptr;  // requests posted, not yet taken by the I/O thread
};

}  // namespace klaxon::enrich
