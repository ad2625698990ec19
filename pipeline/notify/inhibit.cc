#include "pipeline/notify/inhibit.h"

#include "pipeline/notify/label_key.h"

#include <utility>

namespace klaxon::notify {

namespace {

bool fires_at(int64_t ends_ns, int64_t now_ns) { return ends_ns == 0 || ends_ns > now_ns; }

}  // namespace

void inhibit_rule_flags(const std::vector<InhibitRule>& rules, const Labels& labels,
                        std::vector<uint8_t>& flags) {
  flags.assign(rules.size(), 0);
  for (size_t r = 0; r < rules.size(); ++r) {
    if (matches_all(rules[r].source, labels)) flags[r] |= kRuleSource;
    if (matches_all(rules[r].target, labels)) flags[r] |= kRuleTarget;
  }
}

void InhibitIndex::reset(const std::vector<InhibitRule>& rules) {
  equal_.clear();
  for (const auto& r : rules) equal_.push_back(r.equal);
  buckets_.assign(rules.size(), {});
  sources_.clear();
}

void InhibitIndex::add(Key key, const Labels& labels, const uint8_t* rule_flags, int64_t ends_ns) {
  remove(key);
  Source s;
  s.ends_ns = ends_ns;
  for (uint32_t r = 0; r < equal_.size(); ++r) {
    if (!(rule_flags[r] & kRuleSource)) continue;
    projection_key(labels, equal_[r], scratch_);
    const uint64_t h = hash_bytes(scratch_);
    auto& bucket = buckets_[r][h];
    s.slots.push_back(Slot{r, h, static_cast<uint32_t>(bucket.size())});
    bucket.push_back(Entry{key, (rule_flags[r] & kRuleTarget) != 0, scratch_});
  }
  if (!s.slots.empty()) sources_.emplace(key, std::move(s));
}

void InhibitIndex::set_ends(Key key, int64_t ends_ns) {
  auto it = sources_.find(key);
  if (it != sources_.end()) it->second.ends_ns = ends_ns;
}

void InhibitIndex::remove(Key key) {
  auto it = sources_.find(key);
  if (it == sources_.end()) return;
  for (const Slot& slot : it->second.slots) {
    auto bit = buckets_[slot.rule].find(slot.bucket);
    auto& bucket = bit->second;
    // Swap-remove, then tell the moved entry's owner where it now lives.
    if (slot.pos + 1 != bucket.size()) {
      bucket[slot.pos] = std::move(bucket.back());
      Source& moved = sources_.find(bucket[slot.pos].key)->second;
      for (Slot& ms : moved.slots) {
        if (ms.rule == slot.rule) ms.pos = slot.pos;
      }
    }
    bucket.pop_back();
    if (bucket.empty()) buckets_[slot.rule].erase(bit);
  }
  sources_.erase(it);
}

bool InhibitIndex::mutes(const Source& s, const Labels& labels, const uint8_t* rule_flags) const {
  for (const Slot& slot : s.slots) {
    if (!(rule_flags[slot.rule] & kRuleTarget)) continue;
    const Entry& e = buckets_[slot.rule].find(slot.bucket)->second[slot.pos];
    if ((rule_flags[slot.rule] & kRuleSource) && e.also_target) continue;
    projection_key(labels, equal_[slot.rule], scratch_);
    if (scratch_ == e.equal) return true;
  }
  return false;
}

std::optional<InhibitIndex::Key> InhibitIndex::muted_by(const Labels& labels,
                                                        const uint8_t* rule_flags, int64_t now_ns,
                                                        std::optional<Key> prefer) const {
  if (sources_.empty()) return std::nullopt;
  if (prefer) {
    auto it = sources_.find(*prefer);
    if (it != sources_.end() && fires_at(it->second.ends_ns, now_ns) &&
        mutes(it->second, labels, rule_flags)) {
      return prefer;
    }
  }
  for (uint32_t r = 0; r < equal_.size(); ++r) {
    if (!(rule_flags[r] & kRuleTarget) || buckets_[r].empty()) continue;
    projection_key(labels, equal_[r], scratch_);
    auto bit = buckets_[r].find(hash_bytes(scratch_));
    if (bit == buckets_[r].end()) continue;
    const bool target_is_source = (rule_flags[r] & kRuleSource) != 0;
    for (const Entry& e : bit->second) {
      // Alertmanager's rule: when the target matches the source side too, sources that match
      // both sides are disregarded (no self-inhibition, no mutual inhibition).
      if (target_is_source && e.also_target) continue;
      if (e.equal != scratch_) continue;
      if (!fires_at(sources_.find(e.key)->second.ends_ns, now_ns)) continue;
      return e.key;
    }
  }
  return std::nullopt;
}

}  // namespace klaxon::notify
