#include "pipeline/core/sha256.h"

#include "pipeline/core/result.h"

#include <openssl/evp.h>

namespace klaxon {

Sha256::Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
  KLAXON_CHECK(md_ != nullptr && ctx_ != nullptr);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

std::array<uint8_t, 32> Sha256::digest(std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  KLAXON_CHECK(EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1);
  KLAXON_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
  KLAXON_CHECK(EVP_DigestFinal_ex(ctx_, out.data(), &len) == 1);
  return out;
}

}  // namespace klaxon
