// klaxond under systemd's eyes: the sd_notify protocol as systemd 252 runs it (READY=1, then
// WATCHDOG=1 at half of WATCHDOG_USEC while the pipeline lives, STOPPING=1 on SIGTERM),
// received on a unix datagram socket the test binds as NOTIFY_SOCKET; and the shipped unit,
// deploy/systemd/klaxond.service, through `systemd-analyze verify` and `security`.
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::TempDir;

// The receiving end of sd_notify: what systemd binds for a Type=notify service.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    EXPECT_LT(path.size(), sizeof a.sun_path);
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }

  // The next datagram, or "" when none comes in time.
  std::string next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Reads until a datagram equal to `want` arrives; every one read is appended to *seen.
  bool wait_for(const std::string& want, std::chrono::milliseconds timeout,
                std::vector<std::string>* seen) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      const std::string m = next(std::max(left, 1ms));
      if (m.empty()) continue;
      seen->push_back(m);
      if (m == want) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// klaxond started the way systemd starts it: NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID in
// its environment. `watchdog_pid` "$$" is klaxond itself (the shell execs it).
std::unique_ptr<test::Process> start_notified(const Daemon& d, const TempDir& dir,
                                              const NotifySocket& sock,
                                              const std::string& watchdog_pid) {
  const std::string cmd = "NOTIFY_SOCKET=" + sock.path() +
                          " WATCHDOG_USEC=1000000 WATCHDOG_PID=" + watchdog_pid + " exec " +
                          test::klaxond_path() + " --config " + d.config_path();
  return std::make_unique<test::Process>(std::vector<std::string>{"/bin/sh", "-c", cmd},
                                         dir.path() + "/klaxond");
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& m : v) s += "[" + m + "] ";
  return s;
}

TEST(Systemd, ReadyThenWatchdogPingsWhileWorkingThenStopping) {
  TempDir dir;
  Daemon d(dir);
  NotifySocket sock(dir.path() + "/notify");
  auto proc = start_notified(d, dir, sock, "$$");
  // READY=1 comes first, once every listener is up.
  ASSERT_EQ(sock.next(15s), "READY=1") << proc->stderr_text();
  int status = 0;
  test::http_get(d.http_port(), "/readyz", &status);
  EXPECT_EQ(status, 200);
  // Alerts flow while the pings go on: every half second (WATCHDOG_USEC is one second).
  const int fd = test::connect_tcp(d.tcp_port());
  std::string lines;
  for (int i = 0; i < 500; ++i)
    lines += "<13>1 2026-11-23T08:00:00Z h app - - - watched " + std::to_string(i) + "\n";
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  std::vector<std::string> seen;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(sock.wait_for("WATCHDOG=1", 3s, &seen)) << joined(seen) << proc->stderr_text();
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  for (const auto& m : seen) EXPECT_EQ(m, "WATCHDOG=1");
  // Six pings at half a second take at least two and a half seconds: not a burst.
  EXPECT_GE(took, 2s) << "pings came faster than every WATCHDOG_USEC/2";
  ASSERT_TRUE(d.wait_persisted(500)) << d.persisted();
  EXPECT_NE(proc->stderr_text().find("msg=\"pinging the systemd watchdog\" interval_seconds=1"),
            std::string::npos)
      << proc->stderr_text();

  proc->signal(SIGTERM);
  seen.clear();
  EXPECT_TRUE(sock.wait_for("STOPPING=1", 15s, &seen)) << joined(seen);
  EXPECT_EQ(proc->wait(30s), 0) << proc->stderr_text();
}

TEST(Systemd, NoWatchdogPingsWhenTheWatchdogIsForAnotherProcess) {
  TempDir dir;
  Daemon d(dir);
  NotifySocket sock(dir.path() + "/notify");
  // WATCHDOG_PID names another process (systemd sets it to the main PID): not ours to feed.
  auto proc = start_notified(d, dir, sock, "1");
  ASSERT_EQ(sock.next(15s), "READY=1") << proc->stderr_text();
  EXPECT_EQ(sock.next(2500ms), "");
  proc->signal(SIGTERM);
  std::vector<std::string> seen;
  EXPECT_TRUE(sock.wait_for("STOPPING=1", 15s, &seen)) << joined(seen);
  EXPECT_EQ(proc->wait(30s), 0);
  EXPECT_EQ(proc->stderr_text().find("watchdog"), std::string::npos) << proc->stderr_text();
}

// ---- The unit ----------------------------------------------------------------------------

std::string unit_path() {
  return std::string(KLAXON_SOURCE_DIR) + "/deploy/systemd/klaxond.service";
}

bool have(const char* tool) {
  return test::run_shell(std::string("command -v ") + tool + " >/dev/null") == 0;
}

// The unit with ExecStart/ExecStartPre pointing at the built klaxond (systemd-analyze verify
// checks that the binary exists), written into dir; returns its path.
std::string unit_for_this_build(const TempDir& dir, const std::string& extra_line = "") {
  std::string text = test::read_file(unit_path());
  const std::string installed = "/usr/local/bin/klaxond";
  int replaced = 0;
  for (size_t p; (p = text.find(installed)) != std::string::npos; ++replaced)
    text.replace(p, installed.size(), test::klaxond_path());
  EXPECT_EQ(replaced, 2) << "ExecStartPre and ExecStart should both run " << installed;
  if (!extra_line.empty()) {
    const size_t at = text.find("[Install]");
    text.insert(at, extra_line + "\n");
  }
  const std::string path = dir.path() + "/klaxond.service";
  test::write_file(path, text);
  return path;
}

// Every `Key=value` of the unit, by key (repeated keys keep all their values).
std::multimap<std::string, std::string> directives(const std::string& text) {
  std::multimap<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

TEST(Systemd, TheUnitSaysWhatIssue8Asks) {
  const auto d = directives(test::read_file(unit_path()));
  auto one = [&](const std::string& key) {
    EXPECT_EQ(d.count(key), 1u) << key;
    auto it = d.find(key);
    return it == d.end() ? std::string() : it->second;
  };
  EXPECT_EQ(one("Type"), "notify");  // systemd 252 has no notify-reload
  EXPECT_EQ(one("NotifyAccess"), "main");
  EXPECT_FALSE(one("WatchdogSec").empty());
  EXPECT_EQ(one("Restart"), "on-failure");
  EXPECT_EQ(one("ExecReload"), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(one("ExecStart"), "/usr/local/bin/klaxond --config /etc/klaxon/klaxon.yaml");
  EXPECT_EQ(one("ExecStartPre"), "/usr/local/bin/klaxond --check-config /etc/klaxon/klaxon.yaml");
  EXPECT_EQ(one("User"), "klaxon");
  EXPECT_EQ(one("StateDirectory"), "klaxon klaxon-audit");
  EXPECT_EQ(one("ConfigurationDirectory"), "klaxon");
  EXPECT_EQ(one("NoNewPrivileges"), "yes");
  EXPECT_EQ(one("ProtectSystem"), "strict");
  EXPECT_EQ(one("ProtectHome"), "yes");
  EXPECT_EQ(one("PrivateTmp"), "yes");
  EXPECT_EQ(one("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(one("ProtectKernelTunables"), "yes");
  EXPECT_EQ(one("ProtectControlGroups"), "yes");
  EXPECT_EQ(one("RestrictAddressFamilies"), "AF_UNIX AF_INET AF_INET6");
  EXPECT_EQ(d.count("LimitNOFILE"), 1u);
  EXPECT_EQ(d.find("SystemCallFilter")->second, "@system-service");
}

TEST(Systemd, TheUnitPassesSystemdAnalyzeVerify) {
  if (!have("systemd-analyze")) GTEST_SKIP() << "systemd not installed (./deploy/klaxon.sh deps)";
  TempDir dir;
  const std::string unit = unit_for_this_build(dir);
  std::string out;
  const int rc = test::run_shell("systemd-analyze verify " + unit + " 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  // Warnings (an unknown key, a bad value) leave the exit code 0: any word about the unit fails.
  EXPECT_EQ(out.find("klaxond.service"), std::string::npos) << out;

  // The check is live: a misspelt directive in an otherwise identical unit is reported.
  TempDir bad_dir;
  const std::string bad = unit_for_this_build(bad_dir, "ProtectSytem=strict");
  out.clear();
  test::run_shell("systemd-analyze verify " + bad + " 2>&1", &out);
  EXPECT_NE(out.find("Unknown key 'ProtectSytem'"), std::string::npos) << out;
}

TEST(Systemd, TheUnitsSandboxRatesOk) {
  if (!have("systemd-analyze")) GTEST_SKIP() << "systemd not installed (./deploy/klaxon.sh deps)";
  TempDir dir;
  const std::string unit = unit_for_this_build(dir);
  std::string out;
  ASSERT_EQ(test::run_shell("systemd-analyze security --offline=true " + unit + " 2>&1", &out), 0)
      << out;
  const std::string key = "Overall exposure level for klaxond.service: ";
  const size_t at = out.find(key);
  ASSERT_NE(at, std::string::npos) << out;
  const double exposure = std::strtod(out.c_str() + at + key.size(), nullptr);
  // 0 is a fully locked-down service, 10 an unprotected one; systemd calls below 2 "OK".
  EXPECT_LT(exposure, 2.0) << out.substr(at);
}

}  // namespace
}  // namespace klaxon
