// WHOIS (RFC 3912) without the network: the summary of a reply and its referral.
//
// WHOIS has no schema; each registry writes its own `key: value` lines. parse_whois() knows
// the common ones (ARIN, RIPE, APNIC, AFRINIC, LACNIC, IANA, ICANN-style domain registries):
// the first value of each field wins, keys are compared case-insensitively, comment lines
// ('%', '#') are skipped except RIPE's "% Abuse contact for ... is 'x'". The referral is read
// from `refer:` (IANA), `ReferralServer:` (ARIN, whois:// only; rwhois is not followed),
// `whois:` (IANA TLD pages) and `Registrar WHOIS Server:`. Values are capped at kMaxFieldBytes.
//
// Free functions; any thread.
#pragma once

#include "enrich/lookup.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace klaxon::enrich {

struct WhoisServer {
  std::string host;   // name or address literal
  uint16_t port = 0;  // 0: the configured default (43)
};

// "whois.ripe.net", "whois://whois.ripe.net", "whois://host:4343", "[2001:db8::1]:43",
// "127.0.0.1:4343". nullopt for other schemes (rwhois://, http://) and for garbage.
std::optional<WhoisServer> parse_whois_server(std::string_view text);

struct WhoisParse {
  RegistrySummary summary;           // summary.referral holds the referral text as found
  std::optional<WhoisServer> refer;  // the referral, when one parses
  bool not_found = false;            // a "no match" reply with no fields
  uint32_t truncated_fields = 0;
};
WhoisParse parse_whois(std::string_view text);

}  // namespace klaxon::enrich
