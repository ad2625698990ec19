// Alerts in over TCP, incidents out: a real klaxond groups, dedupes and writes hash-chained
// incident events; the store is read back (read-only, as klaxonctl does) and checked. Also
// kill -9 at random moments while alerts flow: after restarts every alert is counted on
// exactly one incident and no group has two.
#include "storage/store.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::TempDir;

// An RFC 5424 line with a Suricata-like JSON body; severity 3 (error) maps to high.
std::string alert_line(const std::string& host, int rule, const std::string& src, int second) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-11-23T08:%02d:%02dZ", second / 60 % 60, second % 60);
  return "<35>1 " + std::string(ts) + " " + host + " suricata - - - {\"event_type\":\"alert\"," +
         "\"src_ip\":\"" + src +
         "\",\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":" + std::to_string(rule) +
         ",\"signature\":\"ET TEST rule " + std::to_string(rule) +
         "\",\"category\":\"Attempted Administrator Privilege Gain\"}}\n";
}

std::vector<Incident> incidents_in(const std::string& data_dir) {
  StoreOptions o;
  o.read_only = true;
  auto store = Store::open(data_dir + "/db", o);
  EXPECT_TRUE(store.has_value()) << (store ? "" : store.error().message);
  std::vector<Incident> out;
  if (!store) return out;
  auto st = (*store)->for_each_incident([&](const Incident& in) {
    out.push_back(in);
    return true;
  });
  EXPECT_TRUE(st.has_value());
  return out;
}

// Every chain in the store is unbroken and matches its incident's state.
void expect_chains_valid(const std::string& data_dir) {
  StoreOptions o;
  o.read_only = true;
  auto store = Store::open(data_dir + "/db", o);
  ASSERT_TRUE(store.has_value());
  std::map<IncidentId, std::pair<uint64_t, Hash256>> heads;
  auto st =
      (*store)->for_each_incident_event(IncidentId{}, [&](std::string_view k, std::string_view v) {
        IncidentId id;
        uint64_t seq = 0;
        EXPECT_TRUE(parse_incident_event_key(k, &id, &seq));
        auto e = decode_incident_event(id, v);
        EXPECT_TRUE(e.has_value());
        if (!e) return false;
        Hash256 h{};
        EXPECT_TRUE(compute_incident_event_hash(id, v, &h));
        EXPECT_EQ(h, e->hash);
        auto& head = heads[id];
        EXPECT_EQ(seq, head.first) << id.to_string();
        EXPECT_EQ(e->prev_hash, head.second) << id.to_string() << " seq " << seq;
        head = {seq + 1, e->hash};
        return true;
      });
  ASSERT_TRUE(st.has_value());
  for (const Incident& in : incidents_in(data_dir)) {
    EXPECT_EQ(heads[in.id].first, in.next_event_seq) << in.id.to_string();
    EXPECT_EQ(heads[in.id].second, in.head_hash) << in.id.to_string();
  }
}

TEST(Incidents, AlertsBecomeOneIncidentPerHostAndRuleWithRepeatsCounted) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  std::string lines;
  int sent = 0;
  for (const char* host : {"web01", "web02", "db01"}) {
    for (int rule : {2019401, 2100498}) {
      for (int i = 0; i < 5; ++i) {
        const std::string src = "198.51.100." + std::to_string(i);
        lines += alert_line(host, rule, src, i);
        lines += alert_line(host, rule, src, i + 1);  // a repeat inside the dedupe window
        sent += 2;
      }
    }
  }
  // Below the default min_severity (low): stored, not correlated.
  lines += "<14>1 2026-11-23T08:00:00Z web01 app - - - informational\n";
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d.wait_persisted(sent + 1));
  ASSERT_TRUE(test::wait_until(
      [&] {
        return d.metric("klaxon_incident_commits_total") > 0 &&
               d.metric("klaxon_correlate_alerts_total{result=\"linked\"}") +
                       d.metric("klaxon_correlate_alerts_total{result=\"new_incident\"}") +
                       d.metric("klaxon_correlate_alerts_total{result=\"duplicate\"}") >=
                   sent;
      },
      20s));
  EXPECT_EQ(d.metric("klaxon_incidents_created_total"), 6);
  EXPECT_EQ(d.metric("klaxon_correlate_alerts_total{result=\"duplicate\"}"), 30);
  EXPECT_EQ(d.metric("klaxon_correlate_alerts_total{result=\"below_min_severity\"}"), 1);
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();

  const auto incidents = incidents_in(d.data_dir());
  ASSERT_EQ(incidents.size(), 6u);
  for (const Incident& in : incidents) {
    EXPECT_EQ(in.alert_count, 5u) << in.title;
    EXPECT_EQ(in.occurrences, 10u) << in.title;
    EXPECT_EQ(in.severity, Severity::kHigh);
    EXPECT_EQ(in.category, "Attempted Administrator Privilege Gain");
    EXPECT_EQ(in.title.rfind("ET TEST rule ", 0), 0u) << in.title;
  }
  expect_chains_valid(d.data_dir());

  // A restart replays nothing twice and keeps joining the same incidents.
  d.start();
  const int fd2 = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd2, alert_line("web01", 2019401, "198.51.100.77", 30)));
  close(fd2);
  ASSERT_TRUE(d.wait_persisted(1));
  ASSERT_TRUE(test::wait_until(
      [&] { return d.metric("klaxon_correlate_alerts_total{result=\"linked\"}") >= 1; }, 20s));
  EXPECT_EQ(d.metric("klaxon_incidents_created_total"), 0);
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();
  const auto after = incidents_in(d.data_dir());
  ASSERT_EQ(after.size(), 6u);
  uint64_t total = 0;
  for (const Incident& in : after) total += in.occurrences;
  EXPECT_EQ(total, static_cast<uint64_t>(sent + 1));
  expect_chains_valid(d.data_dir());
}

TEST(Incidents, KillNineWhileAlertsFlowNeverOpensATwinOrLosesACount) {
  TempDir dir;
  Daemon d(dir);
  std::mt19937 rng(20261123);
  constexpr int kRounds = 5, kPerRound = 20000;
  int sent = 0, replays = 0;
  for (int round = 0; round < kRounds; ++round) {
    d.start();
    replays += d.log().find("replayed the alert log") != std::string::npos;
    // Alerts of 40 groups; every round sends to the same groups.
    std::string lines;
    for (int i = 0; i < kPerRound; ++i) {
      lines += alert_line("host" + std::to_string(i % 8), 1000 + i % 5,
                          "203.0.113." + std::to_string(i % 50), 60 * round + i % 60);
    }
    const int fd = test::connect_tcp(d.tcp_port());
    ASSERT_TRUE(test::send_all(fd, lines));
    close(fd);
    // Kill at a random moment after (some of) the round is durable.
    const double before = d.persisted();
    ASSERT_TRUE(d.wait_persisted(std::min<double>(before + 1, kPerRound)));
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    d.process().signal(SIGKILL);
    EXPECT_EQ(d.process().wait(5s), 128 + SIGKILL);
    sent += kPerRound;
  }
  // A last clean run replays whatever the kills left uncorrelated.
  d.start();
  replays += d.log().find("replayed the alert log") != std::string::npos;
  std::cout << "restarts that replayed part of the alert log: " << replays << " of " << kRounds
            << "\n";
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(30s), 0) << d.log();

  // Only durable alerts can be counted: compare with what the log holds.
  StoreOptions o;
  o.read_only = true;
  uint64_t stored = 0;
  {
    auto store = Store::open(d.data_dir() + "/db", o);
    ASSERT_TRUE(store.has_value());
    stored = (*store)->next_sequence() - 1;
  }
  EXPECT_GT(stored, 0u);
  EXPECT_LE(stored, static_cast<uint64_t>(sent));
  const auto incidents = incidents_in(d.data_dir());
  std::set<uint64_t> groups;
  uint64_t total = 0;
  for (const Incident& in : incidents) {
    EXPECT_TRUE(groups.insert(in.group_hash).second) << "two incidents for one group";
    total += in.occurrences;
  }
  EXPECT_EQ(groups.size(), 40u);
  EXPECT_EQ(total, stored) << "every durable alert counted on exactly one incident";
  expect_chains_valid(d.data_dir());
}

TEST(Incidents, TheDaemonSignsCheckpointsThatKlaxonctlVerifiesAndThatCatchATamperedEvent) {
  TempDir dir;
  Daemon d(dir);
  const std::string audit = dir.path() + "/audit";
  test::write_file(d.config_path(), test::read_file(d.config_path()) + "audit:\n  signing_key: " +
                                        audit + "/klaxon.key\n  checkpoint_file: " + audit +
                                        "/checkpoint.json\n  generate_key: true\n");
  d.start();
  std::string lines;
  for (int i = 0; i < 40; ++i)
    lines += alert_line("web0" + std::to_string(i % 4), 1000 + (i / 4) % 2,
                        "192.0.2." + std::to_string(i), i);
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d.wait_persisted(40));
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();
  EXPECT_NE(d.log().find("generated an Ed25519 signing key"), std::string::npos);

  const std::string verify = test::klaxonctl_path() + " verify --data-dir " + d.data_dir() +
                             " --checkpoint " + audit + "/checkpoint.json --public-key " + audit +
                             "/klaxon.pub";
  std::string out;
  EXPECT_EQ(test::run_shell(verify, &out), 0) << out;
  const auto incidents = incidents_in(d.data_dir());
  ASSERT_EQ(incidents.size(), 8u);

  // Rewrite one event's data in place (a byte of its JSON), as someone with write access to
  // the data directory but not the key would.
  const IncidentId victim = incidents[3].id;
  {
    StoreOptions o;
    auto store = Store::open(d.data_dir() + "/db", o);
    ASSERT_TRUE(store.has_value());
    std::string key, value;
    ASSERT_TRUE((*store)
                    ->for_each_incident_event(victim,
                                              [&](std::string_view k, std::string_view v) {
                                                key.assign(k);
                                                value.assign(v);
                                                return false;  // the created event
                                              })
                    .has_value());
    const size_t at = value.find("\"title\"");
    ASSERT_NE(at, std::string::npos);
    value[at + 10] ^= 0x01;
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->family("incident_events"), key, value)
                    .ok());
  }
  out.clear();
  EXPECT_EQ(test::run_shell(verify, &out), 1) << out;
  EXPECT_NE(out.find(victim.to_string()), std::string::npos) << out;
  for (const Incident& in : incidents) {
    if (in.id != victim) {
      EXPECT_EQ(out.find(in.id.to_string()), std::string::npos) << out;
    }
  }
}

TEST(Incidents, ASigmaCorrelationRuleRaisesItsOwnIncidentAtItsLevel) {
  TempDir dir;
  Daemon d(dir);
  const std::string rules = dir.path() + "/rules.yml";
  test::write_file(rules, R"(title: SSH scan alert
id: base-ssh-scan
logsource:
  product: suricata
detection:
  selection:
    rule.name|contains: 'rule 2001219'
  condition: selection
level: medium
---
title: One source scanning many hosts
id: corr-scan-spread
correlation:
  type: value_count
  rules:
    - base-ssh-scan
  group-by:
    - source.ip
  timespan: 10m
  condition:
    field: host.name
    gte: 4
level: critical
)");
  test::write_file(d.config_path(),
                   test::read_file(d.config_path()) + "correlate:\n  rules: " + rules + "\n");
  d.start();
  std::string lines;
  // 203.0.113.9 hits five hosts (fires at the fourth); 198.51.100.1 only two (never fires).
  for (int i = 0; i < 5; ++i)
    lines += alert_line("srv" + std::to_string(i), 2001219, "203.0.113.9", i);
  for (int i = 0; i < 2; ++i)
    lines += alert_line("srv" + std::to_string(i), 2001219, "198.51.100.1", i);
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d.wait_persisted(7));
  ASSERT_TRUE(test::wait_until(
      [&] { return d.metric("klaxon_sigma_correlation_firings_total") >= 1; }, 20s))
      << d.metrics();
  EXPECT_EQ(d.metric("klaxon_sigma_rule_matches_total"), 7);
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();
  size_t rule_incidents = 0;
  for (const Incident& in : incidents_in(d.data_dir())) {
    if (in.category != "correlation") continue;
    ++rule_incidents;
    EXPECT_EQ(in.rule, "corr-scan-spread");
    EXPECT_EQ(in.severity, Severity::kCritical);
    EXPECT_EQ(in.title, "One source scanning many hosts (source.ip=203.0.113.9)");
    EXPECT_EQ(in.alert_count, 2u) << "fired at the 4th host and again at the 5th";
  }
  EXPECT_EQ(rule_incidents, 1u);
  expect_chains_valid(d.data_dir());
}

TEST(Incidents, KlaxonctlReplayPrintsTheIncidentsRecordedAlertsWouldRaise) {
  TempDir dir;
  const std::string rules = dir.path() + "/rules.yml";
  // The example rules with the spread threshold lowered to 4 hosts.
  std::string text = test::read_file(std::string(KLAXON_SOURCE_DIR) + "/deploy/rules.example.yml");
  const size_t at = text.find("    gte: 10");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 11, "    gte: 4");
  test::write_file(rules, text);
  test::write_file(dir.path() + "/klaxon.yaml", "correlate:\n  rules: " + rules + "\n");
  std::string lines;
  for (int i = 0; i < 6; ++i)
    lines += alert_line("srv" + std::to_string(i), 2001219, "203.0.113.9", i);
  lines += alert_line("srv0", 2001219, "203.0.113.9", 7);  // a repeat: no new incident
  // Bad input in a recording: dead-lettered and counted, the replay goes on.
  lines += "<35>1 2026-11-23T08:00:09Z srv0 suricata - - - {\"event_type\":\"alert\",\n";
  lines += "<35>1 2026-11-23T08:00:09Z srv0 app - - - \xEF\xBB\xBF\xFF\xFE not utf-8\n";
  test::write_file(dir.path() + "/alerts.log", lines);
  const std::string cmd = test::klaxonctl_path() + " replay " + dir.path() +
                          "/alerts.log --config " + dir.path() + "/klaxon.yaml --out " +
                          dir.path() + "/scratch";
  std::string out;
  ASSERT_EQ(test::run_shell(cmd + " 2>" + dir.path() + "/replay.err", &out), 0) << out;
  const std::string summary = test::read_file(dir.path() + "/replay.err");
  EXPECT_NE(summary.find("replayed 9 lines: 7 alerts, 2 rejected, 7 incidents"), std::string::npos)
      << summary;
  simdjson::dom::parser parser;
  size_t incidents = 0, correlation = 0;
  for (size_t pos = 0; pos < out.size();) {
    const size_t nl = out.find('\n', pos);
    const std::string line = out.substr(pos, nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    if (line.empty()) continue;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(line).get(doc)) << line;
    ++incidents;
    std::string_view category, severity;
    ASSERT_FALSE(doc["category"].get(category));
    ASSERT_FALSE(doc["severity"].get(severity));
    if (category == "correlation") {
      ++correlation;
      EXPECT_EQ(severity, "critical");
      int64_t alerts = 0;
      ASSERT_FALSE(doc["alert_count"].get(alerts));
      // Fired at the 4th, 5th and 6th host and again at the repeat: the condition (4 or more
      // hosts in the window) still holds, and rules keep firing by default (no suppress).
      EXPECT_EQ(alerts, 4);
    }
  }
  EXPECT_EQ(incidents, 7u) << out;  // 6 host incidents and the rule's
  EXPECT_EQ(correlation, 1u);
  // The scratch directory is not reused.
  EXPECT_EQ(test::run_shell(cmd + " 2>&1", &out), 2) << out;
  EXPECT_NE(out.find("already holds alerts"), std::string::npos) << out;
}

}  // namespace
}  // namespace klaxon
