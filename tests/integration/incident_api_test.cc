// The incident API of a real klaxond: every role x endpoint (401 without or with a wrong
// token, 403 for a role that may not, and no event written on refusal), the lifecycle an
// allowed role walks through (ack, note, assign, resolve, reopen, close), 404 and 409, the
// actor recorded on each event, and a chain klaxonctl verifies afterwards.

#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::TempDir;

std::string sha256_hex(const std::string& s) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

const std::string kViewer = "viewer-token-0123456789abcdef";
const std::string kResponder = "responder-token-0123456789abc";
const std::string kAdmin = "admin-token-0123456789abcdefgh";

std::string api_config() {
  return "api:\n  tokens:\n"
         "    - {name: vera, role: viewer, sha256: " +
         sha256_hex(kViewer) +
         "}\n"
         "    - {name: rosa, role: responder, sha256: " +
         sha256_hex(kResponder) +
         "}\n"
         "    - {name: adam, role: admin, sha256: " +
         sha256_hex(kAdmin) + "}\n";
}

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

struct Call {
  int status = 0;
  std::string body;
};

class Api {
 public:
  explicit Api(uint16_t port) : port_(port) {}
  Call call(const std::string& method, const std::string& path, const std::string& token,
            const std::string& body = "") const {
    Call c;
    c.body = test::http_request(port_, method, path, body, &c.status,
                                token.empty() ? "" : "Authorization: Bearer " + token + "\r\n");
    return c;
  }
  size_t events(const std::string& id) const {
    Call c = call("GET", "/api/v1/incidents/" + id + "/timeline", kAdmin);
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(c.body).get(doc) != simdjson::SUCCESS) return 0;
    simdjson::dom::array events;
    if (doc["events"].get(events) != simdjson::SUCCESS) return 0;
    return events.size();
  }

 private:
  uint16_t port_;
};

std::string field(const std::string& json, const char* path) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(json).get(doc) != simdjson::SUCCESS) return "";
  std::string_view v;
  if (doc.at_pointer(path).get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

TEST(IncidentApi, EveryRoleAndEndpointIsCheckedAndARefusalWritesNothing) {
  TempDir dir;
  Daemon d(dir, "", "", "", "");
  // No enrichment: its events would land between the ones this test counts.
  test::write_file(d.config_path(),
                   test::read_file(d.config_path()) + api_config() + "enrich:\n  enabled: false\n");
  d.start();
  std::string lines;
  for (int i = 0; i < 5; ++i) lines += alert_line("web-01", i);
  const int fd = test::connect_tcp(d.tcp_port());
  ASSERT_TRUE(test::send_all(fd, lines));
  close(fd);
  Api api(d.http_port());
  std::string id;
  ASSERT_TRUE(test::wait_until(
      [&] {
        Call c = api.call("GET", "/api/v1/incidents?status=open", kViewer);
        id = field(c.body, "/incidents/0/id");
        // All five alerts linked (the link event is written within a second).
        return c.status == 200 && !id.empty() &&
               c.body.find("\"occurrences\":5") != std::string::npos && api.events(id) >= 2;
      },
      20s))
      << d.log();
  const std::string inc = "/api/v1/incidents/" + id;

  // Each endpoint, in an order where every allowed call is valid for the incident's status.
  struct Row {
    std::string method, path, body;
    int min_role;  // 0 viewer, 1 responder, 2 admin
    int ok;        // the status the lowest allowed role gets
    bool writes;   // appends an incident event
  };
  const std::vector<Row> rows = {
      {"GET", "/api/v1/incidents", "", 0, 200, false},
      {"GET", inc, "", 0, 200, false},
      {"GET", inc + "/timeline", "", 0, 200, false},
      {"GET", inc + "/export", "", 0, 200, false},
      {"POST", inc + "/ack", R"({"comment":"looking"})", 1, 200, true},
      {"POST", inc + "/notes", R"({"text":"blocked 192.0.2.7 at the edge"})", 1, 200, true},
      {"POST", inc + "/assign", R"({"assignee":"rosa"})", 1, 200, true},
      {"POST", inc + "/resolve", "", 1, 200, true},
      {"POST", inc + "/reopen", R"({"comment":"came back"})", 2, 200, true},
      {"POST", inc + "/close", "", 2, 200, true},
      {"GET", "/api/v1/silences", "", 0, 200, false},
      {"POST", "/api/v1/silences",
       R"({"matchers":["host=\"web-01\""],"duration":"1h","comment":"maintenance"})", 1, 201,
       false},
  };
  const std::vector<std::string> tokens = {kViewer, kResponder, kAdmin};
  for (const Row& r : rows) {
    SCOPED_TRACE(r.method + " " + r.path);
    const size_t before = api.events(id);
    // 401: no token, an unknown token, a token sent without the Bearer scheme.
    EXPECT_EQ(api.call(r.method, r.path, "", r.body).status, 401);
    EXPECT_EQ(api.call(r.method, r.path, "not-a-configured-token-000000", r.body).status, 401);
    {
      Call c;
      c.body = test::http_request(d.http_port(), r.method, r.path, r.body, &c.status,
                                  "Authorization: " + kAdmin + "\r\n");
      EXPECT_EQ(c.status, 401);
    }
    // 403: every role below the endpoint's.
    for (int role = 0; role < r.min_role; ++role) {
      Call c = api.call(r.method, r.path, tokens[role], r.body);
      EXPECT_EQ(c.status, 403) << c.body;
      EXPECT_NE(c.body.find("\"error\""), std::string::npos) << c.body;
    }
    EXPECT_EQ(api.events(id), before) << "a refused request wrote an event";
    // The lowest allowed role succeeds.
    Call c = api.call(r.method, r.path, tokens[r.min_role], r.body);
    if (r.ok == 503 || c.status == 503) {
      // Silences need a notify: section; without one the API says so.
      EXPECT_NE(c.body.find("notify"), std::string::npos) << c.body;
      continue;
    }
    EXPECT_EQ(c.status, r.ok) << c.body;
    EXPECT_EQ(api.events(id), before + (r.writes ? 1 : 0));
    if (r.writes) {
      // The answer names the new event, and the actor is the token's holder.
      EXPECT_NE(c.body.find("\"event\":{\"seq\":"), std::string::npos) << c.body;
      const std::string timeline = api.call("GET", inc + "/timeline", kViewer).body;
      const std::string who = r.min_role == 2 ? "user:adam" : "user:rosa";
      EXPECT_NE(timeline.rfind("\"actor\":\"" + who + "\""), std::string::npos) << timeline;
    }
  }
  // The state the walk ended in, as the API shows it.
  Call got = api.call("GET", inc, kViewer);
  EXPECT_EQ(field(got.body, "/status"), "closed") << got.body;
  EXPECT_EQ(field(got.body, "/assignee"), "rosa") << got.body;

  // Refusals by state and by id.
  Call conflict = api.call("POST", inc + "/ack", kResponder);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_NE(conflict.body.find("closed"), std::string::npos) << conflict.body;
  EXPECT_EQ(
      api.call("POST", "/api/v1/incidents/00000000-0000-4000-8000-000000000000/ack", kResponder)
          .status,
      404);
  EXPECT_EQ(api.call("GET", "/api/v1/incidents/not-an-id", kViewer).status, 400);
  EXPECT_EQ(api.call("POST", inc + "/notes", kResponder, "{}").status, 400);
  EXPECT_EQ(api.call("POST", inc + "/notes", kResponder, "not json").status, 400);
  EXPECT_EQ(api.call("GET", "/api/v1/incidents?status=bogus", kViewer).status, 400);
  EXPECT_EQ(api.call("GET", "/api/v1/incidents?frobnicate=1", kViewer).status, 400);
  EXPECT_EQ(api.call("PUT", inc, kAdmin).status, 404);

  // Filters.
  EXPECT_EQ(field(api.call("GET", "/api/v1/incidents?status=closed&severity=high", kViewer).body,
                  "/incidents/0/id"),
            id);
  EXPECT_EQ(
      field(api.call("GET", "/api/v1/incidents?status=open", kViewer).body, "/incidents/0/id"), "");
  EXPECT_EQ(field(api.call("GET", "/api/v1/incidents?since=2100-01-01T00:00:00Z", kViewer).body,
                  "/incidents/0/id"),
            "");

  d.process().signal(SIGTERM);
  ASSERT_EQ(d.process().wait(20s), 0) << d.log();
  std::string out;
  EXPECT_EQ(test::run_shell(test::klaxonctl_path() + " verify --data-dir " + d.data_dir(), &out), 0)
      << out;
}

}  // namespace
}  // namespace klaxon
