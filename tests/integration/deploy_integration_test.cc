// What deploy/ ships, checked against the real thing: install.sh into a staging DESTDIR (the
// file tree, modes, a config it never overwrites, and the installed klaxond starting from the
// unit's own command line); the Grafana dashboard and the Prometheus rules naming only
// metrics a real klaxond exports (and running on a real Prometheus); the logger recipe run as
// it is written.
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::fields_of;
using test::TempDir;

std::string source_dir() { return KLAXON_SOURCE_DIR; }

bool have(const char* tool) {
  return test::run_shell(std::string("command -v ") + tool + " >/dev/null") == 0;
}

// Permission bits of a file, -1 when it does not exist.
int mode_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += to.size())
    text.replace(p, from.size(), to);
}

// Runs deploy/install.sh; returns its exit code, its output (both streams) in *out.
int install(const std::string& args, std::string* out) {
  return test::run_shell(
      source_dir() + "/deploy/install.sh --build-dir " + test::binary_dir() + " " + args + " 2>&1",
      out);
}

TEST(Install, StagesTheTreeUnderDestdirAndNeverOverwritesTheConfig) {
  TempDir dir;
  const std::string root = dir.path() + "/root";
  std::string out;
  ASSERT_EQ(install("--destdir " + root + " --prefix /opt/klaxon", &out), 0) << out;

  const std::map<std::string, int> expected = {
      {"/opt/klaxon/bin/klaxond", 0755},
      {"/opt/klaxon/bin/klaxonctl", 0755},
      {"/etc/klaxon", 0750},
      {"/etc/klaxon/klaxon.yaml", 0640},
      {"/etc/klaxon/klaxon.example.yaml", 0644},
      {"/etc/klaxon/rules.example.yml", 0644},
      {"/etc/klaxon/audit.key", 0640},
      {"/etc/klaxon/audit.pub", 0644},
      {"/etc/systemd/system/klaxond.service", 0644},
      {"/opt/klaxon/share/klaxon/klaxon.yaml", 0644},
      {"/opt/klaxon/share/klaxon/grafana/klaxon-dashboard.json", 0644},
      {"/opt/klaxon/share/klaxon/prometheus/klaxon.rules.yml", 0644},
      {"/opt/klaxon/share/klaxon/prometheus/prometheus.yml", 0644},
      {"/opt/klaxon/share/klaxon/recipes/syslog-ng-tls.conf", 0644},
      {"/opt/klaxon/share/klaxon/recipes/logger.sh", 0644},
      {"/opt/klaxon/share/doc/klaxon/README.md", 0644},
      {"/opt/klaxon/share/doc/klaxon/deploy.md", 0644},
  };
  for (const auto& [path, mode] : expected) {
    EXPECT_EQ(mode_of(root + path), mode)
        << path << " (mode " << std::oct << mode_of(root + path) << ")";
  }
  // Nothing lands outside the staging root's etc/ and the prefix.
  std::set<std::string> top;
  for (const auto& e : std::filesystem::directory_iterator(root))
    top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"etc", "opt"}));
  EXPECT_EQ(test::read_file(root + "/opt/klaxon/bin/klaxond"),
            test::read_file(test::klaxond_path()));
  EXPECT_EQ(test::read_file(root + "/etc/klaxon/klaxon.yaml"),
            test::read_file(source_dir() + "/deploy/klaxon.yaml"));
  // The unit runs the binary where it was installed.
  const std::string unit = test::read_file(root + "/etc/systemd/system/klaxond.service");
  EXPECT_NE(unit.find("\nExecStart=/opt/klaxon/bin/klaxond --config /etc/klaxon/klaxon.yaml\n"),
            std::string::npos)
      << unit;
  EXPECT_NE(unit.find("\nExecStartPre=/opt/klaxon/bin/klaxond --check-config "), std::string::npos);
  EXPECT_EQ(unit.find("/usr/local"), std::string::npos) << unit;

  // Again over the same tree: the edited configuration and the key stay as they are.
  test::write_file(
      root + "/etc/klaxon/klaxon.yaml",
      test::read_file(root + "/etc/klaxon/klaxon.yaml") + "# edited by the operator\n");
  const std::string key = test::read_file(root + "/etc/klaxon/audit.key");
  ASSERT_EQ(install("--destdir " + root + " --prefix /opt/klaxon", &out), 0) << out;
  EXPECT_NE(test::read_file(root + "/etc/klaxon/klaxon.yaml").find("# edited by the operator"),
            std::string::npos);
  EXPECT_EQ(test::read_file(root + "/etc/klaxon/audit.key"), key);
  EXPECT_NE(out.find("keeping the existing"), std::string::npos) << out;

  // DESTDIR from the environment, the default prefix, and no key for a package.
  const std::string pkg = dir.path() + "/pkg";
  ASSERT_EQ(
      test::run_shell("DESTDIR=" + pkg + " " + source_dir() + "/deploy/install.sh --build-dir " +
                          test::binary_dir() + " --no-keygen 2>&1",
                      &out),
      0)
      << out;
  EXPECT_EQ(mode_of(pkg + "/usr/local/bin/klaxond"), 0755);
  EXPECT_EQ(mode_of(pkg + "/etc/klaxon/audit.key"), -1);
  EXPECT_NE(test::read_file(pkg + "/etc/systemd/system/klaxond.service")
                .find("ExecStart=/usr/local/bin/klaxond --config /etc/klaxon/klaxon.yaml"),
            std::string::npos);
  // Usage errors are errors.
  EXPECT_EQ(install("--destdir " + pkg + " --prefix relative/path", &out), 2) << out;
  EXPECT_EQ(install("--destdir " + pkg + " --bogus", &out), 2) << out;
}

TEST(Install, TheInstalledKlaxondStartsFromTheUnitsCommandLineAndSignsWithTheInstalledKey) {
  TempDir dir;
  const std::string root = dir.path() + "/root";
  std::string out;
  ASSERT_EQ(install("--destdir " + root, &out), 0) << out;
  // What systemd would provide: the state directories. The configuration is the installed
  // one, rebased into the staging root and onto free loopback ports.
  std::filesystem::create_directories(root + "/var/lib/klaxon");
  std::filesystem::create_directories(root + "/var/lib/klaxon-audit");
  std::string conf = test::read_file(root + "/etc/klaxon/klaxon.yaml");
  replace_all(conf, "/etc/klaxon/", root + "/etc/klaxon/");
  replace_all(conf, "/var/lib/", root + "/var/lib/");
  const uint16_t tcp = test::free_tcp_port(), udp = test::free_udp_port(),
                 tls = test::free_tcp_port(), http = test::free_tcp_port();
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"0.0.0.0:5514", "127.0.0.1:" + std::to_string(tcp)},  // syslog_tcp comes first
           {"0.0.0.0:5514", "127.0.0.1:" + std::to_string(udp)},
           {"0.0.0.0:6514", "127.0.0.1:" + std::to_string(tls)},
           {"127.0.0.1:9780", "127.0.0.1:" + std::to_string(http)}}) {
    const size_t at = conf.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    conf.replace(at, from.size(), to);
  }
  const std::string conf_path = root + "/etc/klaxon/klaxon.yaml";
  test::write_file(conf_path, conf);

  // ExecStartPre, then ExecStart, as the installed unit spells them.
  std::map<std::string, std::vector<std::string>> exec;
  std::istringstream unit(test::read_file(root + "/etc/systemd/system/klaxond.service"));
  for (std::string line; std::getline(unit, line);) {
    for (const std::string key : {"ExecStartPre=", "ExecStart="}) {
      if (line.rfind(key, 0) != 0) continue;
      std::istringstream words(line.substr(key.size()));
      for (std::string w; words >> w;) {
        if (w == "/etc/klaxon/klaxon.yaml") w = conf_path;
        if (w == "/usr/local/bin/klaxond") w = root + w;
        exec[key].push_back(w);
      }
    }
  }
  ASSERT_EQ(exec.size(), 2u);
  std::string cmd;
  for (const auto& w : exec["ExecStartPre="]) cmd += w + " ";
  ASSERT_EQ(test::run_shell(cmd + "2>&1", &out), 0) << cmd << "\n" << out;

  test::Process proc(exec["ExecStart="], dir.path() + "/klaxond");
  ASSERT_TRUE(test::wait_until(
      [&] {
        int status = 0;
        test::http_get(http, "/readyz", &status);
        return status == 200;
      },
      15s))
      << proc.stderr_text();
  const int fd = test::connect_tcp(tcp);
  ASSERT_TRUE(test::send_all(fd, "<13>1 2026-11-23T08:00:00Z h app - - - installed\n"));
  close(fd);
  EXPECT_TRUE(test::wait_until(
      [&] {
        return test::metric_value(test::http_get(http, "/metrics"),
                                  "klaxon_storage_persisted_alerts_total") == 1;
      },
      15s));
  proc.signal(SIGTERM);
  ASSERT_EQ(proc.wait(30s), 0) << proc.stderr_text();
  // The final checkpoint was signed with the key install.sh made; its public half verifies it.
  EXPECT_EQ(test::run_shell(root + "/usr/local/bin/klaxonctl verify --data-dir " + root +
                                "/var/lib/klaxon --checkpoint " + root +
                                "/var/lib/klaxon-audit/checkpoint.json --public-key " + root +
                                "/etc/klaxon/audit.pub 2>&1",
                            &out),
            0)
      << out;
}

// ---- Dashboard and alerting rules ----------------------------------------------------------

// What a klaxond exports: metric families by name (with their type) and every series' labels.
struct Exposition {
  std::map<std::string, std::string> type;                   // family -> counter, ...
  std::map<std::string, std::set<std::string>> label_names;  // sample name -> labels
  std::map<std::string, std::set<std::string>> label_pairs;  // sample name -> label="v"
  explicit Exposition(const std::string& text) {
    std::istringstream in(text);
    static const std::regex kPair(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)")re");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream w(line.substr(7));
        std::string name, t;
        w >> name >> t;
        type[name] = t;
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      const size_t brace = line.find('{');
      const std::string name = line.substr(0, std::min(brace, line.find(' ')));
      label_names[name];
      if (brace == std::string::npos) continue;
      const std::string labels = line.substr(brace, line.find('}') - brace);
      for (std::sregex_iterator it(labels.begin(), labels.end(), kPair), end; it != end; ++it) {
        label_names[name].insert((*it)[1]);
        label_pairs[name].insert((*it)[1].str() + "=" + (*it)[2].str());
      }
    }
  }
  // A name as PromQL uses it: a family, or a histogram's _bucket/_sum/_count series.
  bool has(const std::string& name) const {
    if (type.count(name)) return true;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix) &&
          type.count(name.substr(0, name.size() - suffix.size())) &&
          type.at(name.substr(0, name.size() - suffix.size())) == "histogram")
        return true;
    }
    return false;
  }
};

// Every PromQL expression of the dashboard: panel targets and template variable queries.
void collect_exprs(simdjson::dom::element e, std::vector<std::string>* out) {
  simdjson::dom::object object;
  simdjson::dom::array array;
  if (!e.get(object)) {
    for (auto kv : object) {
      std::string_view s;
      if ((kv.key == "expr" || kv.key == "query" || kv.key == "definition") && !kv.value.get(s)) {
        out->emplace_back(s);
      } else {
        collect_exprs(kv.value, out);
      }
    }
  } else if (!e.get(array)) {
    for (auto v : array) collect_exprs(v, out);
  }
}

std::vector<std::string> dashboard_exprs() {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  const std::string path = source_dir() + "/deploy/grafana/klaxon-dashboard.json";
  const std::string text = test::read_file(path);
  if (p.parse(text).get(doc)) {
    ADD_FAILURE() << path << " is not JSON";
    return {};
  }
  std::vector<std::string> exprs;
  collect_exprs(doc, &exprs);
  return exprs;
}

std::vector<std::string> rule_exprs() {
  std::vector<std::string> exprs;
  std::istringstream in(test::read_file(source_dir() + "/deploy/prometheus/klaxon.rules.yml"));
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("expr:");
    if (at != std::string::npos) exprs.push_back(line.substr(at + 5));
  }
  return exprs;
}

// A klaxond with audit checkpoints on (so that the audit metrics exist), started.
std::unique_ptr<Daemon> audited_daemon(const TempDir& dir) {
  auto d = std::make_unique<Daemon>(dir);
  test::write_file(d->config_path(), test::read_file(d->config_path()) +
                                         "audit:\n  signing_key: " + dir.path() +
                                         "/audit/klaxon.key\n  checkpoint_file: " + dir.path() +
                                         "/audit/checkpoint.json\n  generate_key: true\n");
  d->start();
  return d;
}

TEST(Dashboard, EveryMetricTheDashboardAndTheRulesUseIsExported) {
  TempDir dir;
  auto d = audited_daemon(dir);
  const Exposition exp(d->metrics());
  ASSERT_GT(exp.type.size(), 30u);
  static const std::regex kName(R"(\bklaxon_[a-zA-Z0-9_]+)");
  // name{matchers}: each matcher's label must exist on the metric, an = matcher's value too.
  static const std::regex kSelector(R"((klaxon_[a-zA-Z0-9_]+)\{([^}]*)\})");
  static const std::regex kMatcher(R"re(([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)")re");
  std::set<std::string> dashboard_names, rule_names;
  auto check = [&](const std::vector<std::string>& exprs, std::set<std::string>* names,
                   const char* where) {
    for (const auto& e : exprs) {
      for (std::sregex_iterator it(e.begin(), e.end(), kName), end; it != end; ++it) {
        names->insert(it->str());
        EXPECT_TRUE(exp.has(it->str()))
            << where << " uses " << it->str() << ", which klaxond does not export: " << e;
      }
      for (std::sregex_iterator it(e.begin(), e.end(), kSelector), end; it != end; ++it) {
        const std::string metric = (*it)[1];
        const std::string matchers = (*it)[2];
        for (std::sregex_iterator m(matchers.begin(), matchers.end(), kMatcher), mend; m != mend;
             ++m) {
          const std::string label = (*m)[1], op = (*m)[2], value = (*m)[3];
          if (label == "instance" || label == "job") continue;  // Prometheus adds these
          EXPECT_TRUE(exp.label_names.count(metric) && exp.label_names.at(metric).count(label))
              << where << ": " << metric << " has no label " << label << ": " << e;
          if (op == "=" || op == "!=") {
            EXPECT_TRUE(exp.label_pairs.count(metric) &&
                        exp.label_pairs.at(metric).count(label + "=" + value))
                << where << ": " << metric << " never has " << label << "=\"" << value
                << "\": " << e;
          }
        }
      }
    }
  };
  check(dashboard_exprs(), &dashboard_names, "the dashboard");
  check(rule_exprs(), &rule_names, "klaxon.rules.yml");
  // The extraction found what is there (a broken regex would check nothing).
  EXPECT_GE(dashboard_names.size(), 30u);
  EXPECT_GE(rule_names.size(), 8u);
  for (const std::string n :
       {"klaxon_source_received_messages_total", "klaxon_pipeline_latency_seconds_bucket",
        "klaxon_correlate_alerts_total", "klaxon_queue_depth_batches"})
    EXPECT_TRUE(dashboard_names.count(n)) << n;
  std::string all;
  for (const auto& n : dashboard_names) all += n + " ";
  std::cout << "dashboard metrics checked (" << dashboard_names.size() << "): " << all << "\n";
}

TEST(Dashboard, IsAnImportableGrafanaDashboard) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_FALSE(
      p.parse(test::read_file(source_dir() + "/deploy/grafana/klaxon-dashboard.json")).get(doc));
  std::string_view s;
  int64_t version = 0;
  ASSERT_FALSE(doc["uid"].get(s));
  EXPECT_EQ(s, "klaxon-overview");
  ASSERT_FALSE(doc["schemaVersion"].get(version));
  EXPECT_GE(version, 36);
  ASSERT_FALSE(doc["__inputs"].at(0)["name"].get(s));
  EXPECT_EQ(s, "DS_PROMETHEUS");
  simdjson::dom::array panels;
  ASSERT_FALSE(doc["panels"].get(panels));
  std::set<int64_t> ids;
  std::set<std::string> titles;
  for (auto panel : panels) {
    int64_t id = 0, x = 0, w = 0;
    std::string_view type, title;
    ASSERT_FALSE(panel["id"].get(id));
    EXPECT_TRUE(ids.insert(id).second) << "duplicate panel id " << id;
    ASSERT_FALSE(panel["type"].get(type));
    ASSERT_FALSE(panel["title"].get(title));
    ASSERT_FALSE(panel["gridPos"]["x"].get(x));
    ASSERT_FALSE(panel["gridPos"]["w"].get(w));
    EXPECT_LE(x + w, 24) << title;
    if (type == "row") continue;
    EXPECT_TRUE(titles.insert(std::string(title)).second) << "duplicate title " << title;
    EXPECT_FALSE(panel["datasource"]["uid"].get(s));
    EXPECT_EQ(s, "${DS_PROMETHEUS}") << title;
    simdjson::dom::array targets;
    ASSERT_FALSE(panel["targets"].get(targets)) << title;
    EXPECT_GT(targets.size(), 0u) << title;
  }
  // The panels issue 8 names that have metrics today.
  for (const std::string t :
       {"Ingest rate by transport", "Drops and rejections by reason", "Queue depths",
        "Pipeline latency", "Dedupe ratio", "Incidents opened and active"})
    EXPECT_TRUE(titles.count(t)) << t;
}

// The value of an instant query's first series ("" when there is none), the raw body in *body.
std::string prom_query(uint16_t port, const std::string& promql, std::string* body) {
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
  *body = test::http_get(port, path, &status);
  if (status != 200) return "";
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  std::string_view v;
  if (p.parse(*body).get(doc) || doc["data"]["result"].at(0)["value"].at(1).get(v)) return "";
  return std::string(v);
}

TEST(Dashboard, EveryQueryRunsOnARealPrometheusAndReturnsSeries) {
  if (!have("prometheus")) GTEST_SKIP() << "prometheus not installed (./deploy/klaxon.sh deps)";
  TempDir dir;
  auto d = audited_daemon(dir);
  const uint16_t prom_port = test::free_tcp_port();
  test::write_file(dir.path() + "/prometheus.yml",
                   "global:\n  scrape_interval: 1s\n"
                   "scrape_configs:\n  - job_name: klaxon\n    static_configs:\n"
                   "      - targets: [\"127.0.0.1:" +
                       std::to_string(d->http_port()) + "\"]\n");
  test::Process prom({"prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir.path() + "/tsdb",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                     dir.path() + "/prometheus");
  const int fd = test::connect_tcp(d->tcp_port());
  std::string lines;
  for (int i = 0; i < 20; ++i)
    lines += "<13>1 2026-11-23T08:00:00Z h app - - - graphed " + std::to_string(i % 5) + "\n";
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  ASSERT_TRUE(d->wait_persisted(20));
  std::string body;
  // Rates need two samples of the counters after the alerts: a few scrapes.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return std::strtod(
                   prom_query(prom_port,
                              "count_over_time(klaxon_storage_persisted_alerts_total[1m])", &body)
                       .c_str(),
                   nullptr) >= 4 &&
               prom_query(prom_port, "klaxon_storage_persisted_alerts_total", &body) == "20";
      },
      40s))
      << body << prom.stderr_text();
  for (std::string e : dashboard_exprs()) {
    if (e.rfind("label_values(", 0) == 0) continue;  // a Grafana function, not PromQL
    replace_all(e, "$__rate_interval", "1m");
    replace_all(e, "$instance", ".*");
    replace_all(e, "$job", ".*");
    prom_query(prom_port, e, &body);
    EXPECT_NE(body.find("\"status\":\"success\""), std::string::npos) << e << "\n" << body;
    EXPECT_EQ(body.find("\"result\":[]"), std::string::npos) << "no series for " << e;
  }
  prom.signal(SIGTERM);
  prom.wait(10s);
}

// ---- Recipes -------------------------------------------------------------------------------

TEST(Recipes, TheLoggerRecipeRunsAsWritten) {
  if (!have("logger")) GTEST_SKIP() << "logger not installed (bsdutils)";
  TempDir dir;
  Daemon d(dir);
  d.start();
  std::string out;
  ASSERT_EQ(
      test::run_shell("KLAXON_HOST=127.0.0.1 KLAXON_TCP_PORT=" + std::to_string(d.tcp_port()) +
                          " KLAXON_UDP_PORT=" + std::to_string(d.udp_port()) + " sh " +
                          source_dir() + "/deploy/recipes/logger.sh 2>&1",
                      &out),
      0)
      << out;
  ASSERT_TRUE(d.wait_persisted(2)) << d.persisted();
  std::map<std::string, std::string> by_transport;
  for (const auto& a : test::stored_alerts(d.data_dir())) {
    const auto f = fields_of(a);
    EXPECT_EQ(f.appname, "recipe-app") << a;
    by_transport[f.transport] = f.message;
  }
  EXPECT_EQ(by_transport["tcp"], "disk almost full on /var (tcp)");
  EXPECT_EQ(by_transport["udp"], "disk almost full on /var (udp)");
}

}  // namespace
}  // namespace klaxon
