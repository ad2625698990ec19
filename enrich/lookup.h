// Lookup kinds, statuses and the answers enrichment hands back.
//
// An Answer is what one lookup found (or why it found nothing). It is immutable once made and
// shared (std::shared_ptr<const Answer>) by the cache and every caller that asked for the same
// key, so a cache hit copies no strings. A LookupResult is one caller's view of an Answer: its
// own latency, whether it came from the cache, whether it arrived after the caller's deadline.
// Every string is owned and capped in length (kMaxFieldBytes); hostile bytes are kept escaped
// (DNS names) or escaped when rendered (to_json), never interpreted.
//
// Value types; no shared mutable state. to_json may run on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::enrich {

enum class LookupKind : uint8_t {
  kPtr = 0,  // reverse DNS of an IPv4/IPv6 address
  kA,        // IPv4 addresses of a host or domain name
  kAaaa,     // IPv6 addresses of a host or domain name
  kRdap,     // registration data of an address or domain (RDAP, WHOIS as the fallback)
  kWhois,    // the same over WHOIS only
};
inline constexpr int kLookupKindCount = 5;
const char* lookup_kind_name(LookupKind kind);

enum class LookupStatus : uint8_t {
  kOk = 0,    // an answer
  kNotFound,  // NXDOMAIN / no data / RDAP 404: a definite "nothing" (cached)
  kTimeout,   // the caller's deadline passed (a late answer may follow) or the query timed out
  kError,     // the query failed: server failure, bad reply, TLS, oversized, invalid input
  kRefusedPrivate,  // a private or reserved address/name that policy keeps from that service
  kDropped,         // not attempted: queue full, in-flight bound, shutting down
};
inline constexpr int kLookupStatusCount = 6;
const char* lookup_status_name(LookupStatus status);

enum class AnswerSource : uint8_t { kNone = 0, kDns, kRdap, kWhois };
const char* answer_source_name(AnswerSource source);

// The registration summary RDAP and WHOIS share. Empty strings are absent fields.
struct RegistrySummary {
  std::string url;            // RDAP: the URL queried; WHOIS: whois://host:port that answered
  std::string handle;         // network or domain handle
  std::string name;           // network name, or the domain's LDH name
  std::string country;        // ISO 3166 code as the registry gives it
  std::string registrant;     // registrant / organisation name
  std::string abuse_email;    // the abuse contact's e-mail address
  std::string start_address;  // first address of the network
  std::string end_address;    // last address of the network
  std::string cidr;           // the network as CIDR(s), comma-separated
  std::string referral;       // WHOIS: the referral the first server named ("host[:port]")
  bool truncated = false;     // the reply hit the byte cap (WHOIS: parsed what arrived)
};

// The longest string any answer field keeps (bytes); longer values are cut and counted.
inline constexpr size_t kMaxFieldBytes = 256;
// The most names (PTR) or addresses (A/AAAA) one answer keeps.
inline constexpr size_t kMaxRecords = 16;

struct Answer {
  LookupKind kind = LookupKind::kPtr;
  std::string value;  // the normalized key: canonical address text, lower-case name
  LookupStatus status = LookupStatus::kError;
  AnswerSource source = AnswerSource::kNone;
  std::string detail;        // why, for anything but kOk: "nxdomain", "servfail", "oversized", ...
  uint32_t ttl_seconds = 0;  // how long this answer is cached (0: not cached)
  std::vector<std::string> names;      // PTR: the names, escaped presentation form
  std::vector<std::string> addresses;  // A/AAAA: canonical address text
  RegistrySummary registry;            // RDAP/WHOIS
  uint32_t escaped_names = 0;          // PTR names that carried bytes outside [A-Za-z0-9_-]
};

// One caller's view of an answer.
struct LookupResult {
  std::shared_ptr<const Answer> answer;  // never null
  int64_t latency_ns = 0;                // from request() to this callback
  bool from_cache = false;
  // A second callback: this request already got kTimeout at its deadline and the answer
  // arrived afterwards.
  bool late = false;

  LookupStatus status() const { return answer->status; }
  bool ok() const { return answer->status == LookupStatus::kOk; }
};

using LookupCallback = std::function<void(const LookupResult&)>;

// One compact JSON object, for the incident's `enriched` event:
// {"kind":"ptr","value":"192.0.2.1","status":"ok","source":"dns","cached":false,"late":false,
//  "latency_us":812,"ttl":300,"names":["host.example"]} plus "detail", "addresses" or
// "registry" when present. Strings are JSON-escaped and invalid UTF-8 becomes U+FFFD.
std::string to_json(const LookupResult& result);
void append_json(std::string& out, const LookupResult& result);

}  // namespace klaxon::enrich
