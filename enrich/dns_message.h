// Reading DNS responses (RFC 1035 §4.1) where c-ares' own parsers do not give what enrichment
// needs: PTR names with their TTL and with hostile bytes escaped instead of refused, and the
// negative-caching TTL of an NXDOMAIN/NODATA answer (RFC 2308 §5: min(SOA TTL, SOA MINIMUM)).
//
// Every read is bounds-checked; compression pointers must point strictly backwards, so a
// pointer loop cannot hang the parser; a name longer than 255 wire bytes is malformed.
// Names are returned in presentation form: bytes in [A-Za-z0-9_-] as they are, any other byte
// inside a label (including '.', control characters, quotes, spaces, non-ASCII) as \DDD
// (RFC 1035 §5.1), so a name can be printed, logged or stored without being interpreted.
//
// Free functions over caller-owned bytes; any thread.
#pragma once

#include "pipeline/core/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace klaxon::enrich {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeCname = 5;
inline constexpr uint16_t kDnsTypeSoa = 6;
inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr uint16_t kDnsTypeAaaa = 28;

// Appends one label's bytes in presentation form; returns true when any byte was escaped.
bool append_escaped_label(std::string& out, const uint8_t* label, size_t n);

struct PtrRecords {
  std::vector<std::string> names;  // at most max_names, escaped presentation form
  uint32_t ttl = 0;                // the smallest TTL on the answer chain (PTR and CNAME)
  uint32_t escaped = 0;            // names that needed escaping
  uint32_t over_cap = 0;           // PTR records beyond max_names, not kept
};

// The PTR records in the answer section. An error (kParse) for a malformed message.
Result<PtrRecords> parse_ptr_response(const uint8_t* msg, size_t len, size_t max_names);

// RFC 2308 negative TTL from the SOA in the authority section; nullopt without one.
std::optional<uint32_t> negative_ttl(const uint8_t* msg, size_t len);

// The RCODE of a response (header bits); -1 when shorter than a header.
int response_rcode(const uint8_t* msg, size_t len);

}  // namespace klaxon::enrich
