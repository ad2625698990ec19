// Block encoding of the alert log (format in batch.h): BlockBuilder writes one, decode_block
// reads one. Workers build blocks; storage and klaxonctl read them.
#pragma once

#include "pipeline/core/batch.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

struct ZSTD_CCtx_s;

namespace klaxon {

// Encodes alerts into the block format (batch.h). One per worker.
class BlockBuilder {
 public:
  // zstd_level: 1..19, a negative value for zstd's fast modes, 0 to store uncompressed.
  explicit BlockBuilder(int zstd_level);
  ~BlockBuilder();
  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  // The JSON of one alert is appended through this buffer.
  std::string& begin_record();
  void end_record();
  uint32_t count() const { return count_; }
  // Where the last ended record lies in the payload (offset of its first byte, length).
  uint32_t last_record_offset() const { return last_offset_; }
  uint32_t last_record_length() const { return last_length_; }
  // Finishes the block: header + (compressed) payload into block.bytes; resets the builder.
  // With `records`, the uncompressed payload is handed over there (what correlation reads
  // records from) instead of being cleared: no copy.
  void finish(EncodedBlock& block, std::string* records = nullptr);

 private:
  int level_;
  ZSTD_CCtx_s* cctx_;
  std::string payload_;
  std::string scratch_;  // compression output, reused
  size_t record_start_ = 0;
  uint32_t last_offset_ = 0, last_length_ = 0;
  uint32_t count_ = 0;
};

// Reads a stored block (storage and klaxonctl use it): calls fn(std::string_view json) per
// alert. Returns false when the block is malformed.
bool decode_block(std::string_view bytes, std::string& scratch,
                  const std::function<void(std::string_view)>& fn);

}  // namespace klaxon
