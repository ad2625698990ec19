// Signing and hashing for outgoing requests: Standard Webhooks 1.0 (HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>", base64, "v1," prefix) and the SHA-256 that an
// attempt records as its proof of what was sent.
//
// Spec: standard-webhooks/standard-webhooks:spec/standard-webhooks.md (symmetric signatures);
// the known-answer vector in tests/sinks/ comes from that repository's JavaScript library
// tests. Free functions over OpenSSL; any thread.
#pragma once

#include "pipeline/core/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon::sinks {

// Strict RFC 4648 base64 (standard alphabet, padding optional); an error on anything else.
Result<std::string> base64_decode(std::string_view text);

// "whsec_<base64>" (or the bare base64) -> the key bytes. Standard Webhooks secrets are
// 24 to 64 random bytes; shorter or longer keys are refused.
Result<std::string> decode_webhook_secret(std::string_view secret);

// The raw 32-byte HMAC-SHA256 of data under key.
std::string hmac_sha256(std::string_view key, std::string_view data);

// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>": the value of the
// `webhook-signature` header (one signature; receivers accept a space-separated list).
std::string standard_webhooks_signature(std::string_view key, std::string_view id,
                                        int64_t timestamp_s, std::string_view body);

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

}  // namespace klaxon::sinks
