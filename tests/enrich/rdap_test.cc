// RDAP over HTTPS against a local fixture whose certificate the test makes with the openssl
// CLI: normal answers for networks and domains, 404, oversized documents, slow servers (the
// deadline, then the late answer), redirects, a wrong CA, malformed bodies; and the privacy
// rule: private and reserved values never reach RDAP or WHOIS, not even as a connection.
#include "enrich/enricher.h"
#include "tests/enrich/enrich_fixtures.h"

#include <gtest/gtest.h>

#include <chrono>

namespace klaxon::enrich {
namespace {

using namespace std::chrono_literals;
using test::Collector;

const char* kNetwork = R"({"objectClassName":"ip network","handle":"NET-8-8-8-0-2",
  "startAddress":"8.8.8.0","endAddress":"8.8.8.255","name":"GOGL","country":"US",
  "cidr0_cidrs":[{"v4prefix":"8.8.8.0","length":24}],
  "entities":[{"roles":["registrant"],"vcardArray":["vcard",[["fn",{},"text","Google LLC"]]],
    "entities":[{"roles":["abuse"],"vcardArray":["vcard",[["email",{},"text","abuse@google.example"]]]}]}]})";

class RdapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(test::make_test_pki(dir_.path(), &pki_, &error)) << error;
    server_ = std::make_unique<test::HttpsServer>(
        pki_, [this](const std::string& path) { return route(path); });
    // IANA-format bootstrap files that send 8/8, 9/8, 1.1.1.0/24, 2001:4860::/32 and .com to
    // the fixture.
    test::write_file(dir_.path() + "/ipv4.json",
                     R"({"version":"1.0","services":[[["8.0.0.0/8","9.0.0.0/8","1.1.1.0/24"],[")" +
                         server_->base_url() + R"("]]]})");
    test::write_file(dir_.path() + "/ipv6.json",
                     R"({"version":"1.0","services":[[["2001:4860::/32"],[")" +
                         server_->base_url() + R"("]]]})");
    test::write_file(dir_.path() + "/dns.json", R"({"version":"1.0","services":[[["com"],[")" +
                                                    server_->base_url() + R"(rdap/"]]]})");
  }

  test::HttpReply route(const std::string& path) {
    test::HttpReply r;
    if (path == "/ip/8.8.8.8" || path == "/ip/2001:4860::8888") {
      r.body = kNetwork;
    } else if (path == "/rdap/domain/example.com") {
      r.body = R"({"objectClassName":"domain","handle":"2336799_DOMAIN_COM-VRSN",
                   "ldhName":"EXAMPLE.COM"})";
    } else if (path == "/ip/8.8.4.4" || path == "/ip/8.8.4.5") {  // 1 MiB: over any sane cap
      r.body = std::string(R"({"handle":")") + std::string(1 << 20, 'x') + "\"}";
      r.chunked = path == "/ip/8.8.4.5";
    } else if (path == "/ip/8.8.4.6") {  // chunked and small: fine
      r.body = kNetwork;
      r.chunked = true;
    } else if (path == "/ip/9.9.9.9") {  // slow
      r.delay_ms = slow_ms_;
      r.body = kNetwork;
    } else if (path == "/ip/9.9.9.10") {  // redirect on the same server
      r.status = 302;
      r.headers = {{"Location", "/ip/8.8.8.8"}};
    } else if (path == "/ip/9.9.9.11") {  // redirect into private space
      r.status = 301;
      r.headers = {{"Location", "https://10.0.0.1/ip/9.9.9.11"}};
    } else if (path == "/ip/9.9.9.12") {
      r.body = "<html>rate limited, try later</html>";
    } else if (path == "/ip/9.9.9.13") {
      r.status = 500;
    } else {
      r.status = 404;
      r.body = R"({"errorCode":404,"title":"Not Found"})";
    }
    return r;
  }

  EnrichOptions options() const {
    EnrichOptions o;
    o.rdap_bootstrap_files = {dir_.path() + "/ipv4.json", dir_.path() + "/ipv6.json",
                              dir_.path() + "/dns.json"};
    o.tls_ca_file = pki_.ca_file;
    o.whois_server.clear();
    o.dns_servers = "127.0.0.1:9";  // never used: every server here is an address literal
    o.deadline = 3s;
    o.network_timeout = 5s;
    return o;
  }
  std::unique_ptr<Enricher> make(const EnrichOptions& o) {
    auto e = Enricher::create(o, registry_);
    EXPECT_TRUE(e.has_value()) << (e.has_value() ? "" : e.error().to_string());
    return e.has_value() ? std::move(*e) : nullptr;
  }
  LookupResult one(Enricher& e, LookupKind kind, const std::string& value) {
    Collector c;
    e.request(kind, value, c.callback());
    EXPECT_TRUE(c.wait_for(1, 8s)) << value;
    auto r = c.results();
    return r.empty() ? LookupResult{std::make_shared<Answer>()} : r[0];
  }
  double hostile(const std::string& kind) {
    return test::metric(registry_, "klaxon_enrich_hostile_answers_total{kind=\"" + kind + "\"}");
  }

  test::TempDir dir_;
  test::TestPki pki_;
  int slow_ms_ = 1200;
  std::unique_ptr<test::HttpsServer> server_;
  prometheus::Registry registry_;
};

TEST_F(RdapTest, NetworkAndDomainSummaries) {
  auto e = make(options());
  const LookupResult r = one(*e, LookupKind::kRdap, "8.8.8.8");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  const RegistrySummary& s = r.answer->registry;
  EXPECT_EQ(r.answer->source, AnswerSource::kRdap);
  EXPECT_EQ(s.url, server_->base_url() + "ip/8.8.8.8");
  EXPECT_EQ(s.handle, "NET-8-8-8-0-2");
  EXPECT_EQ(s.name, "GOGL");
  EXPECT_EQ(s.country, "US");
  EXPECT_EQ(s.cidr, "8.8.8.0/24");
  EXPECT_EQ(s.start_address, "8.8.8.0");
  EXPECT_EQ(s.end_address, "8.8.8.255");
  EXPECT_EQ(s.registrant, "Google LLC");
  EXPECT_EQ(s.abuse_email, "abuse@google.example");
  EXPECT_EQ(r.answer->ttl_seconds, 21600u);
  EXPECT_TRUE(one(*e, LookupKind::kRdap, "8.8.8.8").from_cache);
  EXPECT_EQ(server_->requests(), 1);

  const LookupResult v6 = one(*e, LookupKind::kRdap, "2001:4860:0::8888");
  ASSERT_EQ(v6.status(), LookupStatus::kOk) << to_json(v6);
  const LookupResult d = one(*e, LookupKind::kRdap, "EXAMPLE.com");
  ASSERT_EQ(d.status(), LookupStatus::kOk) << to_json(d);
  EXPECT_EQ(d.answer->registry.name, "EXAMPLE.COM");
  EXPECT_EQ(d.answer->registry.url, server_->base_url() + "rdap/domain/example.com");
  const std::string json = to_json(d);
  EXPECT_NE(json.find(R"("registry":{"url":")"), std::string::npos) << json;
}

TEST_F(RdapTest, NotFoundIsANegativeAnswer) {
  EnrichOptions o = options();
  o.negative_ttl = 60s;
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kRdap, "1.1.1.1");
  EXPECT_EQ(r.status(), LookupStatus::kNotFound) << to_json(r);
  EXPECT_EQ(r.answer->ttl_seconds, 60u);
  EXPECT_TRUE(one(*e, LookupKind::kRdap, "1.1.1.1").from_cache);
  EXPECT_EQ(server_->requests(), 1);
}

TEST_F(RdapTest, OversizedDocumentIsDroppedAndCounted) {
  EnrichOptions o = options();
  o.rdap_max_bytes = 64 * 1024;
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kRdap, "8.8.4.4");  // Content-Length
  EXPECT_EQ(r.status(), LookupStatus::kError) << to_json(r).substr(0, 400);
  EXPECT_EQ(r.answer->detail, "rdap oversized");
  const LookupResult c = one(*e, LookupKind::kRdap, "8.8.4.5");  // chunked
  EXPECT_EQ(c.status(), LookupStatus::kError) << to_json(c).substr(0, 400);
  EXPECT_EQ(c.answer->detail, "rdap oversized");
  EXPECT_EQ(hostile("rdap_oversized"), 2);
  const LookupResult small = one(*e, LookupKind::kRdap, "8.8.4.6");
  EXPECT_EQ(small.status(), LookupStatus::kOk) << to_json(small);
}

TEST_F(RdapTest, SlowServerMissesTheDeadlineAndTheAnswerLandsLater) {
  EnrichOptions o = options();
  o.deadline = 300ms;
  auto e = make(o);
  Collector c;
  e->request(LookupKind::kRdap, "9.9.9.9", c.callback());
  ASSERT_TRUE(c.wait_for(1, 2s));
  const LookupResult first = c.results()[0];
  EXPECT_EQ(first.status(), LookupStatus::kTimeout);
  EXPECT_GE(first.latency_ns, 290'000'000);
  EXPECT_LT(first.latency_ns, 1'000'000'000);
  ASSERT_TRUE(c.wait_for(2, 5s));
  const LookupResult late = c.results()[1];
  EXPECT_TRUE(late.late);
  ASSERT_EQ(late.status(), LookupStatus::kOk) << to_json(late);
  EXPECT_GE(late.latency_ns, 1'100'000'000);
  EXPECT_EQ(late.answer->registry.handle, "NET-8-8-8-0-2");
}

TEST_F(RdapTest, ServerSlowerThanTheNetworkCapIsCutOff) {
  EnrichOptions o = options();
  o.deadline = 3s;
  o.network_timeout = 400ms;
  auto e = make(o);
  const auto t0 = std::chrono::steady_clock::now();
  const LookupResult r = one(*e, LookupKind::kRdap, "9.9.9.9");
  EXPECT_EQ(r.status(), LookupStatus::kTimeout) << to_json(r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1100ms);
}

TEST_F(RdapTest, RedirectsAreFollowedButNotIntoPrivateSpace) {
  auto e = make(options());
  const LookupResult r = one(*e, LookupKind::kRdap, "9.9.9.10");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->registry.url, server_->base_url() + "ip/8.8.8.8");
  const LookupResult p = one(*e, LookupKind::kRdap, "9.9.9.11");
  EXPECT_EQ(p.status(), LookupStatus::kError);
  EXPECT_NE(p.answer->detail.find("refused: private server 10.0.0.1"), std::string::npos)
      << p.answer->detail;
  EXPECT_EQ(hostile("referral_refused"), 1);
}

TEST_F(RdapTest, UntrustedCertificateAndBadBodiesAreErrors) {
  EnrichOptions o = options();
  o.tls_ca_file = pki_.other_ca_file;
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kRdap, "8.8.8.8");
  EXPECT_EQ(r.status(), LookupStatus::kError);
  EXPECT_EQ(r.answer->detail.rfind("rdap tls:", 0), 0u) << r.answer->detail;

  prometheus::Registry reg;
  auto good = Enricher::create(options(), reg);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(one(**good, LookupKind::kRdap, "9.9.9.12").status(), LookupStatus::kError);
  const LookupResult five = one(**good, LookupKind::kRdap, "9.9.9.13");
  EXPECT_EQ(five.answer->detail, "rdap http 500");
  EXPECT_EQ(test::metric(reg, R"(klaxon_enrich_hostile_answers_total{kind="rdap_malformed"})"), 1);
}

TEST_F(RdapTest, PrivateAndReservedValuesNeverLeave) {
  EnrichOptions o = options();
  o.rdap_fallback_url = server_->base_url();  // every public value would go to the fixture
  auto whois = std::make_unique<test::WhoisServer>(
      [](const std::string&) { return test::WhoisReply{"netname: X\n"}; });
  o.whois_server = whois->address();
  o.private_domains = {"corp.example.com"};
  auto e = make(o);
  const std::vector<std::string> values = {"10.1.2.3",
                                           "172.16.0.1",
                                           "172.31.9.9",
                                           "192.168.1.1",
                                           "127.0.0.1",
                                           "169.254.1.1",
                                           "100.64.0.1",
                                           "0.0.0.0",
                                           "192.0.2.1",
                                           "198.51.100.1",
                                           "203.0.113.1",
                                           "198.18.0.1",
                                           "224.0.0.1",
                                           "255.255.255.255",
                                           "::1",
                                           "::",
                                           "fc00::1",
                                           "fd12:3456::1",
                                           "fe80::1",
                                           "2001:db8::1",
                                           "::ffff:10.0.0.1",
                                           "ff02::1",
                                           "printer",
                                           "nas.local",
                                           "x.internal",
                                           "build.corp.example.com",
                                           "localhost",
                                           "foo.test"};
  for (LookupKind kind : {LookupKind::kRdap, LookupKind::kWhois}) {
    for (const std::string& v : values) {
      const LookupResult r = one(*e, kind, v);
      EXPECT_EQ(r.status(), LookupStatus::kRefusedPrivate)
          << lookup_kind_name(kind) << " " << v << " " << to_json(r);
      EXPECT_FALSE(e->lookup_cached(kind, v).has_value());
    }
  }
  EXPECT_EQ(server_->connections(), 0);
  EXPECT_EQ(whois->connections(), 0);
  EXPECT_EQ(e->stats().queries, 0u);
  // A public value does go out.
  EXPECT_EQ(one(*e, LookupKind::kRdap, "8.8.8.8").status(), LookupStatus::kOk);
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(RdapTest, WithoutAnRdapServerWhoisIsTheFallback) {
  test::WhoisServer whois([](const std::string& q) {
    return test::WhoisReply{
        "inetnum: 11.0.0.0 - 11.255.255.255\nnetname: DODIIS\n"
        "country: US\n# query was " +
        q + "\n"};
  });
  EnrichOptions o = options();
  o.whois_server = whois.address();
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kRdap, "11.1.2.3");  // not in the bootstrap
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->source, AnswerSource::kWhois);
  EXPECT_EQ(r.answer->registry.name, "DODIIS");
  EXPECT_EQ(r.answer->registry.start_address, "11.0.0.0");
  EXPECT_EQ(whois.queries(), std::vector<std::string>{"11.1.2.3"});
  EXPECT_EQ(server_->connections(), 0);

  o.whois_fallback = false;
  prometheus::Registry reg;
  auto e2 = Enricher::create(o, reg);
  ASSERT_TRUE(e2.has_value());
  const LookupResult none = one(**e2, LookupKind::kRdap, "11.1.2.4");
  EXPECT_EQ(none.status(), LookupStatus::kError);
  EXPECT_EQ(none.answer->detail, "no rdap server for this value");
}

TEST_F(RdapTest, BadOptionsFailAtCreation) {
  prometheus::Registry reg;
  EnrichOptions o = options();
  o.rdap_bootstrap_files = {dir_.path() + "/missing.json"};
  auto e = Enricher::create(o, reg);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message.find("missing.json"), std::string::npos);
  o = options();
  o.tls_ca_file = dir_.path() + "/nope.pem";
  EXPECT_FALSE(Enricher::create(o, reg).has_value());
  o = options();
  o.rdap_fallback_url = "http://plain.example/";
  EXPECT_FALSE(Enricher::create(o, reg).has_value());
  o = options();
  o.dns_servers = "not-an-address";
  EXPECT_FALSE(Enricher::create(o, reg).has_value());
}

}  // namespace
}  // namespace klaxon::enrich
