// Store: klaxon's one RocksDB database and its column families.
//
//   alerts           append-only alert log: key = big-endian u64 sequence of the block's first
//                    alert, value = a block (pipeline/core/batch.h) of many alerts
//   dead_letter      rejected messages: key = big-endian u64 id, value = JSON with the reason
//   incident_events, incidents, outbox, meta: created now, filled by later components
//
// Writes go through commit(), called only by the GroupCommitWriter thread: one WriteBatch
// per group, WAL always on, fsync per commit unless sync is off. Reads (for_each_*) may run
// on any thread, and a second process may open the same directory read-only while the
// daemon writes (klaxonctl alerts).
#pragma once

#include "pipeline/core/batch.h"
#include "pipeline/core/result.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace klaxon {

struct StoreOptions {
  bool sync = true;        // fsync the WAL on every group commit
  bool read_only = false;  // open without taking the lock (another process may write)
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& dir, StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Appends the blocks (sequences assigned in order) and their rejections atomically.
  // Returns the first sequence assigned. Writer thread only.
  Result<uint64_t> commit(std::span<const EncodedBlock* const> blocks);

  uint64_t next_sequence() const { return next_seq_; }
  uint64_t next_dead_letter_id() const { return next_dead_id_; }

  // Calls fn(seq, json) for every stored alert with seq >= from; stops when fn returns false.
  Status for_each_alert(uint64_t from,
                        const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // Calls fn(id, json) for every dead letter.
  Status for_each_dead_letter(const std::function<bool(uint64_t, std::string_view)>& fn) const;

 private:
  Store() = default;
  Status recover_counters();

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* alerts_ = nullptr;
  rocksdb::ColumnFamilyHandle* dead_ = nullptr;
  StoreOptions options_;
  uint64_t next_seq_ = 0;
  uint64_t next_dead_id_ = 0;
};

// Encodes a rejection as the dead-letter JSON value.
std::string dead_letter_json(uint64_t id, const Rejection& r);

}  // namespace klaxon
