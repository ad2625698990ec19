// Enrichment inside a real klaxond: a new incident's observables are looked up against a real
// DNS server (Debian's dnsmasq) and the answers land as `enriched` events on the incident's
// hash chain; with the resolver blackholed, ingest and incidents go on unhindered.

#include "tests/enrich/enrich_fixtures.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::TempDir;

std::string enrich_config(const std::string& servers, const std::string& extra = "") {
  return "enrich:\n  dns_servers: \"" + servers + "\"\n" + extra;
}

// The events of the one incident whose title is `title`, as klaxonctl prints them.
std::vector<std::string> incident_events(const Daemon& d, const std::string& title) {
  for (const std::string& line : test::klaxonctl_lines("incidents list", d.data_dir(), true)) {
    if (line.find("\"title\":\"" + title + "\"") == std::string::npos) continue;
    const size_t at = line.find("\"id\":\"");
    const std::string id = line.substr(at + 6, 36);
    auto lines = test::klaxonctl_lines("incidents show " + id, d.data_dir(), true);
    if (!lines.empty()) lines.erase(lines.begin());  // the incident itself
    return lines;
  }
  return {};
}

std::string alert(const std::string& rule, const std::string& src, const std::string& host) {
  return R"({"rule":{"name":")" + rule + R"("},"src_ip":")" + src + R"(","host":")" + host +
         R"(","severity":"high"})";
}

TEST(EnrichIntegration, AnIncidentsObservablesAreLookedUpOnARealDnsServer) {
  TempDir dir;
  test::Dnsmasq dns(dir.path(),
                    {"--host-record=web01.example.org,192.0.2.10,2001:db8::10", "--local-ttl=300"});
  ASSERT_TRUE(dns.started()) << dns.log();
  // Sent as a separate config block: the harness's own keys stay as they are.
  Daemon d(dir, "", "", "", "");
  test::write_file(d.config_path(),
                   test::read_file(d.config_path()) + enrich_config(dns.servers()));
  d.start();
  int status = 0;
  test::http_post(d.http_port(), "/api/v1/alerts",
                  alert("ssh brute force", "192.0.2.10", "web01.example.org"), &status);
  ASSERT_EQ(status, 200);
  std::vector<std::string> events;
  // PTR of the source address, A and AAAA of the host: three answers.
  ASSERT_TRUE(test::wait_until(
      [&] {
        events = incident_events(d, "ssh brute force");
        size_t n = 0;
        for (auto& e : events) n += e.find("\"type\":\"enriched\"") != std::string::npos;
        return n >= 3;
      },
      10s))
      << d.log() << dns.log();
  std::string ptr, a, aaaa;
  for (const std::string& e : events) {
    if (e.find("\"type\":\"enriched\"") == std::string::npos) continue;
    EXPECT_NE(e.find("\"actor\":\"enrich\""), std::string::npos) << e;
    if (e.find("\"kind\":\"ptr\"") != std::string::npos) ptr = e;
    if (e.find("\"kind\":\"a\"") != std::string::npos) a = e;
    if (e.find("\"kind\":\"aaaa\"") != std::string::npos) aaaa = e;
  }
  EXPECT_NE(ptr.find("\"names\":[\"web01.example.org\"]"), std::string::npos) << ptr;
  EXPECT_NE(a.find("\"addresses\":[\"192.0.2.10\"]"), std::string::npos) << a;
  EXPECT_NE(aaaa.find("\"addresses\":[\"2001:db8::10\"]"), std::string::npos) << aaaa;
  EXPECT_GE(dns.queries("PTR", "10.2.0.192.in-addr.arpa"), 1) << dns.log();

  // A second incident with the same source: the answer comes from klaxond's cache (the
  // record's TTL is 300 s; dnsmasq's default for its own records, 0, would not be cached).
  test::http_post(d.http_port(), "/api/v1/alerts",
                  alert("port scan", "192.0.2.10", "web01.example.org"), &status);
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(test::wait_until(
      [&] {
        events = incident_events(d, "port scan");
        for (auto& e : events)
          if (e.find("\"kind\":\"ptr\"") != std::string::npos) return true;
        return false;
      },
      10s));
  EXPECT_EQ(dns.queries("PTR", "10.2.0.192.in-addr.arpa"), 1) << dns.log();
  EXPECT_GE(d.metric("klaxon_incident_operations_total{result=\"applied\"}"), 6);
  // The chains with their enriched events verify.
  std::string out;
  EXPECT_EQ(test::run_shell(test::klaxonctl_path() + " verify --data-dir " + d.data_dir(), &out), 0)
      << out;
}

TEST(EnrichIntegration, ABlackholedResolverDelaysNothing) {
  TempDir dir;
  test::Blackhole blackhole;
  Daemon d(dir);
  test::write_file(d.config_path(),
                   test::read_file(d.config_path()) +
                       enrich_config(blackhole.servers(),
                                     "  dns_timeout: 200ms\n  dns_tries: 1\n  deadline: 300ms\n"));
  d.start();
  // 200 incidents (distinct rules), 20 alerts each, over TCP.
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_GE(fd, 0);
  std::string lines;
  for (int i = 0; i < 4000; ++i) {
    lines += "<34>1 2026-11-23T10:00:00Z web01 app - - - " +
             alert("rule " + std::to_string(i % 200), "198.51.100." + std::to_string(i % 250 + 1),
                   "web01") +
             "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d.wait_persisted(4000, 20s)) << d.log();
  ASSERT_TRUE(
      test::wait_until([&] { return d.metric("klaxon_incidents_created_total") >= 200; }, 20s));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  // Nothing waited for DNS: far below 200 incidents x one 300 ms deadline each.
  EXPECT_LT(elapsed, 10s);
  // Every lookup ended at its deadline, none landed on a chain.
  ASSERT_TRUE(test::wait_until(
      [&] { return d.metric("klaxon_enrich_lookups_total{kind=\"ptr\",result=\"timeout\"}") >= 1; },
      10s))
      << d.metrics();
  EXPECT_EQ(d.metric("klaxon_incident_operations_total{result=\"applied\"}"), 0);
}

}  // namespace
}  // namespace klaxon
