// WHOIS against local TCP fixtures that behave (a registry with a referral to a second one)
// and misbehave (slow, never closing, an endless reply).
#include "enrich/enricher.h"
#include "tests/enrich/enrich_fixtures.h"

#include <gtest/gtest.h>

#include <chrono>

namespace klaxon::enrich {
namespace {

using namespace std::chrono_literals;
using test::Collector;

class WhoisTest : public ::testing::Test {
 protected:
  EnrichOptions options(const std::string& server) const {
    EnrichOptions o;
    o.whois_server = server;
    o.dns_servers = "127.0.0.1:9";  // unused: the servers are address literals
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
  prometheus::Registry registry_;
};

// The second registry: RIPE style.
test::WhoisReply ripe(const std::string& q) {
  if (q == "193.0.6.139") {
    return {
        "% This is the RIPE Database query service.\n"
        "% Abuse contact for '193.0.0.0 - 193.0.7.255' is 'abuse@ripe.net'\n\n"
        "inetnum:        193.0.0.0 - 193.0.7.255\nnetname:        RIPE-NCC\n"
        "descr:          RIPE Network Coordination Centre\ncountry:        NL\n"};
  }
  return {"%ERROR:101: no entries found\n"};
}

TEST_F(WhoisTest, OneReferralIsFollowed) {
  test::WhoisServer second(ripe);
  test::WhoisServer first([&](const std::string&) {
    return test::WhoisReply{
        "NetRange: 193.0.0.0 - 193.0.23.255\nNetName: RIPE-NCC\n"
        "OrgName: RIPE Network Coordination Centre\n"
        "ReferralServer: whois://" +
        second.address() + "\n"};
  });
  EnrichOptions o = options(first.address());
  o.allow_private_referrals = true;  // both fixtures live on loopback
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kWhois, "193.0.6.139");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  const RegistrySummary& s = r.answer->registry;
  EXPECT_EQ(r.answer->source, AnswerSource::kWhois);
  EXPECT_EQ(s.url, "whois://" + second.address());
  EXPECT_EQ(s.referral, "whois://" + second.address());
  EXPECT_EQ(s.name, "RIPE-NCC");
  EXPECT_EQ(s.start_address, "193.0.0.0");
  EXPECT_EQ(s.end_address, "193.0.7.255");
  EXPECT_EQ(s.abuse_email, "abuse@ripe.net");
  EXPECT_EQ(s.country, "NL");
  EXPECT_EQ(first.queries(), std::vector<std::string>{"193.0.6.139"});
  EXPECT_EQ(second.queries(), std::vector<std::string>{"193.0.6.139"});
  EXPECT_EQ(e->stats().queries_by_kind[static_cast<size_t>(LookupKind::kWhois)], 2u);
  EXPECT_TRUE(one(*e, LookupKind::kWhois, "193.0.6.139").from_cache);
  EXPECT_EQ(first.connections(), 1);

  // Only one referral: the second server's own referral is not followed.
  test::WhoisServer loop([&](const std::string&) {
    return test::WhoisReply{"netname: LOOP\nrefer: " + first.address() + "\n"};
  });
  EnrichOptions o2 = options(first.address());
  o2.allow_private_referrals = true;
  prometheus::Registry reg;
  test::WhoisServer start(
      [&](const std::string&) { return test::WhoisReply{"refer: " + loop.address() + "\n"}; });
  o2.whois_server = start.address();
  auto e2 = Enricher::create(o2, reg);
  ASSERT_TRUE(e2.has_value());
  const LookupResult two = one(**e2, LookupKind::kWhois, "8.8.8.8");
  ASSERT_EQ(two.status(), LookupStatus::kOk) << to_json(two);
  EXPECT_EQ(two.answer->registry.name, "LOOP");
  EXPECT_EQ(first.connections(), 1);  // not asked again
}

TEST_F(WhoisTest, ReferralIntoPrivateSpaceIsRefusedByDefault) {
  test::WhoisServer second(ripe);
  test::WhoisServer first([&](const std::string&) {
    return test::WhoisReply{"NetName: RIPE-NCC\nReferralServer: whois://" + second.address() +
                            "\n"};
  });
  auto e = make(options(first.address()));  // the configured server itself is trusted
  const LookupResult r = one(*e, LookupKind::kWhois, "193.0.6.139");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->registry.name, "RIPE-NCC");  // the first server's answer
  EXPECT_EQ(r.answer->registry.url, "whois://" + first.address());
  EXPECT_NE(r.answer->detail.find("refused: private server 127.0.0.1"), std::string::npos)
      << r.answer->detail;
  EXPECT_EQ(second.connections(), 0);
  EXPECT_EQ(hostile("referral_refused"), 1);
}

TEST_F(WhoisTest, ServerThatNeverClosesIsCutOffAtTheTimeCap) {
  test::WhoisServer never([](const std::string&) {
    test::WhoisReply r;
    r.text = "netname: PARTIAL\n";
    r.hold_open = true;
    return r;
  });
  EnrichOptions o = options(never.address());
  o.network_timeout = 500ms;
  o.deadline = 3s;
  auto e = make(o);
  const auto t0 = std::chrono::steady_clock::now();
  const LookupResult r = one(*e, LookupKind::kWhois, "8.8.8.8");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status(), LookupStatus::kTimeout) << to_json(r);
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(hostile("whois_no_close"), 1);
}

TEST_F(WhoisTest, HugeReplyIsCappedAndItsHeadParsed) {
  test::WhoisServer huge([](const std::string&) {
    test::WhoisReply r;
    r.text = "inetnum: 8.8.8.0 - 8.8.8.255\nnetname: HUGE\ncountry: US\n";
    r.filler_bytes = 20 << 20;  // 20 MiB unless the client stops reading
    r.hold_open = true;
    return r;
  });
  EnrichOptions o = options(huge.address());
  o.whois_max_bytes = 32 * 1024;
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kWhois, "8.8.8.8");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_TRUE(r.answer->registry.truncated);
  EXPECT_EQ(r.answer->registry.name, "HUGE");
  EXPECT_EQ(hostile("whois_oversized"), 1);
  EXPECT_LT(r.latency_ns, 2'000'000'000);
}

TEST_F(WhoisTest, SlowServerAnswersLateAndNotFoundIsCached) {
  test::WhoisServer slow([](const std::string& q) {
    test::WhoisReply r = ripe(q);
    r.delay_ms = 700;
    return r;
  });
  EnrichOptions o = options(slow.address());
  o.deadline = 200ms;
  auto e = make(o);
  Collector c;
  e->request(LookupKind::kWhois, "193.0.6.139", c.callback());
  ASSERT_TRUE(c.wait_for(2, 3s));
  const auto res = c.results();
  EXPECT_EQ(res[0].status(), LookupStatus::kTimeout);
  EXPECT_FALSE(res[0].late);
  EXPECT_TRUE(res[1].late);
  EXPECT_EQ(res[1].status(), LookupStatus::kOk) << to_json(res[1]);
  EXPECT_EQ(res[1].answer->registry.name, "RIPE-NCC");

  EnrichOptions fast = options(slow.address());
  prometheus::Registry reg;
  auto e2 = Enricher::create(fast, reg);
  ASSERT_TRUE(e2.has_value());
  const LookupResult nf = one(**e2, LookupKind::kWhois, "nothing-here.com");
  EXPECT_EQ(nf.status(), LookupStatus::kNotFound) << to_json(nf);
  EXPECT_TRUE(one(**e2, LookupKind::kWhois, "nothing-here.com").from_cache);
  EXPECT_EQ(slow.connections(), 2);
}

TEST_F(WhoisTest, RefusedConnectionIsAnError) {
  const uint16_t closed = test::free_tcp_port();
  auto e = make(options("127.0.0.1:" + std::to_string(closed)));
  const LookupResult r = one(*e, LookupKind::kWhois, "8.8.8.8");
  EXPECT_EQ(r.status(), LookupStatus::kError);
  EXPECT_EQ(r.answer->detail.rfind("whois connect:", 0), 0u) << r.answer->detail;
}

}  // namespace
}  // namespace klaxon::enrich
