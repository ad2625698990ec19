#include "pipeline/sinks/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>

namespace klaxon::sinks {

namespace {

std::string first_bytes(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

}  // namespace

bool thehive_already_exists(long status, std::string_view body) {
  if (status != 400 && status != 409 && status != 500) return false;
  const bool typed = body.find("\"CreateError\"") != std::string_view::npos ||
                     body.find("\"ConflictError\"") != std::string_view::npos;
  return typed && body.find("already exist") != std::string_view::npos;
}

Classification classify_http(SinkKind kind, long status, std::string_view body) {
  if (status >= 200 && status < 300) return {Verdict::kDelivered, ""};
  const std::string what =
      "HTTP " + std::to_string(status) + (body.empty() ? std::string() : ": " + first_bytes(body));
  if (kind == SinkKind::kTheHive && thehive_already_exists(status, body)) {
    return {Verdict::kDelivered, ""};
  }
  if (status >= 300 && status < 400)
    return {Verdict::kPermanent, what + " (redirects are not followed)"};
  if (status == 408 || status == 429) return {Verdict::kRetry, what};
  if (status == 410) return {Verdict::kPermanent, what + " (gone: the endpoint is disabled)"};
  if (status >= 400 && status < 500) return {Verdict::kPermanent, what};
  return {Verdict::kRetry, what};
}

Classification classify_transfer(SinkKind kind, int curl_code, long reply, std::string_view body,
                                 std::string_view error) {
  const auto code = static_cast<CURLcode>(curl_code);
  const std::string what = std::string(error.empty() ? curl_easy_strerror(code) : error);
  if (kind == SinkKind::kEmail) {
    if (code == CURLE_OK) return {Verdict::kDelivered, ""};
    const std::string smtp = reply > 0 ? "SMTP " + std::to_string(reply) + ": " + what : what;
    if (reply >= 500 && reply < 600) return {Verdict::kPermanent, smtp};
    if (code == CURLE_USE_SSL_FAILED || code == CURLE_LOGIN_DENIED || code == CURLE_URL_MALFORMAT ||
        code == CURLE_UNSUPPORTED_PROTOCOL) {
      return {Verdict::kPermanent, smtp};
    }
    return {Verdict::kRetry, smtp};
  }
  if (code == CURLE_OK) return classify_http(kind, reply, body);
  if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
    return {Verdict::kPermanent, what};
  }
  return {Verdict::kRetry, code == CURLE_OPERATION_TIMEDOUT ? "timeout: " + what : what};
}

int64_t parse_retry_after(std::string_view value, int64_t now_wall_ns) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                            value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty()) return -1;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return -1;  // over 30 years: not an answer to honour
    return std::stoll(std::string(value)) * 1'000'000'000;
  }
  // curl_getdate parses the three HTTP date forms (IMF-fixdate, RFC 850, asctime).
  const time_t t = curl_getdate(std::string(value).c_str(), nullptr);
  if (t < 0) return -1;
  const int64_t at = static_cast<int64_t>(t) * 1'000'000'000;
  return std::max<int64_t>(0, at - now_wall_ns);
}

int64_t backoff_ns(int64_t base_ns, int64_t cap_ns, uint32_t next_attempt, std::mt19937_64& rng) {
  const uint32_t doublings = next_attempt >= 2 ? std::min<uint32_t>(next_attempt - 2, 40) : 0;
  const double ceiling = std::min(static_cast<double>(cap_ns),
                                  static_cast<double>(base_ns) * std::ldexp(1.0, doublings));
  std::uniform_real_distribution<double> u(0.0, ceiling);
  return static_cast<int64_t>(u(rng));
}

TokenBucket::TokenBucket(double rate_per_minute, uint32_t burst, int64_t now_ns)
    : per_ns_(rate_per_minute / 60e9),
      tokens_(burst),
      burst_(std::max<uint32_t>(burst, 1)),
      last_ns_(now_ns) {}

void TokenBucket::refill(int64_t now_ns) {
  if (now_ns > last_ns_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * per_ns_);
    last_ns_ = now_ns;
  }
}

bool TokenBucket::take(int64_t now_ns) {
  if (per_ns_ <= 0) return true;
  refill(now_ns);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

int64_t TokenBucket::next_token_ns(int64_t now_ns) {
  if (per_ns_ <= 0) return now_ns;
  refill(now_ns);
  if (tokens_ >= 1.0) return now_ns;
  return now_ns + static_cast<int64_t>(std::ceil((1.0 - tokens_) / per_ns_));
}

}  // namespace klaxon::sinks
