// Silences, as Alertmanager's: a set of matchers and a time span during which matching items
// are muted (still grouped, not notified). A silence is pending before starts_ns, active in
// [starts_ns, ends_ns), expired from ends_ns on; expiring one early sets its end to now.
// Expired silences are kept (for the API and the audit trail) until gc() drops them.
//
// SilenceSet is a value container with no locking: one thread owns it (the Dispatcher's owner,
// which applies API requests to it). The JSON form (Alertmanager's API v2 field names, times
// as RFC 3339 with nanoseconds) is used for persistence and by the HTTP API.
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/notify/matcher.h"
#include "pipeline/notify/notification.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace klaxon::notify {

struct Silence {
  std::string id;  // UUID v4, 8-4-4-4-12 lower-case hex
  Matchers matchers;
  int64_t starts_ns = 0;
  int64_t ends_ns = 0;
  std::string created_by;
  std::string comment;
  int64_t created_ns = 0;
};

enum class SilenceState : uint8_t { kPending, kActive, kExpired };
SilenceState silence_state(const Silence& s, int64_t now_ns);
const char* silence_state_name(SilenceState s);  // "pending", "active", "expired"

// Checks what every stored silence must satisfy: at least one matcher, not all matchers match
// the empty string (a silence must not mute everything), starts_ns < ends_ns.
Status validate_silence(const Silence& s);

// A random UUID v4 from OpenSSL's RAND_bytes.
Result<std::string> new_silence_id();

// {"id","matchers":[{"name","value","isRegex","isEqual"}],"startsAt","endsAt","createdBy",
//  "comment","createdAt"}; with now_ns >= 0 also "status":{"state":...} (the API's view).
std::string silence_to_json(const Silence& s, int64_t now_ns = -1);
Result<Silence> silence_from_json(std::string_view json);

class SilenceSet {
 public:
  // Adds a new silence or replaces the one with the same id (an edit). An empty id gets a new
  // UUID; created_ns 0 becomes now; a start in the past becomes now. Rejects what
  // validate_silence() rejects and an end that is not in the future. Returns the id.
  Result<std::string> add(Silence s, int64_t now_ns);
  // Stores a silence as it is (loading persisted state): validated, no time checks.
  Status restore(Silence s);
  // Ends the silence now: an active one ends at now_ns, a pending one starts and ends at now_ns.
  // kNotFound for an unknown id, kInvalidArgument for one already expired.
  Status expire(std::string_view id, int64_t now_ns);
  // Drops silences that expired before now_ns - retention_ns. Returns how many.
  size_t gc(int64_t now_ns, int64_t retention_ns);

  const Silence* get(std::string_view id) const;
  const std::vector<Silence>& list() const { return silences_; }  // in insertion order
  size_t size() const { return silences_.size(); }

  // The first silence active at now_ns whose matchers all match, or nullptr.
  const Silence* active_match(const Labels& labels, int64_t now_ns) const;
  // Appends the indices into list() of the silences whose matchers all match, whatever their
  // state, in list() order. Silences with an equality matcher are looked up by that label's
  // value; only the others are tried one by one.
  void matching(const Labels& labels, std::vector<uint32_t>& out) const;

  // Bumped by every change; caches of matching results key on it.
  uint64_t generation() const { return generation_; }
  // Label names the silences' matchers use, sorted (what matching depends on).
  const std::vector<std::string>& matched_label_names() const { return names_; }

  // JSON array of silence_to_json() objects, and back (restore() semantics).
  std::string to_json() const;
  static Result<SilenceSet> from_json(std::string_view json);

 private:
  void changed();
  Status insert(Silence s);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ValueIndex =
      std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>>;

  std::vector<Silence> silences_;
  std::unordered_map<std::string, size_t> by_id_;
  std::vector<std::string> names_;
  // Silences keyed by one of their `name="value"` matchers, per label name.
  std::vector<std::pair<std::string, ValueIndex>> by_label_;
  std::vector<uint32_t> scan_;  // silences without an equality matcher
  uint64_t generation_ = 0;
};

}  // namespace klaxon::notify
