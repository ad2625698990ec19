// Retry policy: what a response means, how long to wait, how fast to send.
//
//   2xx                      delivered
//   TheHive "already exists" delivered (the alert is there: a retry or a repeat)
//   3xx                      failed, not followed (Standard Webhooks: a redirect is a failure;
//                            following one would send the payload where nobody configured)
//   408, 429                 retried, Retry-After honoured
//   410                      failed (Slack: channel archived; Standard Webhooks: disable)
//   other 4xx                failed: the same bytes will be refused again
//   5xx, other codes         retried, Retry-After honoured (503 often carries one)
//   network errors, timeouts retried
//   SMTP 5yz replies         failed (RFC 5321 §4.2.1: permanent); 4yz and errors retried
//
// Waits: exponential backoff with full jitter (uniform in [0, min(cap, base * 2^(n-1)))),
// the AWS Architecture Blog's "Exponential Backoff and Jitter"); a Retry-After answer
// replaces it. Pure functions and a small value type; any thread.
#pragma once

#include "pipeline/sinks/config.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace klaxon::sinks {

enum class Verdict : uint8_t { kDelivered, kRetry, kPermanent };

struct Classification {
  Verdict verdict = Verdict::kRetry;
  std::string reason;  // "" when delivered
};

// An HTTP answer (status > 0) for an integration of kind `kind`.
Classification classify_http(SinkKind kind, long status, std::string_view body);

// A finished transfer: curl_code is libcurl's CURLcode (0: the exchange completed), reply the
// HTTP status or the last SMTP reply code, error libcurl's message. HTTP answers go through
// classify_http; a failed exchange is retried unless retrying cannot help (a malformed URL,
// an SMTP server that refuses STARTTLS when it is required, a 5yz SMTP reply).
Classification classify_transfer(SinkKind kind, int curl_code, long reply, std::string_view body,
                                 std::string_view error);

// TheHive's refusal to create an alert whose (type, source, sourceRef) exists: a CreateError
// whose message says "already exist(s)" (TheHive 4/5 AlertSrv.create: "Alert <type>:<source>:
// <sourceRef> already exist in organisation <org>"; older versions answered ConflictError
// "document already exists"). The status has been 400 or 500 across ScalliGraph versions,
// so the body decides.
bool thehive_already_exists(long status, std::string_view body);

// Seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", RFC 9110 §10.2.3) ->
// the wait in ns from now_wall_ns (0 for dates in the past); -1 when absent or unparsable.
int64_t parse_retry_after(std::string_view value, int64_t now_wall_ns);

// The wait before attempt `next_attempt` (2 for the first retry).
int64_t backoff_ns(int64_t base_ns, int64_t cap_ns, uint32_t next_attempt, std::mt19937_64& rng);

// A token bucket: `rate_per_minute` tokens a minute, at most `burst` saved. rate 0: no limit.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate_per_minute, uint32_t burst, int64_t now_ns);
  // Takes a token when one is there.
  bool take(int64_t now_ns);
  // When the next token will be there (now_ns when one is).
  int64_t next_token_ns(int64_t now_ns);

 private:
  void refill(int64_t now_ns);
  double per_ns_ = 0;  // tokens per ns; 0: unlimited
  double tokens_ = 0;
  double burst_ = 1;
  int64_t last_ns_ = 0;
};

}  // namespace klaxon::sinks
