// Addresses and names as enrichment sees them: parsing and canonical text, the scope of an
// address (global, private, reserved, ...), reverse-DNS names, hostname normalization and the
// special-use domains that never leave the site.
//
// The scope decides what may be sent outside: RDAP and WHOIS only ever see global addresses
// and public names (see EnrichOptions). The tables follow the IANA IPv4 and IPv6
// Special-Purpose Address Registries (RFC 6890 and its updates); an IPv4-mapped, NAT64 or
// 6to4 IPv6 address has the scope of the IPv4 address it carries.
//
// Free functions on values; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace klaxon::enrich {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first 4 bytes
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1", "2001:db8::1" (no zone ids, no brackets, no leading zeros in IPv4 octets).
std::optional<IpAddress> parse_ip(std::string_view text);
// Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed).
std::string format_ip(const IpAddress& ip);

enum class AddressScope : uint8_t {
  kGlobal = 0,     // may be looked up anywhere
  kPrivate,        // RFC 1918, fc00::/7 (unique local)
  kLoopback,       // 127/8, ::1
  kLinkLocal,      // 169.254/16, fe80::/10
  kSharedCgn,      // 100.64/10 (carrier-grade NAT)
  kDocumentation,  // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  kBenchmarking,   // 198.18/15, 2001:2::/48
  kMulticast,      // 224/4, ff00::/8
  kReserved,       // 0/8, 240/4, broadcast, 192.0.0/24, ::/128, 100::/64, 2001::/23, ...
};
const char* address_scope_name(AddressScope scope);
AddressScope address_scope(const IpAddress& ip);
inline bool is_global(const IpAddress& ip) { return address_scope(ip) == AddressScope::kGlobal; }

// "1.2.0.192.in-addr.arpa" / the 32 nibbles + "ip6.arpa" (RFC 1035 §3.5, RFC 3596 §2.5).
std::string reverse_name(const IpAddress& ip);

// Lower-cases and validates a host or domain name: labels of [a-z0-9_-] (underscore for
// service names), 1-63 bytes, 253 in total, one trailing dot dropped. nullopt otherwise.
std::optional<std::string> normalize_hostname(std::string_view text);

// True for names that must never reach an outside registry: single labels and the
// special-use and private-use suffixes (localhost, local, test, example, invalid, internal,
// home.arpa, alt, onion, lan, intranet, corp, home, private, in-addr.arpa and ip6.arpa).
// `name` must be normalized.
bool is_private_domain(std::string_view name);

}  // namespace klaxon::enrich
