// End-to-end tests: a real klaxond process, real clients (syslog-ng, logger), real sockets,
// the real store read back with klaxonctl. Each test gets its own ports and data directory.
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::dead_letters;
using test::Fields;
using test::fields_of;
using test::klaxonctl_path;
using test::klaxond_path;
using test::stored_alerts;
using test::TempDir;

TEST(Integration, SyslogNgNetworkAndSyslogDriversEachMessageStoredOnce) {
  if (test::run_shell("command -v syslog-ng >/dev/null") != 0)
    GTEST_SKIP() << "syslog-ng not installed";
  TempDir dir;
  Daemon d(dir);
  d.start();
  constexpr int kN = 200;
  std::string net_lines, sys_lines;
  for (int i = 0; i < kN; ++i) {
    net_lines += "net-message " + std::to_string(i) + " with text\n";
    sys_lines += "sys-message " + std::to_string(i) + " caf\xc3\xa9\n";
  }
  test::write_file(dir.path() + "/net.log", net_lines);
  test::write_file(dir.path() + "/sys.log", sys_lines);
  const std::string port = std::to_string(d.tcp_port());
  test::write_file(
      dir.path() + "/syslog-ng.conf",
      "@version: 3.38\n"
      "options { use-dns(no); dns-cache(no); keep-hostname(yes); stats-freq(0); };\n"
      "source s_net { file(\"" +
          dir.path() +
          "/net.log\" follow-freq(0.1) flags(no-parse) program-override(\"netapp\")); };\n"
          "source s_sys { file(\"" +
          dir.path() +
          "/sys.log\" follow-freq(0.1) flags(no-parse) program-override(\"sysapp\")); };\n"
          // network(): RFC 3164, LF-framed. syslog(): RFC 5424, octet-counted with the LF inside
          // the count.
          "destination d_net { network(\"127.0.0.1\" port(" +
          port +
          ") transport(\"tcp\") persist-name(\"net\")); };\n"
          "destination d_sys { syslog(\"127.0.0.1\" port(" +
          port +
          ") transport(\"tcp\") persist-name(\"sys\")); };\n"
          "log { source(s_net); destination(d_net); };\n"
          "log { source(s_sys); destination(d_sys); };\n");
  test::Process sng(
      {"syslog-ng", "-F", "--no-caps", "-f", dir.path() + "/syslog-ng.conf",
       "--persist-file=" + dir.path() + "/sng.persist", "--pidfile=" + dir.path() + "/sng.pid",
       "--control=" + dir.path() + "/sng.ctl"},
      dir.path() + "/syslog-ng");
  ASSERT_TRUE(d.wait_persisted(2 * kN, 30s)) << "persisted " << d.persisted() << "\n"
                                             << sng.stderr_text();
  sng.signal(SIGTERM);
  sng.wait(5s);
  std::this_thread::sleep_for(300ms);  // nothing more may arrive
  const auto alerts = stored_alerts(d.data_dir());
  ASSERT_EQ(alerts.size(), static_cast<size_t>(2 * kN));
  std::map<std::string, int> seen;
  for (const auto& a : alerts) {
    const Fields f = fields_of(a);
    ++seen[f.message];
    if (f.message.rfind("net-", 0) == 0) {
      EXPECT_EQ(f.appname, "netapp") << a;
      EXPECT_EQ(f.format, "rfc3164") << a;
    } else {
      EXPECT_EQ(f.appname, "sysapp") << a;
      EXPECT_EQ(f.format, "rfc5424") << a;
    }
    EXPECT_EQ(f.transport, "tcp");
    EXPECT_FALSE(f.hostname.empty()) << a;
  }
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(seen["net-message " + std::to_string(i) + " with text"], 1) << i;
    // The trailing LF syslog-ng counts inside the frame is stripped: the message ends in "é".
    EXPECT_EQ(seen["sys-message " + std::to_string(i) + " caf\xc3\xa9"], 1) << i;
  }
  EXPECT_EQ(d.metric("klaxon_parse_rejected_messages_total{reason=\"framing\"}"), 0);
}

TEST(Integration, LoggerOctetCountedTcpAndUdp) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  constexpr int kN = 100;
  std::string lines;
  for (int i = 0; i < kN; ++i) lines += "logger-line " + std::to_string(i) + "\n";
  test::write_file(dir.path() + "/lines.txt", lines);
  ASSERT_EQ(
      test::run_shell("logger --tcp --octet-count --rfc5424 -n 127.0.0.1 -P " +
                      std::to_string(d.tcp_port()) + " -t tcpapp -f " + dir.path() + "/lines.txt"),
      0);
  // UDP: one datagram each, paced so that loopback never drops (UDP loss is counted, not
  // prevented; this test is about parsing and storing).
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(
        test::run_shell("logger --udp --rfc3164 -n 127.0.0.1 -P " + std::to_string(d.udp_port()) +
                        " -t udpapp 'udp-line " + std::to_string(i) + "'"),
        0);
  }
  ASSERT_TRUE(d.wait_persisted(2 * kN)) << d.persisted();
  std::set<std::string> tcp_msgs, udp_msgs;
  for (const auto& a : stored_alerts(d.data_dir())) {
    const Fields f = fields_of(a);
    if (f.transport == "tcp") {
      EXPECT_EQ(f.appname, "tcpapp");
      EXPECT_TRUE(tcp_msgs.insert(f.message).second) << "duplicate " << f.message;
    } else {
      EXPECT_EQ(f.transport, "udp");
      EXPECT_EQ(f.appname, "udpapp");
      EXPECT_TRUE(udp_msgs.insert(f.message).second) << "duplicate " << f.message;
    }
  }
  EXPECT_EQ(tcp_msgs.size(), static_cast<size_t>(kN));
  EXPECT_EQ(udp_msgs.size(), static_cast<size_t>(kN));
  EXPECT_TRUE(tcp_msgs.count("logger-line 42"));
  EXPECT_TRUE(udp_msgs.count("udp-line 42"));
}

TEST(Integration, HostileInputIsCountedAndOtherConnectionsKeepWorking) {
  TempDir dir;
  Daemon d(dir, "", "    idle_timeout: 1500ms\n    max_message_size: 64KiB\n",
           "    max_message_size: 1KiB\n");
  d.start();
  // A slow client that never finishes its frame.
  const int slow = test::connect_tcp(d.tcp_port());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(test::send_all(slow, "500 <13>1 2026-11-23T00:00:00Z h a - - - never fin"));

  struct Case {
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {std::string(1000, '0') + "5 <13>x\n", "framing"},
      {"4294967297 <13>x\n", "too_large"},
      {"18446744073709551617 <13>x\n", "framing"},
      {std::string(10 * 1024 * 1024, 'A') + "\n", "too_large"},
      {"<13>1 2026-11-23T00:00:00Z h a - - - \xEF\xBB\xBF\xff\xfe invalid utf8 after BOM\n",
       "invalid_utf8"},
      {"<999>1 bad pri\n", "bad_pri"},
      {"<13>1 2026-13-45T00:00:00Z h a - - - bad date\n", "rfc5424"},
      {"<13>1 2026-11-23T00:00:00Z h a - - - {\"a\":[1,2}\n", "json"},
      {"300 <13>truncated frame then close", "framing"},
  };
  for (const auto& c : cases) {
    const int fd = test::connect_tcp(d.tcp_port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(test::send_all(fd, c.bytes)) << c.reason;
    close(fd);
  }
  // NUL bytes inside a message are data, not a crash (LF framing).
  {
    const int fd = test::connect_tcp(d.tcp_port());
    test::send_all(fd, std::string("<13>Nov 23 08:00:00 h app: nul\0inside\n", 38));
    close(fd);
  }
  // A good client on its own connection, during all of this.
  const int good = test::connect_tcp(d.tcp_port());
  std::string batch;
  for (int i = 0; i < 500; ++i)
    batch += "<13>Nov 23 08:00:00 h app: good " + std::to_string(i) + "\n";
  ASSERT_TRUE(test::send_all(good, batch));
  close(good);
  ASSERT_TRUE(d.wait_persisted(501)) << d.persisted() << "\n" << d.log();
  EXPECT_TRUE(test::wait_until(
      [&] { return d.metric("klaxon_storage_dead_letters_total") >= cases.size(); }, 10s));
  std::map<std::string, int> want;
  for (const auto& c : cases) ++want[c.reason];
  for (const auto& [reason, n] : want) EXPECT_EQ(d.rejected(reason), n) << reason;
  // The slow client is cut off by the idle timeout, counted; the daemon is still serving.
  EXPECT_TRUE(test::wait_until(
      [&] {
        return d.metric(
                   "klaxon_source_connections_closed_total{reason=\"idle\",transport=\"tcp\"}") >=
               1;
      },
      10s))
      << d.metrics();
  close(slow);
  EXPECT_TRUE(d.process().running());
  const auto dead = dead_letters(d.data_dir());
  EXPECT_EQ(dead.size(), cases.size());
  for (const auto& line : dead) {
    EXPECT_NE(line.find("\"reason\":"), std::string::npos);
    EXPECT_NE(line.find("\"peer\":\"127.0.0.1:"), std::string::npos) << line;
  }
  // The UDP path: an oversized and an empty datagram, then a good one.
  test::send_udp(d.udp_port(), "<13>" + std::string(2000, 'u'));
  test::send_udp(d.udp_port(), "<13>Nov 23 08:00:00 h app: udp fine");
  EXPECT_TRUE(
      test::wait_until([&] { return d.rejected("too_large") >= want["too_large"] + 1; }, 5s));
  EXPECT_TRUE(d.wait_persisted(502));
}

TEST(Integration, KillNineAfterDurableThenRestartKeepsEverything) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  constexpr int kN = 5000;
  const int fd = test::connect_tcp(d.tcp_port());
  std::string batch;
  for (int i = 0; i < kN; ++i)
    batch += "<13>Nov 23 08:00:00 h app: durable " + std::to_string(i) + "\n";
  ASSERT_TRUE(test::send_all(fd, batch));
  close(fd);
  // Durable means the group commit (fsync) finished: that is when the metric moves.
  ASSERT_TRUE(d.wait_persisted(kN));
  d.process().signal(SIGKILL);
  EXPECT_EQ(d.process().wait(5s), 128 + SIGKILL);
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), static_cast<size_t>(kN));
  d.start();  // same directory: opens cleanly and continues the sequence
  const int fd2 = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd2, "<13>Nov 23 08:00:00 h app: after restart\n"));
  close(fd2);
  ASSERT_TRUE(d.wait_persisted(1));
  const auto alerts = stored_alerts(d.data_dir());
  ASSERT_EQ(alerts.size(), static_cast<size_t>(kN + 1));
  const Fields last = fields_of(alerts.back());
  EXPECT_EQ(last.message, "after restart");
  EXPECT_EQ(last.seq, kN + 1);
}

TEST(Integration, SigtermDrainsEverythingReadAndExitsZero) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  constexpr int kN = 20000;
  const int fd = test::connect_tcp(d.tcp_port());
  std::string batch;
  for (int i = 0; i < kN; ++i)
    batch += "<13>Nov 23 08:00:00 h app: drain " + std::to_string(i) + "\n";
  ASSERT_TRUE(test::send_all(fd, batch));
  close(fd);
  ASSERT_TRUE(test::wait_until(
      [&] { return d.metric("klaxon_source_received_messages_total{transport=\"tcp\"}") >= kN; },
      20s));
  d.process().signal(SIGTERM);
  EXPECT_EQ(d.process().wait(20s), 0) << d.log();
  EXPECT_NE(d.log().find("stopped cleanly"), std::string::npos);
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), static_cast<size_t>(kN));
}

TEST(Integration, BackpressureWithTinyQueuesLosesNothingOverTcp) {
  TempDir dir;
  Daemon d(dir, "pipeline:\n  queue_capacity: 2\n  block_max_alerts: 64\n");
  d.start();
  constexpr int kConns = 4, kPer = 25000;
  std::vector<std::thread> senders;
  for (int c = 0; c < kConns; ++c) {
    senders.emplace_back([&, c] {
      const int fd = test::connect_tcp(d.tcp_port());
      std::string batch;
      for (int i = 0; i < kPer; ++i) {
        const std::string m = "<13>1 2026-11-23T00:00:00Z h a - - - conn " + std::to_string(c) +
                              " msg " + std::to_string(i);
        batch += std::to_string(m.size()) + " " + m;
      }
      test::send_all(fd, batch);
      close(fd);
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_TRUE(d.wait_persisted(kConns * kPer, 60s)) << d.persisted();
  EXPECT_EQ(
      d.metric("klaxon_source_dropped_messages_total{reason=\"queue_full\",transport=\"tcp\"}"), 0);
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), static_cast<size_t>(kConns * kPer));
}

TEST(Integration, SighupReloadsAndABadFileKeepsTheRunningConfig) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  const std::string good = test::read_file(d.config_path());
  test::write_file(d.config_path(), good + "bogus_key: 1\n");
  d.process().signal(SIGHUP);
  EXPECT_TRUE(
      test::wait_until([&] { return d.metric("klaxon_config_last_reload_successful") == 0; }, 5s));
  EXPECT_NE(d.log().find("bogus_key: unknown key"), std::string::npos);
  EXPECT_TRUE(d.process().running());
  // Still serving on the old config.
  test::send_udp(d.udp_port(), "<13>Nov 23 08:00:00 h app: after bad reload");
  EXPECT_TRUE(d.wait_persisted(1));
  test::write_file(d.config_path(), good);
  d.process().signal(SIGHUP);
  EXPECT_TRUE(
      test::wait_until([&] { return d.metric("klaxon_config_last_reload_successful") == 1; }, 5s));
  EXPECT_NE(d.log().find("configuration reloaded"), std::string::npos);
}

TEST(Integration, MetricsPassPromtoolAndHealthEndpointsAnswer) {
  if (test::run_shell("command -v promtool >/dev/null") != 0)
    GTEST_SKIP() << "promtool not installed";
  TempDir dir;
  Daemon d(dir);
  d.start();
  test::send_udp(d.udp_port(), "<13>Nov 23 08:00:00 h app: for metrics");
  ASSERT_TRUE(d.wait_persisted(1));
  test::write_file(dir.path() + "/metrics.txt", d.metrics());
  std::string out;
  EXPECT_EQ(test::run_shell("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", &out),
            0)
      << out;
  int status = 0;
  EXPECT_EQ(test::http_get(d.http_port(), "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(test::http_get(d.http_port(), "/readyz", &status), "ready\n");
  EXPECT_EQ(status, 200);
  test::http_get(d.http_port(), "/nope", &status);
  EXPECT_EQ(status, 404);
}

TEST(Integration, CheckConfigNamesTheKeyAndExitsNonZero) {
  TempDir dir;
  test::write_file(dir.path() + "/bad.yaml",
                   "sources:\n  s:\n    type: syslog_tcp\n    max_connections: lots\n");
  std::string out;
  EXPECT_EQ(
      test::run_shell(klaxond_path() + " --check-config " + dir.path() + "/bad.yaml 2>&1", &out),
      2);
  EXPECT_NE(out.find("sources.s.max_connections: expected a whole number"), std::string::npos)
      << out;
  test::write_file(dir.path() + "/good.yaml", "data_dir: x\n");
  EXPECT_EQ(
      test::run_shell(klaxond_path() + " --check-config " + dir.path() + "/good.yaml 2>&1", &out),
      0)
      << out;
}

TEST(Integration, KlaxonctlParsePrintsOneJsonLinePerInput) {
  TempDir dir;
  test::write_file(
      dir.path() + "/in.txt",
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed\n"
      "<999>nope\n");
  std::string out;
  EXPECT_EQ(test::run_shell(klaxonctl_path() + " parse < " + dir.path() + "/in.txt", &out), 1);
  const size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const Fields f = fields_of(out.substr(0, nl));
  EXPECT_EQ(f.appname, "su");
  EXPECT_EQ(f.message, "'su root' failed");
  EXPECT_NE(out.find("{\"error\":{\"reason\":\"bad_pri\""), std::string::npos) << out;
}

}  // namespace
}  // namespace klaxon
