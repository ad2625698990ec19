#include "storage/audit.h"

#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/sha256.h"
#include "pipeline/stages/syslog_parse.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace klaxon {
namespace {

constexpr std::string_view kCheckpointFormat = "klaxon.checkpoint.v1";
constexpr std::string_view kEvidenceFormat = "klaxon.evidence.v1";
constexpr size_t kSignatureSize = 64;

// ---- small encoders -------------------------------------------------------------------------

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t from_be64(std::string_view k) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < k.size(); ++i) v = (v << 8) | static_cast<uint8_t>(k[i]);
  return v;
}

std::string hex(const uint8_t* p, size_t n) {
  std::string out;
  append_hex(out, p, n);
  return out;
}
std::string hex(std::string_view bytes) {
  return hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Lowercase hex only: a reader that also took "AB" would let a changed byte in the file pass
// as the same value (the re-rendering check catches it too; this keeps parsing honest).
bool parse_hex(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < n; ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string rfc3339(int64_t ns) {
  std::string out;
  append_rfc3339(ns, out);
  return out;
}

std::string id_key(const IncidentId& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

IncidentId id_from(std::string_view key) {
  IncidentId id;
  std::memcpy(id.bytes.data(), key.data(), std::min<size_t>(16, key.size()));
  return id;
}

Hash256 stored_hash_of(std::string_view value) {
  Hash256 h{};
  if (value.size() >= h.size()) std::memcpy(h.data(), value.data() + value.size() - 32, 32);
  return h;
}

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(ErrorCode::kIo, what + " " + path + ": " + std::strerror(err));
}

// ---- OpenSSL -------------------------------------------------------------------------------

// The most recent OpenSSL error as text, clearing the queue (it is per thread).
std::string openssl_error() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Refuses encrypted private keys instead of letting OpenSSL prompt on the terminal (the
// daemon has none).
int no_passphrase(char*, int, int, void*) { return 0; }

Result<std::string> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write", path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

std::string parent_dir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// A directory's entries (a new or renamed file) are durable only once the directory itself
// is fsynced.
Status fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", dir, err);
  return ok_status();
}

// A new file that must not exist yet (keys are never overwritten: losing the private key
// that signed the checkpoints makes them unverifiable for anyone holding only the new one).
Status write_new_file(const std::string& path, std::string_view data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return make_error(ErrorCode::kInvalidArgument, path + " already exists; not overwriting it");
    }
    return io_error("cannot create", path, errno);
  }
  Status st = write_all(fd, data, path);
  if (st && ::fchmod(fd, mode) != 0) st = io_error("cannot chmod", path, errno);
  if (st && ::fsync(fd) != 0) st = io_error("cannot fsync", path, errno);
  ::close(fd);
  if (!st) {
    ::unlink(path.c_str());
    return st;
  }
  return fsync_dir(parent_dir(path));
}

// temp file + fsync + rename + fsync of the directory: a crash leaves the old checkpoint or
// the new one, never a torn file.
Status replace_file_atomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  Status st = write_all(fd, data, tmp);
  if (st && ::fsync(fd) != 0) st = io_error("cannot fsync", tmp, errno);
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = io_error("cannot rename to", path, errno);
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(parent_dir(path));
}

// ---- store access --------------------------------------------------------------------------

// Iterators over one snapshot, so that the index and the events are read as of the same
// moment even while the daemon commits.
class SnapshotReader {
 public:
  explicit SnapshotReader(const Store& store) : db_(store.db()) {
    snapshot_ = db_->GetSnapshot();
    options_.snapshot = snapshot_;
  }
  ~SnapshotReader() {
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  std::unique_ptr<rocksdb::Iterator> iterate(rocksdb::ColumnFamilyHandle* family) const {
    return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options_, family));
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions options_;
};

Error read_error(const char* what, const rocksdb::Status& s) {
  return make_error(ErrorCode::kStorage, std::string(what) + ": " + s.ToString());
}

// The alert log's next sequence, read from the database rather than Store::next_sequence():
// that counter belongs to the writer thread, and this may run on another one. Same rule as
// Store::recover_counters(): last block's key + its count (block header: u8 version, u8
// codec, u32 count, ...; storage/README.md).
Result<uint64_t> alert_next_sequence(const Store& store, const SnapshotReader& reader) {
  rocksdb::ColumnFamilyHandle* alerts = store.family("alerts");
  if (alerts == nullptr) return uint64_t{1};
  auto it = reader.iterate(alerts);
  it->SeekToLast();
  uint64_t next = 1;
  if (it->Valid()) {
    const std::string_view v = it->value().ToStringView();
    uint32_t count = 0;
    if (v.size() >= 10) {
      for (int i = 0; i < 4; ++i) count |= uint32_t{static_cast<uint8_t>(v[2 + i])} << (8 * i);
    }
    next = from_be64(it->key().ToStringView()) + count;
  }
  if (!it->status().ok()) return read_error("read alerts", it->status());
  return next;
}

}  // namespace

// ---- Ed25519Key ----------------------------------------------------------------------------

Ed25519Key::Ed25519Key(Ed25519Key&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)),
      has_private_(other.has_private_),
      key_id_(other.key_id_) {}

Ed25519Key& Ed25519Key::operator=(Ed25519Key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);
    pkey_ = std::exchange(other.pkey_, nullptr);
    has_private_ = other.has_private_;
    key_id_ = other.key_id_;
  }
  return *this;
}

Ed25519Key::~Ed25519Key() { EVP_PKEY_free(pkey_); }

Result<Ed25519Key> Ed25519Key::adopt(evp_pkey_st* pkey, bool has_private, const std::string& what) {
  Ed25519Key key;
  key.pkey_ = pkey;  // owned from here on, also on the error paths below
  key.has_private_ = has_private;
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(pkey);
    return make_error(
        ErrorCode::kInvalidArgument,
        what + ": is a " + std::string(type ? type : "non-Ed25519") + " key; expected Ed25519");
  }
  uint8_t raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw) {
    return make_error(ErrorCode::kInternal,
                      what + ": cannot read the public key: " + openssl_error());
  }
  Sha256 sha;
  key.key_id_ = sha.digest(std::string_view(reinterpret_cast<const char*>(raw), len));
  return key;
}

Result<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) {
    return make_error(ErrorCode::kInternal, "Ed25519 key generation failed: " + openssl_error());
  }
  return adopt(pkey, true, "generated key");
}

Result<Ed25519Key> Ed25519Key::load_private(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  EVP_PKEY* pkey =
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
  OPENSSL_cleanse(text->data(), text->size());
  if (pkey == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + ": not an unencrypted PEM private key (" + openssl_error() + ")");
  }
  return adopt(pkey, true, path);
}

Result<Ed25519Key> Ed25519Key::load_public(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + ": not a PEM public key (" + openssl_error() + ")");
  }
  return adopt(pkey, false, path);
}

Status Ed25519Key::write_files(const std::string& private_path,
                               const std::string& public_path) const {
  KLAXON_CHECK(pkey_ != nullptr);
  if (!has_private_) {
    return make_error(ErrorCode::kInvalidArgument, "write_files needs a private key");
  }
  BioPtr priv(BIO_new(BIO_s_secmem()));
  BioPtr pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), pkey_) != 1) {
    return make_error(ErrorCode::kInternal, "cannot encode the key as PEM: " + openssl_error());
  }
  char* data = nullptr;
  const long priv_len = BIO_get_mem_data(priv.get(), &data);
  KLAXON_TRY(
      write_new_file(private_path, std::string_view(data, static_cast<size_t>(priv_len)), 0600));
  const long pub_len = BIO_get_mem_data(pub.get(), &data);
  return write_new_file(public_path, std::string_view(data, static_cast<size_t>(pub_len)), 0644);
}

Result<std::string> Ed25519Key::sign(std::string_view message) const {
  KLAXON_CHECK(pkey_ != nullptr);
  if (!has_private_) return make_error(ErrorCode::kInvalidArgument, "signing needs a private key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kSignatureSize, '\0');
  size_t len = sig.size();
  // Ed25519 is "pure": no digest is named, the whole message goes to the one-shot call.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureSize) {
    return make_error(ErrorCode::kInternal, "Ed25519 signing failed: " + openssl_error());
  }
  return sig;
}

bool Ed25519Key::verify(std::string_view message, std::string_view signature) const {
  KLAXON_CHECK(pkey_ != nullptr);
  if (signature.size() != kSignatureSize) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();  // a failed verification leaves an entry we do not report
  return ok;
}

Status generate_key_files(const std::string& prefix) {
  if (prefix.empty()) return make_error(ErrorCode::kInvalidArgument, "key prefix is empty");
  auto key = Ed25519Key::generate();
  if (!key) return key.error();
  return key->write_files(prefix + ".key", prefix + ".pub");
}

bool path_is_within(const std::string& dir, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // weakly_canonical resolves what exists (symlinks, "..") and normalizes the rest.
  const fs::path d = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  const fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  std::vector<fs::path> dc, pc;
  for (const auto& c : d)
    if (!c.empty()) dc.push_back(c);
  for (const auto& c : p)
    if (!c.empty()) pc.push_back(c);
  if (dc.size() > pc.size()) return false;
  return std::equal(dc.begin(), dc.end(), pc.begin());
}

// ---- Checkpoint ----------------------------------------------------------------------------

std::string Checkpoint::signed_bytes() const {
  std::string out;
  out.reserve(kCheckpointFormat.size() + 96 + incidents.size() * 56);
  out.append(kCheckpointFormat);
  put_u64(out, seq);
  put_u64(out, static_cast<uint64_t>(time_ns));
  put_u64(out, alert_next_seq);
  out.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  out.append(reinterpret_cast<const char*>(key_id.data()), key_id.size());
  put_u64(out, incidents.size());
  for (const CheckpointEntry& e : incidents) {
    out.append(reinterpret_cast<const char*>(e.id.bytes.data()), e.id.bytes.size());
    put_u64(out, e.events);
    out.append(reinterpret_cast<const char*>(e.head.data()), e.head.size());
  }
  return out;
}

Hash256 Checkpoint::hash() const {
  Sha256 sha;
  return sha.digest(signed_bytes());
}

std::string Checkpoint::to_json() const {
  std::string out;
  out.reserve(512 + incidents.size() * 128);
  JsonObjectWriter w(out);
  w.str("format", kCheckpointFormat);
  w.raw("seq", std::to_string(seq));
  w.str("time", rfc3339(time_ns));
  w.num("time_ns", time_ns);
  w.raw("alert_next_seq", std::to_string(alert_next_seq));
  w.str("prev", hash_hex(prev));
  w.str("key", hash_hex(key_id));
  w.key("incidents");
  out.push_back('[');
  for (size_t i = 0; i < incidents.size(); ++i) {
    if (i) out.push_back(',');
    JsonObjectWriter e(out);
    e.str("id", incidents[i].id.to_string());
    e.raw("events", std::to_string(incidents[i].events));
    e.str("head", hash_hex(incidents[i].head));
    e.close();
  }
  out.push_back(']');
  w.str("hash", hash_hex(hash()));
  w.str("signature", hex(signature));
  w.close();
  out.push_back('\n');
  return out;
}

const CheckpointEntry* Checkpoint::find(const IncidentId& id) const {
  auto it =
      std::lower_bound(incidents.begin(), incidents.end(), id,
                       [](const CheckpointEntry& e, const IncidentId& x) { return e.id < x; });
  return it != incidents.end() && it->id == id ? &*it : nullptr;
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorCode::kParse, "checkpoint: " + what);
  };
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::dom::object root;
  if (parser.parse(padded).get(root)) return bad("not a JSON object");
  Checkpoint c;
  std::string_view format, prev, key, signature;
  simdjson::dom::array incidents;
  if (root["format"].get(format) || format != kCheckpointFormat) {
    return bad("format is not \"" + std::string(kCheckpointFormat) + "\"");
  }
  if (root["seq"].get(c.seq) || root["time_ns"].get(c.time_ns) ||
      root["alert_next_seq"].get(c.alert_next_seq)) {
    return bad("seq, time_ns or alert_next_seq missing or not an integer");
  }
  if (root["prev"].get(prev) || !parse_hex(prev, c.prev.data(), 32) || root["key"].get(key) ||
      !parse_hex(key, c.key_id.data(), 32)) {
    return bad("prev or key is not 64 lowercase hex digits");
  }
  if (root["signature"].get(signature)) return bad("signature missing");
  c.signature.resize(kSignatureSize);
  if (!parse_hex(signature, reinterpret_cast<uint8_t*>(c.signature.data()), kSignatureSize)) {
    return bad("signature is not 128 lowercase hex digits");
  }
  if (root["incidents"].get(incidents)) return bad("incidents is not an array");
  for (simdjson::dom::element item : incidents) {
    CheckpointEntry e;
    std::string_view id, head;
    if (item["id"].get(id) || item["events"].get(e.events) || item["head"].get(head) ||
        !parse_hex(head, e.head.data(), 32)) {
      return bad("incident entry " + std::to_string(c.incidents.size()) + " is malformed");
    }
    auto parsed = IncidentId::parse(id);
    if (!parsed) return bad(parsed.error().message);
    e.id = *parsed;
    // Ascending and unique: find() relies on it, and two entries for one id would be
    // ambiguous evidence.
    if (!c.incidents.empty() && !(c.incidents.back().id < e.id)) {
      return bad("incidents are not in ascending id order at " + std::string(id));
    }
    c.incidents.push_back(e);
  }
  // Everything a reader uses came from the members above; requiring the file to be exactly
  // their rendering means that also no byte the parser ignores (spacing, member order, an
  // extra member, an uppercase hex digit, the `time` and `hash` members) can change unseen.
  if (c.to_json() != text) return bad("the file is not in canonical form (modified?)");
  return c;
}

Result<Checkpoint> read_checkpoint_file(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  auto c = parse_checkpoint(*text);
  if (!c) return make_error(c.error().code, path + ": " + c.error().message);
  return c;
}

// ---- write_checkpoint ----------------------------------------------------------------------

namespace {

// Holds an exclusive flock on PATH.lock: two writers of one checkpoint path (the daemon and an
// operator's `klaxonctl checkpoint`) would otherwise both chain onto the same predecessor.
class CheckpointLock {
 public:
  ~CheckpointLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status acquire(const std::string& path) {
    const std::string lock = path + ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return io_error("cannot open", lock, errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return make_error(ErrorCode::kUnavailable,
                          "another process is writing checkpoint " + path + " (" + lock + ")");
      }
      return io_error("cannot lock", lock, errno);
    }
    return ok_status();
  }

 private:
  int fd_ = -1;
};

}  // namespace

Result<CheckpointInfo> write_checkpoint(const Store& store, const Ed25519Key& key,
                                        const std::string& path, const CheckpointOptions& options) {
  if (options.data_dir.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "write_checkpoint: data_dir is required");
  }
  if (path_is_within(options.data_dir, path)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "checkpoint " + path + " is inside the data directory " + options.data_dir +
                          "; it must live elsewhere (whoever rewrites the data could rewrite it)");
  }
  if (!key.has_private()) {
    return make_error(ErrorCode::kInvalidArgument, "write_checkpoint needs a private key");
  }
  CheckpointLock lock;
  KLAXON_TRY(lock.acquire(path));

  // The predecessor, when there is one, must be ours and intact: this checkpoint replaces it.
  std::optional<Checkpoint> previous;
  if (::access(path.c_str(), F_OK) == 0) {
    auto prev = read_checkpoint_file(path);
    if (!prev) {
      return make_error(prev.error().code,
                        prev.error().message + "; move it aside to start a new checkpoint chain");
    }
    if (prev->key_id != key.key_id() || !key.verify(prev->signed_bytes(), prev->signature)) {
      return make_error(ErrorCode::kInvalidArgument,
                        path +
                            ": the existing checkpoint is not signed by this key; move it "
                            "aside to start a new checkpoint chain");
    }
    previous = std::move(*prev);
  }

  Checkpoint c;
  c.time_ns = options.now_ns != 0 ? options.now_ns : wall_ns();
  c.key_id = key.key_id();
  c.seq = previous ? previous->seq + 1 : 1;
  if (previous) c.prev = previous->hash();

  SnapshotReader reader(store);
  auto next = alert_next_sequence(store, reader);
  if (!next) return next.error();
  c.alert_next_seq = *next;
  if (previous && c.alert_next_seq < previous->alert_next_seq) {
    return make_error(ErrorCode::kStorage,
                      "the alert log ends at sequence " + std::to_string(c.alert_next_seq) +
                          " but checkpoint " + path + " recorded " +
                          std::to_string(previous->alert_next_seq) + "; not overwriting it");
  }

  // Heads: the last stored event of each incident, as stored. Verification, not this, judges
  // whether the chain behind a head is intact; signing what is there keeps a damaged incident
  // from costing every other incident its protection.
  CheckpointInfo info;
  size_t prev_pos = 0;
  const CheckpointEntry* want = nullptr;  // the previous entry of the current incident
  bool want_seen = false;
  auto contradiction = [&](const CheckpointEntry& e, const std::string& what) {
    return make_error(ErrorCode::kStorage,
                      "incident " + e.id.to_string() + ": " + what + ", but checkpoint " + path +
                          " signed " + std::to_string(e.events) +
                          " events; not overwriting it (run klaxonctl verify)");
  };
  auto finish_incident = [&]() -> Status {
    if (want != nullptr && !want_seen) {
      return contradiction(
          *want, "event " + std::to_string(want->events - 1) + " (the signed head) is not stored");
    }
    return ok_status();
  };
  // Previous entries with no events at all come before `id` in key order.
  auto skip_previous_before = [&](const IncidentId* id) -> Status {
    if (previous && prev_pos < previous->incidents.size() &&
        (id == nullptr || previous->incidents[prev_pos].id < *id)) {
      return contradiction(previous->incidents[prev_pos], "no events are stored");
    }
    return ok_status();
  };

  rocksdb::ColumnFamilyHandle* events = store.family("incident_events");
  if (events != nullptr) {
    auto it = reader.iterate(events);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      IncidentId id;
      uint64_t seq = 0;
      if (!parse_incident_event_key(it->key().ToStringView(), &id, &seq)) continue;
      const std::string_view value = it->value().ToStringView();
      if (c.incidents.empty() || c.incidents.back().id != id) {
        KLAXON_TRY(finish_incident());
        KLAXON_TRY(skip_previous_before(&id));
        c.incidents.push_back(CheckpointEntry{id, 0, {}});
        want = nullptr;
        want_seen = false;
        if (previous && prev_pos < previous->incidents.size() &&
            previous->incidents[prev_pos].id == id) {
          want = &previous->incidents[prev_pos++];
        }
      }
      CheckpointEntry& head = c.incidents.back();
      info.events += 1;
      head.events = seq + 1;
      head.head = stored_hash_of(value);
      if (want != nullptr && seq + 1 == want->events) {
        if (head.head != want->head) {
          return contradiction(*want,
                               "event " + std::to_string(seq) + " differs from the signed head");
        }
        want_seen = true;
      }
    }
    if (!it->status().ok()) return read_error("read incident events", it->status());
  }
  KLAXON_TRY(finish_incident());
  KLAXON_TRY(skip_previous_before(nullptr));

  auto sig = key.sign(c.signed_bytes());
  if (!sig) return sig.error();
  c.signature = std::move(*sig);
  KLAXON_TRY(replace_file_atomically(path, c.to_json()));
  info.seq = c.seq;
  info.incidents = c.incidents.size();
  info.alert_next_seq = c.alert_next_seq;
  info.hash = c.hash();
  return info;
}

// ---- verify_store --------------------------------------------------------------------------

namespace {

// What is known about one incident while the three sorted sources (events, index, checkpoint)
// are merged by id.
struct IncidentCheck {
  IncidentId id;
  // Chain walk.
  uint64_t expected = 0;  // next seq; after the walk, the intact event count
  Hash256 prev{};         // hash of event expected-1
  std::optional<ChainBreak> chain_break;
  // Index.
  bool in_index = false;
  std::string index_error;
  uint64_t index_events = 0;
  Hash256 index_head{};
  // Checkpoint.
  const CheckpointEntry* signed_entry = nullptr;
  bool signed_hash_seen = false;
  Hash256 hash_at_signed{};

  void fail(uint64_t seq, std::string what) {
    if (!chain_break) chain_break = ChainBreak{id, seq, std::move(what)};
  }

  void check_event(uint64_t key_seq, std::string_view value) {
    if (chain_break) return;  // only the first broken link is reported
    if (key_seq != expected) {
      fail(expected, key_seq - 1 == expected ? "event " + std::to_string(expected) + " is missing"
                                             : "events " + std::to_string(expected) + ".." +
                                                   std::to_string(key_seq - 1) + " are missing");
      return;
    }
    auto e = decode_incident_event(id, value);
    if (!e) {
      fail(key_seq, "stored value does not decode (" + e.error().message + ")");
      return;
    }
    if (e->seq != key_seq) {
      fail(key_seq, "value of event " + std::to_string(e->seq) + " is stored as event " +
                        std::to_string(key_seq) + " (moved or swapped)");
      return;
    }
    Hash256 computed{};
    compute_incident_event_hash(id, value, &computed);
    if (computed != e->hash) {
      fail(key_seq, "hash mismatch: the stored value was changed (recomputed " +
                        hash_hex(computed).substr(0, 16) + "..., stored " +
                        hash_hex(e->hash).substr(0, 16) + "...)");
      return;
    }
    if (e->prev_hash != prev) {
      fail(key_seq, key_seq == 0 ? "prev_hash of event 0 is not zero"
                                 : "prev_hash does not match the hash of event " +
                                       std::to_string(key_seq - 1));
      return;
    }
    prev = e->hash;
    ++expected;
    if (signed_entry != nullptr && key_seq + 1 == signed_entry->events) {
      signed_hash_seen = true;
      hash_at_signed = e->hash;
    }
  }

  // The first broken link, or nothing when the incident verifies.
  std::optional<ChainBreak> result() const {
    if (chain_break) return chain_break;
    const uint64_t n = expected;
    if (signed_entry != nullptr) {
      const uint64_t s = signed_entry->events;
      if (n == 0 && s > 0) {
        return ChainBreak{id, 0,
                          "the checkpoint signed " + std::to_string(s) +
                              " events but none are stored (incident deleted)"};
      }
      if (n < s) {
        return ChainBreak{id, n,
                          "the chain has " + std::to_string(n) +
                              " events but the checkpoint "
                              "signed " +
                              std::to_string(s) + " (tail cut)"};
      }
      if (s > 0 && (!signed_hash_seen || hash_at_signed != signed_entry->head)) {
        return ChainBreak{id, s - 1,
                          "event " + std::to_string(s - 1) +
                              " differs from the head the checkpoint signed (the chain was "
                              "rewritten at or before it)"};
      }
    }
    if (!in_index) {
      return ChainBreak{id, 0, "events are stored but the incidents index has no entry"};
    }
    if (!index_error.empty()) return ChainBreak{id, 0, index_error};
    if (index_events != n || (n > 0 && index_head != prev)) {
      return ChainBreak{id, std::min(index_events, n) - (index_events == n ? 1 : 0),
                        "the incidents index says " + std::to_string(index_events) +
                            " events, head " + hash_hex(index_head).substr(0, 16) +
                            "...; the chain has " + std::to_string(n) + ", head " +
                            hash_hex(prev).substr(0, 16) + "..."};
    }
    return std::nullopt;
  }
};

}  // namespace

Result<VerifyReport> verify_store(const Store& store, const VerifyOptions& options) {
  VerifyReport report;
  const Checkpoint* cp = options.checkpoint;
  if (cp != nullptr) {
    if (options.trusted_key == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        "verify_store: a checkpoint needs a trusted public key");
    }
    report.checkpoint_given = true;
    if (cp->key_id != options.trusted_key->key_id()) {
      report.problems.push_back("checkpoint " + std::to_string(cp->seq) + " names signing key " +
                                hash_hex(cp->key_id).substr(0, 16) + "..., not the trusted key " +
                                hash_hex(options.trusted_key->key_id()).substr(0, 16) + "...");
    }
    if (!options.trusted_key->verify(cp->signed_bytes(), cp->signature)) {
      report.problems.push_back("checkpoint " + std::to_string(cp->seq) +
                                ": the signature does not verify under the trusted public key; "
                                "its heads are not used");
    }
    report.checkpoint_valid = report.problems.empty();
  }
  // Only a checkpoint whose signature holds says anything about the chains.
  const Checkpoint* trusted = report.checkpoint_valid ? cp : nullptr;

  SnapshotReader reader(store);
  if (trusted != nullptr) {
    auto next = alert_next_sequence(store, reader);
    if (!next) return next.error();
    if (*next < trusted->alert_next_seq) {
      report.problems.push_back("the alert log ends before sequence " +
                                std::to_string(trusted->alert_next_seq) +
                                " that the checkpoint recorded (next sequence " +
                                std::to_string(*next) + "): alerts were removed");
    }
  }

  const bool one = !options.only.is_nil();
  const std::string prefix = id_key(options.only);
  std::unique_ptr<rocksdb::Iterator> ev, ix;
  if (rocksdb::ColumnFamilyHandle* f = store.family("incident_events")) ev = reader.iterate(f);
  if (rocksdb::ColumnFamilyHandle* f = store.family("incidents")) ix = reader.iterate(f);
  for (auto* it : {ev.get(), ix.get()}) {
    if (it == nullptr) continue;
    if (one)
      it->Seek(prefix);
    else
      it->SeekToFirst();
  }
  size_t cp_pos = 0, cp_end = trusted ? trusted->incidents.size() : 0;
  if (trusted != nullptr && one) {
    const CheckpointEntry* e = trusted->find(options.only);
    cp_pos = e ? static_cast<size_t>(e - trusted->incidents.data()) : cp_end;
    cp_end = e ? cp_pos + 1 : cp_end;
  }
  auto in_scope = [&](const rocksdb::Iterator* it) {
    return it != nullptr && it->Valid() && (!one || it->key().starts_with(prefix));
  };

  // Keys shorter than an id cannot be attributed to an incident: skip them, reporting each.
  auto skip_stray = [&](rocksdb::Iterator* it, size_t want, const char* family) {
    while (in_scope(it) && (it->key().size() < 16 || (want == 16 && it->key().size() != 16))) {
      report.problems.push_back(std::string(family) + ": stray key " +
                                hex(it->key().ToStringView()) + " of " +
                                std::to_string(it->key().size()) + " bytes");
      it->Next();
    }
  };

  for (;;) {
    skip_stray(ev.get(), 24, "incident_events");
    skip_stray(ix.get(), 16, "incidents");
    std::optional<IncidentId> next;
    auto consider = [&](const IncidentId& id) {
      if (!next || id < *next) next = id;
    };
    if (in_scope(ev.get())) consider(id_from(ev->key().ToStringView()));
    if (in_scope(ix.get())) consider(id_from(ix->key().ToStringView()));
    if (cp_pos < cp_end) consider(trusted->incidents[cp_pos].id);
    if (!next) break;

    IncidentCheck c;
    c.id = *next;
    ++report.incidents;
    if (in_scope(ix.get()) && id_from(ix->key().ToStringView()) == c.id) {
      c.in_index = true;
      auto in = decode_incident(ix->value().ToStringView());
      if (!in) {
        c.index_error = "the incidents index record does not decode (" + in.error().message + ")";
      } else if (in->id != c.id) {
        c.index_error =
            "the incidents index record under this id is for incident " + in->id.to_string();
      } else {
        c.index_events = in->next_event_seq;
        c.index_head = in->head_hash;
      }
      ix->Next();
    }
    if (cp_pos < cp_end && trusted->incidents[cp_pos].id == c.id) {
      c.signed_entry = &trusted->incidents[cp_pos++];
    }
    const std::string key_prefix = id_key(c.id);
    for (; in_scope(ev.get()) && ev->key().starts_with(key_prefix); ev->Next()) {
      ++report.events;
      IncidentId id;
      uint64_t seq = 0;
      if (!parse_incident_event_key(ev->key().ToStringView(), &id, &seq)) {
        c.fail(c.expected, "malformed event key of " + std::to_string(ev->key().size()) + " bytes");
        continue;
      }
      c.check_event(seq, ev->value().ToStringView());
    }
    if (auto b = c.result()) report.breaks.push_back(std::move(*b));
  }
  if (ev && !ev->status().ok()) return read_error("read incident events", ev->status());
  if (ix && !ix->status().ok()) return read_error("read incidents", ix->status());
  return report;
}

// ---- export --------------------------------------------------------------------------------

namespace {

// The alert sequences an incident's events link: `created` carries "alert": seq and every
// `alert_linked` "alerts": [seq, ...] (pipeline/stages/correlate.cc). Data that is not such
// JSON (damaged) links nothing; the chain proof shows the damage.
void collect_linked_alerts(const IncidentEvent& e, simdjson::dom::parser& parser,
                           std::set<uint64_t>& out) {
  if (e.type != IncidentEventType::kCreated && e.type != IncidentEventType::kAlertLinked) return;
  const simdjson::padded_string padded(e.data);
  simdjson::dom::object data;
  if (parser.parse(padded).get(data)) return;
  if (e.type == IncidentEventType::kCreated) {
    uint64_t seq = 0;
    if (!data["alert"].get(seq)) out.insert(seq);
    return;
  }
  simdjson::dom::array alerts;
  if (data["alerts"].get(alerts)) return;
  for (simdjson::dom::element a : alerts) {
    uint64_t seq = 0;
    if (!a.get(seq)) out.insert(seq);
  }
}

// Reads the wanted alerts in one pass per cluster: for_each_alert decodes whole blocks, so
// neighbours are read together, but a wide gap starts a new seek instead of decoding every
// block between two linked alerts.
Status append_linked_alerts(const Store& store, const std::set<uint64_t>& wanted, std::string& out,
                            std::vector<uint64_t>& missing) {
  constexpr uint64_t kMaxScanGap = 8192;
  const std::vector<uint64_t> seqs(wanted.begin(), wanted.end());
  size_t i = 0;
  bool first = true;
  Alert alert;
  Sha256 sha;
  std::string json;
  while (i < seqs.size()) {
    bool stopped_for_gap = false;
    KLAXON_TRY(store.for_each_alert(seqs[i], [&](uint64_t seq, std::string_view record) {
      while (i < seqs.size() && seqs[i] < seq) missing.push_back(seqs[i++]);
      if (i == seqs.size()) return false;
      if (seq == seqs[i]) {
        ++i;
        if (!first) out.push_back(',');
        first = false;
        JsonObjectWriter w(out);
        w.raw("seq", std::to_string(seq));
        if (read_alert_record(record, alert)) {
          w.str("sha256", hash_hex(alert.raw_sha256));
          // The raw bytes are in the bundle; say whether they still match their hash.
          w.raw("sha256_matches_raw", sha.digest(alert.raw) == alert.raw_sha256 ? "true" : "false");
          json.clear();
          append_alert_json(alert, json);
          w.raw("alert", json);
        } else {
          w.str("error", "malformed alert record");
        }
        w.close();
        if (i == seqs.size()) return false;
      }
      if (seqs[i] - seq > kMaxScanGap) {
        stopped_for_gap = true;
        return false;
      }
      return true;
    }));
    // The log ended before the remaining sequences.
    if (!stopped_for_gap) {
      while (i < seqs.size()) missing.push_back(seqs[i++]);
    }
  }
  return ok_status();
}

}  // namespace

Result<EvidenceBundle> export_incident_evidence(const Store& store, const IncidentId& id,
                                                const ExportOptions& options) {
  EvidenceBundle bundle;
  auto incident = store.get_incident(id);
  if (!incident && incident.error().code != ErrorCode::kNotFound &&
      incident.error().code != ErrorCode::kParse) {
    return incident.error();
  }
  struct Stored {
    uint64_t seq;
    std::string value;
  };
  std::vector<Stored> events;
  KLAXON_TRY(store.for_each_incident_event(id, [&](std::string_view key, std::string_view value) {
    IncidentId kid;
    uint64_t seq = 0;
    if (parse_incident_event_key(key, &kid, &seq)) events.push_back({seq, std::string(value)});
    return true;
  }));
  if (events.empty() && !incident) {
    return make_error(ErrorCode::kNotFound, "incident " + id.to_string());
  }

  VerifyOptions vo;
  vo.only = id;
  if (options.checkpoint != nullptr && options.trusted_key != nullptr) {
    vo.checkpoint = options.checkpoint;
    vo.trusted_key = options.trusted_key;
  }
  auto report = verify_store(store, vo);
  if (!report) return report.error();
  bundle.chain_intact = report->breaks.empty();
  bundle.checkpoint_verified = report->checkpoint_valid;

  std::string& out = bundle.json;
  JsonObjectWriter root(out);
  root.str("format", kEvidenceFormat);
  root.str("exported", rfc3339(options.now_ns != 0 ? options.now_ns : wall_ns()));
  root.str("incident_id", id.to_string());
  if (incident) {
    root.raw("incident", incident_json(*incident));
  } else {
    root.raw("incident", "null");
    root.str("incident_error", incident.error().message);
  }

  // Timeline: each decodable event as klaxonctl renders it (hashes included).
  std::set<uint64_t> linked;
  simdjson::dom::parser parser;
  root.key("timeline");
  out.push_back('[');
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out.push_back(',');
    auto e = decode_incident_event(id, events[i].value);
    if (e) {
      out.append(incident_event_json(*e));
      collect_linked_alerts(*e, parser, linked);
    } else {
      JsonObjectWriter w(out);
      w.raw("seq", std::to_string(events[i].seq));
      w.str("error", e.error().message);
      w.close();
    }
  }
  out.push_back(']');

  std::vector<uint64_t> missing;
  root.key("alerts");
  out.push_back('[');
  KLAXON_TRY(append_linked_alerts(store, linked, out, missing));
  out.push_back(']');
  root.key("alerts_missing");
  out.push_back('[');
  for (size_t i = 0; i < missing.size(); ++i) {
    if (i) out.push_back(',');
    out.append(std::to_string(missing[i]));
  }
  out.push_back(']');
  bundle.alerts_missing = missing.size();

  // The chain proof: enough to recompute every hash without klaxon.
  root.key("chain");
  {
    JsonObjectWriter chain(out);
    chain.str("hash_rule",
              "hash = SHA-256(domain || 16 id bytes || value without its last 32 bytes); "
              "the last 32 bytes of value are hash, the 32 before them prev_hash");
    chain.str("domain", kIncidentEventDomain);
    chain.str("id_hex", hex(id.bytes.data(), id.bytes.size()));
    chain.raw("events", std::to_string(events.size()));
    chain.str("head",
              events.empty() ? std::string() : hash_hex(stored_hash_of(events.back().value)));
    chain.raw("intact", bundle.chain_intact ? "true" : "false");
    if (!report->breaks.empty()) {
      chain.key("first_break");
      JsonObjectWriter b(out);
      b.raw("seq", std::to_string(report->breaks.front().seq));
      b.str("what", report->breaks.front().what);
      b.close();
    }
    chain.key("links");
    out.push_back('[');
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) out.push_back(',');
      const std::string& v = events[i].value;
      JsonObjectWriter l(out);
      l.raw("seq", std::to_string(events[i].seq));
      if (v.size() >= 64) {
        l.str("prev_hash", hex(std::string_view(v).substr(v.size() - 64, 32)));
        l.str("hash", hex(std::string_view(v).substr(v.size() - 32)));
      }
      l.key("value_base64");
      out.push_back('"');
      append_base64(out, v);
      out.push_back('"');
      l.close();
    }
    out.push_back(']');
    if (vo.checkpoint != nullptr) {
      const Checkpoint& cp = *vo.checkpoint;
      chain.key("checkpoint");
      JsonObjectWriter k(out);
      k.raw("seq", std::to_string(cp.seq));
      k.str("time", rfc3339(cp.time_ns));
      k.str("hash", hash_hex(cp.hash()));
      k.str("key", hash_hex(cp.key_id));
      k.str("signature", hex(cp.signature));
      k.raw("signature_verified", report->checkpoint_valid ? "true" : "false");
      if (const CheckpointEntry* e = cp.find(id)) {
        k.key("entry");
        JsonObjectWriter en(out);
        en.raw("events", std::to_string(e->events));
        en.str("head", hash_hex(e->head));
        en.close();
        k.raw("head_matches", bundle.chain_intact && report->checkpoint_valid ? "true" : "false");
      } else {
        k.raw("entry", "null");
      }
      if (!report->problems.empty()) k.str("problem", report->problems.front());
      k.close();
    }
    chain.close();
  }
  root.close();
  return bundle;
}

}  // namespace klaxon
