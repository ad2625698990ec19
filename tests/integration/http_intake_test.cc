// The HTTP alert intake (daemon/http_intake.h): the body splitter on its own, then a real
// klaxond answering over a socket. A 200 must mean "durable": the alerts are read back with
// klaxonctl right after the answer, without waiting.

#include "daemon/http_intake.h"

#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::stored_alerts;
using test::TempDir;

std::vector<std::string> split(HttpEndpoint e, const std::string& body, std::string* error) {
  const std::string padded = body + std::string(kParsePadding, '\0');
  auto frames = split_http_body(e, std::string_view(padded.data(), body.size()), 1000);
  std::vector<std::string> out;
  if (!frames) {
    *error = frames.error().message;
    return out;
  }
  for (const auto& f : frames->frames) out.push_back(body.substr(f.offset, f.length));
  return out;
}

TEST(HttpIntakeSplit, ObjectArrayAndNdjsonKeepEachObjectsExactBytes) {
  std::string err;
  EXPECT_EQ(split(HttpEndpoint::kAlerts, " {\"a\": 1}\n", &err),
            (std::vector<std::string>{"{\"a\": 1}"}));
  // A pretty-printed object is one message, not one per line.
  EXPECT_EQ(split(HttpEndpoint::kAlerts, "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n", &err).size(), 1u);
  EXPECT_EQ(split(HttpEndpoint::kAlerts, "[{\"a\":1} , {\"b\" : \"x\"},{}]", &err),
            (std::vector<std::string>{"{\"a\":1}", "{\"b\" : \"x\"}", "{}"}));
  EXPECT_EQ(split(HttpEndpoint::kAlerts, "{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}\n", &err),
            (std::vector<std::string>{"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"}));
  EXPECT_EQ(split(HttpEndpoint::kAlerts, "\xEF\xBB\xBF{\"bom\":true}", &err).size(), 1u);
}

TEST(HttpIntakeSplit, MalformedBodiesAreRefusedWithAReason) {
  struct Case {
    HttpEndpoint endpoint;
    std::string body, expect;
  } cases[] = {
      {HttpEndpoint::kAlerts, "", "empty body"},
      {HttpEndpoint::kAlerts, "   \n", "empty body"},
      {HttpEndpoint::kAlerts, "hello", "expected a JSON object, a JSON array or NDJSON"},
      {HttpEndpoint::kAlerts, "{\"a\":1}\n{\"a\":", "ends inside a JSON object"},
      {HttpEndpoint::kAlerts, "{\"a\":}", "not valid JSON"},
      {HttpEndpoint::kAlerts, "[{\"a\":1}, 5]", "expected JSON objects"},
      {HttpEndpoint::kAlerts, "[{\"a\":1}", "not valid JSON"},
      {HttpEndpoint::kAlerts, "{\"a\":\"\xC3\x28\"}", "not valid JSON"},  // invalid UTF-8
      {HttpEndpoint::kAlerts, std::string(100000, '[') + std::string(100000, ']'),
       "not valid JSON"},  // nesting past simdjson's depth limit
      {HttpEndpoint::kAlerts, "{\"a\":1} 7", "expected JSON objects"},
      {HttpEndpoint::kAlertmanager, "[]", "expected the Alertmanager webhook JSON object"},
      {HttpEndpoint::kAlertmanager, "{\"receiver\":\"x\"}", "no \"alerts\" array"},
      {HttpEndpoint::kPrometheus, "{\"labels\":{}}", "expected a JSON array of alerts"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_TRUE(split(c.endpoint, c.body, &err).empty()) << c.body.substr(0, 40);
    EXPECT_NE(err.find(c.expect), std::string::npos)
        << "body: " << c.body.substr(0, 40) << "\ngot: " << err << "\nwant: " << c.expect;
  }
  std::string err;
  std::string many = "[";
  for (int i = 0; i < 1001; ++i) many += (i ? ",{}" : "{}");
  many += "]";
  EXPECT_TRUE(split(HttpEndpoint::kAlerts, many, &err).empty());
  EXPECT_NE(err.find("more than 1000 messages"), std::string::npos) << err;
}

std::string alert_json(int i) {
  return R"({"timestamp":"2026-11-23T10:00:00.000000+0000","rule":{"name":"http test )" +
         std::to_string(i) + R"("},"src_ip":"192.0.2.)" + std::to_string(i % 250 + 1) +
         R"(","severity":"high","message":"alert )" + std::to_string(i) + R"("})";
}

TEST(HttpIntake, TwoHundredMeansDurableForObjectsArraysAndNdjson) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  int status = 0;
  std::string body = test::http_post(d.http_port(), "/api/v1/alerts", alert_json(0), &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, "{\"status\":\"success\",\"received\":1}\n");
  // Durable means readable by another process now, not eventually.
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), 1u);

  std::string array = "[" + alert_json(1) + "," + alert_json(2) + "," + alert_json(3) + "]";
  body = test::http_post(d.http_port(), "/api/v1/alerts", array, &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"received\":3"), std::string::npos) << body;
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), 4u);

  std::string ndjson;
  for (int i = 4; i < 104; ++i) ndjson += alert_json(i) + "\n";
  body = test::http_post(d.http_port(), "/api/v1/alerts", ndjson, &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"received\":100"), std::string::npos) << body;
  const auto stored = stored_alerts(d.data_dir());
  ASSERT_EQ(stored.size(), 104u);
  EXPECT_NE(stored.back().find("\"transport\":\"http\""), std::string::npos) << stored.back();
  EXPECT_NE(stored.back().find("http test 103"), std::string::npos) << stored.back();
  EXPECT_EQ(d.metric("klaxon_source_received_messages_total{transport=\"http\"}"), 104);
  EXPECT_EQ(d.metric("klaxon_http_intake_requests_total{code=\"200\",endpoint=\"/api/v1/alerts\"}"),
            3);
}

TEST(HttpIntake, BadRequestsAreRefusedAndNothingIsStored) {
  TempDir dir;
  Daemon d(dir, "", "", "", "  max_body_size: 4KiB\n");
  d.start();
  int status = 0;
  std::string body = test::http_post(d.http_port(), "/api/v1/alerts", "{\"a\":", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body, "{\"status\":\"error\",\"error\":\"the body ends inside a JSON object\"}\n");
  body = test::http_post(d.http_port(), "/api/v1/alerts", "[" + alert_json(1) + ",7]", &status);
  EXPECT_EQ(status, 400) << body;
  body = test::http_post(d.http_port(), "/api/v1/alerts",
                         "{\"message\":\"" + std::string(5000, 'x') + "\"}", &status);
  EXPECT_EQ(status, 413) << body;
  test::http_get(d.http_port(), "/api/v1/alerts", &status);
  EXPECT_EQ(status, 405);
  body = test::http_post(d.http_port(), "/api/v1/nothing", "{}", &status);
  EXPECT_EQ(status, 404);
  // Garbage instead of HTTP does not disturb the next request.
  const int fd = test::connect_tcp(d.http_port());
  ASSERT_GE(fd, 0);
  static constexpr char kGarbage[] = "\x16\x03\x01\x02\x00garbage\r\n\r\n";
  test::send_all(fd, std::string(kGarbage, sizeof kGarbage - 1));  // with its NUL byte
  close(fd);
  body = test::http_post(d.http_port(), "/api/v1/alerts", alert_json(9), &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), 1u);  // only the good one
  EXPECT_EQ(d.metric("klaxon_http_intake_requests_total{code=\"400\",endpoint=\"/api/v1/alerts\"}"),
            2);
}

TEST(HttpIntake, AlertmanagerWebhookAndPrometheusPostsBecomeOneAlertEach) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  auto am_alert = [](const std::string& name, const std::string& instance,
                     const std::string& ends) {
    return R"({"status":"firing","labels":{"alertname":")" + name +
           R"(","severity":"critical","instance":")" + instance +
           R"("},"annotations":{"summary":"disk full on )" + instance +
           R"("},"startsAt":"2026-11-23T09:59:00.123456789Z","endsAt":")" + ends +
           R"(","generatorURL":"http://prometheus:9090/graph?g0.expr=up","fingerprint":"0123456789abcdef"})";
  };
  const std::string webhook =
      R"({"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,)"
      R"("status":"firing","receiver":"klaxon","groupLabels":{"alertname":"DiskFull"},)"
      R"("commonLabels":{"alertname":"DiskFull"},"commonAnnotations":{},)"
      R"("externalURL":"http://alertmanager:9093","alerts":[)" +
      am_alert("DiskFull", "db01:9100", "0001-01-01T00:00:00Z") + "," +
      am_alert("DiskFull", "db02:9100", "0001-01-01T00:00:00Z") + "," +
      am_alert("DiskFull", "db03:9100", "0001-01-01T00:00:00Z") + "]}";
  int status = 0;
  std::string body = test::http_post(d.http_port(), "/api/v1/alertmanager", webhook, &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"received\":3"), std::string::npos) << body;
  auto stored = stored_alerts(d.data_dir());
  ASSERT_EQ(stored.size(), 3u) << d.log();
  EXPECT_NE(stored[2].find("db03:9100"), std::string::npos) << stored[2];
  EXPECT_NE(stored[0].find("\"name\":\"DiskFull\""), std::string::npos) << stored[0];

  // What Prometheus itself sends an Alertmanager: the alerts alone, in an array.
  const std::string v2 = "[" + am_alert("HighLoad", "web01:9100", "2026-11-23T10:05:00Z") + "]";
  body = test::http_post(d.http_port(), "/api/v2/alerts", v2, &status);
  EXPECT_EQ(status, 200) << body;
  stored = stored_alerts(d.data_dir());
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_NE(stored[3].find("\"name\":\"HighLoad\""), std::string::npos) << stored[3];
  // The stored raw bytes are the alert as Prometheus sent it, not klaxon's envelope.
  EXPECT_EQ(stored[3].find("\"receiver\\\":\\\"klaxon\\\""), std::string::npos) << stored[3];

  body = test::http_post(d.http_port(), "/api/v1/alertmanager", "{\"receiver\":\"x\"}", &status);
  EXPECT_EQ(status, 400) << body;
}

TEST(HttpIntake, BearerTokensAreRequiredWhenConfigured) {
  TempDir dir;
  test::write_file(dir.path() + "/tokens", "# one per line\nsecond-token-0123456789\n");
  Daemon d(dir, "", "", "",
           "  tokens: [first-token-0123456789]\n  token_file: " + dir.path() + "/tokens\n");
  d.start();
  int status = 0;
  std::string headers;
  std::string body =
      test::http_post(d.http_port(), "/api/v1/alerts", alert_json(1), &status, "", &headers);
  EXPECT_EQ(status, 401) << body;
  EXPECT_NE(headers.find("WWW-Authenticate: Bearer"), std::string::npos) << headers;
  test::http_post(d.http_port(), "/api/v1/alerts", alert_json(1), &status,
                  "Authorization: Bearer first-token-012345678\r\n");  // one character short
  EXPECT_EQ(status, 401);
  test::http_post(d.http_port(), "/api/v1/alerts", alert_json(1), &status,
                  "Authorization: Basic Zmlyc3Q6dG9rZW4=\r\n");
  EXPECT_EQ(status, 401);
  test::http_post(d.http_port(), "/api/v1/alerts", alert_json(1), &status,
                  "Authorization: Bearer first-token-0123456789\r\n");
  EXPECT_EQ(status, 200);
  test::http_post(d.http_port(), "/api/v1/alerts", alert_json(2), &status,
                  "Authorization: Bearer second-token-0123456789\r\n");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(stored_alerts(d.data_dir()).size(), 2u);
  // /metrics stays open (Prometheus scrapes it without the intake token).
  test::http_get(d.http_port(), "/metrics", &status);
  EXPECT_EQ(status, 200);
}

TEST(HttpIntake, SigtermAnswersEveryAcceptedRequestBeforeExit) {
  TempDir dir;
  Daemon d(dir);
  d.start();
  // Eight clients post while the daemon is told to stop: each either got 200 (and its
  // alerts are stored) or was refused / never connected (and nothing of it is stored).
  std::atomic<int> ok_alerts{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < 20; ++r) {
        std::string ndjson;
        for (int i = 0; i < 50; ++i) ndjson += alert_json(c * 10000 + r * 100 + i) + "\n";
        int status = 0;
        test::http_post(d.http_port(), "/api/v1/alerts", ndjson, &status);
        if (status == 200) ok_alerts += 50;
      }
    });
  }
  std::this_thread::sleep_for(100ms);
  ::kill(d.process().pid(), SIGTERM);
  for (auto& t : clients) t.join();
  EXPECT_EQ(d.process().wait(30s), 0) << d.log();
  EXPECT_GT(ok_alerts.load(), 0);
  // Every answered request is stored; requests in flight at the signal may be stored without
  // an answer (the client would retry), never the other way round.
  EXPECT_GE(static_cast<int>(stored_alerts(d.data_dir()).size()), ok_alerts.load());
}

}  // namespace
}  // namespace klaxon
