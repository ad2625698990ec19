// Sha256: a reusable SHA-256 context (OpenSSL EVP, which uses the CPU's SHA extensions).
// One per thread; fetching the digest once keeps the per-message cost at the hashing itself.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

struct evp_md_st;
struct evp_md_ctx_st;

namespace klaxon {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  std::array<uint8_t, 32> digest(std::string_view data);

 private:
  evp_md_st* md_;
  evp_md_ctx_st* ctx_;
};

}  // namespace klaxon
