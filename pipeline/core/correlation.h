// CorrelationBatch: what the parse workers extract from each alert for dedupe and correlation,
// so that the shards never decode, decompress or re-parse an alert.
//
// A worker builds one batch per EncodedBlock (one item per correlated alert of the block).
// The group-commit writer stamps each item with its alert sequence once the block is durable
// and splits the batch by group key among the shards. The block's uncompressed records are
// handed over as the batch's arena (no copy), shared by the per-shard batches: a shard decodes
// a record (read_alert_record) only when the alert opens or joins an incident, never for a
// duplicate, which is most of a flood. A batch has one owner at a time.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/stages/fingerprint.h"
#include "pipeline/stages/sigma/detector.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

// A slice of a batch's arena.
struct ArenaRef {
  uint32_t offset = 0;
  uint32_t length = 0;
};

struct CorrelationItem {
  Fingerprint fingerprint;  // dedupe key
  uint64_t group = 0;       // grouping key hash: decides the shard and the incident
  int64_t time_ns = 0;      // event time, capped at received + max_future
  int64_t received_ns = 0;  // arrival (wall clock): the time of the events it causes
  uint64_t seq = 0;         // alert sequence, stamped by the writer after the commit
  uint32_t index = 0;       // position of the alert in its block
  Severity severity = Severity::kInfo;
  ArenaRef record;  // the alert's stored record (alert_record.h) in the arena
};

struct CorrelationBatch {
  std::vector<CorrelationItem> items;
  std::shared_ptr<std::string> arena = std::make_shared<std::string>();
  // Sigma correlation rules: what the alerts' base-rule matches tell the correlation rules,
  // routed to shards by key_hash, and the alert each update came from (its position in the
  // block until the writer stamps sequences, then its sequence).
  sigma::UpdateBatch updates;
  std::vector<uint64_t> update_alert;
  // The last alert sequence the batch accounts for (set by the writer): a shard that receives
  // an empty batch still learns that nothing up to here was meant for it.
  uint64_t last_seq = 0;
  int64_t enqueued_ns = 0;  // monotonic time the oldest alert entered the pipeline

  // Copies bytes into the arena (the start-up replay, which has no block payload to share).
  ArenaRef add(std::string_view s) {
    ArenaRef r{static_cast<uint32_t>(arena->size()), static_cast<uint32_t>(s.size())};
    arena->append(s);
    return r;
  }
  std::string_view str(ArenaRef r) const {
    return std::string_view(arena->data() + r.offset, r.length);
  }
};

}  // namespace klaxon
