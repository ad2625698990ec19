#include "storage/store.h"

#include "pipeline/core/block.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/stages/syslog_parse.h"

#include <openssl/rand.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdlib>
#include <cstring>

namespace klaxon {
namespace {

constexpr const char* kFamilies[] = {"alerts",    "dead_letter", "incident_events",
                                     "incidents", "outbox",      "meta"};

std::string be64(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return k;
}

uint64_t from_be64(std::string_view k) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < k.size(); ++i) v = (v << 8) | static_cast<uint8_t>(k[i]);
  return v;
}

Error storage_error(const char* what, const rocksdb::Status& s) {
  return make_error(ErrorCode::kStorage, std::string(what) + ": " + s.ToString());
}

uint32_t block_count(std::string_view value) {
  if (value.size() < 10) return 0;
  uint32_t c = 0;
  for (int i = 0; i < 4; ++i)
    c |= static_cast<uint32_t>(static_cast<uint8_t>(value[2 + i])) << (8 * i);
  return c;
}

}  // namespace

std::string dead_letter_json(uint64_t id, const Rejection& r) {
  std::string out;
  out.reserve(r.sample.size() + 256);
  JsonObjectWriter w(out);
  w.num("id", static_cast<int64_t>(id));
  w.str("reason", reject_reason_name(r.reason));
  w.str_if("detail", r.detail);
  w.key("received");
  out.push_back('"');
  append_rfc3339(r.received_ns, out);
  out.push_back('"');
  w.str("transport", transport_name(r.transport));
  w.str_if("peer", r.peer);
  w.str_if("listener", r.listener);
  append_kafka_position(w, out, r.kafka_topic, r.kafka_partition, r.kafka_offset);
  w.num("size", static_cast<int64_t>(r.size));
  if (r.sample.size() < r.size) w.raw("truncated", "true");
  if (is_valid_utf8(r.sample)) {
    w.str("sample", r.sample);
  } else {
    w.key("sample_base64");
    out.push_back('"');
    append_base64(out, r.sample);
    out.push_back('"');
  }
  w.close();
  return out;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, StoreOptions options) {
  std::unique_ptr<Store> store(new Store());
  store->options_ = options;
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  // Blocks are compressed by the workers (zstd); RocksDB compressing them again wastes CPU.
  db_options.compression = rocksdb::kNoCompression;
  db_options.max_total_wal_size = 256 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           rocksdb::ColumnFamilyOptions(db_options));
  for (const char* name : kFamilies) {
    rocksdb::ColumnFamilyOptions cf(db_options);
    if (std::string_view(name) == "alerts") {
      cf.write_buffer_size = 64 << 20;
      cf.compression = rocksdb::kNoCompression;
    }
    descriptors.emplace_back(name, cf);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    // Open only the families that exist (a directory written by an older klaxond).
    std::vector<std::string> existing;
    s = rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
    if (!s.ok()) return storage_error(("open " + dir).c_str(), s);
    std::vector<rocksdb::ColumnFamilyDescriptor> present;
    for (auto& d : descriptors) {
      for (auto& e : existing) {
        if (e == d.name) present.push_back(d);
      }
    }
    descriptors = present;
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &store->handles_, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, dir, descriptors, &store->handles_, &raw);
  }
  if (!s.ok()) return storage_error(("open " + dir).c_str(), s);
  store->db_.reset(raw);
  for (size_t i = 0; i < descriptors.size(); ++i) {
    const std::string& name = descriptors[i].name;
    store->family_names_.push_back(name);
    if (name == "alerts") store->alerts_ = store->handles_[i];
    if (name == "dead_letter") store->dead_ = store->handles_[i];
    if (name == "incident_events") store->events_ = store->handles_[i];
    if (name == "incidents") store->incidents_ = store->handles_[i];
    if (name == "meta") store->meta_ = store->handles_[i];
  }
  if (store->alerts_ == nullptr || store->dead_ == nullptr) {
    return make_error(ErrorCode::kStorage, dir + ": not a klaxon data directory");
  }
  KLAXON_TRY(store->recover_counters());
  KLAXON_TRY(store->load_secret());
  return store;
}

Store::~Store() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    if (!options_.read_only) (void)db_->Close();
  }
}

Status Store::load_secret() {
  if (meta_ == nullptr) return ok_status();  // read-only open of an old directory
  std::string v;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, "instance_secret", &v);
  if (s.ok() && v.size() == secret_.size()) {
    std::memcpy(secret_.data(), v.data(), v.size());
    return ok_status();
  }
  if (!s.ok() && !s.IsNotFound()) return storage_error("read instance secret", s);
  if (options_.read_only) return ok_status();
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    return make_error(ErrorCode::kInternal, "RAND_bytes failed for the instance secret");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const rocksdb::Status w =
      db_->Put(wo, meta_, "instance_secret",
               rocksdb::Slice(reinterpret_cast<const char*>(secret_.data()), secret_.size()));
  if (!w.ok()) return storage_error("write instance secret", w);
  return ok_status();
}

rocksdb::ColumnFamilyHandle* Store::family(std::string_view name) const {
  for (size_t i = 0; i < family_names_.size(); ++i) {
    if (family_names_[i] == name) return handles_[i];
  }
  return nullptr;
}

Status Store::commit_incidents(std::span<const IncidentCommit* const> commits) {
  KLAXON_CHECK(!options_.read_only);
  size_t bytes = 64;
  for (const IncidentCommit* c : commits) {
    for (const auto& [k, v] : c->events) bytes += k.size() + v.size() + 16;
    for (const auto& [k, v] : c->incidents) bytes += k.size() + v.size() + 16;
    for (const auto& [k, v] : c->meta) bytes += k.size() + v.size() + 16;
    bytes += 48;
  }
  rocksdb::WriteBatch batch(bytes);
  for (const IncidentCommit* c : commits) {
    for (const auto& [k, v] : c->events) batch.Put(events_, k, v);
    for (const auto& [k, v] : c->incidents) batch.Put(incidents_, k, v);
    for (const auto& [k, v] : c->meta) batch.Put(meta_, k, v);
    batch.Put(meta_, "corr/covered/" + std::to_string(c->shard), be64(c->covered_seq));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return storage_error("commit incidents", s);
  return ok_status();
}

Result<std::vector<uint64_t>> Store::covered_sequences() const {
  std::vector<uint64_t> out;
  if (meta_ == nullptr) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const std::string prefix = "corr/covered/";
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view k = it->key().ToStringView().substr(prefix.size());
    const unsigned long shard = std::strtoul(std::string(k).c_str(), nullptr, 10);
    if (shard > 4096) continue;
    if (out.size() <= shard) out.resize(shard + 1, 0);
    out[shard] = from_be64(it->value().ToStringView());
  }
  if (!it->status().ok()) return storage_error("read covered sequences", it->status());
  return out;
}

Status Store::for_each_meta(
    std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (meta_ == nullptr) return ok_status();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return storage_error("read meta", it->status());
  return ok_status();
}

Status Store::for_each_incident(const std::function<bool(const Incident&)>& fn) const {
  if (incidents_ == nullptr) return ok_status();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), incidents_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto in = decode_incident(it->value().ToStringView());
    if (!in) {
      std::string hex;
      append_hex(hex, reinterpret_cast<const uint8_t*>(it->key().data()), it->key().size());
      return make_error(ErrorCode::kStorage, "incident " + hex + ": " + in.error().message);
    }
    if (!fn(*in)) break;
  }
  if (!it->status().ok()) return storage_error("read incidents", it->status());
  return ok_status();
}

Result<Incident> Store::get_incident(const IncidentId& id) const {
  if (incidents_ == nullptr) return make_error(ErrorCode::kNotFound, "no incidents");
  std::string v;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), incidents_,
               rocksdb::Slice(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()), &v);
  if (s.IsNotFound()) return make_error(ErrorCode::kNotFound, "incident " + id.to_string());
  if (!s.ok()) return storage_error("read incident", s);
  return decode_incident(v);
}

Status Store::for_each_incident_event(
    const IncidentId& id, const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (events_ == nullptr) return ok_status();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  const std::string prefix(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
  if (id.is_nil()) {
    it->SeekToFirst();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid(); it->Next()) {
    if (!id.is_nil() && !it->key().starts_with(prefix)) break;
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return storage_error("read incident events", it->status());
  return ok_status();
}

Result<std::string> Store::get_meta(std::string_view key) const {
  if (meta_ == nullptr) return make_error(ErrorCode::kNotFound, std::string(key));
  std::string v;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, key, &v);
  if (s.IsNotFound()) return make_error(ErrorCode::kNotFound, std::string(key));
  if (!s.ok()) return storage_error("read meta", s);
  return v;
}

Status Store::put_meta(std::string_view key, std::string_view value) {
  KLAXON_CHECK(!options_.read_only);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const rocksdb::Status s = db_->Put(wo, meta_, key, value);
  if (!s.ok()) return storage_error("write meta", s);
  return ok_status();
}

// Outbox writes go to the WAL without their own fsync: they survive the process being killed
// (the WAL write is in the kernel before the request is handed to a sink), and the next
// alert group commit's fsync makes them durable against a power loss too. An fsync per
// notification would serialise with the alert log's group commits (the same WAL).
Status Store::put_outbox(std::string_view key, std::string_view value) {
  KLAXON_CHECK(!options_.read_only);
  rocksdb::WriteOptions wo;
  wo.sync = false;
  const rocksdb::Status s = db_->Put(wo, family("outbox"), key, value);
  if (!s.ok()) return storage_error("write outbox", s);
  return ok_status();
}

Status Store::delete_outbox(std::string_view key) {
  KLAXON_CHECK(!options_.read_only);
  rocksdb::WriteOptions wo;
  wo.sync = false;
  const rocksdb::Status s = db_->Delete(wo, family("outbox"), key);
  if (!s.ok()) return storage_error("delete outbox", s);
  return ok_status();
}

Status Store::write_outbox(const std::vector<std::pair<std::string, std::string>>& puts,
                           const std::vector<std::string>& deletes) {
  KLAXON_CHECK(!options_.read_only);
  if (puts.empty() && deletes.empty()) return ok_status();
  rocksdb::ColumnFamilyHandle* cf = family("outbox");
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : puts) batch.Put(cf, k, v);
  for (const auto& k : deletes) batch.Delete(cf, k);
  rocksdb::WriteOptions wo;
  wo.sync = false;  // as put_outbox
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return storage_error("write outbox", s);
  return ok_status();
}

Status Store::for_each_outbox(
    std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ColumnFamilyHandle* cf = family("outbox");
  if (cf == nullptr) return ok_status();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return storage_error("read outbox", it->status());
  return ok_status();
}

Status Store::recover_counters() {
  next_seq_ = 1;
  next_dead_id_ = 1;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), alerts_));
  it->SeekToLast();
  if (it->Valid()) {
    next_seq_ = from_be64(it->key().ToStringView()) + block_count(it->value().ToStringView());
  }
  if (!it->status().ok()) return storage_error("read alerts", it->status());
  std::unique_ptr<rocksdb::Iterator> dit(db_->NewIterator(rocksdb::ReadOptions(), dead_));
  dit->SeekToLast();
  if (dit->Valid()) next_dead_id_ = from_be64(dit->key().ToStringView()) + 1;
  if (!dit->status().ok()) return storage_error("read dead letters", dit->status());
  return ok_status();
}

Result<uint64_t> Store::commit(std::span<const EncodedBlock* const> blocks) {
  KLAXON_CHECK(!options_.read_only);
  // Sized up front: growing a batch of megabytes by doubling copies it again and again.
  size_t bytes = 64;
  for (const EncodedBlock* b : blocks) {
    bytes += b->bytes.size() + 32;
    for (const Rejection& r : b->rejected) bytes += r.sample.size() + r.detail.size() + 512;
  }
  rocksdb::WriteBatch batch(bytes);
  uint64_t seq = next_seq_;
  uint64_t dead = next_dead_id_;
  for (const EncodedBlock* b : blocks) {
    if (b->count > 0) {
      batch.Put(alerts_, be64(seq), b->bytes);
      seq += b->count;
    }
    for (const Rejection& r : b->rejected) {
      batch.Put(dead_, be64(dead), dead_letter_json(dead, r));
      ++dead;
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  wo.disableWAL = false;
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return storage_error("commit", s);
  const uint64_t first = next_seq_;
  next_seq_ = seq;
  next_dead_id_ = dead;
  return first;
}

Status Store::for_each_alert(uint64_t from,
                             const std::function<bool(uint64_t, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), alerts_));
  // The block holding `from` starts at or before it.
  it->SeekForPrev(be64(from));
  if (!it->Valid()) it->SeekToFirst();
  std::string scratch;
  bool go_on = true;
  for (; it->Valid() && go_on; it->Next()) {
    uint64_t seq = from_be64(it->key().ToStringView());
    const bool ok = decode_block(it->value().ToStringView(), scratch, [&](std::string_view json) {
      if (go_on && seq >= from) go_on = fn(seq, json);
      ++seq;
    });
    if (!ok) {
      return make_error(ErrorCode::kStorage,
                        "malformed alert block at sequence " +
                            std::to_string(from_be64(it->key().ToStringView())));
    }
  }
  if (!it->status().ok()) return storage_error("read alerts", it->status());
  return ok_status();
}

Status Store::for_each_dead_letter(
    const std::function<bool(uint64_t, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), dead_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!fn(from_be64(it->key().ToStringView()), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return storage_error("read dead letters", it->status());
  return ok_status();
}

}  // namespace klaxon
