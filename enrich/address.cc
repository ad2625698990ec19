#include "enrich/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace klaxon::enrich {

std::optional<IpAddress> parse_ip(std::string_view text) {
  // INET6_ADDRSTRLEN bounds any valid text; longer input is not an address.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) return std::nullopt;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  ip.v6 = true;
  return ip;
}

std::string format_ip(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof buf) == nullptr) {
    return {};
  }
  return buf;
}

const char* address_scope_name(AddressScope scope) {
  switch (scope) {
    case AddressScope::kGlobal:
      return "global";
    case AddressScope::kPrivate:
      return "private";
    case AddressScope::kLoopback:
      return "loopback";
    case AddressScope::kLinkLocal:
      return "link_local";
    case AddressScope::kSharedCgn:
      return "shared_cgn";
    case AddressScope::kDocumentation:
      return "documentation";
    case AddressScope::kBenchmarking:
      return "benchmarking";
    case AddressScope::kMulticast:
      return "multicast";
    case AddressScope::kReserved:
      return "reserved";
  }
  return "unknown";
}

namespace {

struct Prefix {
  std::array<uint8_t, 16> bytes;
  int length;
  AddressScope scope;
};

bool has_prefix(const uint8_t* addr, const std::array<uint8_t, 16>& prefix, int length) {
  const int full = length / 8;
  if (std::memcmp(addr, prefix.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = length % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (prefix[static_cast<size_t>(full)] & mask);
}

// IANA IPv4 Special-Purpose Address Registry; ranges not listed are global.
constexpr Prefix kV4Prefixes[] = {
    {{0}, 8, AddressScope::kReserved},  // "this network"
    {{10}, 8, AddressScope::kPrivate},
    {{100, 64}, 10, AddressScope::kSharedCgn},
    {{127}, 8, AddressScope::kLoopback},
    {{169, 254}, 16, AddressScope::kLinkLocal},
    {{172, 16}, 12, AddressScope::kPrivate},
    {{192, 0, 0}, 24, AddressScope::kReserved},  // IETF protocol assignments
    {{192, 0, 2}, 24, AddressScope::kDocumentation},
    {{192, 88, 99}, 24, AddressScope::kReserved},  // deprecated 6to4 relay anycast
    {{192, 168}, 16, AddressScope::kPrivate},
    {{198, 18}, 15, AddressScope::kBenchmarking},
    {{198, 51, 100}, 24, AddressScope::kDocumentation},
    {{203, 0, 113}, 24, AddressScope::kDocumentation},
    {{224}, 4, AddressScope::kMulticast},
    {{240}, 4, AddressScope::kReserved},  // includes 255.255.255.255
};

AddressScope v4_scope(const uint8_t* a) {
  for (const Prefix& p : kV4Prefixes) {
    if (has_prefix(a, p.bytes, p.length)) return p.scope;
  }
  return AddressScope::kGlobal;
}

// IANA IPv6 Special-Purpose Address Registry, most specific first. Outside 2000::/3 nothing
// is allocated as global unicast, so anything not listed there is reserved.
constexpr Prefix kV6Prefixes[] = {
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, AddressScope::kBenchmarking},
    {{0x20, 0x01}, 23, AddressScope::kReserved},  // IETF protocol assignments (Teredo, ...)
    {{0x20, 0x01, 0x0d, 0xb8}, 32, AddressScope::kDocumentation},
    {{0x3f, 0xff}, 20, AddressScope::kDocumentation},  // RFC 9637
    {{0x5f, 0x00}, 16, AddressScope::kReserved},       // SRv6 SIDs
    {{0xfc}, 7, AddressScope::kPrivate},
    {{0xfe, 0x80}, 10, AddressScope::kLinkLocal},
    {{0xfe, 0xc0}, 10, AddressScope::kReserved},  // deprecated site-local
    {{0xff}, 8, AddressScope::kMulticast},
};

}  // namespace

AddressScope address_scope(const IpAddress& ip) {
  const uint8_t* a = ip.bytes.data();
  if (!ip.v6) return v4_scope(a);
  static constexpr std::array<uint8_t, 16> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<uint8_t, 16> kNat64 = {0x00, 0x64, 0xff, 0x9b};
  static constexpr std::array<uint8_t, 16> kZero{};
  if (has_prefix(a, kMapped, 96) || has_prefix(a, kNat64, 96)) return v4_scope(a + 12);
  if (a[0] == 0x20 && a[1] == 0x02) return v4_scope(a + 2);  // 6to4 carries its IPv4 address
  if (has_prefix(a, kZero, 127)) {
    return a[15] == 1 ? AddressScope::kLoopback : AddressScope::kReserved;  // ::1, ::
  }
  for (const Prefix& p : kV6Prefixes) {
    if (has_prefix(a, p.bytes, p.length)) return p.scope;
  }
  if ((a[0] & 0xe0) != 0x20) return AddressScope::kReserved;  // outside 2000::/3
  return AddressScope::kGlobal;
}

std::string reverse_name(const IpAddress& ip) {
  std::string out;
  if (!ip.v6) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(ip.bytes[static_cast<size_t>(i)]);
      out.push_back('.');
    }
    out += "in-addr.arpa";
    return out;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(72);
  for (int i = 15; i >= 0; --i) {
    const uint8_t b = ip.bytes[static_cast<size_t>(i)];
    out.push_back(kHex[b & 0x0f]);
    out.push_back('.');
    out.push_back(kHex[b >> 4]);
    out.push_back('.');
  }
  out += "ip6.arpa";
  return out;
}

std::optional<std::string> normalize_hostname(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      out.push_back('.');
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return std::nullopt;
    out.push_back(c);
  }
  if (label == 0) return std::nullopt;
  return out;
}

bool is_private_domain(std::string_view name) {
  if (name.find('.') == std::string_view::npos) return true;  // single label: a local host
  static constexpr std::string_view kSuffixes[] = {
      "localhost",   "local",    "test",    "example",      "invalid",  "internal",
      "home.arpa",   "alt",      "onion",   "lan",          "corp",     "home",
      "localdomain", "intranet", "private", "in-addr.arpa", "ip6.arpa",
  };
  for (std::string_view s : kSuffixes) {
    if (name == s) return true;
    if (name.size() > s.size() && name.ends_with(s) && name[name.size() - s.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace klaxon::enrich
