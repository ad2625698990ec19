// klaxonctl in API mode against a real klaxond: the token hash it prints is the one the
// daemon accepts; an incident walks through list, ack, note, assign, show, resolve and close
// by klaxonctl alone; a refused change exits 1 with the daemon's message; silences are added,
// listed and expired; a wrong token exits 1 (401), an unreachable or https:// API exits 2; and
// a --data-dir on the command line still reads the data directory when KLAXON_API is set.

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

const std::string kAdmin = "admin-token-0123456789abcdefgh";

std::string alert_line(const std::string& host, int second) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-11-23T08:00:%02dZ", second % 60);
  return "<35>1 " + std::string(ts) + " " + host +
         " suricata - - - {\"event_type\":\"alert\",\"src_ip\":\"192.0.2." +
         std::to_string(second + 1) +
         "\","
         "\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":2001,\"signature\":\"ET TEST "
         "rule\",\"category\":\"Attempted Administrator Privilege Gain\"}}\n";
}

std::string field(const std::string& json, const char* pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(json).get(doc) != simdjson::SUCCESS) return "";
  std::string_view v;
  if (doc.at_pointer(pointer).get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// klaxonctl with the API and token in its environment; stdout and stderr together in *out.
struct Ctl {
  std::string api, token;
  int operator()(const std::string& args, std::string* out) const {
    return test::run_shell("KLAXON_API='" + api + "' KLAXON_TOKEN='" + token + "' " +
                               test::klaxonctl_path() + " " + args + " 2>&1",
                           out);
  }
};

TEST(KlaxonctlApi, DrivesIncidentsAndSilencesThroughTheApi) {
  TempDir dir;
  // The hash klaxonctl prints is what the config takes; short tokens are refused.
  std::string hash;
  ASSERT_EQ(
      test::run_shell("echo '" + kAdmin + "' | " + test::klaxonctl_path() + " token-hash", &hash),
      0);
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  ASSERT_EQ(hash.size(), 64u) << hash;
  std::string out;
  EXPECT_EQ(
      test::run_shell("echo short-token | " + test::klaxonctl_path() + " token-hash 2>&1", &out), 2)
      << out;

  Daemon d(dir);
  // No enrichment (its events would interleave); a notifier, so silences exist.
  test::write_file(d.config_path(),
                   test::read_file(d.config_path()) +
                       "api:\n  tokens:\n    - {name: adam, role: admin, sha256: " + hash +
                       "}\n"
                       "enrich:\n  enabled: false\n"
                       "notify:\n  route:\n    receiver: nobody\n  receivers:\n"
                       "    - name: nobody\n");
  d.start();
  std::string lines;
  for (int i = 0; i < 3; ++i) lines += alert_line("web-01", i);
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);

  const Ctl ctl{"http://127.0.0.1:" + std::to_string(d.http_port()), kAdmin};
  std::string id;
  ASSERT_TRUE(test::wait_until(
      [&] {
        std::string json;
        if (ctl("incidents list --status open --json", &json) != 0) return false;
        id = field(json, "/incidents/0/id");
        return !id.empty() && contains(json, "\"occurrences\":3");
      },
      20s))
      << d.log();

  // The table: a header, then the incident's row.
  ASSERT_EQ(ctl("incidents list", &out), 0) << out;
  EXPECT_TRUE(contains(out, "ID")) << out;
  EXPECT_TRUE(contains(out, "TITLE")) << out;
  EXPECT_TRUE(contains(out, id + "  open")) << out;
  EXPECT_EQ(ctl("incidents list --status bogus", &out), 2) << out;

  // The lifecycle.
  ASSERT_EQ(ctl("incidents ack " + id + " --comment looking", &out), 0) << out;
  EXPECT_TRUE(contains(out, "status acknowledged")) << out;
  ASSERT_EQ(ctl("incidents note " + id + " --text 'blocked 192.0.2.7 at the edge'", &out), 0)
      << out;
  EXPECT_EQ(ctl("incidents note " + id, &out), 2) << out;  // --text is required
  ASSERT_EQ(ctl("incidents assign " + id + " --to rosa", &out), 0) << out;
  EXPECT_TRUE(contains(out, "assigned to rosa")) << out;

  ASSERT_EQ(ctl("incidents show " + id, &out), 0) << out;
  EXPECT_EQ(field(out.substr(0, out.find('\n')), "/status"), "acknowledged") << out;
  EXPECT_TRUE(contains(out, "blocked 192.0.2.7 at the edge")) << out;
  EXPECT_TRUE(contains(out, "\"actor\":\"user:adam\"")) << out;

  ASSERT_EQ(ctl("incidents resolve " + id, &out), 0) << out;
  EXPECT_TRUE(contains(out, "status resolved")) << out;
  ASSERT_EQ(ctl("incidents close " + id + " --comment done", &out), 0) << out;
  EXPECT_TRUE(contains(out, "status closed")) << out;

  // A change the status does not allow: the daemon's 409 and its message, exit 1.
  EXPECT_EQ(ctl("incidents ack " + id, &out), 1) << out;
  EXPECT_TRUE(contains(out, "409")) << out;
  EXPECT_TRUE(contains(out, "closed")) << out;
  EXPECT_EQ(ctl("incidents show 00000000-0000-4000-8000-000000000000", &out), 1) << out;
  EXPECT_EQ(ctl("incidents show not-an-id", &out), 2) << out;

  ASSERT_EQ(ctl("incidents list --status closed --severity high --json", &out), 0) << out;
  EXPECT_EQ(field(out, "/incidents/0/id"), id) << out;
  const std::string bundle = dir.path() + "/bundle.json";
  ASSERT_EQ(ctl("incidents export " + id + " --out " + bundle, &out), 0) << out;
  EXPECT_TRUE(contains(test::read_file(bundle), id));

  // Silences.
  ASSERT_EQ(
      ctl("silences add --matcher 'host=\"web-01\"' --duration 2h --comment maint --json", &out), 0)
      << out;
  const std::string silence = field(out, "/id");
  ASSERT_FALSE(silence.empty()) << out;
  ASSERT_EQ(ctl("silences list", &out), 0) << out;
  EXPECT_TRUE(contains(out, silence)) << out;
  EXPECT_TRUE(contains(out, "host=\"web-01\"")) << out;
  EXPECT_TRUE(contains(out, "active")) << out;
  EXPECT_EQ(ctl("silences add --matcher 'host=\"web-01\"'", &out), 2) << out;  // no end
  ASSERT_EQ(ctl("silences expire " + silence, &out), 0) << out;
  ASSERT_EQ(ctl("silences list --json", &out), 0) << out;
  EXPECT_EQ(field(out, "/silences/0/status/state"), "expired") << out;

  // The token from a file; the --token flag works but warns.
  const std::string token_file = dir.path() + "/token";
  test::write_file(token_file, kAdmin + "\n");
  EXPECT_EQ(test::run_shell(test::klaxonctl_path() + " incidents list --api " + ctl.api +
                                " --token-file " + token_file + " 2>&1",
                            &out),
            0)
      << out;
  EXPECT_TRUE(contains(out, id)) << out;
  EXPECT_EQ(test::run_shell(test::klaxonctl_path() + " incidents list --api " + ctl.api +
                                " --token " + kAdmin + " 2>&1",
                            &out),
            0)
      << out;
  EXPECT_TRUE(contains(out, "warning")) << out;

  // Refused, unreachable, unsupported.
  const Ctl wrong{ctl.api, "not-a-configured-token-000000"};
  EXPECT_EQ(wrong("incidents list", &out), 1) << out;
  EXPECT_TRUE(contains(out, "401")) << out;
  EXPECT_TRUE(contains(out, "missing or unknown bearer token")) << out;
  const Ctl nowhere{"http://127.0.0.1:" + std::to_string(test::free_tcp_port()), kAdmin};
  EXPECT_EQ(nowhere("incidents list", &out), 2) << out;
  EXPECT_TRUE(contains(out, "cannot connect")) << out;
  const Ctl tls{"https://127.0.0.1:" + std::to_string(d.http_port()), kAdmin};
  EXPECT_EQ(tls("incidents list", &out), 2) << out;
  EXPECT_TRUE(contains(out, "TLS proxy")) << out;

  // --data-dir on the command line wins over KLAXON_API in the environment.
  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();
  ASSERT_EQ(ctl("incidents show " + id + " --data-dir " + d.data_dir(), &out), 0) << out;
  EXPECT_EQ(field(out.substr(0, out.find('\n')), "/status"), "closed") << out;
  EXPECT_TRUE(contains(out, "blocked 192.0.2.7 at the edge")) << out;
}

}  // namespace
}  // namespace klaxon
