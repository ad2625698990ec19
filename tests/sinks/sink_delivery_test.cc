// The Deliverer against real local HTTP(S) receivers (tests/sinks/sink_fixtures.h), one per
// behaviour: retry then success, Retry-After, no retry on 4xx, a receiver that never answers,
// overflow policies, TLS with a test CA, TheHive duplicates, per-incident order, rate limits,
// stop(). Backoff bases are milliseconds here so the suite stays short.
#include "pipeline/core/clock.h"
#include "pipeline/sinks/deliverer.h"
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/signing.h"
#include "tests/sinks/sink_fixtures.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace klaxon::sinks {
namespace {

using namespace std::chrono_literals;
using notify::NotifyKind;
using test::Reply;
using test::sample_incident;
using test::sample_notification;
using test::TestHttpServer;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string incident_id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", i);
  return buf;
}

// Records every AttemptResult; waits for final outcomes.
class Collector {
 public:
  Deliverer::Callback callback() {
    return [this](const AttemptResult& a) {
      std::lock_guard<std::mutex> lock(mu_);
      all_.push_back(a);
      cv_.notify_all();
    };
  }
  std::vector<AttemptResult> of(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<AttemptResult> out;
    for (const auto& a : all_) {
      if (a.id == id) out.push_back(a);
    }
    return out;
  }
  std::vector<AttemptResult> all() {
    std::lock_guard<std::mutex> lock(mu_);
    return all_;
  }
  // The final outcome for id, or nullopt after the timeout.
  std::optional<AttemptResult> final(uint64_t id, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<AttemptResult> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& a : all_) {
        if (a.id == id && a.outcome != AttemptResult::kRetrying) found = a;
      }
      return found.has_value();
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AttemptResult> all_;
};

IntegrationConfig integration(SinkKind kind, const std::string& url, const std::string& name) {
  IntegrationConfig c;
  c.kind = kind;
  c.receiver = "soc";
  c.name = name;
  c.url = url;
  c.timeout_ns = 5'000'000'000;
  switch (kind) {
    case SinkKind::kWebhook:
      c.signing_key = *decode_webhook_secret(kSecret);
      break;
    case SinkKind::kPagerDuty:
      c.routing_key = "0123456789abcdef0123456789abcdef";
      break;
    case SinkKind::kOpsgenie:
    case SinkKind::kTheHive:
      c.api_key = "test-api-key";
      break;
    default:
      break;
  }
  return c;
}

DelivererOptions fast() {
  DelivererOptions o;
  o.backoff_base_ns = 20'000'000;  // 20 ms
  o.backoff_cap_ns = 200'000'000;
  o.seed = 7;
  return o;
}

OutboundRequest one_request(const IntegrationConfig& c, NotifyKind kind, int incident,
                            const std::string& key_suffix = "") {
  auto n = sample_notification(kind, {sample_incident(incident_id(incident))});
  n.idempotency_key += "-" + std::to_string(incident) + key_suffix;
  n.created_ns = wall_ns();  // the retry window (max_retry_duration) counts from here
  auto reqs = render(n, c);
  EXPECT_EQ(reqs.size(), 1u);
  return reqs.at(0);
}

std::string metrics_text(prometheus::Registry& r) {
  return prometheus::TextSerializer().Serialize(r.Collect());
}

std::string expected_signature(const std::string& id, const std::string& ts,
                               const std::string& body) {
  const std::string key = *decode_webhook_secret(kSecret);
  const std::string content = id + "." + ts + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  unsigned char b64[128];
  const int n = EVP_EncodeBlock(b64, mac, static_cast<int>(len));
  return "v1," + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

TEST(SinkDelivery, ServerErrorIsRetriedThenDeliveredSignedEachTime) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t i) {
    return i < 2 ? Reply{500, {}, "try later"} : Reply{200, {}, "ok"};
  });
  const auto cfg = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  const OutboundRequest req = one_request(cfg, NotifyKind::kTrigger, 1);
  ASSERT_TRUE((*d)->submit(11, req));
  auto fin = got.final(11);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->outcome, AttemptResult::kDelivered);

  const auto attempts = got.of(11);
  ASSERT_EQ(attempts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(attempts[i].attempt, static_cast<int>(i + 1));
    EXPECT_EQ(attempts[i].integration, "soc/webhook/0");
    EXPECT_EQ(attempts[i].receiver, "soc");
    EXPECT_EQ(attempts[i].kind, NotifyKind::kTrigger);
    EXPECT_EQ(attempts[i].idempotency_key, req.idempotency_key);
    EXPECT_EQ(attempts[i].incident_ids, std::vector<std::string>{incident_id(1)});
    EXPECT_EQ(attempts[i].body_sha256, sha256_hex(req.body));
    EXPECT_GT(attempts[i].latency_ns, 0);
    EXPECT_NEAR(static_cast<double>(attempts[i].sent_ns), static_cast<double>(wall_ns()), 60e9);
  }
  EXPECT_EQ(attempts[0].outcome, AttemptResult::kRetrying);
  EXPECT_EQ(attempts[0].http_status, 500);
  EXPECT_EQ(attempts[0].error, "HTTP 500: try later");
  EXPECT_GE(attempts[0].next_attempt_ns, attempts[0].sent_ns);
  EXPECT_EQ(attempts[1].outcome, AttemptResult::kRetrying);
  EXPECT_EQ(attempts[2].http_status, 200);
  EXPECT_TRUE(attempts[2].error.empty());

  // What arrived: the same id and body each time, a signature over each attempt's timestamp
  // that an independent HMAC reproduces.
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& r : seen) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.body, req.body);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("idempotency-key"), req.idempotency_key);
    EXPECT_EQ(r.header("webhook-id"), req.idempotency_key);
    const std::string ts = r.header("webhook-timestamp");
    ASSERT_FALSE(ts.empty());
    EXPECT_NEAR(std::stod(ts), static_cast<double>(wall_ns() / 1'000'000'000), 60);
    EXPECT_EQ(r.header("webhook-signature"),
              expected_signature(r.header("webhook-id"), ts, r.body));
  }
  const std::string text = metrics_text(registry);
  EXPECT_EQ(
      test::metric_value(
          text, "klaxon_sink_requests_total{integration=\"soc/webhook/0\",result=\"delivered\"}"),
      1);
  EXPECT_EQ(
      test::metric_value(
          text, "klaxon_sink_requests_total{integration=\"soc/webhook/0\",result=\"retrying\"}"),
      2);
  EXPECT_EQ(test::metric_value(text, "klaxon_sink_retries_total{integration=\"soc/webhook/0\"}"),
            2);
  EXPECT_EQ(test::metric_value(
                text, "klaxon_sink_request_duration_seconds_count{integration=\"soc/webhook/0\"}"),
            3);
  EXPECT_EQ(test::metric_value(text, "klaxon_sink_queue_depth{integration=\"soc/webhook/0\"}"), 0);
  EXPECT_TRUE((*d)->stop(std::chrono::steady_clock::now() + 1s).empty());
}

TEST(SinkDelivery, RetryAfterIsHonoured) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t i) {
    return i == 0 ? Reply{429, {{"Retry-After", "1"}}, "slow down"} : Reply{};
  });
  const auto cfg = integration(SinkKind::kSlack, server.url(), "soc/slack/0");
  prometheus::Registry registry;
  Collector got;
  DelivererOptions o = fast();
  o.backoff_base_ns = 1'000'000;  // 1 ms: any wait near a second comes from the header
  auto d = Deliverer::start({cfg}, got.callback(), registry, o);
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(cfg, NotifyKind::kTrigger, 1)));
  auto fin = got.final(1);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->outcome, AttemptResult::kDelivered);
  const auto attempts = got.of(1);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].http_status, 429);
  EXPECT_GE(attempts[0].next_attempt_ns - attempts[0].sent_ns, 1'000'000'000);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1].received_mono_ns - seen[0].received_mono_ns, 1'000'000'000);
}

TEST(SinkDelivery, ClientErrorsAreNotRetried) {
  TestHttpServer bad_request([](const test::ReceivedRequest&, size_t) {
    return Reply{400, {}, "invalid_payload"};
  });
  TestHttpServer archived([](const test::ReceivedRequest&, size_t) {
    return Reply{410, {}, "channel_is_archived"};
  });
  TestHttpServer redirect([](const test::ReceivedRequest&, size_t) {
    return Reply{302, {{"Location", "http://127.0.0.1:1/elsewhere"}}, ""};
  });
  const auto a = integration(SinkKind::kPagerDuty, bad_request.url(), "soc/pagerduty/0");
  const auto b = integration(SinkKind::kSlack, archived.url(), "soc/slack/0");
  const auto c = integration(SinkKind::kWebhook, redirect.url(), "soc/webhook/0");
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({a, b, c}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(a, NotifyKind::kTrigger, 1)));
  ASSERT_TRUE((*d)->submit(2, one_request(b, NotifyKind::kTrigger, 1)));
  ASSERT_TRUE((*d)->submit(3, one_request(c, NotifyKind::kTrigger, 1)));
  for (uint64_t id : {1, 2, 3}) {
    auto fin = got.final(id);
    ASSERT_TRUE(fin.has_value()) << id;
    EXPECT_EQ(fin->outcome, AttemptResult::kFailed) << id;
    EXPECT_EQ(fin->attempt, 1);
  }
  EXPECT_EQ(got.of(1)[0].http_status, 400);
  EXPECT_EQ(got.of(1)[0].error, "HTTP 400: invalid_payload");
  EXPECT_EQ(got.of(2)[0].http_status, 410);
  EXPECT_EQ(got.of(3)[0].http_status, 302);
  std::this_thread::sleep_for(300ms);  // 15 backoff bases: a retry would have come
  EXPECT_EQ(bad_request.count(), 1u);
  EXPECT_EQ(archived.count(), 1u);
  EXPECT_EQ(redirect.count(), 1u);
  EXPECT_EQ(got.all().size(), 3u);
}

TEST(SinkDelivery, RetriesEndAtMaxAttemptsOrMaxRetryDuration) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t) { return Reply{503, {}, ""}; });
  auto cfg = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  cfg.max_attempts = 3;
  cfg.max_retry_duration_ns = 3600LL * 1'000'000'000;
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(cfg, NotifyKind::kTrigger, 1)));
  auto fin = got.final(1);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->outcome, AttemptResult::kFailed);
  EXPECT_EQ(fin->attempt, 3);
  EXPECT_NE(fin->error.find("gave up after 3 attempts"), std::string::npos) << fin->error;
  EXPECT_EQ(got.of(1).size(), 3u);

  // A request from an outbox older than the window gets one attempt, no retry.
  auto old = one_request(cfg, NotifyKind::kTrigger, 2);
  old.created_ns = wall_ns() - cfg.max_retry_duration_ns - 1'000'000'000;
  ASSERT_TRUE((*d)->submit(2, old));
  fin = got.final(2);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->outcome, AttemptResult::kFailed);
  EXPECT_EQ(fin->attempt, 1);
  EXPECT_NE(fin->error.find("max_retry_duration"), std::string::npos) << fin->error;

  // Attempts made before a restart count (previous_attempts from the caller's outbox).
  auto resumed = one_request(cfg, NotifyKind::kTrigger, 3);
  resumed.previous_attempts = 2;
  ASSERT_TRUE((*d)->submit(3, resumed));
  fin = got.final(3);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->attempt, 3);
  EXPECT_EQ(got.of(3).size(), 1u);
  EXPECT_EQ(server.count(), 5u);
}

TEST(SinkDelivery, SilentReceiverTimesOutAndDoesNotDelayOthers) {
  TestHttpServer silent([](const test::ReceivedRequest&, size_t) {
    Reply r;
    r.hold = true;
    return r;
  });
  TestHttpServer healthy([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  auto slow = integration(SinkKind::kWebhook, silent.url(), "soc/webhook/0");
  slow.timeout_ns = 1'500'000'000;
  slow.max_attempts = 1;
  const auto quick = integration(SinkKind::kSlack, healthy.url(), "soc/slack/0");
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({slow, quick}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  // Fill the silent integration's in-flight slots first, then send to the healthy one.
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE((*d)->submit(100 + i, one_request(slow, NotifyKind::kTrigger, i)));
  ASSERT_TRUE(test::wait_until([&] { return silent.count() == 4; }, 5s));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE((*d)->submit(200 + i, one_request(quick, NotifyKind::kTrigger, i)));
  for (int i = 0; i < 5; ++i) {
    auto fin = got.final(200 + i);
    ASSERT_TRUE(fin.has_value());
    EXPECT_EQ(fin->outcome, AttemptResult::kDelivered);
  }
  // The healthy receiver was served while the silent one still held every request.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(got.of(100 + i).empty());
  for (int i = 0; i < 4; ++i) {
    auto fin = got.final(100 + i);
    ASSERT_TRUE(fin.has_value());
    EXPECT_EQ(fin->outcome, AttemptResult::kFailed);
    EXPECT_EQ(fin->http_status, 0);
    EXPECT_NE(fin->error.find("timeout"), std::string::npos) << fin->error;
    EXPECT_GE(fin->latency_ns, 1'400'000'000);
  }
}

void overflow_case(Overflow policy, std::vector<uint64_t> expect_dropped,
                   std::vector<uint64_t> expect_delivered) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t i) {
    Reply r;
    r.hold = i == 0;  // the first request waits until release()
    return r;
  });
  auto cfg = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  cfg.max_in_flight = 1;
  cfg.queue_capacity = 3;  // one in flight, two waiting
  cfg.overflow = policy;
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(cfg, NotifyKind::kTrigger, 1)));
  ASSERT_TRUE(test::wait_until([&] { return server.count() == 1; }, 5s));
  ASSERT_TRUE((*d)->submit(2, one_request(cfg, NotifyKind::kTrigger, 2)));
  ASSERT_TRUE((*d)->submit(3, one_request(cfg, NotifyKind::kTrigger, 3)));
  EXPECT_EQ((*d)->held("soc/webhook/0"), 3u);
  const bool newest = policy == Overflow::kDropNewest;
  EXPECT_EQ((*d)->submit(4, one_request(cfg, NotifyKind::kTrigger, 4)), !newest);
  EXPECT_EQ((*d)->submit(5, one_request(cfg, NotifyKind::kTrigger, 5)), !newest);
  EXPECT_EQ((*d)->held("soc/webhook/0"), 3u);
  for (uint64_t id : expect_dropped) {
    auto fin = got.final(id);
    ASSERT_TRUE(fin.has_value()) << id;
    EXPECT_EQ(fin->outcome, AttemptResult::kDropped) << id;
    EXPECT_NE(fin->error.find(newest ? "drop_newest" : "drop_oldest"), std::string::npos);
  }
  server.release();
  for (uint64_t id : expect_delivered) {
    auto fin = got.final(id);
    ASSERT_TRUE(fin.has_value()) << id;
    EXPECT_EQ(fin->outcome, AttemptResult::kDelivered) << id;
  }
  EXPECT_EQ(server.count(), 3u);
  EXPECT_EQ(test::metric_value(metrics_text(registry),
                               "klaxon_sink_dropped_total{integration=\"soc/webhook/0\","
                               "reason=\"queue_full\"}"),
            2);
}

TEST(SinkDelivery, OverflowDropOldest) { overflow_case(Overflow::kDropOldest, {2, 3}, {1, 4, 5}); }

TEST(SinkDelivery, OverflowDropNewest) { overflow_case(Overflow::kDropNewest, {4, 5}, {1, 2, 3}); }

TEST(SinkDelivery, TlsVerifiesTheServerAgainstCaFile) {
  test::TempDir dir;
  test::TlsFiles pki;
  std::string error;
  ASSERT_TRUE(test::make_test_pki(dir.path(), &pki, &error)) << error;
  TestHttpServer server(
      [](const test::ReceivedRequest&, size_t) {
        return Reply{202, {}, "{}"};
      },
      &pki);
  ASSERT_EQ(server.url().rfind("https://", 0), 0u);
  auto trusted = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  trusted.ca_file = pki.ca_file;
  auto untrusted = integration(SinkKind::kWebhook, server.url(), "soc/webhook/1");
  untrusted.max_attempts = 1;  // the system store does not know the test CA
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({trusted, untrusted}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(trusted, NotifyKind::kTrigger, 1)));
  ASSERT_TRUE((*d)->submit(2, one_request(untrusted, NotifyKind::kTrigger, 1)));
  auto ok = got.final(1);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->outcome, AttemptResult::kDelivered);
  EXPECT_EQ(ok->http_status, 202);
  auto refused = got.final(2);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->outcome, AttemptResult::kFailed);
  EXPECT_EQ(refused->http_status, 0);
  EXPECT_NE(refused->error.find("certificate"), std::string::npos) << refused->error;
  EXPECT_EQ(server.count(), 1u);  // nothing was sent over the unverified connection
}

TEST(SinkDelivery, TheHiveAlreadyExistsCountsAsDeliveredAndKeysComeFromConfig) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t) {
    return Reply{400,
                 {{"Content-Type", "application/json"}},
                 R"({"type":"CreateError","message":"Alert klaxon-incident:klaxon:x already )"
                 R"(exist in organisation SOC"})"};
  });
  auto cfg = integration(SinkKind::kTheHive, "http://127.0.0.1:" + std::to_string(server.port()),
                         "soc/thehive/0");
  cfg.organisation = "SOC";
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  // Through the stored form, as after a restart: no URL, no key in it.
  auto stored = decode_request(encode_request(one_request(cfg, NotifyKind::kTrigger, 1)));
  ASSERT_TRUE(stored.has_value());
  ASSERT_TRUE(stored->secret_headers.empty());
  ASSERT_TRUE((*d)->submit(1, *stored));
  auto fin = got.final(1);
  ASSERT_TRUE(fin.has_value());
  EXPECT_EQ(fin->outcome, AttemptResult::kDelivered);
  EXPECT_EQ(fin->http_status, 400);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/api/v1/alert");
  EXPECT_EQ(seen[0].header("authorization"), "Bearer test-api-key");
  EXPECT_EQ(seen[0].header("x-organisation"), "SOC");
}

TEST(SinkDelivery, SameIncidentKeepsItsOrderAcrossRetries) {
  std::atomic<bool> failed_once{false};
  TestHttpServer server([&](const test::ReceivedRequest& r, size_t) {
    // The first trigger for incident 7 fails once; everything else is accepted.
    if (r.body.find(incident_id(7)) != std::string::npos &&
        r.body.find("\"event_action\":\"trigger\"") != std::string::npos &&
        !failed_once.exchange(true)) {
      return Reply{502, {}, "bad gateway"};
    }
    return Reply{202, {}, "{}"};
  });
  const auto cfg = integration(SinkKind::kPagerDuty, server.url("/v2/enqueue"), "soc/pagerduty/0");
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE((*d)->submit(1, one_request(cfg, NotifyKind::kTrigger, 7)));
  ASSERT_TRUE((*d)->submit(2, one_request(cfg, NotifyKind::kResolve, 7)));
  ASSERT_TRUE((*d)->submit(3, one_request(cfg, NotifyKind::kTrigger, 8)));  // another incident
  for (uint64_t id : {1, 2, 3}) {
    auto fin = got.final(id);
    ASSERT_TRUE(fin.has_value());
    EXPECT_EQ(fin->outcome, AttemptResult::kDelivered);
  }
  // Incident 7: trigger (502), trigger again, then resolve; never resolve first.
  std::vector<std::string> actions;
  for (const auto& r : server.requests()) {
    if (r.body.find(incident_id(7)) == std::string::npos) continue;
    actions.push_back(r.body.find("\"event_action\":\"resolve\"") != std::string::npos ? "resolve"
                                                                                       : "trigger");
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"trigger", "trigger", "resolve"}));
}

TEST(SinkDelivery, TokenBucketSpacesRequests) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t) { return Reply{}; });
  auto cfg = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  cfg.rate_limit_per_minute = 240;  // one per 250 ms
  cfg.burst = 1;
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE((*d)->submit(i, one_request(cfg, NotifyKind::kTrigger, i)));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(got.final(i).has_value());
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].received_mono_ns - seen[i - 1].received_mono_ns, 200'000'000) << i;
  }
}

TEST(SinkDelivery, StopLeavesUnfinishedWorkToTheCaller) {
  TestHttpServer server([](const test::ReceivedRequest&, size_t) {
    Reply r;
    r.hold = true;
    return r;
  });
  auto cfg = integration(SinkKind::kWebhook, server.url(), "soc/webhook/0");
  cfg.max_in_flight = 1;
  prometheus::Registry registry;
  Collector got;
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE((*d)->submit(i, one_request(cfg, NotifyKind::kTrigger, i)));
  ASSERT_TRUE(test::wait_until([&] { return server.count() == 1; }, 5s));
  const auto before = std::chrono::steady_clock::now();
  const auto left = (*d)->stop(before + 300ms);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 250ms);  // in flight got its grace time
  EXPECT_EQ(left, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(got.all().empty());  // no outcome was invented for them
  EXPECT_FALSE((*d)->submit(4, one_request(cfg, NotifyKind::kTrigger, 4)));
  EXPECT_TRUE((*d)->stop(std::chrono::steady_clock::now()).empty());
}

TEST(SinkDelivery, UnknownIntegrationIsRefused) {
  prometheus::Registry registry;
  Collector got;
  const auto cfg = integration(SinkKind::kWebhook, "http://127.0.0.1:1/hook", "soc/webhook/0");
  auto d = Deliverer::start({cfg}, got.callback(), registry, fast());
  ASSERT_TRUE(d.has_value());
  auto req = one_request(cfg, NotifyKind::kTrigger, 1);
  req.integration = "soc/webhook/9";
  EXPECT_FALSE((*d)->submit(1, req));
  auto twice = Deliverer::start({cfg, cfg}, got.callback(), registry, fast());
  EXPECT_FALSE(twice.has_value());
}

}  // namespace
}  // namespace klaxon::sinks
