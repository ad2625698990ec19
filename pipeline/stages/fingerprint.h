// Fingerprint: the identity of "the same alert again", a 128-bit XXH3 hash of configured key
// fields of an Alert (dedupe key, ARCHITECTURE.md "Correlation").
//
// FingerprintKey is the configured field list (config key `dedupe.key`, ECS names such as
// "rule.id", "host.name"). It is immutable after construction and may be shared by any number
// of threads; compute() allocates nothing except, once per thread, a streaming hash state when
// the selected fields together exceed 1 KiB (only possible with `message` in the key).
//
// Encoding (stable: fingerprints may be persisted in checkpoints or a changelog, so changing it
// is a format change). For each field, in the configured order:
//   absent:  tag (1 byte: FingerprintField value + 1), 0x00
//   present: tag, 0x01, length (u32 little-endian), the bytes
// hashed with XXH3-128 and the key's seed. Tags keep the same text in different fields apart,
// lengths keep ("ab","c") != ("a","bc"), and the presence byte keeps absent != empty.
//
// Absent vs empty follows the parsers: a string field is absent when its view is
// default-constructed (data() == nullptr: a missing JSON key, a syslog NILVALUE "-"); a JSON
// "" is present and empty. A port is absent when negative. Ports are hashed as u32 LE.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

// The Alert fields usable as dedupe keys. Values are part of the encoding above (the tag):
// append new fields at the end, never renumber.
enum class FingerprintField : uint8_t {
  kEventModule = 0,     // "event.module"; when empty, observer.product (same tag either way)
  kObserverProduct,     // "observer.product"
  kEventDataset,        // "event.dataset"
  kEventAction,         // "event.action"
  kRuleId,              // "rule.id"
  kRuleName,            // "rule.name"
  kRuleCategory,        // "rule.category"
  kHostName,            // "host.name"; when empty, log.syslog.hostname (same tag either way)
  kSyslogHostname,      // "log.syslog.hostname"
  kSyslogAppname,       // "log.syslog.appname"
  kSourceIp,            // "source.ip"
  kSourcePort,          // "source.port"
  kDestinationIp,       // "destination.ip"
  kDestinationPort,     // "destination.port"
  kUserName,            // "user.name"
  kNetworkCommunityId,  // "network.community_id"
  kMessage,             // "message"
};
inline constexpr int kFingerprintFieldCount = 17;

// The config name ("rule.id") of a field.
const char* fingerprint_field_name(FingerprintField f);
// Config name -> field; kInvalidArgument naming the unknown name and the accepted ones.
Result<FingerprintField> parse_fingerprint_field(std::string_view name);

// 128 bits of XXH3. `lo`/`hi` are XXH128_hash_t's low64/high64. The dedupe table takes its
// bucket from the top bits of `hi`; shard routing should use `lo` so the two stay independent.
struct Fingerprint {
  uint64_t lo = 0;
  uint64_t hi = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

// For std::unordered_map and friends (the bits are already uniformly mixed).
struct FingerprintHash {
  size_t operator()(const Fingerprint& f) const { return static_cast<size_t>(f.lo); }
};

// 32 lowercase hex digits, big-endian (XXH128's canonical form: hi then lo), for logs and the
// API.
std::string to_hex(const Fingerprint& f);

class FingerprintKey {
 public:
  // The default key: event.module (falling back to observer.product), rule.id, host.name
  // (falling back to log.syslog.hostname), source.ip, destination.ip, user.name.
  FingerprintKey();
  // KLAXON_CHECKs that `fields` is non-empty and has no repeats (parse() reports those as
  // errors instead).
  explicit FingerprintKey(std::vector<FingerprintField> fields, uint64_t seed = 0);

  // From config names. Fails with kInvalidArgument on an empty list, an unknown name or a
  // repeated one. `seed` changes every fingerprint: keep it stable for as long as fingerprints
  // are persisted or compared across processes.
  static Result<FingerprintKey> parse(const std::vector<std::string>& names, uint64_t seed = 0);

  static const std::vector<FingerprintField>& default_fields();

  Fingerprint compute(const Alert& alert) const;
  // The key's fields of `alert` as a JSON object ({"host.name":"web01","rule.id":"2019401"}),
  // absent fields left out: how an incident names the group it stands for.
  void append_json(const Alert& alert, std::string& out) const;

  const std::vector<FingerprintField>& fields() const { return fields_; }
  uint64_t seed() const { return seed_; }

 private:
  std::vector<FingerprintField> fields_;
  uint64_t seed_ = 0;
};

}  // namespace klaxon
