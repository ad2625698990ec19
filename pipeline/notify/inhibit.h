// Inhibition, as Alertmanager's inhibit_rules: while an item matching a rule's source
// matchers fires, items matching its target matchers whose `equal` labels have the same
// values (absent = "") are muted. Items that match both sides of a rule never inhibit items
// that also match both sides (so an item does not inhibit itself, and two such items do not
// mute each other).
//
// InhibitIndex keeps the possible sources bucketed per rule by the values of the rule's
// `equal` labels, so that asking whether a target is muted looks only at the sources that
// agree with it. Whether a source fires is decided when asked (its end time against now), so
// a source that resolves stops inhibiting without an update. Owned by one Dispatcher;
// single-threaded, no I/O.
#pragma once

#include "pipeline/notify/matcher.h"
#include "pipeline/notify/notification.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace klaxon::notify {

struct InhibitRule {
  Matchers source;
  Matchers target;
  std::vector<std::string> equal;  // sorted, unique label names
};

// Per-rule flags an item carries (the caller computes them once per label set).
inline constexpr uint8_t kRuleSource = 1;
inline constexpr uint8_t kRuleTarget = 2;
// Fills flags[r] with kRuleSource / kRuleTarget for each rule r the labels match.
void inhibit_rule_flags(const std::vector<InhibitRule>& rules, const Labels& labels,
                        std::vector<uint8_t>& flags);

class InhibitIndex {
 public:
  using Key = uint32_t;  // the caller's handle for an item

  // Forgets every source and takes the rules' `equal` lists (a config reload).
  void reset(const std::vector<InhibitRule>& rules);

  // Registers `key` as a source of the rules whose flags have kRuleSource. `ends_ns`: 0 while
  // open-ended, else the time it stops firing. Replaces an earlier registration of `key`.
  void add(Key key, const Labels& labels, const uint8_t* rule_flags, int64_t ends_ns);
  void set_ends(Key key, int64_t ends_ns);
  void remove(Key key);

  // The source that mutes an item with these labels (and rule flags) at now_ns, if any.
  // `prefer` is tried first, so that reports keep naming the same source while it holds.
  std::optional<Key> muted_by(const Labels& labels, const uint8_t* rule_flags, int64_t now_ns,
                              std::optional<Key> prefer = std::nullopt) const;

  size_t source_count() const { return sources_.size(); }

 private:
  struct Entry {
    Key key;
    bool also_target;   // the source matches the rule's target side too
    std::string equal;  // projection of the rule's `equal` labels (checked: hashes collide)
  };
  struct Slot {
    uint32_t rule;
    uint64_t bucket;
    uint32_t pos;  // index in the bucket's vector
  };
  struct Source {
    int64_t ends_ns = 0;
    std::vector<Slot> slots;
  };

  bool mutes(const Source& s, const Labels& labels, const uint8_t* rule_flags) const;

  std::vector<std::vector<std::string>> equal_;                            // per rule
  std::vector<std::unordered_map<uint64_t, std::vector<Entry>>> buckets_;  // per rule
  std::unordered_map<Key, Source> sources_;
  mutable std::string scratch_;
};

}  // namespace klaxon::notify
