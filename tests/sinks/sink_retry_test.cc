// The retry policy as pure functions: response classes, Retry-After, backoff bounds, the
// token bucket.
#include "pipeline/sinks/retry.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace klaxon::sinks {
namespace {

TEST(SinkRetry, HttpClasses) {
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 200, "").verdict, Verdict::kDelivered);
  EXPECT_EQ(classify_http(SinkKind::kPagerDuty, 202, "{}").verdict, Verdict::kDelivered);
  EXPECT_EQ(classify_http(SinkKind::kTheHive, 201, "{}").verdict, Verdict::kDelivered);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 302, "").verdict, Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 400, "bad").verdict, Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 401, "").verdict, Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 404, "").verdict, Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 408, "").verdict, Verdict::kRetry);
  EXPECT_EQ(classify_http(SinkKind::kSlack, 410, "channel_is_archived").verdict,
            Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 410, "").verdict, Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kSlack, 429, "").verdict, Verdict::kRetry);
  EXPECT_EQ(classify_http(SinkKind::kSlack, 500, "rollup_error").verdict, Verdict::kRetry);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 502, "").verdict, Verdict::kRetry);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 503, "").verdict, Verdict::kRetry);
  const auto c = classify_http(SinkKind::kWebhook, 400, "invalid\npayload");
  EXPECT_EQ(c.reason, "HTTP 400: invalid payload");
}

TEST(SinkRetry, TheHiveAlreadyExistsIsDelivered) {
  // TheHive 4/5 AlertSrv.create -> CreateError; answered 400 (TheHive issue #1963's log) or
  // 500 (older ScalliGraph ErrorHandler): the body decides.
  const std::string exists =
      R"({"type":"CreateError","message":"Alert klaxon-incident:klaxon:0b6a7f2e already exist in organisation SOC"})";
  EXPECT_EQ(classify_http(SinkKind::kTheHive, 400, exists).verdict, Verdict::kDelivered);
  EXPECT_EQ(classify_http(SinkKind::kTheHive, 500, exists).verdict, Verdict::kDelivered);
  // TheHive 3: ConflictError "document already exists".
  EXPECT_EQ(classify_http(
                SinkKind::kTheHive, 400,
                R"({"type":"ConflictError","message":"[alert][d159]: document already exists"})")
                .verdict,
            Verdict::kDelivered);
  // Other CreateErrors and other sinks are not.
  EXPECT_EQ(classify_http(SinkKind::kTheHive, 400,
                          R"({"type":"CreateError","message":"Observable is invalid"})")
                .verdict,
            Verdict::kPermanent);
  EXPECT_EQ(classify_http(SinkKind::kWebhook, 400, exists).verdict, Verdict::kPermanent);
}

TEST(SinkRetry, TransferFailures) {
  EXPECT_EQ(classify_transfer(SinkKind::kWebhook, CURLE_OPERATION_TIMEDOUT, 0, "", "").verdict,
            Verdict::kRetry);
  EXPECT_EQ(classify_transfer(SinkKind::kWebhook, CURLE_COULDNT_CONNECT, 0, "", "").verdict,
            Verdict::kRetry);
  EXPECT_EQ(
      classify_transfer(SinkKind::kWebhook, CURLE_PEER_FAILED_VERIFICATION, 0, "", "").verdict,
      Verdict::kRetry);
  EXPECT_EQ(classify_transfer(SinkKind::kWebhook, CURLE_OK, 429, "", "").verdict, Verdict::kRetry);
  EXPECT_EQ(classify_transfer(SinkKind::kEmail, CURLE_OK, 250, "", "").verdict,
            Verdict::kDelivered);
  EXPECT_EQ(classify_transfer(SinkKind::kEmail, CURLE_SEND_ERROR, 550, "", "RCPT failed").verdict,
            Verdict::kPermanent);
  EXPECT_EQ(classify_transfer(SinkKind::kEmail, CURLE_SEND_ERROR, 451, "", "").verdict,
            Verdict::kRetry);
  EXPECT_EQ(classify_transfer(SinkKind::kEmail, CURLE_USE_SSL_FAILED, 0, "", "").verdict,
            Verdict::kPermanent);
  EXPECT_EQ(classify_transfer(SinkKind::kEmail, CURLE_COULDNT_CONNECT, 0, "", "").verdict,
            Verdict::kRetry);
}

TEST(SinkRetry, RetryAfterSecondsAndHttpDate) {
  const int64_t now = 1445412480LL * 1'000'000'000;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000'000'000);
  EXPECT_EQ(parse_retry_after(" 3 \r\n", now), 3'000'000'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30'000'000'000);
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:28:10 GMT", now), 10'000'000'000);
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:05 2015", now), 5'000'000'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);  // past: now
  EXPECT_EQ(parse_retry_after("", now), -1);
  EXPECT_EQ(parse_retry_after("soon", now), -1);
  EXPECT_EQ(parse_retry_after("-5", now), -1);
}

TEST(SinkRetry, FullJitterStaysUnderTheExponentialCeiling) {
  std::mt19937_64 rng(42);
  const int64_t base = 1'000'000'000, cap = 300'000'000'000;
  for (uint32_t attempt = 2; attempt <= 14; ++attempt) {
    const double ceiling = std::min<double>(cap, base * std::ldexp(1.0, attempt - 2));
    int64_t max_seen = 0;
    for (int i = 0; i < 200; ++i) {
      const int64_t d = backoff_ns(base, cap, attempt, rng);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, ceiling);
      max_seen = std::max(max_seen, d);
    }
    EXPECT_GT(max_seen, ceiling / 2) << attempt;  // spread over the range, not stuck low
  }
}

TEST(SinkRetry, TokenBucket) {
  const int64_t s = 1'000'000'000;
  TokenBucket unlimited(0, 1, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.take(0));
  TokenBucket b(60, 3, 0);  // one a second, three saved
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_EQ(b.next_token_ns(0), s);
  EXPECT_FALSE(b.take(s / 2));
  EXPECT_TRUE(b.take(s));
  EXPECT_FALSE(b.take(s));
  EXPECT_TRUE(b.take(100 * s));  // refilled, capped at the burst
  EXPECT_TRUE(b.take(100 * s));
  EXPECT_TRUE(b.take(100 * s));
  EXPECT_FALSE(b.take(100 * s));
}

}  // namespace
}  // namespace klaxon::sinks
