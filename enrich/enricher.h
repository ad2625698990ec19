// Enricher: asynchronous, cached, bounded lookups for incident observables — reverse DNS
// (PTR), forward DNS (A/AAAA), RDAP and WHOIS — that never block the caller.
//
// Ownership and threads. An Enricher owns one I/O thread running an asio::io_context; the
// c-ares channel, the RDAP and WHOIS exchanges, the in-flight table and every timer live on
// it. request() may be called from any thread: it never blocks and never waits for an answer.
// It posts the request to the I/O thread, or, when max_pending requests are already waiting,
// rejects it on the spot (the callback runs on the caller's thread with kDropped before
// request() returns false). Every other callback runs on the I/O thread: keep callbacks short
// and non-blocking (hand the result to your own queue).
//
// What a request gets. At least one callback: the answer (from the cache or the network), a
// refusal (kRefusedPrivate), a drop (kDropped: in-flight bound, too many waiters on one key,
// shutting down) or, when `deadline` passes first, kTimeout. In that last case, when the
// query later ends with an answer (kOk or kNotFound), the same callback runs once more with
// `late` set; an error after the deadline is not reported twice. Destroying the Enricher ends
// every pending request with kDropped ("shutdown") on the I/O thread, then joins it.
//
// Sharing. Concurrent requests for the same key (kind + normalized value) share one query
// (single flight); answers are cached (see EnrichOptions for TTLs) in a bounded LRU cache that
// lookup_cached() reads from any thread without touching the network.
//
// Privacy. Private and reserved addresses (address.h) and private names are never sent to
// RDAP or WHOIS (kRefusedPrivate, no packet sent). Reverse DNS of a private address goes to
// the configured resolver only when ptr_private is set (the default: the site's resolver
// knows its own addresses). Redirects and referrals to private or loopback servers are
// refused unless allow_private_referrals is set.
//
// Hostile answers are escaped (PTR names with odd bytes), capped (field lengths, number of
// records, WHOIS bytes, redirect and referral hops) or dropped (oversized RDAP documents,
// malformed DNS, WHOIS servers that never close), and counted in
// klaxon_enrich_hostile_answers_total. Metric names are listed in enrich/README.md.
#pragma once

#include "enrich/lookup.h"
#include "pipeline/core/incident.h"
#include "pipeline/core/result.h"

#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon::enrich {

struct EnrichOptions {
  // --- DNS (c-ares) ---
  // "ip[:port],[ip6]:port,..."; empty: the system's resolvers (/etc/resolv.conf).
  std::string dns_servers;
  std::chrono::milliseconds dns_timeout{800};  // per try; c-ares doubles it on later rounds
  int dns_tries = 2;
  // Reverse lookups of private and reserved addresses go to the resolver above. Set false when
  // that resolver forwards such questions outside the site.
  bool ptr_private = true;

  // --- RDAP (RFC 9082/9083/9224) ---
  // IANA bootstrap files (dns.json, ipv4.json, ipv6.json), read once at creation.
  std::vector<std::string> rdap_bootstrap_files;
  // The base URL for values the bootstrap does not cover (e.g. "https://rdap.org/"); empty:
  // none (WHOIS is used instead when whois_fallback is set).
  std::string rdap_fallback_url;
  std::string tls_ca_file;             // trust anchors for RDAP servers (PEM); empty: the system's
  size_t rdap_max_bytes = 256 * 1024;  // larger documents are dropped (and counted)
  int rdap_max_redirects = 2;

  // --- WHOIS (RFC 3912) ---
  std::string whois_server = "whois.iana.org";  // "host[:port]"; empty: no WHOIS
  uint16_t whois_port = 43;                     // for servers named without a port (referrals too)
  size_t whois_max_bytes = 64 * 1024;           // the rest of a longer reply is not read
  bool whois_fallback = true;         // kRdap with no RDAP server for the value asks WHOIS
  bool whois_follow_referral = true;  // one referral, never more

  // --- Policy ---
  bool allow_private_referrals = false;      // redirect/referral targets in private space
  std::vector<std::string> private_domains;  // more suffixes never sent to RDAP/WHOIS

  // --- Time ---
  std::chrono::milliseconds deadline{2000};  // per request: kTimeout when it passes first
  // Cap on one RDAP or WHOIS lookup on the network, redirects, referral and the resolution of
  // the server's name included.
  std::chrono::milliseconds network_timeout{10000};

  // --- Bounds ---
  size_t max_pending = 16384;  // requests posted to the I/O thread and not yet taken
  size_t max_in_flight = 256;  // distinct queries in flight (DNS, RDAP and WHOIS together)
  size_t max_waiters = 1024;   // requests sharing one query

  // --- Cache ---
  size_t cache_entries = 100000;
  std::chrono::seconds min_ttl{0};         // positive DNS answers: the record's TTL, raised to this
  std::chrono::seconds max_ttl{86400};     // ... and lowered to this
  std::chrono::seconds negative_ttl{300};  // NXDOMAIN/NODATA/404: the SOA's, at most this
  std::chrono::seconds failure_ttl{10};    // errors and query timeouts (0: not cached)
  std::chrono::seconds registry_ttl{21600};  // RDAP/WHOIS answers (the protocols carry none)
};

// Counter values, for tests and benchmarks (the same numbers the metrics export).
struct EnrichStats {
  uint64_t requests = 0;  // lookups_total, all kinds and results
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t coalesced = 0;
  uint64_t queries = 0;  // sent on the network
  uint64_t late = 0;
  uint64_t dropped = 0;
  uint64_t hostile = 0;
  std::array<uint64_t, kLookupKindCount> queries_by_kind{};
  std::array<uint64_t, kLookupStatusCount> by_status{};
  size_t cache_entries = 0;
  size_t in_flight = 0;
};

class Enricher {
 public:
  // Validates the options, reads the bootstrap and CA files, sets up c-ares and starts the
  // I/O thread. Errors name the option or file at fault.
  static Result<std::unique_ptr<Enricher>> create(const EnrichOptions& options,
                                                  prometheus::Registry& registry);
  ~Enricher();
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;

  // Any thread; never blocks. False when rejected at once (callback already called with
  // kDropped on this thread). Must not race with the destructor.
  bool request(LookupKind kind, std::string_view value, LookupCallback callback);

  // The cached answer, if any (from_cache set, latency 0); never touches the network. Any
  // thread. Invalid values and private values refused by policy are simply not cached.
  std::optional<LookupResult> lookup_cached(LookupKind kind, std::string_view value) const;

  EnrichStats stats() const;
  const EnrichOptions& options() const;

  class Impl;

 private:
  explicit Enricher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The lookups an incident observable calls for: an address (source/destination IP, or a host
// given as an address) gets PTR and RDAP; a host name gets A and AAAA. Users and rules get
// none.
std::vector<std::pair<LookupKind, std::string>> plan_lookups(const Observable& observable);

}  // namespace klaxon::enrich
