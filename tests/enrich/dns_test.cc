// DNS enrichment against real peers: Debian's dnsmasq on a loopback port serves the PTR, A and
// AAAA records; a scripted responder serves what dnsmasq will not (control bytes, compression
// loops, slow answers); a bound socket that never answers plays the blackholed resolver.
#include "enrich/enricher.h"
#include "tests/enrich/enrich_fixtures.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace klaxon::enrich {
namespace {

using namespace std::chrono_literals;
using test::Collector;

class DnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    dnsmasq_ = new test::Dnsmasq(
        dir_->path(),
        {"--local-ttl=300", "--host-record=web.example.test,198.51.100.7,2001:db8::7,600",
         "--host-record=single.example.test,198.51.100.8",
         "--host-record=sf.example.test,198.51.100.20",
         "--host-record=lru1.example.test,198.51.100.31",
         "--host-record=lru2.example.test,198.51.100.32",
         "--host-record=lru3.example.test,198.51.100.33",
         "--host-record=lru4.example.test,198.51.100.34",
         "--ptr-record=10.2.0.192.in-addr.arpa,mail.example.test",
         "--ptr-record=11.2.0.192.in-addr.arpa,sp ace;<b>.example.test",
         "--ptr-record=8.8.8.8.in-addr.arpa,dns.example.test", "--local=/example.test/",
         "--local=/in-addr.arpa/", "--local=/ip6.arpa/"});
  }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(dnsmasq_->started()) << dnsmasq_->log(); }

  EnrichOptions options() const {
    EnrichOptions o;
    o.dns_servers = dnsmasq_->servers();
    o.dns_timeout = 500ms;
    o.dns_tries = 2;
    o.deadline = 2s;
    o.whois_server.clear();
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
    EXPECT_TRUE(c.wait_for(1, 5s)) << value;
    auto r = c.results();
    return r.empty() ? LookupResult{std::make_shared<Answer>()} : r[0];
  }

  static test::TempDir* dir_;
  static test::Dnsmasq* dnsmasq_;
  prometheus::Registry registry_;
};

test::TempDir* DnsTest::dir_ = nullptr;
test::Dnsmasq* DnsTest::dnsmasq_ = nullptr;

TEST_F(DnsTest, ReverseIpv4WithTtlThenFromTheCache) {
  auto e = make(options());
  const LookupResult r = one(*e, LookupKind::kPtr, "192.0.2.10");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->names, std::vector<std::string>{"mail.example.test"});
  EXPECT_EQ(r.answer->ttl_seconds, 300u);
  EXPECT_EQ(r.answer->source, AnswerSource::kDns);
  EXPECT_FALSE(r.from_cache);
  const LookupResult again = one(*e, LookupKind::kPtr, "192.0.2.10");
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.answer, r.answer);  // the same immutable answer, not a copy
  auto cached = e->lookup_cached(LookupKind::kPtr, "192.0.2.10");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->answer->names[0], "mail.example.test");
  EXPECT_EQ(dnsmasq_->queries("PTR", "10.2.0.192.in-addr.arpa"), 1);
  EXPECT_NE(to_json(r).find(R"("names":["mail.example.test"])"), std::string::npos);
}

TEST_F(DnsTest, ReverseIpv6) {
  auto e = make(options());
  const LookupResult r = one(*e, LookupKind::kPtr, "2001:DB8:0::7");  // normalized first
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->value, "2001:db8::7");
  EXPECT_EQ(r.answer->names, std::vector<std::string>{"web.example.test"});
  EXPECT_EQ(r.answer->ttl_seconds, 600u);
}

TEST_F(DnsTest, ForwardLookupsHonourTheRecordTtlUpToTheMaximum) {
  auto e = make(options());
  const LookupResult a = one(*e, LookupKind::kA, "Web.Example.Test.");
  ASSERT_EQ(a.status(), LookupStatus::kOk) << to_json(a);
  EXPECT_EQ(a.answer->addresses, std::vector<std::string>{"198.51.100.7"});
  EXPECT_EQ(a.answer->ttl_seconds, 600u);
  const LookupResult aaaa = one(*e, LookupKind::kAaaa, "web.example.test");
  ASSERT_EQ(aaaa.status(), LookupStatus::kOk) << to_json(aaaa);
  EXPECT_EQ(aaaa.answer->addresses, std::vector<std::string>{"2001:db8::7"});
  EXPECT_EQ(aaaa.answer->ttl_seconds, 600u);
  EXPECT_EQ(one(*e, LookupKind::kA, "single.example.test").answer->ttl_seconds, 300u);

  prometheus::Registry other;
  EnrichOptions capped = options();
  capped.max_ttl = 60s;
  auto e2 = Enricher::create(capped, other);
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(one(**e2, LookupKind::kA, "web.example.test").answer->ttl_seconds, 60u);
  // A name with no AAAA record: NODATA, a negative answer.
  EXPECT_EQ(one(**e2, LookupKind::kAaaa, "single.example.test").status(), LookupStatus::kNotFound);
}

TEST_F(DnsTest, NegativeAnswersAreCached) {
  EnrichOptions o = options();
  o.negative_ttl = 120s;
  auto e = make(o);
  const LookupResult r = one(*e, LookupKind::kA, "nope.example.test");
  EXPECT_EQ(r.status(), LookupStatus::kNotFound);
  EXPECT_EQ(r.answer->detail, "nxdomain");
  EXPECT_EQ(r.answer->ttl_seconds, 120u);
  const LookupResult again = one(*e, LookupKind::kA, "nope.example.test");
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.status(), LookupStatus::kNotFound);
  EXPECT_EQ(dnsmasq_->queries("A", "nope.example.test"), 1);
  EXPECT_EQ(one(*e, LookupKind::kPtr, "192.0.2.99").status(), LookupStatus::kNotFound);
}

TEST_F(DnsTest, ConcurrentRequestsForOneKeyShareOneQuery) {
  auto e = make(options());
  Collector c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) e->request(LookupKind::kA, "sf.example.test", c.callback());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(c.wait_for(50, 5s));
  for (const auto& r : c.results()) {
    ASSERT_EQ(r.status(), LookupStatus::kOk);
    EXPECT_EQ(r.answer->addresses[0], "198.51.100.20");
  }
  const EnrichStats s = e->stats();
  EXPECT_EQ(s.queries, 1u);
  EXPECT_EQ(s.coalesced + s.cache_hits, 49u);
  EXPECT_EQ(dnsmasq_->queries("A", "sf.example.test"), 1);
}

TEST_F(DnsTest, SlowAnswerIsSharedByEveryWaiterAndArrivesLate) {
  test::ScriptedDns slow([](const std::string&, uint16_t) {
    test::DnsReply r;
    r.answers = {test::dns_rr(12, 90, test::dns_name("slow.example.net"))};
    r.delay_ms = 600;
    return r;
  });
  EnrichOptions o = options();
  o.dns_servers = slow.servers();
  o.dns_timeout = 2s;
  o.deadline = 200ms;
  auto e = make(o);
  Collector c;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) e->request(LookupKind::kPtr, "203.0.113.5", c.callback());
  ASSERT_TRUE(c.wait_for(20, 3s));
  const auto first = std::chrono::steady_clock::now() - t0;
  for (const auto& r : c.results()) {
    EXPECT_EQ(r.status(), LookupStatus::kTimeout);
    EXPECT_FALSE(r.late);
    EXPECT_EQ(r.answer->detail, "deadline");
  }
  EXPECT_GE(first, 190ms);
  EXPECT_LT(first, 550ms);
  ASSERT_TRUE(c.wait_for(40, 3s));  // the answer lands later, for every one of them
  const auto results = c.results();
  for (size_t i = 20; i < 40; ++i) {
    EXPECT_TRUE(results[i].late);
    ASSERT_EQ(results[i].status(), LookupStatus::kOk);
    EXPECT_EQ(results[i].answer->names[0], "slow.example.net");
    EXPECT_GE(results[i].latency_ns, 550'000'000);
  }
  EXPECT_EQ(slow.queries(), 1);
  const EnrichStats s = e->stats();
  EXPECT_EQ(s.coalesced, 19u);
  EXPECT_EQ(s.late, 20u);
  EXPECT_TRUE(e->lookup_cached(LookupKind::kPtr, "203.0.113.5").has_value());
}

TEST_F(DnsTest, BlackholedResolverTimesOutAtTheDeadlineWithoutBlocking) {
  test::Blackhole hole;
  EnrichOptions o = options();
  o.dns_servers = hole.servers();
  o.deadline = 300ms;
  auto e = make(o);
  Collector c;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    e->request(LookupKind::kPtr, "192.0.2." + std::to_string(i), c.callback());
  }
  const auto submit = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(submit, 100ms);  // posting 100 requests never waits for the network
  ASSERT_TRUE(c.wait_for(100, 3s));
  const auto done = std::chrono::steady_clock::now() - t0;
  for (const auto& r : c.results()) {
    EXPECT_EQ(r.status(), LookupStatus::kTimeout);
    EXPECT_GE(r.latency_ns, 290'000'000);
    EXPECT_LT(r.latency_ns, 800'000'000);
  }
  EXPECT_LT(done, 900ms);
  EXPECT_EQ(e->stats().queries, 100u);
}

TEST_F(DnsTest, InFlightAndQueueBoundsDropAtOnce) {
  test::Blackhole hole;
  EnrichOptions o = options();
  o.dns_servers = hole.servers();
  o.deadline = 300ms;
  o.max_in_flight = 2;
  auto e = make(o);
  Collector c;
  for (int i = 1; i <= 4; ++i) {
    e->request(LookupKind::kPtr, "192.0.2." + std::to_string(i), c.callback());
  }
  ASSERT_TRUE(c.wait_for(4, 3s));
  int dropped = 0, timeouts = 0;
  for (const auto& r : c.results()) {
    if (r.status() == LookupStatus::kDropped) {
      ++dropped;
      EXPECT_EQ(r.answer->detail, "in_flight_limit");
      EXPECT_LT(r.latency_ns, 100'000'000);
    } else {
      EXPECT_EQ(r.status(), LookupStatus::kTimeout);
      ++timeouts;
    }
  }
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(timeouts, 2);
  // A same-key request joins a flight instead of counting against the bound.
  Collector joined;
  e->request(LookupKind::kPtr, "192.0.2.1", joined.callback());
  e.reset();  // shutdown ends what is pending with kDropped
  ASSERT_TRUE(joined.wait_for(1, 1s));
  EXPECT_EQ(joined.results()[0].status(), LookupStatus::kDropped);
  EXPECT_EQ(joined.results()[0].answer->detail, "shutdown");

  // The queue in front of the I/O thread: a callback that holds the thread lets requests pile
  // up; beyond max_pending they are refused on the caller's thread, and request() says so.
  prometheus::Registry reg;
  EnrichOptions q = options();
  q.max_pending = 3;
  auto e2 = Enricher::create(q, reg);
  ASSERT_TRUE(e2.has_value());
  std::atomic<bool> release{false};
  Collector held;
  (*e2)->request(LookupKind::kPtr, "not an address", [&](const LookupResult&) {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  std::this_thread::sleep_for(50ms);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += (*e2)->request(LookupKind::kPtr, "192.0.2.10", held.callback()) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 3);
  ASSERT_EQ(held.size(), 7u);  // already called, on this thread
  for (const auto& r : held.results()) EXPECT_EQ(r.answer->detail, "queue_full");
  release = true;
  ASSERT_TRUE(held.wait_for(10, 5s));
  EXPECT_EQ(test::metric(reg, R"(klaxon_enrich_dropped_total{reason="queue_full"})"), 7);
}

TEST_F(DnsTest, LeastRecentlyUsedAnswerIsEvicted) {
  EnrichOptions o = options();
  o.cache_entries = 3;
  auto e = make(o);
  for (const char* n : {"lru1", "lru2", "lru3"}) {
    ASSERT_EQ(one(*e, LookupKind::kA, std::string(n) + ".example.test").status(),
              LookupStatus::kOk);
  }
  ASSERT_TRUE(e->lookup_cached(LookupKind::kA, "lru1.example.test"));  // refreshes lru1
  ASSERT_EQ(one(*e, LookupKind::kA, "lru4.example.test").status(), LookupStatus::kOk);
  EXPECT_FALSE(e->lookup_cached(LookupKind::kA, "lru2.example.test"));  // the oldest went
  EXPECT_TRUE(e->lookup_cached(LookupKind::kA, "lru1.example.test"));
  EXPECT_TRUE(e->lookup_cached(LookupKind::kA, "lru3.example.test"));
  EXPECT_TRUE(e->lookup_cached(LookupKind::kA, "lru4.example.test"));
  EXPECT_EQ(e->stats().cache_entries, 3u);
  EXPECT_EQ(test::metric(registry_, R"(klaxon_enrich_cache_evictions_total{reason="capacity"})"),
            1);
  EXPECT_FALSE(one(*e, LookupKind::kA, "lru2.example.test").from_cache);
  EXPECT_EQ(dnsmasq_->queries("A", "lru2.example.test"), 2);
}

TEST_F(DnsTest, PrivateReverseLookupsCanBeKeptFromTheResolver) {
  EnrichOptions o = options();
  o.ptr_private = false;
  auto e = make(o);
  const int before = dnsmasq_->queries("PTR", "10.2.0.192.in-addr.arpa");
  const LookupResult r = one(*e, LookupKind::kPtr, "192.0.2.10");
  EXPECT_EQ(r.status(), LookupStatus::kRefusedPrivate);
  EXPECT_EQ(r.answer->detail, "private address: documentation");
  EXPECT_EQ(one(*e, LookupKind::kPtr, "10.1.2.3").status(), LookupStatus::kRefusedPrivate);
  EXPECT_EQ(dnsmasq_->queries("PTR", "10.2.0.192.in-addr.arpa"), before);
  EXPECT_EQ(e->stats().queries, 0u);
  const LookupResult global = one(*e, LookupKind::kPtr, "8.8.8.8");
  ASSERT_EQ(global.status(), LookupStatus::kOk) << to_json(global);
  EXPECT_EQ(global.answer->names[0], "dns.example.test");
}

TEST_F(DnsTest, HostileNamesAreEscapedAndCounted) {
  auto e = make(options());
  // dnsmasq serves a label with a space, ';', '<' and '>' (it refuses control characters).
  const LookupResult r = one(*e, LookupKind::kPtr, "192.0.2.11");
  ASSERT_EQ(r.status(), LookupStatus::kOk) << to_json(r);
  EXPECT_EQ(r.answer->names[0], "sp\\032ace\\059\\060b\\062.example.test");
  EXPECT_EQ(r.answer->escaped_names, 1u);

  // What dnsmasq will not serve, a scripted server does.
  test::ScriptedDns evil([](const std::string& qname, uint16_t) {
    test::DnsReply r;
    if (qname.rfind("1.", 0) == 0) {  // control bytes, an escape sequence, a NUL
      r.answers = {test::dns_rr(
          12, 60,
          test::dns_label_name({std::string("x\x07\x1b[2Jy"), std::string("a\0b", 3), "example"}))};
    } else if (qname.rfind("2.", 0) == 0) {  // a compression pointer to itself
      r.answers = {test::dns_rr(12, 60, std::string("\xc0\x00", 2))};
      std::string& rr = r.answers[0];
      rr[rr.size() - 1] = static_cast<char>(12 + qname.size() + 2 + 4 + 12);
    } else {  // 20 names: only kMaxRecords are kept
      for (int i = 0; i < 20; ++i) {
        r.answers.push_back(
            test::dns_rr(12, 60, test::dns_name(std::string("n") + std::to_string(i) + ".x")));
      }
    }
    return r;
  });
  EnrichOptions o = options();
  o.dns_servers = evil.servers();
  auto e2 = make(o);
  const LookupResult ctl = one(*e2, LookupKind::kPtr, "203.0.113.1");
  ASSERT_EQ(ctl.status(), LookupStatus::kOk) << to_json(ctl);
  EXPECT_EQ(ctl.answer->names[0], "x\\007\\027\\0912Jy.a\\000b.example");
  const LookupResult loop = one(*e2, LookupKind::kPtr, "203.0.113.2");
  EXPECT_EQ(loop.status(), LookupStatus::kError);
  const LookupResult many = one(*e2, LookupKind::kPtr, "203.0.113.3");
  ASSERT_EQ(many.status(), LookupStatus::kOk);
  EXPECT_EQ(many.answer->names.size(), kMaxRecords);
  EXPECT_EQ(
      test::metric(registry_, R"(klaxon_enrich_hostile_answers_total{kind="ptr_name_escaped"})"),
      2);
  EXPECT_EQ(test::metric(registry_, R"(klaxon_enrich_hostile_answers_total{kind="ptr_over_cap"})"),
            20 - static_cast<double>(kMaxRecords));
  EXPECT_GE(test::metric(registry_, R"(klaxon_enrich_hostile_answers_total{kind="dns_malformed"})"),
            1);
}

TEST_F(DnsTest, InvalidValuesAreErrorsAndMetricsPassPromtool) {
  auto e = make(options());
  EXPECT_EQ(one(*e, LookupKind::kPtr, "web.example.test").status(), LookupStatus::kError);
  EXPECT_EQ(one(*e, LookupKind::kA, "198.51.100.7").status(), LookupStatus::kError);
  EXPECT_EQ(one(*e, LookupKind::kA, "bad name\r\nx").status(), LookupStatus::kError);
  ASSERT_EQ(one(*e, LookupKind::kA, "web.example.test").status(), LookupStatus::kOk);
  EXPECT_EQ(test::metric(registry_, R"(klaxon_enrich_lookups_total{kind="a",result="ok"})"), 1);
  EXPECT_EQ(test::metric(registry_, R"(klaxon_enrich_queries_total{kind="a"})"), 1);
  EXPECT_EQ(test::metric(registry_, R"(klaxon_enrich_lookup_duration_seconds_count{kind="a"})"), 3);
  if (test::run_shell("command -v promtool >/dev/null") != 0) GTEST_SKIP() << "no promtool";
  test::write_file(dir_->path() + "/metrics.txt", test::metrics_text(registry_));
  std::string out;
  EXPECT_EQ(test::run_shell("promtool check metrics < " + dir_->path() + "/metrics.txt 2>&1", &out),
            0)
      << out;
}

}  // namespace
}  // namespace klaxon::enrich
