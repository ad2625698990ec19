#include "pipeline/sinks/signing.h"

#include "pipeline/core/json_writer.h"
#include "pipeline/core/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace klaxon::sinks {

Result<std::string> base64_decode(std::string_view text) {
  // Padding is optional: strip it, then every 4 characters are 3 bytes and a tail of 2 or 3
  // characters is 1 or 2 bytes. A tail of 1 character cannot come from any input.
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) {
    return make_error(ErrorCode::kInvalidArgument, "base64: truncated input");
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("base64: unexpected character '") + c + "'");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

Result<std::string> decode_webhook_secret(std::string_view secret) {
  if (secret.substr(0, 6) == "whsec_") secret.remove_prefix(6);
  auto key = base64_decode(secret);
  if (!key) return key.error();
  if (key->size() < 24 || key->size() > 64) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a Standard Webhooks secret is whsec_ and the base64 of 24 to 64 random "
                      "bytes; this one has " +
                          std::to_string(key->size()) + " bytes");
  }
  return key;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  // The one-shot HMAC() is not deprecated in OpenSSL 3 (only the HMAC_CTX functions are).
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len);
  return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

std::string standard_webhooks_signature(std::string_view key, std::string_view id,
                                        int64_t timestamp_s, std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content.append(id);
  signed_content.push_back('.');
  signed_content.append(std::to_string(timestamp_s));
  signed_content.push_back('.');
  signed_content.append(body);
  std::string out = "v1,";
  append_base64(out, hmac_sha256(key, signed_content));
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  const auto d = h.digest(data);
  std::string out;
  append_hex(out, d.data(), d.size());
  return out;
}

}  // namespace klaxon::sinks
