// The stateless half of Sigma: which base rules an event matches, and what each correlation
// rule must be told about it.
//
// Runs on the parse workers, which see the whole alert. Per event a worker calls detect()
// (base rules matched) and build_updates() (one CorrelationUpdate per correlation rule and
// group key the matches feed: the group key, the values the correlation aggregates, the
// event time). Updates are small and self-contained: the worker routes each to the shard
// that owns its key_hash, and the shard's Correlator never needs the event itself. So the
// fields a worker must be able to read are exactly RuleSet::fields() (detection, group-by,
// value and timestamp roles); nothing else of the event crosses threads.
//
// Owner and threads: a Detector is immutable after construction and shared by every worker.
// Each thread passes its own DetectScratch (a field-value cache and the regex VM's lists);
// after the scratch has grown to the rule set, nothing allocates per event except the
// caller's output vectors growing (reuse them).
#pragma once

#include "pipeline/stages/sigma/regex.h"
#include "pipeline/stages/sigma/rules.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

// How rules read an event. `id` indexes RuleSet::fields() (its name is passed too, for
// sources that look fields up by name); resolve ids to your representation once, not per
// event. Return nullopt when the field is absent or JSON null; numbers and booleans as their
// text ("4625", "true"). The view must stay valid until the Detector call returns. Arrays
// are not modelled: pass one element or a joined text.
class FieldSource {
 public:
  virtual ~FieldSource() = default;
  virtual std::optional<std::string_view> get(FieldId id, std::string_view name) const = 0;
};

// Per-thread working memory of the Detector.
class DetectScratch {
 public:
  DetectScratch() = default;

 private:
  friend class Detector;
  // A field's value for the current call, and what it parsed to (numbers and addresses are
  // parsed at most once per call however many rules compare them).
  struct Cached {
    uint32_t epoch = 0;
    bool present = false;
    uint8_t parsed = 0;  // kTriedNumber | kIsNumber | kTriedIp | kIsIp | kIsV6
    std::string_view value;
    double number = 0;
    std::array<uint8_t, 16> ip{};
  };
  enum : uint8_t { kTriedNumber = 1, kIsNumber = 2, kTriedIp = 4, kIsIp = 8, kIsV6 = 16 };
  std::vector<Cached> fields_;
  uint32_t epoch_ = 0;
  RegexScratch regex_;
  std::vector<uint64_t> masks_;    // per correlation: which of its rules matched
  std::vector<uint32_t> touched_;  // correlations with a non-zero mask
  std::string key_;                // group key being encoded
  std::string tuple_;              // value_count tuple being encoded
};

// What one correlation rule is told about one event, for one group key. Built on a parse
// worker, applied by the Correlator of the shard owning key_hash.
struct CorrelationUpdate {
  uint32_t correlation = 0;  // index into RuleSet::correlations()
  uint64_t refs = 0;         // bit i: the correlation's rules[i] matched this event
  uint64_t key_hash = 0;     // XXH3-64 of the group key, seeded with the correlation index
  int64_t time_ns = 0;       // event time, UTC nanoseconds
  bool has_time = false;
  bool has_value = false;   // the aggregated field(s) were present (and numeric for value_*)
  double number = 0;        // value_sum / value_avg / value_percentile
  uint64_t value_hash = 0;  // value_count: XXH3-64 of the value tuple (distinct by hash)
  uint32_t key_offset = 0;  // the encoded group key, in the owning batch's bytes
  uint32_t key_size = 0;
};

// Updates with their group keys in one contiguous byte buffer (no allocation per update
// once the buffers have grown). A worker fills one per event or per batch and copies
// updates into per-shard batches with append().
class UpdateBatch {
 public:
  size_t size() const { return updates_.size(); }
  bool empty() const { return updates_.empty(); }
  const CorrelationUpdate& operator[](size_t i) const { return updates_[i]; }
  CorrelationUpdate& at(size_t i) { return updates_[i]; }
  std::string_view key(size_t i) const {
    return std::string_view(keys_).substr(updates_[i].key_offset, updates_[i].key_size);
  }
  void clear() {
    updates_.clear();
    keys_.clear();
  }
  void add(CorrelationUpdate u, std::string_view key);
  void append(const UpdateBatch& from, size_t i) { add(from[i], from.key(i)); }

 private:
  std::vector<CorrelationUpdate> updates_;
  std::string keys_;
};

// One group-by field of a firing: the field name and the event's value (absent when the
// events had no such field: they still form a group, as in rsigma).
struct GroupValue {
  std::string field;
  std::string value;
  bool present = false;
};

// Group keys are encoded per group-by field, in order: absent = 0x00; present = 0x01, the
// length as u32 little-endian, the bytes. So ("ab","c") != ("a","bc") and absent != "".
void append_group_value(std::string& key, std::optional<std::string_view> value);
// Decodes a key of correlation `c` into (group-by name, value) pairs; false when malformed.
bool decode_group_key(const CorrelationRule& c, std::string_view key, std::vector<GroupValue>& out);
uint64_t group_key_hash(uint32_t correlation, std::string_view key);

struct DetectorOptions {
  // rsigma's emit_detections: when false, a base rule referenced only by correlations with
  // `generate: false` (the default) is not reported by emitted(); it still feeds them.
  bool emit_detections = true;
};

class Detector {
 public:
  explicit Detector(std::shared_ptr<const RuleSet> rules, DetectorOptions options = {});

  const RuleSet& rules() const { return *rules_; }
  const std::shared_ptr<const RuleSet>& shared_rules() const { return rules_; }

  // The base rules `event` matches, ascending indices into RuleSet::base_rules(), into
  // `out` (cleared first). Thread-safe; allocation-free once scratch and out have grown.
  void detect(const FieldSource& event, DetectScratch& scratch, std::vector<uint32_t>& out) const;

  // Appends to `out` the updates the matched rules feed: for every correlation referencing
  // a matched rule, one update per distinct group key (one, unless `aliases` make the key
  // depend on which rule matched). time_ns nullopt: the event has no time; the Correlator
  // then applies its timestamp fallback.
  void build_updates(const FieldSource& event, DetectScratch& scratch,
                     const std::vector<uint32_t>& matched, std::optional<int64_t> time_ns,
                     UpdateBatch& out) const;

  // The event time from LoadOptions::timestamp_fields (first present and parseable wins).
  std::optional<int64_t> event_time(const FieldSource& event, DetectScratch& scratch) const;

  // Whether a match of base rule i is reported as a detection (see DetectorOptions).
  bool emitted(uint32_t rule) const { return emitted_[rule] != 0; }

 private:
  struct Eval;  // per-call evaluation context (detector.cc)
  std::shared_ptr<const RuleSet> rules_;
  DetectorOptions options_;
  std::vector<uint8_t> emitted_;
};

// Parses an event time value: an integer is epoch seconds, or epoch milliseconds above 10^12
// (rsigma's rule), microseconds above 10^14, nanoseconds above 10^17 (also as a digit
// string); a decimal number is seconds (milliseconds above 10^12); text is RFC 3339
// ("2024-07-10T12:30:00Z", "+02:00" offsets, a space instead of T, a fraction) where no
// offset means UTC. nullopt when it is none of these.
std::optional<int64_t> parse_time_value(std::string_view text);

}  // namespace klaxon::sigma
