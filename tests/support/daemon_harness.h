// A real klaxond for integration tests: its own free ports and data directory, started as a
// child process; metrics read over HTTP; the store read back with klaxonctl.
#pragma once

#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

namespace klaxon::test {

using namespace std::chrono_literals;

inline std::string klaxond_path() { return test::binary_dir() + "/daemon/klaxond"; }
inline std::string klaxonctl_path() { return test::binary_dir() + "/daemon/klaxonctl"; }

// A klaxond with its own ports and data directory.
class Daemon {
 public:
  explicit Daemon(const test::TempDir& dir, const std::string& extra_sources = "",
                  const std::string& tcp_extra = "", const std::string& udp_extra = "",
                  const std::string& http_extra = "")
      : dir_(dir.path()),
        tcp_port_(test::free_tcp_port()),
        udp_port_(test::free_udp_port()),
        http_port_(test::free_tcp_port()) {
    config_ =
        "data_dir: " + dir_ + "/data\n" +
        "http:\n  listen: 127.0.0.1:" + std::to_string(http_port_) + "\n" + http_extra +
        "sources:\n"
        "  syslog_tcp:\n    type: syslog_tcp\n    listen: 127.0.0.1:" +
        std::to_string(tcp_port_) + "\n" + tcp_extra +
        "  syslog_udp:\n    type: syslog_udp\n    listen: 127.0.0.1:" + std::to_string(udp_port_) +
        "\n" + udp_extra + extra_sources + "log:\n  level: info\n";
    test::write_file(config_path(), config_);
  }

  std::string config_path() const { return dir_ + "/klaxon.yaml"; }
  std::string data_dir() const { return dir_ + "/data"; }
  uint16_t tcp_port() const { return tcp_port_; }
  uint16_t udp_port() const { return udp_port_; }
  uint16_t http_port() const { return http_port_; }

  void start() {
    proc_ = std::make_unique<test::Process>(
        std::vector<std::string>{klaxond_path(), "--config", config_path()}, dir_ + "/klaxond");
    ASSERT_TRUE(test::wait_until(
        [&] {
          int status = 0;
          test::http_get(http_port_, "/readyz", &status);
          return status == 200;
        },
        10s))
        << proc_->stderr_text();
  }

  std::string metrics() const { return test::http_get(http_port_, "/metrics"); }
  double metric(const std::string& series) const { return test::metric_value(metrics(), series); }
  double persisted() const { return metric("klaxon_storage_persisted_alerts_total"); }
  double rejected(const std::string& reason) const {
    return metric("klaxon_parse_rejected_messages_total{reason=\"" + reason + "\"}");
  }
  bool wait_persisted(double n, std::chrono::milliseconds t = 20s) const {
    return test::wait_until([&] { return persisted() >= n; }, t);
  }
  test::Process& process() { return *proc_; }
  std::string log() const { return proc_ ? proc_->stderr_text() : ""; }

 private:
  std::string dir_;
  uint16_t tcp_port_, udp_port_, http_port_;
  std::string config_;
  std::unique_ptr<test::Process> proc_;
};

// The lines a klaxonctl subcommand prints for a data directory.
inline std::vector<std::string> klaxonctl_lines(const std::string& command,
                                                const std::string& data_dir, bool must_succeed) {
  std::string out;
  const int rc =
      test::run_shell(klaxonctl_path() + " " + command + " --data-dir " + data_dir, &out);
  if (must_succeed) {
    EXPECT_EQ(rc, 0) << command;
  }
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t nl = out.find('\n', pos);
    lines.push_back(out.substr(pos, nl - pos));
    pos = nl == std::string::npos ? out.size() : nl + 1;
  }
  return lines;
}

// Stored alerts, read back by klaxonctl (a separate process opening the store read-only).
inline std::vector<std::string> stored_alerts(const std::string& data_dir) {
  return klaxonctl_lines("alerts", data_dir, true);
}

inline std::vector<std::string> dead_letters(const std::string& data_dir) {
  return klaxonctl_lines("dead-letters", data_dir, false);
}

struct Fields {
  std::string message, appname, hostname, transport, format, tls_subject, tls_fingerprint;
  int64_t seq = 0;
};

inline Fields fields_of(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  Fields f;
  if (p.parse(json).get(doc)) {
    ADD_FAILURE() << "stored alert is not JSON: " << json;
    return f;
  }
  auto str = [](simdjson::simdjson_result<simdjson::dom::element> e) {
    std::string_view v;
    return e.get(v) ? std::string() : std::string(v);
  };
  f.message = str(doc["message"]);
  f.appname = str(doc["log"]["syslog"]["appname"]);
  f.hostname = str(doc["log"]["syslog"]["hostname"]);
  f.transport = str(doc["klaxon"]["ingest"]["transport"]);
  f.format = str(doc["klaxon"]["format"]);
  f.tls_subject = str(doc["klaxon"]["ingest"]["tls_subject"]);
  f.tls_fingerprint = str(doc["klaxon"]["ingest"]["tls_fingerprint"]);
  int64_t seq = 0;
  if (!doc["seq"].get(seq)) f.seq = seq;
  return f;
}

}  // namespace klaxon::test
