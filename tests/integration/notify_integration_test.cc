// Notification end to end through a real klaxond: local receivers stand in for a signed
// webhook and PagerDuty; the API acknowledges, silences and closes; every attempt is an event
// whose SHA-256 is that of the bytes the receiver got. Escalation when nobody acknowledges, and
// none after an acknowledgement; 500 then success; kill -9 with an undelivered notification,
// delivered once after the restart.

#include "tests/sinks/sink_fixtures.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::Reply;
using test::TempDir;
using test::TestHttpServer;

std::string hex_sha256(const std::string& s) {
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

const std::string kAdmin = "admin-token-0123456789abcdefgh";
// Standard Webhooks secret: whsec_ + base64 of the key bytes ("klaxon-test-signing-key-32bytes!").
const std::string kKeyBytes = "klaxon-test-signing-key-32bytes!";

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Recomputes the Standard Webhooks signature of a received request.
bool signature_valid(const test::ReceivedRequest& r) {
  const std::string id = r.header("webhook-id"), ts = r.header("webhook-timestamp");
  const std::string signed_bytes = id + "." + ts + "." + r.body;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKeyBytes.data(), static_cast<int>(kKeyBytes.size()),
       reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size(), mac, &len);
  const std::string expected = "v1," + base64(std::string(reinterpret_cast<char*>(mac), len));
  return !id.empty() && r.header("webhook-signature").find(expected) != std::string::npos;
}

std::string alert_line(const std::string& host, int n, int severity = 3) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-11-23T08:00:%02dZ", n % 60);
  return "<" + std::to_string(32 + severity) + ">1 " + ts + " " + host +
         " suricata - - - {\"event_type\":\"alert\",\"src_ip\":\"192.0.2." + std::to_string(n + 1) +
         "\",\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":2001,\"signature\":\"ET TEST "
         "rule\",\"category\":\"Attempted Administrator Privilege Gain\"}}\n";
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Daemon> d;
  uint16_t port() const { return d->http_port(); }

  void configure(const std::string& notify) {
    d = std::make_unique<Daemon>(dir);
    unsigned char h[32];
    SHA256(reinterpret_cast<const unsigned char*>(kAdmin.data()), kAdmin.size(), h);
    std::string hex;
    for (unsigned char c : h) {
      static const char* x = "0123456789abcdef";
      hex.push_back(x[c >> 4]);
      hex.push_back(x[c & 15]);
    }
    test::write_file(d->config_path(), test::read_file(d->config_path()) +
                                           "enrich:\n  enabled: false\n"
                                           "api:\n  tokens:\n    - {name: adam, role: admin, "
                                           "sha256: " +
                                           hex + "}\n" + notify);
  }
  void send(const std::string& lines) {
    const int fd = test::connect_tcp(d->tcp_port());
    ASSERT_TRUE(test::send_all(fd, lines));
    close(fd);
  }
  std::string api(const std::string& method, const std::string& path, const std::string& body = "",
                  int* status = nullptr) {
    return test::http_request(port(), method, path, body, status,
                              "Authorization: Bearer " + kAdmin + "\r\n");
  }
  // The id of the only incident of `host`, once it exists.
  std::string incident_of(const std::string& host) {
    std::string id;
    test::wait_until(
        [&] {
          const std::string body = api("GET", "/api/v1/incidents?limit=100");
          simdjson::dom::parser p;
          simdjson::dom::element doc;
          if (p.parse(body).get(doc) != simdjson::SUCCESS) return false;
          for (auto in : doc["incidents"].get_array()) {
            std::string_view iid;
            if (in["id"].get(iid)) continue;
            if (simdjson::minify(in).find("\"" + host + "\"") != std::string::npos) {
              id = std::string(iid);
              return true;
            }
          }
          return false;
        },
        20s);
    return id;
  }
  // Events of an incident's timeline, by type.
  std::vector<std::string> events(const std::string& id, const std::string& type) {
    const std::string body = api("GET", "/api/v1/incidents/" + id + "/timeline");
    std::vector<std::string> out;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(body).get(doc) != simdjson::SUCCESS) return out;
    for (auto e : doc["events"].get_array()) {
      std::string_view t;
      if (e["type"].get(t) || t != type) continue;
      out.push_back(simdjson::minify(e));
    }
    return out;
  }
};

std::string receivers_yaml(const TestHttpServer& hook, const TestHttpServer& pd,
                           const std::string& extra_receivers = "") {
  return "notify:\n"
         "  external_url: https://klaxon.example.org\n"
         "  route:\n"
         "    receiver: soc\n"
         "    group_by: [incident]\n"
         "    group_wait: 1s\n"
         "    group_interval: 2s\n"
         "    repeat_interval: 1h\n"
         "  receivers:\n"
         "    - name: soc\n"
         "      webhook_configs:\n"
         "        - url: " +
         hook.url("/hook") + "\n          secret: whsec_" + base64(kKeyBytes) +
         "\n"
         "      pagerduty_configs:\n"
         "        - url: " +
         pd.url("/v2/enqueue") + "\n          routing_key: 0123456789abcdef0123456789abcdef\n" +
         extra_receivers;
}

size_t count_with(const std::vector<test::ReceivedRequest>& reqs, const std::string& needle) {
  size_t n = 0;
  for (const auto& r : reqs) n += r.body.find(needle) != std::string::npos;
  return n;
}

TEST(Notify, TriggerAckAndClosureReachEveryReceiverSignedAndRecorded) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) {
    Reply r;
    r.status = 202;
    r.body = R"({"status":"success","message":"Event processed"})";
    return r;
  });
  Fixture f;
  f.configure(receivers_yaml(hook, pd));
  f.d->start();
  std::string lines;
  for (int i = 0; i < 3; ++i) lines += alert_line("web-01", i);
  f.send(lines);
  const std::string id = f.incident_of("web-01");
  ASSERT_FALSE(id.empty()) << f.d->log();
  // group_wait 1s: the trigger reaches both receivers.
  ASSERT_TRUE(test::wait_until([&] { return hook.count() >= 1 && pd.count() >= 1; }, 15s))
      << f.d->log();
  {
    const auto got = hook.requests();
    EXPECT_TRUE(signature_valid(got[0])) << got[0].body;
    EXPECT_NE(got[0].body.find("\"kind\":\"trigger\""), std::string::npos) << got[0].body;
    EXPECT_NE(got[0].body.find(id), std::string::npos);
    const auto p = pd.requests();
    EXPECT_NE(p[0].body.find("\"event_action\":\"trigger\""), std::string::npos) << p[0].body;
    EXPECT_NE(p[0].body.find("\"dedup_key\":\"klaxon:" + id + "\""), std::string::npos);
  }
  // Acknowledge: PagerDuty hears `acknowledge` for the same dedup_key.
  int status = 0;
  f.api("POST", "/api/v1/incidents/" + id + "/ack", R"({"comment":"on it"})", &status);
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(test::wait_until(
      [&] { return count_with(pd.requests(), "\"event_action\":\"acknowledge\"") >= 1; }, 10s))
      << f.d->log();
  // Close: the closure notice to both.
  f.api("POST", "/api/v1/incidents/" + id + "/close", "", &status);
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(test::wait_until(
      [&] {
        return count_with(pd.requests(), "\"event_action\":\"resolve\"") >= 1 &&
               count_with(hook.requests(), "\"kind\":\"close\"") >= 1;
      },
      10s))
      << f.d->log();
  // Proof: each delivery is an event whose SHA-256 is that of the bytes received.
  std::vector<std::string> delivered;
  ASSERT_TRUE(test::wait_until(
      [&] {
        delivered = f.events(id, "notification_delivered");
        return delivered.size() >= 5;  // trigger x2, ack (pd + webhook), close x2
      },
      10s));
  std::set<std::string> received;
  for (const auto& r : hook.requests()) received.insert(hex_sha256(r.body));
  for (const auto& r : pd.requests()) received.insert(hex_sha256(r.body));
  for (const std::string& e : delivered) {
    const size_t at = e.find("\"sha256\":\"");
    ASSERT_NE(at, std::string::npos) << e;
    const std::string sha = e.substr(at + 10, 64);
    EXPECT_TRUE(received.count(sha)) << "delivered bytes not seen by a receiver: " << e;
    EXPECT_NE(e.find("sink:soc/"), std::string::npos) << e;
  }
  EXPECT_GE(f.events(id, "notification_queued").size(), delivered.size());
  // Exactly one trigger per receiver.
  EXPECT_EQ(count_with(pd.requests(), "\"event_action\":\"trigger\""), 1u);
  EXPECT_EQ(count_with(hook.requests(), "\"kind\":\"trigger\""), 1u);
  f.d->process().signal(SIGTERM);
  ASSERT_EQ(f.d->process().wait(20s), 0) << f.d->log();
  std::string out;
  EXPECT_EQ(test::run_shell(test::klaxonctl_path() + " verify --data-dir " + f.d->data_dir(), &out),
            0)
      << out;
}

TEST(Notify, EscalationWhenNobodyAcknowledgesAndNoneAfterAnAck) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) { return Reply{202, {}, "{}"}; });
  TestHttpServer oncall([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer manager([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  Fixture f;
  f.configure(
      receivers_yaml(
          hook, pd,
          "    - name: oncall-2\n      webhook_configs:\n        - url: " + oncall.url("/hook") +
              "\n          secret: whsec_" + base64(kKeyBytes) +
              "\n    - name: manager\n      webhook_configs:\n        - url: " +
              manager.url("/hook") + "\n          secret: whsec_" + base64(kKeyBytes) + "\n") +
      "  policies:\n"
      "    - match: {severity: [high, critical]}\n"
      "      escalation:\n"
      "        - {after: 2s, receivers: [oncall-2]}\n"
      "        - {after: 5s, receivers: [manager]}\n");
  f.d->start();
  f.send(alert_line("db-01", 1) + alert_line("app-01", 2));
  const std::string db = f.incident_of("db-01"), app = f.incident_of("app-01");
  ASSERT_FALSE(db.empty());
  ASSERT_FALSE(app.empty());
  // app-01 is acknowledged before its deadline; db-01 is not.
  int status = 0;
  f.api("POST", "/api/v1/incidents/" + app + "/ack", "", &status);
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(test::wait_until([&] { return count_with(manager.requests(), db) >= 1; }, 20s))
      << f.d->log();
  EXPECT_EQ(count_with(oncall.requests(), db), 1u);
  EXPECT_NE(count_with(oncall.requests(), "\"kind\":\"escalation\""), 0u);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count_with(oncall.requests(), app), 0u) << "escalated after an acknowledgement";
  EXPECT_EQ(count_with(manager.requests(), app), 0u);
  const auto escalated = f.events(db, "escalated");
  ASSERT_EQ(escalated.size(), 2u);
  EXPECT_NE(escalated[0].find("oncall-2"), std::string::npos);
  EXPECT_NE(escalated[1].find("manager"), std::string::npos);
  EXPECT_TRUE(f.events(app, "escalated").empty());
  // An acknowledgement after escalation also tells the escalation receivers.
  f.api("POST", "/api/v1/incidents/" + db + "/ack", "", &status);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(test::wait_until(
      [&] { return count_with(manager.requests(), "\"kind\":\"acknowledge\"") >= 1; }, 10s));
}

// The external-report deadline (72 h for a CUI incident; seconds here) is tracked per
// incident: its receivers hear of it `warn_before` the deadline, once, and it is on the chain.
TEST(Notify, TheReportDeadlineIsEscalatedWhenNear) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) { return Reply{202, {}, "{}"}; });
  TestHttpServer dpo([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  Fixture f;
  f.configure(receivers_yaml(hook, pd,
                             "    - name: privacy-office\n      webhook_configs:\n        - url: " +
                                 dpo.url("/hook") + "\n          secret: whsec_" +
                                 base64(kKeyBytes) + "\n") +
              "  policies:\n"
              "    - match: {category: [\"Attempted Administrator Privilege Gain\"]}\n"
              "      report: {deadline: 4s, warn_before: 2s, receivers: [privacy-office]}\n");
  f.d->start();
  f.send(alert_line("hr-01", 1));
  const std::string id = f.incident_of("hr-01");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(test::wait_until([&] { return count_with(dpo.requests(), id) >= 1; }, 15s))
      << f.d->log();
  EXPECT_NE(count_with(dpo.requests(), "\"kind\":\"report_deadline\""), 0u);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(dpo.count(), 1u) << "the warning is sent once";
  const auto escalated = f.events(id, "escalated");
  ASSERT_EQ(escalated.size(), 1u);
  EXPECT_NE(escalated[0].find("report_deadline"), std::string::npos) << escalated[0];
}

// SIGHUP applies new routes at once; a changed sink is refused until a restart.
TEST(Notify, SighupReloadsRoutesAndRefusesSinkChanges) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) { return Reply{202, {}, "{}"}; });
  TestHttpServer audit([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  const std::string audit_receiver =
      "    - name: audit\n      webhook_configs:\n        - url: " + audit.url("/hook") +
      "\n          secret: whsec_" + base64(kKeyBytes) + "\n";
  Fixture f;
  f.configure(receivers_yaml(hook, pd, audit_receiver));
  const std::string before = test::read_file(f.d->config_path());
  f.d->start();
  std::string routed = before;
  const std::string root = "    repeat_interval: 1h\n";
  routed.replace(
      routed.find(root), root.size(),
      root + "    routes:\n      - matchers: ['host=\"web-09\"']\n        receiver: audit\n");
  test::write_file(f.d->config_path(), routed);
  f.d->process().signal(SIGHUP);
  ASSERT_TRUE(test::wait_until(
      [&] {
        return f.d->log().find("routes, inhibit rules and policies reloaded") != std::string::npos;
      },
      10s))
      << f.d->log();
  f.send(alert_line("web-09", 1));
  const std::string id = f.incident_of("web-09");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(test::wait_until([&] { return count_with(audit.requests(), id) >= 1; }, 15s))
      << f.d->log();
  EXPECT_EQ(count_with(hook.requests(), id), 0u);
  // A sink's URL changed: refused, the running configuration stays.
  std::string moved = routed;
  moved.replace(moved.find(audit.url("/hook")), audit.url("/hook").size(), audit.url("/other"));
  test::write_file(f.d->config_path(), moved);
  f.d->process().signal(SIGHUP);
  ASSERT_TRUE(test::wait_until(
      [&] { return f.d->log().find("notify reload refused") != std::string::npos; }, 10s));
  EXPECT_EQ(f.d->metric("klaxon_config_last_reload_successful"), 0);
}

// Resolved: receivers with send_resolved hear it; a new alert reopens the incident and they
// hear it fire again, as a trigger (a duplicate of the first alert does it too).
TEST(Notify, AResolveIsSentAndAReopeningTriggersAgain) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) { return Reply{202, {}, "{}"}; });
  Fixture f;
  f.configure(receivers_yaml(hook, pd));
  f.d->start();
  f.send(alert_line("web-07", 1));
  const std::string id = f.incident_of("web-07");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(test::wait_until([&] { return count_with(pd.requests(), id) >= 1; }, 15s));
  int status = 0;
  f.api("POST", "/api/v1/incidents/" + id + "/resolve", "", &status);
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(test::wait_until(
      [&] { return count_with(pd.requests(), "\"event_action\":\"resolve\"") >= 1; }, 15s))
      << f.d->log();
  // The same alert again (a duplicate within the dedupe window) reopens it.
  f.send(alert_line("web-07", 1));
  ASSERT_TRUE(test::wait_until(
      [&] { return count_with(pd.requests(), "\"event_action\":\"trigger\"") >= 2; }, 15s))
      << f.d->log();
  EXPECT_EQ(count_with(hook.requests(), "\"kind\":\"trigger\""), 2u);
  EXPECT_EQ(f.events(id, "reopened").size(), 1u);
}

TEST(Notify, ASilencedIncidentIsRecordedNotSent) {
  TestHttpServer hook([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  TestHttpServer pd([](const test::ReceivedRequest&, size_t) { return Reply{202, {}, "{}"}; });
  Fixture f;
  f.configure(receivers_yaml(hook, pd));
  f.d->start();
  int status = 0;
  const std::string silence =
      f.api("POST", "/api/v1/silences",
            R"({"matchers":["host=\"web-02\""],"duration":"1h","comment":"patching"})", &status);
  ASSERT_EQ(status, 201) << silence;
  f.send(alert_line("web-02", 1) + alert_line("web-03", 2));
  const std::string muted = f.incident_of("web-02"), loud = f.incident_of("web-03");
  ASSERT_FALSE(muted.empty());
  ASSERT_TRUE(test::wait_until([&] { return count_with(hook.requests(), loud) >= 1; }, 15s));
  ASSERT_TRUE(
      test::wait_until([&] { return !f.events(muted, "notification_suppressed").empty(); }, 10s));
  EXPECT_NE(f.events(muted, "notification_suppressed")[0].find("silenced"), std::string::npos);
  EXPECT_EQ(count_with(hook.requests(), muted), 0u);
  EXPECT_EQ(count_with(pd.requests(), muted), 0u);
  const std::string list = f.api("GET", "/api/v1/silences");
  EXPECT_NE(list.find("patching"), std::string::npos) << list;
  EXPECT_NE(list.find("user:adam"), std::string::npos) << list;
}

TEST(Notify, A500IsRetriedAndAKillNineLeavesNothingUndeliveredOrDoubled) {
  // The webhook fails twice, then succeeds; PagerDuty holds its first answer forever.
  TestHttpServer hook([](const test::ReceivedRequest&, size_t i) {
    Reply r;
    if (i < 2) r.status = 500;
    return r;
  });
  std::atomic<bool> pd_up{false};
  TestHttpServer pd([&](const test::ReceivedRequest&, size_t) {
    Reply r{202, {}, "{}"};
    r.hold = !pd_up.load();
    return r;
  });
  Fixture f;
  f.configure(receivers_yaml(hook, pd));
  f.d->start();
  f.send(alert_line("web-04", 1));
  const std::string id = f.incident_of("web-04");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(test::wait_until([&] { return count_with(hook.requests(), id) >= 3; }, 30s))
      << f.d->log();
  ASSERT_TRUE(test::wait_until([&] { return pd.count() >= 1; }, 10s));
  ASSERT_TRUE(
      test::wait_until([&] { return f.events(id, "notification_failed").size() >= 2; }, 10s));
  // PagerDuty never answered: kill -9 now; its request is in the outbox.
  f.d->process().signal(SIGKILL);
  EXPECT_EQ(f.d->process().wait(5s), 128 + SIGKILL);
  pd_up = true;
  pd.release();
  const size_t pd_before = pd.count();
  f.d->start();
  ASSERT_TRUE(test::wait_until([&] { return pd.count() > pd_before; }, 20s)) << f.d->log();
  std::this_thread::sleep_for(3s);
  // The same bytes and idempotency key again; no second trigger decided after the restart.
  const auto p = pd.requests();
  std::set<std::string> bodies;
  for (const auto& r : p) bodies.insert(r.body);
  EXPECT_EQ(bodies.size(), 1u) << "the restart decided a second trigger";
  EXPECT_EQ(count_with(hook.requests(), "\"kind\":\"trigger\""), 3u)
      << "the delivered webhook was sent again";
  EXPECT_TRUE(test::wait_until(
      [&] {
        for (const auto& e : f.events(id, "notification_delivered"))
          if (e.find("pagerduty") != std::string::npos) return true;
        return false;
      },
      10s));
}

}  // namespace
}  // namespace klaxon
