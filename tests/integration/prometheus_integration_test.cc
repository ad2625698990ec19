// The operator's view: the shipped alerting rules pass promtool (syntax and their own unit
// tests), and a real Prometheus scrapes a real klaxond with those rules loaded.
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <string>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::TempDir;

std::string deploy_dir() { return std::string(KLAXON_SOURCE_DIR) + "/deploy/prometheus"; }

bool have(const char* tool) {
  return test::run_shell(std::string("command -v ") + tool + " >/dev/null") == 0;
}

TEST(Prometheus, TheAlertingRulesPassPromtoolAndTheirUnitTests) {
  if (!have("promtool")) GTEST_SKIP() << "promtool not installed (./deploy/klaxon.sh deps)";
  std::string out;
  EXPECT_EQ(
      test::run_shell("promtool check rules " + deploy_dir() + "/klaxon.rules.yml 2>&1", &out), 0)
      << out;
  out.clear();
  EXPECT_EQ(test::run_shell(
                "cd " + deploy_dir() + " && promtool test rules klaxon.rules.test.yml 2>&1", &out),
            0)
      << out;
}

// The value of a one-series instant query, or "" while there is none.
std::string query(uint16_t port, const std::string& promql) {
  std::string path = "/api/v1/query?query=";
  for (char c : promql) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      path.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      path += buf;
    }
  }
  int status = 0;
  const std::string body = test::http_get(port, path, &status);
  if (status != 200) return "";
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return "";
  simdjson::dom::array result;
  if (doc["data"]["result"].get(result) || result.size() != 1) return "";
  std::string_view v;
  if (result.at(0)["value"].at(1).get(v)) return "";
  return std::string(v);
}

TEST(Prometheus, ARealPrometheusScrapesKlaxondWithTheRulesLoaded) {
  if (!have("prometheus")) GTEST_SKIP() << "prometheus not installed (./deploy/klaxon.sh deps)";
  TempDir dir;
  Daemon d(dir);
  d.start();
  const uint16_t prom_port = test::free_tcp_port();
  test::write_file(dir.path() + "/prometheus.yml",
                   "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "rule_files:\n  - " +
                       deploy_dir() +
                       "/klaxon.rules.yml\n"
                       "scrape_configs:\n  - job_name: klaxon\n    static_configs:\n"
                       "      - targets: [\"127.0.0.1:" +
                       std::to_string(d.http_port()) + "\"]\n");
  test::Process prom({"prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir.path() + "/tsdb",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                     dir.path() + "/prometheus");
  ASSERT_TRUE(test::wait_until([&] { return query(prom_port, "up{job=\"klaxon\"}") == "1"; }, 30s))
      << prom.stderr_text();

  const int fd = test::connect_tcp(d.tcp_port());
  std::string lines;
  for (int i = 0; i < 25; ++i)
    lines += "<13>1 2026-11-23T08:00:00Z h app - - - scraped " + std::to_string(i) + "\n";
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d.wait_persisted(25));
  // What Prometheus stored is what klaxond counted.
  EXPECT_TRUE(test::wait_until(
      [&] { return query(prom_port, "klaxon_storage_persisted_alerts_total") == "25"; }, 30s));
  // The rules loaded and evaluate: nothing fires on a healthy daemon.
  int status = 0;
  const std::string rules = test::http_get(prom_port, "/api/v1/rules", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(rules.find("\"name\":\"KlaxonDown\""), std::string::npos) << rules;
  EXPECT_EQ(rules.find("\"health\":\"err\""), std::string::npos) << rules;
  EXPECT_EQ(query(prom_port, "count(ALERTS{alertstate=\"firing\"})"), "");
  prom.signal(SIGTERM);
  prom.wait(10s);
}

// deploy/prometheus/alerting.yml is the recipe: Prometheus's `alerting:` block pointing at
// klaxon's /api/v2/alerts, as if klaxon were an Alertmanager. A real Prometheus evaluates a
// rule that always fires and sends it; klaxond must store it and open an incident.
TEST(Prometheus, PrometheusSendsItsAlertsToKlaxonAsToAnAlertmanager) {
  if (!have("prometheus")) GTEST_SKIP() << "prometheus not installed (./deploy/klaxon.sh deps)";
  TempDir dir;
  Daemon d(dir);
  d.start();
  const uint16_t prom_port = test::free_tcp_port();
  test::write_file(dir.path() + "/always.rules.yml",
                   "groups:\n  - name: test\n    rules:\n      - alert: DiskAlmostFull\n"
                   "        expr: vector(1)\n        labels:\n          severity: critical\n"
                   "          instance: db01:9100\n        annotations:\n"
                   "          summary: disk 95% full on db01\n");
  // The recipe's alerting block, with its target replaced by this daemon's port.
  std::string alerting = test::read_file(deploy_dir() + "/alerting.yml");
  const size_t at = alerting.find("127.0.0.1:9780");
  ASSERT_NE(at, std::string::npos) << alerting;
  alerting.replace(at, 14, "127.0.0.1:" + std::to_string(d.http_port()));
  test::write_file(dir.path() + "/prometheus.yml",
                   "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "rule_files:\n  - " +
                       dir.path() + "/always.rules.yml\n" + alerting);
  // The first evaluation can fire before the notifier has its target (that alert is
  // dropped); the default resend delay (1 min) would then make the test wait a minute.
  test::Process prom({"prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir.path() + "/tsdb",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
                      "--rules.alert.resend-delay=1s"},
                     dir.path() + "/prometheus");
  std::vector<std::string> stored;
  ASSERT_TRUE(test::wait_until(
      [&] {
        stored = test::stored_alerts(d.data_dir());
        return !stored.empty() && !stored[0].empty();
      },
      40s))
      << prom.stderr_text() << d.log();
  const std::string& a = stored[0];
  EXPECT_NE(a.find("\"name\":\"DiskAlmostFull\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"severity\":\"critical\""), std::string::npos) << a;
  EXPECT_NE(a.find("disk 95% full on db01"), std::string::npos) << a;
  EXPECT_NE(a.find("\"transport\":\"http\""), std::string::npos) << a;
  EXPECT_GE(d.metric("klaxon_http_intake_requests_total{code=\"200\",endpoint=\"/api/v2/alerts\"}"),
            1);
  // Prometheus counts no delivery errors (its own /metrics; it does not scrape itself here).
  const std::string prom_metrics = test::http_get(prom_port, "/metrics");
  EXPECT_EQ(test::metric_value(prom_metrics,
                               "prometheus_notifications_errors_total{alertmanager=\"http://"
                               "127.0.0.1:" +
                                   std::to_string(d.http_port()) + "/api/v2/alerts\"}"),
            0)
      << prom_metrics;
  const auto incidents = test::klaxonctl_lines("incidents list", d.data_dir(), true);
  ASSERT_FALSE(incidents.empty());
  EXPECT_NE(incidents[0].find("DiskAlmostFull"), std::string::npos) << incidents[0];
  prom.signal(SIGTERM);
  prom.wait(10s);
}

}  // namespace
}  // namespace klaxon
