#include "pipeline/core/block.h"

#include "pipeline/core/result.h"

#include <zstd.h>

#include <cstring>

namespace klaxon {

// ---- BlockBuilder ----

BlockBuilder::BlockBuilder(int zstd_level) : level_(zstd_level), cctx_(ZSTD_createCCtx()) {
  KLAXON_CHECK(cctx_ != nullptr);
}

BlockBuilder::~BlockBuilder() { ZSTD_freeCCtx(cctx_); }

std::string& BlockBuilder::begin_record() {
  record_start_ = payload_.size();
  payload_.append(4, '\0');
  return payload_;
}

void BlockBuilder::end_record() {
  const auto len = static_cast<uint32_t>(payload_.size() - record_start_ - 4);
  for (int i = 0; i < 4; ++i)
    payload_[record_start_ + i] = static_cast<char>((len >> (8 * i)) & 0xFF);
  last_offset_ = static_cast<uint32_t>(record_start_ + 4);
  last_length_ = len;
  ++count_;
}

namespace {
void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
constexpr size_t kHeader = 10;
constexpr size_t kCompressAbove = 256;  // tiny blocks are stored as they are
}  // namespace

void BlockBuilder::finish(EncodedBlock& block, std::string* records) {
  block.count = count_;
  const bool compress = level_ != 0 && payload_.size() > kCompressAbove;
  char header[kHeader];
  header[0] = 1;
  header[1] = compress ? 1 : 0;
  put_u32(header + 2, count_);
  put_u32(header + 6, static_cast<uint32_t>(payload_.size()));
  block.bytes.assign(header, kHeader);
  if (compress) {
    // Compress into a scratch buffer that keeps its capacity across blocks: resizing the
    // block itself to the compression bound would zero-fill megabytes per block.
    const size_t bound = ZSTD_compressBound(payload_.size());
    if (scratch_.size() < bound) scratch_.resize(bound);
    const size_t written =
        ZSTD_compressCCtx(cctx_, scratch_.data(), bound, payload_.data(), payload_.size(), level_);
    KLAXON_CHECK(!ZSTD_isError(written));
    block.bytes.append(scratch_.data(), written);
  } else {
    block.bytes.append(payload_);
  }
  if (records != nullptr) {
    const size_t size = payload_.size();
    records->swap(payload_);
    payload_.clear();
    payload_.reserve(size);  // the next block is likely as large: grow once, not by doubling
  }
  payload_.clear();
  count_ = 0;
}

bool decode_block(std::string_view bytes, std::string& scratch,
                  const std::function<void(std::string_view)>& fn) {
  if (bytes.size() < kHeader || bytes[0] != 1) return false;
  const uint32_t count = get_u32(bytes.data() + 2);
  const uint32_t raw_size = get_u32(bytes.data() + 6);
  std::string_view payload = bytes.substr(kHeader);
  if (bytes[1] == 1) {
    // Check the zstd frame's own size before allocating what a (corrupt) header claims.
    const unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (raw_size > (1u << 30) || content != raw_size) return false;
    scratch.resize(raw_size);
    const size_t n = ZSTD_decompress(scratch.data(), raw_size, payload.data(), payload.size());
    if (ZSTD_isError(n) || n != raw_size) return false;
    payload = scratch;
  } else if (bytes[1] != 0 || payload.size() != raw_size) {
    return false;
  }
  size_t pos = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 4) return false;
    const uint32_t len = get_u32(payload.data() + pos);
    pos += 4;
    if (payload.size() - pos < len) return false;
    fn(payload.substr(pos, len));
    pos += len;
  }
  return pos == payload.size();
}

}  // namespace klaxon
