// Enrichment without the network: address scopes, names, DNS message parsing and escaping,
// the cache, RDAP bootstrap and documents, WHOIS replies, URLs, JSON rendering.
#include "enrich/address.h"
#include "enrich/cache.h"
#include "enrich/dns_message.h"
#include "enrich/enricher.h"
#include "enrich/lookup.h"
#include "enrich/rdap.h"
#include "enrich/whois.h"
#include "tests/enrich/enrich_fixtures.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace klaxon::enrich {
namespace {

AddressScope scope_of(const char* text) {
  auto ip = parse_ip(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip ? address_scope(*ip) : AddressScope::kReserved;
}

TEST(Address, ParseAndFormatCanonically) {
  EXPECT_EQ(format_ip(*parse_ip("192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(format_ip(*parse_ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
  EXPECT_EQ(format_ip(*parse_ip("::ffff:8.8.8.8")), "::ffff:8.8.8.8");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "fe80::1%eth0",
                          "[::1]", "1.2.3.4 ", "host.example", "::g"}) {
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
  }
}

TEST(Address, PrivateAndReservedRangesAreNotGlobal) {
  const std::vector<std::pair<const char*, AddressScope>> cases = {
      {"10.1.2.3", AddressScope::kPrivate},
      {"172.16.0.1", AddressScope::kPrivate},
      {"172.31.255.255", AddressScope::kPrivate},
      {"192.168.1.1", AddressScope::kPrivate},
      {"127.0.0.1", AddressScope::kLoopback},
      {"169.254.10.10", AddressScope::kLinkLocal},
      {"100.64.0.1", AddressScope::kSharedCgn},
      {"100.127.255.255", AddressScope::kSharedCgn},
      {"192.0.2.7", AddressScope::kDocumentation},
      {"198.51.100.7", AddressScope::kDocumentation},
      {"203.0.113.9", AddressScope::kDocumentation},
      {"198.18.0.1", AddressScope::kBenchmarking},
      {"0.1.2.3", AddressScope::kReserved},
      {"240.0.0.1", AddressScope::kReserved},
      {"255.255.255.255", AddressScope::kReserved},
      {"224.0.0.251", AddressScope::kMulticast},
      {"::1", AddressScope::kLoopback},
      {"::", AddressScope::kReserved},
      {"fc00::1", AddressScope::kPrivate},
      {"fd12:3456::1", AddressScope::kPrivate},
      {"fe80::1", AddressScope::kLinkLocal},
      {"febf::1", AddressScope::kLinkLocal},
      {"2001:db8::1", AddressScope::kDocumentation},
      {"3fff::1", AddressScope::kDocumentation},
      {"ff02::1", AddressScope::kMulticast},
      {"::ffff:10.0.0.1", AddressScope::kPrivate},    // IPv4-mapped: the IPv4 address decides
      {"64:ff9b::c0a8:101", AddressScope::kPrivate},  // NAT64 of 192.168.1.1
      {"2002:c0a8:101::1", AddressScope::kPrivate},   // 6to4 of 192.168.1.1
      {"2001::1", AddressScope::kReserved},           // Teredo
      {"100::1", AddressScope::kReserved},            // discard
      {"4000::1", AddressScope::kReserved},           // outside 2000::/3
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(scope_of(text), want) << text;
  }
  for (const char* global :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "11.0.0.1", "2606:4700::1111",
        "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_EQ(scope_of(global), AddressScope::kGlobal) << global;
  }
}

TEST(Address, ReverseNames) {
  EXPECT_EQ(reverse_name(*parse_ip("192.0.2.10")), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(*parse_ip("2001:db8::7")),
            "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(Address, HostnamesAreNormalizedAndPrivateOnesRecognized) {
  EXPECT_EQ(*normalize_hostname("WWW.Example.COM."), "www.example.com");
  EXPECT_EQ(*normalize_hostname("_dmarc.example.org"), "_dmarc.example.org");
  const std::vector<std::string> bad_names = {"",
                                              ".",
                                              "a..b",
                                              "a b.example",
                                              "a\x01.example",
                                              "é.example",
                                              "x.example/",
                                              std::string(64, 'a')};
  for (const std::string& bad : bad_names) {
    EXPECT_FALSE(normalize_hostname(bad).has_value()) << bad;
  }
  for (const char* p : {"printer", "host.local", "a.b.internal", "x.test", "localhost",
                        "nas.home.arpa", "10.in-addr.arpa", "mail.corp"}) {
    EXPECT_TRUE(is_private_domain(p)) << p;
  }
  for (const char* p : {"example.com", "rdap.arin.net", "localtest.me", "testing.org"}) {
    EXPECT_FALSE(is_private_domain(p)) << p;
  }
}

// A response to one question (name q, type t) with the given answer records.
std::string response(const std::string& qname, uint16_t qtype, int rcode,
                     const std::vector<std::string>& answers,
                     const std::vector<std::string>& authority = {}) {
  std::string m = {'\x12', '\x34', '\x81', static_cast<char>(0x80 | rcode), 0, 1};
  m.push_back(0);
  m.push_back(static_cast<char>(answers.size()));
  m.push_back(0);
  m.push_back(static_cast<char>(authority.size()));
  m += std::string(2, '\0');
  m += test::dns_name(qname);
  m.push_back(static_cast<char>(qtype >> 8));
  m.push_back(static_cast<char>(qtype & 0xff));
  m += std::string("\x00\x01", 2);
  for (const auto& a : answers) m += a;
  for (const auto& a : authority) m += a;
  return m;
}

Result<PtrRecords> parse_ptr(const std::string& msg) {
  return parse_ptr_response(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), 4);
}

TEST(DnsMessage, PtrNamesWithTtl) {
  const std::string q = "10.2.0.192.in-addr.arpa";
  auto r = parse_ptr(response(q, kDnsTypePtr, 0,
                              {test::dns_rr(kDnsTypePtr, 300, test::dns_name("host.example.org")),
                               test::dns_rr(kDnsTypePtr, 120, test::dns_name("alias.example"))}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->names, (std::vector<std::string>{"host.example.org", "alias.example"}));
  EXPECT_EQ(r->ttl, 120u);
  EXPECT_EQ(r->escaped, 0u);
}

TEST(DnsMessage, HostileBytesAreEscapedNotInterpreted) {
  const std::string q = "1.2.0.192.in-addr.arpa";
  const std::string evil = test::dns_label_name(
      {std::string("bell\x07\x1b[31mred"), std::string("nul\0dot.", 8), "example"});
  auto r = parse_ptr(response(q, kDnsTypePtr, 0, {test::dns_rr(kDnsTypePtr, 60, evil)}));
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->names.size(), 1u);
  EXPECT_EQ(r->names[0], "bell\\007\\027\\09131mred.nul\\000dot\\046.example");
  EXPECT_EQ(r->escaped, 1u);
  for (char c : r->names[0]) EXPECT_TRUE(c >= 0x21 && c <= 0x7e) << int(c);
}

TEST(DnsMessage, CompressionLoopsAndTruncationAreMalformed) {
  const std::string q = "1.2.0.192.in-addr.arpa";
  // rdata = a pointer to itself: would loop forever without the backwards-only rule.
  std::string msg = response(q, kDnsTypePtr, 0, {test::dns_rr(kDnsTypePtr, 60, "\xc0\x00")});
  const size_t rdata = msg.size() - 2;
  msg[rdata] = static_cast<char>(0xc0 | (rdata >> 8));
  msg[rdata + 1] = static_cast<char>(rdata & 0xff);
  EXPECT_FALSE(parse_ptr(msg).has_value());
  // Two labels pointing at each other (forward pointer).
  std::string fwd = response(q, kDnsTypePtr, 0,
                             {test::dns_rr(kDnsTypePtr, 60,
                                           "\x01"
                                           "a\xc0\xff")});
  EXPECT_FALSE(parse_ptr(fwd).has_value());
  // Cut short anywhere: never a crash, never a name.
  const std::string good =
      response(q, kDnsTypePtr, 0, {test::dns_rr(kDnsTypePtr, 60, test::dns_name("h.example"))});
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = parse_ptr(good.substr(0, n));
    EXPECT_TRUE(!r.has_value() || r->names.empty()) << n;
  }
  // A name longer than 255 wire bytes.
  std::vector<std::string> labels(5, std::string(60, 'a'));
  auto r = parse_ptr(
      response(q, kDnsTypePtr, 0, {test::dns_rr(kDnsTypePtr, 60, test::dns_label_name(labels))}));
  EXPECT_FALSE(r.has_value());
}

TEST(DnsMessage, RecordsBeyondTheCapAreCounted) {
  std::vector<std::string> rrs;
  for (int i = 0; i < 7; ++i) {
    rrs.push_back(
        test::dns_rr(kDnsTypePtr, 60, test::dns_name(std::string("h") + std::to_string(i) + ".x")));
  }
  auto r = parse_ptr(response("1.2.0.192.in-addr.arpa", kDnsTypePtr, 0, rrs));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->names.size(), 4u);
  EXPECT_EQ(r->over_cap, 3u);
}

TEST(DnsMessage, NegativeTtlFromSoa) {
  // SOA: mname, rname, serial, refresh, retry, expire, minimum = 30; record TTL 900.
  std::string soa = test::dns_name("ns.example") + test::dns_name("hostmaster.example");
  for (uint32_t v : {1u, 2u, 3u, 4u, 30u}) {
    for (int s = 24; s >= 0; s -= 8) soa.push_back(static_cast<char>((v >> s) & 0xff));
  }
  const std::string msg =
      response("nope.example", kDnsTypeA, 3, {}, {test::dns_rr(kDnsTypeSoa, 900, soa)});
  auto ttl = negative_ttl(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  ASSERT_TRUE(ttl.has_value());
  EXPECT_EQ(*ttl, 30u);
  const std::string bare = response("nope.example", kDnsTypeA, 3, {});
  EXPECT_FALSE(negative_ttl(reinterpret_cast<const uint8_t*>(bare.data()), bare.size()));
  EXPECT_EQ(response_rcode(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()), 3);
}

std::shared_ptr<const Answer> answer(const std::string& v) {
  auto a = std::make_shared<Answer>();
  a->value = v;
  a->status = LookupStatus::kOk;
  return a;
}

TEST(Cache, ExpiresByTimeAndEvictsLeastRecentlyUsed) {
  LookupCache cache(3);
  const int64_t s = 1000000000;
  cache.put("0a", answer("a"), 10 * s, 0);
  cache.put("0b", answer("b"), 10 * s, 0);
  cache.put("0c", answer("c"), 2 * s, 0);
  ASSERT_NE(cache.get("0a", 1 * s), nullptr);                // a is now the most recently used
  EXPECT_TRUE(cache.put("0d", answer("d"), 10 * s, 1 * s));  // evicts b
  EXPECT_EQ(cache.get("0b", 1 * s), nullptr);
  EXPECT_EQ(cache.evicted(), 1u);
  bool expired = false;
  EXPECT_EQ(cache.get("0c", 3 * s, &expired), nullptr);  // its TTL has passed
  EXPECT_TRUE(expired);
  EXPECT_EQ(cache.expired(), 1u);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get("0d", 3 * s)->value, "d");
  cache.put("0d", answer("d2"), 20 * s, 3 * s);  // replaced in place
  EXPECT_EQ(cache.get("0d", 15 * s)->value, "d2");
  EXPECT_FALSE(cache.put("0e", answer("e"), 5 * s, 5 * s));  // already expired: not stored
  EXPECT_EQ(cache.get("0e", 5 * s), nullptr);
  EXPECT_NE(cache_key(LookupKind::kA, "x"), cache_key(LookupKind::kAaaa, "x"));
}

TEST(Rdap, BootstrapPicksTheLongestMatch) {
  RdapBootstrap b;
  ASSERT_TRUE(b.load_text(R"({"version":"1.0","publication":"2024-01-01T00:00:00Z","services":[
      [["8.0.0.0/8","9.0.0.0/8"],["http://insecure.example/","https://rdap.arin.example/rdap"]],
      [["8.8.0.0/16"],["https://rdap.narrow.example/"]],
      [["2001:200::/23"],["https://rdap.apnic.example/"]],
      [["com","net"],["https://rdap.verisign.example/com/v1/"]],
      [["example.com"],["https://rdap.deep.example/"]],
      [["1-1876"],["https://rdap.asn.example/"]]]})",
                          "test")
                  .has_value());
  EXPECT_EQ(b.find_ip(*parse_ip("8.8.8.8")), "https://rdap.narrow.example/");
  EXPECT_EQ(b.find_ip(*parse_ip("8.9.1.1")), "https://rdap.arin.example/rdap/");
  EXPECT_EQ(b.find_ip(*parse_ip("9.1.1.1")), "https://rdap.arin.example/rdap/");
  EXPECT_EQ(b.find_ip(*parse_ip("2001:200::1")), "https://rdap.apnic.example/");
  EXPECT_EQ(b.find_ip(*parse_ip("1.1.1.1")), "");
  EXPECT_EQ(b.find_domain("www.google.com"), "https://rdap.verisign.example/com/v1/");
  EXPECT_EQ(b.find_domain("a.example.com"), "https://rdap.deep.example/");
  EXPECT_EQ(b.find_domain("example.org"), "");
  EXPECT_EQ(b.find_domain("notcom"), "");
  EXPECT_FALSE(b.load_text("[]", "x").has_value());
  EXPECT_FALSE(b.load_text(R"({"services":[[["8.0.0.0/33"],["https://a/"]]]})", "x").has_value());
  EXPECT_FALSE(b.load_file("/nonexistent/ipv4.json").has_value());
}

TEST(Rdap, UrlsAndRedirects) {
  auto u = parse_https_url("https://RDAP.Example.net:8443/rdap/ip/8.8.8.8?x=1#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "rdap.example.net");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/rdap/ip/8.8.8.8?x=1");
  auto v6 = parse_https_url("https://[2001:db8::1]/");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->host_is_ip);
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 443);
  for (const char* bad : {"http://a.example/", "https://user@a.example/", "https://a:0/",
                          "https://a:99999/", "https:///x", "ftp://a/", "https://a b/"}) {
    EXPECT_FALSE(parse_https_url(bad).has_value()) << bad;
  }
  EXPECT_EQ(rdap_query_url("https://r.example/rdap", true, "8.8.8.8"),
            "https://r.example/rdap/ip/8.8.8.8");
  EXPECT_EQ(rdap_query_url("https://r.example/", false, "example.com"),
            "https://r.example/domain/example.com");
  auto rel = resolve_location(*u, "/other/ip/8.8.8.8");
  ASSERT_TRUE(rel.has_value());
  EXPECT_EQ(rel->host, "rdap.example.net");
  EXPECT_EQ(rel->target, "/other/ip/8.8.8.8");
  EXPECT_FALSE(resolve_location(*u, "http://downgrade.example/").has_value());
}

constexpr const char* kArinNetwork = R"({
  "rdapConformance": ["rdap_level_0", "cidr0"],
  "objectClassName": "ip network",
  "handle": "NET-8-8-8-0-2",
  "startAddress": "8.8.8.0",
  "endAddress": "8.8.8.255",
  "ipVersion": "v4",
  "name": "GOGL",
  "type": "DIRECT ALLOCATION",
  "country": "US",
  "cidr0_cidrs": [{"v4prefix": "8.8.8.0", "length": 24}],
  "entities": [{
    "objectClassName": "entity",
    "handle": "GOGL",
    "roles": ["registrant"],
    "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Google LLC"],
                             ["kind", {}, "text", "org"]]],
    "entities": [{
      "objectClassName": "entity",
      "handle": "ABUSE5250-ARIN",
      "roles": ["abuse"],
      "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Abuse"],
                               ["email", {}, "text", "network-abuse@google.com"]]]
    }]
  }]
})";

TEST(Rdap, NetworkDocumentSummary) {
  simdjson::dom::parser parser;
  auto r = parse_rdap(parser, simdjson::padded_string(std::string(kArinNetwork)));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const RegistrySummary& s = r->summary;
  EXPECT_EQ(s.handle, "NET-8-8-8-0-2");
  EXPECT_EQ(s.name, "GOGL");
  EXPECT_EQ(s.country, "US");
  EXPECT_EQ(s.start_address, "8.8.8.0");
  EXPECT_EQ(s.end_address, "8.8.8.255");
  EXPECT_EQ(s.cidr, "8.8.8.0/24");
  EXPECT_EQ(s.registrant, "Google LLC");
  EXPECT_EQ(s.abuse_email, "network-abuse@google.com");
  EXPECT_EQ(r->truncated_fields, 0u);
}

TEST(Rdap, DomainDocumentAndHostileDocuments) {
  simdjson::dom::parser parser;
  auto d = parse_rdap(parser, simdjson::padded_string(std::string(
                                  R"({"objectClassName":"domain","handle":"2336799_DOMAIN_COM-VRSN",
      "ldhName":"EXAMPLE.COM","entities":[{"roles":["registrar"],"entities":[{"roles":["abuse"],
      "vcardArray":["vcard",[["email",{},"text","abuse@registrar.example"]]]}]}]})")));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->summary.name, "EXAMPLE.COM");
  EXPECT_EQ(d->summary.abuse_email, "abuse@registrar.example");
  // Not JSON, not an object, nothing useful: errors.
  for (const char* bad :
       {"<html>nope</html>", "[1,2]", "{\"objectClassName\":\"ip network\"}", "{\"handle\": 5}"}) {
    EXPECT_FALSE(parse_rdap(parser, simdjson::padded_string(std::string(bad))).has_value()) << bad;
  }
  // A 10 kB name is cut to kMaxFieldBytes on a UTF-8 boundary, and counted.
  std::string big = "{\"handle\":\"H\",\"name\":\"";
  for (int i = 0; i < 5000; ++i) big += "\xc3\xa9";  // é
  big += "\"}";
  auto r = parse_rdap(parser, simdjson::padded_string(big));
  ASSERT_TRUE(r.has_value());
  EXPECT_LE(r->summary.name.size(), kMaxFieldBytes);
  EXPECT_EQ(r->summary.name.size() % 2, 0u);
  EXPECT_EQ(r->truncated_fields, 1u);
}

TEST(Whois, ArinStyleReplyWithReferral) {
  auto p = parse_whois(
      "#\n# ARIN WHOIS data and services are subject to the Terms of Use\n#\n\n"
      "NetRange:       193.0.0.0 - 193.0.23.255\nCIDR:           193.0.0.0/20, 193.0.16.0/21\n"
      "NetName:        RIPE-NCC\nNetHandle:      NET-193-0-0-0-1\n"
      "Organization:   RIPE Network Coordination Centre (RIPE)\n"
      "ReferralServer:  whois://whois.ripe.net\n"
      "OrgAbuseEmail:  abuse@ripe.net\nCountry:        NL\n");
  EXPECT_EQ(p.summary.start_address, "193.0.0.0");
  EXPECT_EQ(p.summary.end_address, "193.0.23.255");
  EXPECT_EQ(p.summary.cidr, "193.0.0.0/20, 193.0.16.0/21");
  EXPECT_EQ(p.summary.name, "RIPE-NCC");
  EXPECT_EQ(p.summary.handle, "NET-193-0-0-0-1");
  EXPECT_EQ(p.summary.registrant, "RIPE Network Coordination Centre (RIPE)");
  EXPECT_EQ(p.summary.abuse_email, "abuse@ripe.net");
  EXPECT_EQ(p.summary.country, "NL");
  ASSERT_TRUE(p.refer.has_value());
  EXPECT_EQ(p.refer->host, "whois.ripe.net");
  EXPECT_EQ(p.refer->port, 0);
  EXPECT_FALSE(p.not_found);
}

TEST(Whois, RipeStyleReplyAndNotFound) {
  auto p = parse_whois(
      "% This is the RIPE Database query service.\n"
      "% Abuse contact for '193.0.0.0 - 193.0.7.255' is 'abuse@ripe.net'\n\n"
      "inetnum:        193.0.0.0 - 193.0.7.255\nnetname:        RIPE-NCC\n"
      "descr:          RIPE Network Coordination Centre\ncountry:        NL\n");
  EXPECT_EQ(p.summary.abuse_email, "abuse@ripe.net");
  EXPECT_EQ(p.summary.registrant, "RIPE Network Coordination Centre");
  EXPECT_EQ(p.summary.start_address, "193.0.0.0");
  EXPECT_FALSE(p.refer.has_value());
  auto v6 = parse_whois("inet6num:       2001:67c:2e8::/48\nnetname: RIPE-NCC\n");
  EXPECT_EQ(v6.summary.cidr, "2001:67c:2e8::/48");
  EXPECT_TRUE(parse_whois("%ERROR:101: no entries found\n").not_found);
  EXPECT_TRUE(parse_whois("No match for \"NOPE.EXAMPLE\".\n").not_found);
  // IANA: refer and whois lines; rwhois referrals are not followed.
  EXPECT_EQ(parse_whois("refer:        whois.arin.net\n").refer->host, "whois.arin.net");
  EXPECT_FALSE(parse_whois("ReferralServer: rwhois://rwhois.example.net:4321\n").refer);
}

TEST(Whois, ServerNames) {
  EXPECT_EQ(parse_whois_server("whois://127.0.0.1:4343")->port, 4343);
  EXPECT_EQ(parse_whois_server("whois.example.net:43")->host, "whois.example.net");
  EXPECT_EQ(parse_whois_server("[2001:db8::1]:43")->host, "2001:db8::1");
  EXPECT_EQ(parse_whois_server("2001:db8::1")->port, 0);
  EXPECT_FALSE(parse_whois_server("http://x.example/").has_value());
  EXPECT_FALSE(parse_whois_server("bad host").has_value());
  EXPECT_FALSE(parse_whois_server("h:99999").has_value());
}

TEST(Json, CompactObjectWithEscapedStrings) {
  auto a = std::make_shared<Answer>();
  a->kind = LookupKind::kPtr;
  a->value = "192.0.2.1";
  a->status = LookupStatus::kOk;
  a->source = AnswerSource::kDns;
  a->ttl_seconds = 300;
  a->names = {"host.example", "odd\\034name"};
  a->escaped_names = 1;
  LookupResult r{a, 1500000, true, false};
  EXPECT_EQ(to_json(r),
            R"({"kind":"ptr","value":"192.0.2.1","status":"ok","source":"dns","cached":true,)"
            R"("late":false,"latency_us":1500,"ttl":300,"names":["host.example","odd\\034name"],)"
            R"("escaped_names":1})");
  auto w = std::make_shared<Answer>();
  w->kind = LookupKind::kRdap;
  w->value = "8.8.8.8";
  w->status = LookupStatus::kOk;
  w->source = AnswerSource::kWhois;
  w->registry.name = "NET\x01<script>";
  w->registry.truncated = true;
  const std::string j = to_json(LookupResult{w, 0, false, true});
  EXPECT_NE(j.find(R"("registry":{"name":"NET\u0001<script>","truncated":true})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("late":true)"), std::string::npos);
}

TEST(Plan, ObservablesToLookups) {
  using K = LookupKind;
  auto ip = plan_lookups(Observable{ObservableKind::kSourceIp, "8.8.8.8"});
  ASSERT_EQ(ip.size(), 2u);
  EXPECT_EQ(ip[0].first, K::kPtr);
  EXPECT_EQ(ip[1].first, K::kRdap);
  auto host = plan_lookups(Observable{ObservableKind::kHost, "web01.example.com"});
  ASSERT_EQ(host.size(), 2u);
  EXPECT_EQ(host[0].first, K::kA);
  EXPECT_EQ(host[1].first, K::kAaaa);
  EXPECT_EQ(plan_lookups(Observable{ObservableKind::kHost, "10.0.0.1"})[0].first, K::kPtr);
  EXPECT_TRUE(plan_lookups(Observable{ObservableKind::kUser, "alice"}).empty());
  EXPECT_TRUE(plan_lookups(Observable{ObservableKind::kSourceIp, "not an ip"}).empty());
}

}  // namespace
}  // namespace klaxon::enrich
