// Store: klaxon's one RocksDB database and its column families.
//
//   alerts           append-only alert log: key = big-endian u64 sequence of the block's first
//                    alert, value = a block (pipeline/core/batch.h) of many alerts
//   dead_letter      rejected messages: key = big-endian u64 id, value = JSON with the reason
//   incident_events  append-only, hash-chained incident history: key = incident id (16 bytes)
//                    + big-endian u64 event seq, value = pipeline/core/incident.h's encoding
//   incidents        current state per incident (key = id), rebuildable from the events
//   meta             small named values: the instance secret, each correlation shard's
//                    covered alert sequence ("corr/covered/<shard>")
//   outbox           the notifier's outbox, notification log and silences (put_outbox)
//
// Writes go through commit(), called only by the GroupCommitWriter thread: one WriteBatch
// per group, WAL always on, fsync per commit unless sync is off. Reads (for_each_*) may run
// on any thread, and a second process may open the same directory read-only while the
// daemon writes (klaxonctl alerts).
#pragma once

#include "pipeline/core/batch.h"
#include "pipeline/core/incident.h"
#include "pipeline/core/result.h"

#include <array>
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

  // Writes one correlation shard's events, incident states and covered sequence atomically.
  // Incident writer thread only.
  Status commit_incidents(std::span<const IncidentCommit* const> commits);

  // The instance secret that keys incident ids (make_incident_id); created on first open.
  const std::array<uint8_t, 16>& instance_secret() const { return secret_; }
  // The covered sequence of each shard that ever committed (index = shard).
  Result<std::vector<uint64_t>> covered_sequences() const;

  uint64_t next_sequence() const { return next_seq_; }
  uint64_t next_dead_letter_id() const { return next_dead_id_; }

  // Calls fn(seq, json) for every stored alert with seq >= from; stops when fn returns false.
  Status for_each_alert(uint64_t from,
                        const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // Calls fn(incident) for every incident; stops when fn returns false. A malformed record is
  // an error naming its key.
  Status for_each_incident(const std::function<bool(const Incident&)>& fn) const;
  Result<Incident> get_incident(const IncidentId& id) const;
  // Calls fn(key, value) for the events of one incident (id given) or of all (id nil), in key
  // order, with the raw stored bytes: verification must see exactly what is stored.
  Status for_each_incident_event(
      const IncidentId& id,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // Small named values in the meta family; for_each_meta() visits the keys with a prefix.
  Status for_each_meta(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  Result<std::string> get_meta(std::string_view key) const;  // kNotFound when absent
  Status put_meta(std::string_view key, std::string_view value);

  // The notifier's persistent state (daemon/notifier.h), column family `outbox`: "o/<id>"
  // requests not yet delivered, "n/<incident>" what each receiver was told, "s/<id>" silences.
  // Written to the WAL without an fsync of their own (they ride on the alert log's next
  // group commit): a killed process loses none of them; see store.cc.
  Status put_outbox(std::string_view key, std::string_view value);
  Status delete_outbox(std::string_view key);
  // Several puts and deletes as one write (the notifier batches each round's).
  Status write_outbox(const std::vector<std::pair<std::string, std::string>>& puts,
                      const std::vector<std::string>& deletes);
  Status for_each_outbox(std::string_view prefix,
                         const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Raw access for tests and repair tools (tamper tests use it to damage records).
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;

  // Calls fn(id, json) for every dead letter.
  Status for_each_dead_letter(const std::function<bool(uint64_t, std::string_view)>& fn) const;

 private:
  Store() = default;
  Status recover_counters();
  Status load_secret();

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* alerts_ = nullptr;
  rocksdb::ColumnFamilyHandle* dead_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* incidents_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::vector<std::string> family_names_;
  std::array<uint8_t, 16> secret_{};
  StoreOptions options_;
  uint64_t next_seq_ = 0;
  uint64_t next_dead_id_ = 0;
};

// Encodes a rejection as the dead-letter JSON value.
std::string dead_letter_json(uint64_t id, const Rejection& r);

}  // namespace klaxon
