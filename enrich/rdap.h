// RDAP without the network: bootstrap data (RFC 9224), query URLs (RFC 9082) and the summary
// of a response (RFC 9083).
//
// RdapBootstrap reads IANA-format registry files (dns.json, ipv4.json, ipv6.json; asn.json and
// object-tags.json entries are ignored) and answers "which RDAP server for this address or
// domain": the longest matching prefix, the longest matching label suffix. Only https base
// URLs are kept. Loaded once; const afterwards, so any thread may read it.
//
// parse_rdap() turns a response body into a RegistrySummary: handle, name (network name or
// domain LDH name), country, addresses / CIDRs (with the cidr0 extension), the registrant's
// name and the abuse contact's e-mail from the jCard (RFC 7095) of the entities, searched
// three levels deep. Every field is capped at kMaxFieldBytes (cut on a UTF-8 boundary).
// Free functions; any thread (the simdjson parser is the caller's).
#pragma once

#include "enrich/address.h"
#include "enrich/lookup.h"
#include "pipeline/core/result.h"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::enrich {

class RdapBootstrap {
 public:
  // Adds the services of one IANA bootstrap file. Errors name the file and what was wrong.
  Status load_file(const std::string& path);
  Status load_text(std::string_view json, const std::string& origin);

  // The base URL (ending in '/') for an address or a normalized domain; empty when none.
  std::string find_ip(const IpAddress& ip) const;
  std::string find_domain(std::string_view name) const;
  size_t entries() const { return nets_.size() + domains_.size(); }

 private:
  struct Net {
    IpAddress prefix;
    int length;
    std::string url;
  };
  struct Domain {
    std::string suffix;  // lower case, no dots at either end
    std::string url;
  };
  std::vector<Net> nets_;
  std::vector<Domain> domains_;
};

struct HttpsUrl {
  std::string host;  // name or address literal (no brackets)
  uint16_t port = 443;
  std::string target = "/";  // path and query
  bool host_is_ip = false;
};
// Absolute https URLs only (no user info); nullopt otherwise.
std::optional<HttpsUrl> parse_https_url(std::string_view url);
// base (with or without its trailing '/') + "ip/<address>" or "domain/<name>".
std::string rdap_query_url(std::string_view base, bool is_ip, std::string_view value);
// Resolves a Location header against the URL it came from (absolute or absolute-path).
std::optional<HttpsUrl> resolve_location(const HttpsUrl& from, std::string_view location);

struct RdapParse {
  RegistrySummary summary;
  uint32_t truncated_fields = 0;
};
// body must be padded (simdjson::padded_string or SIMDJSON_PADDING spare bytes).
Result<RdapParse> parse_rdap(simdjson::dom::parser& parser, const simdjson::padded_string& body);

// Copies at most kMaxFieldBytes of s into out, cut on a UTF-8 boundary; true when cut.
bool assign_capped(std::string& out, std::string_view s);

}  // namespace klaxon::enrich
