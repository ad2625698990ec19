// Tamper evidence for the incident history: Ed25519 keys, signed checkpoints of every chain
// head, verification of the stored chains against both, and the evidence bundle of one
// incident (ARCHITECTURE.md "Storage"; storage/README.md "Tamper evidence").
//
// Why checkpoints: the hash chain of pipeline/core/incident.h makes any change to one stored
// event visible, but whoever can write the data directory can also cut a chain's tail (the
// index is rewritten to match) or recompute a whole chain after editing it; neither needs a
// secret. A checkpoint lists, for every incident, how many events it had and the hash of the
// last one, and is signed with a key kept outside the data directory; it is written outside
// the data directory too. Verification then requires every listed chain to still reach the
// signed head, so a cut tail, a deleted incident or a recomputed chain is detected. Events
// appended after the last checkpoint are protected by the chain alone.
//
// Checkpoint file, format "klaxon.checkpoint.v1": exactly one line of JSON followed by "\n",
// members in this order, no whitespace, hex always lowercase, numbers in plain decimal:
//   {"format":"klaxon.checkpoint.v1","seq":S,"time":"RFC 3339 of time_ns","time_ns":T,
//    "alert_next_seq":A,"prev":"<64 hex>","key":"<64 hex>",
//    "incidents":[{"id":"<uuid>","events":N,"head":"<64 hex>"},...],
//    "hash":"<64 hex>","signature":"<128 hex>"}
//   seq             1 for the first checkpoint written to a path, previous seq + 1 after
//   time_ns         when it was made, UTC nanoseconds
//   alert_next_seq  the alert log's next sequence then (alerts below it existed)
//   prev            `hash` of the checkpoint this one replaced, zeros for seq 1: checkpoints
//                   form their own chain
//   key             SHA-256 of the signer's raw 32-byte Ed25519 public key (identifies the
//                   key; never trusted: the verifier brings its own public key)
//   incidents       every incident with at least one event, ascending by id bytes: event
//                   count and the stored hash of event count-1
//   hash            SHA-256 of the signed bytes below
//   signature       Ed25519 (RFC 8032, pure) over the signed bytes below
// Signed bytes (integers little-endian, as in the event encoding):
//   "klaxon.checkpoint.v1" (20 ASCII bytes) | u64 seq | i64 time_ns | u64 alert_next_seq
//   | 32 bytes prev | 32 bytes key | u64 n | n x (16 bytes id | u64 events | 32 bytes head)
// A reader re-renders the JSON from the parsed values and requires it to equal the file byte
// for byte, so that no change to the file (even one the JSON parser would not notice) passes.
//
// Threads: free functions and value types. write_checkpoint() and verify_store() only read
// the store (RocksDB iterators over one snapshot), so they may run on any thread while the
// writer threads commit, and on a read-only Store.
#pragma once

#include "pipeline/core/incident.h"
#include "pipeline/core/result.h"
#include "storage/store.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace klaxon {

// An Ed25519 key: a private key (which can also verify) or a public key only. Move-only; owns
// its OpenSSL EVP_PKEY. Any thread may use a const key (OpenSSL 3 EVP is thread-safe for
// one-shot sign/verify with a fresh context per call, which is what this does).
class Ed25519Key {
 public:
  static Result<Ed25519Key> generate();
  // PEM files as written by write_files() or `openssl genpkey -algorithm ed25519` (PKCS#8
  // "PRIVATE KEY", SubjectPublicKeyInfo "PUBLIC KEY"). Errors name the file. An encrypted
  // private key is refused rather than prompting for a passphrase.
  static Result<Ed25519Key> load_private(const std::string& path);
  static Result<Ed25519Key> load_public(const std::string& path);

  Ed25519Key(Ed25519Key&& other) noexcept;
  Ed25519Key& operator=(Ed25519Key&& other) noexcept;
  ~Ed25519Key();

  // Writes the private key (mode 0600) and the public key (0644); refuses to overwrite either
  // file, and fsyncs both. Needs a private key.
  Status write_files(const std::string& private_path, const std::string& public_path) const;

  bool has_private() const { return has_private_; }
  // SHA-256 of the raw 32-byte public key: the `key` member of a checkpoint.
  const Hash256& key_id() const { return key_id_; }
  // A 64-byte signature over `message`. Needs a private key.
  Result<std::string> sign(std::string_view message) const;
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  Ed25519Key() = default;
  static Result<Ed25519Key> adopt(evp_pkey_st* pkey, bool has_private, const std::string& what);

  evp_pkey_st* pkey_ = nullptr;
  bool has_private_ = false;
  Hash256 key_id_{};
};

// `klaxonctl keygen --out PREFIX`: a fresh key pair in PREFIX.key (0600) and PREFIX.pub.
Status generate_key_files(const std::string& prefix);

// True when `path` is `dir` or lies beneath it, after resolving symlinks and "..", also for
// a path that does not exist yet. Keys and checkpoints must not live in the data directory:
// whoever can rewrite the data could then rewrite them too.
bool path_is_within(const std::string& dir, const std::string& path);

struct CheckpointEntry {
  IncidentId id;
  uint64_t events = 0;  // event count when signed
  Hash256 head{};       // the stored hash of event (events - 1)
  friend bool operator==(const CheckpointEntry&, const CheckpointEntry&) = default;
};

struct Checkpoint {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  uint64_t alert_next_seq = 0;
  Hash256 prev{};
  Hash256 key_id{};
  std::vector<CheckpointEntry> incidents;  // ascending by id
  std::string signature;                   // 64 bytes

  // The signed bytes (header comment) and their SHA-256.
  std::string signed_bytes() const;
  Hash256 hash() const;
  // The file contents, "\n" included.
  std::string to_json() const;
  // The entry for `id`, or nullptr (binary search).
  const CheckpointEntry* find(const IncidentId& id) const;
};

// Parses a checkpoint file's contents strictly (canonical form only, see the header). kParse
// with what is wrong; the signature is not checked here.
Result<Checkpoint> parse_checkpoint(std::string_view text);
// Reads and parses a checkpoint file; kIo names the file when it cannot be read.
Result<Checkpoint> read_checkpoint_file(const std::string& path);

struct CheckpointOptions {
  // The daemon's data directory (the one holding db/); the checkpoint path must lie outside.
  std::string data_dir;
  int64_t now_ns = 0;  // 0: the wall clock
};

struct CheckpointInfo {
  uint64_t seq = 0;
  uint64_t incidents = 0;
  uint64_t events = 0;
  uint64_t alert_next_seq = 0;
  Hash256 hash{};
};

// Signs the current chain heads into `path` (atomically: temp file, fsync, rename, fsync of
// the directory). Heads come from the incident_events family, the evidence, not from the
// `incidents` index. When `path` already holds a checkpoint it must parse, be signed by this
// key, and every incident it lists must still reach its signed head: a new checkpoint is
// never written over evidence that contradicts the previous one (that would launder a cut
// or rewritten chain), and the error names the incident. Move the old file aside to start a
// new chain (for example after a key change).
Result<CheckpointInfo> write_checkpoint(const Store& store, const Ed25519Key& key,
                                        const std::string& path, const CheckpointOptions& options);

// One incident whose history does not verify: the first broken link found.
struct ChainBreak {
  IncidentId incident;
  uint64_t seq = 0;  // the first event sequence at which the evidence is wrong or missing
  std::string what;
};

struct VerifyOptions {
  // A parsed checkpoint and the public key to trust for it (never the checkpoint's own
  // `key`). Both or neither; without them a cut tail or a recomputed chain goes unnoticed.
  const Checkpoint* checkpoint = nullptr;
  const Ed25519Key* trusted_key = nullptr;
  // When not nil, only this incident (its events, index entry and checkpoint entry).
  IncidentId only;
};

struct VerifyReport {
  uint64_t incidents = 0;  // distinct incidents seen in events, index or checkpoint
  uint64_t events = 0;     // event records read
  bool checkpoint_given = false;
  bool checkpoint_valid = false;   // signature verifies under the trusted key
  std::vector<ChainBreak> breaks;  // at most one per incident, ascending by id
  // Problems not tied to one incident (the checkpoint itself, the alert log, stray keys).
  std::vector<std::string> problems;

  bool ok() const { return breaks.empty() && problems.empty(); }
  size_t total() const { return breaks.size() + problems.size(); }
};

// Recomputes every chain (seqs contiguous from 0, each value decodes, its stored seq equals
// its key's, the recomputed hash equals the stored one, prev_hash equals the previous
// event's hash), checks that the `incidents` index agrees with each chain (event count and
// head hash) and, with a checkpoint, its signature and that every incident it lists still
// has at least that many events with exactly the signed hash at (events - 1). A checkpoint
// whose signature fails is reported and its heads are not used. An error only when the store
// cannot be read; everything found is in the report.
Result<VerifyReport> verify_store(const Store& store, const VerifyOptions& options = {});

struct ExportOptions {
  const Checkpoint* checkpoint = nullptr;  // with trusted_key: adds the signed entry
  const Ed25519Key* trusted_key = nullptr;
  int64_t now_ns = 0;  // 0: the wall clock
};

struct EvidenceBundle {
  std::string json;           // the bundle, one JSON object (no trailing newline)
  bool chain_intact = false;  // verify_store found nothing wrong with this incident
  bool checkpoint_verified = false;
  uint64_t alerts_missing = 0;  // linked alert sequences not found in the alert log
};

// The evidence bundle of one incident ("klaxon.evidence.v1"): the incident state, its
// timeline (each event with prev_hash and hash), the linked raw alerts with their SHA-256,
// and the chain proof (every stored event value in base64, so that a reader can recompute
// each hash, the verification result, and the checkpoint entry with the checkpoint's hash and
// signature). Layout in storage/README.md. kNotFound when the incident has neither events nor
// an index entry.
Result<EvidenceBundle> export_incident_evidence(const Store& store, const IncidentId& id,
                                                const ExportOptions& options = {});

}  // namespace klaxon
