// Dispatcher: who is told what, and when. Alertmanager's dispatcher, aggregation groups,
// mute stages (inhibition, silences) and notification-log deduplication, in one class with an
// injected clock: every call takes now_ns (UTC ns) and nothing happens between calls.
//
//   upsert(item, now)  routes the item through the tree and puts it into one aggregation group
//                      per matching route (route x values of the route's group_by labels).
//                      A new group is due after group_wait (at once if the item started more
//                      than group_wait ago and the group has not flushed yet).
//   advance(now, ...)  flushes every group whose timer is due, then re-arms it group_interval
//                      later. A flush drops muted items (inhibited first, then silenced), and
//                      asks the notification log whether the receiver must hear of it:
//                      - never told about this group: only when something fires;
//                      - a firing item (or a new version of one) it was not told of: yes;
//                      - nothing fires any more but it was told of firing items: yes;
//                      - newly resolved items and the receiver has send_resolved: yes;
//                      - otherwise only once repeat_interval has passed (Flush::repeat).
//                      Resolved items are then removed from the group (sent or not), and a
//                      group left empty goes away.
//   next_due_ns()      when advance() next has work: the caller's sleep deadline.
//
// Ownership and threads: the Dispatcher owns its items, groups, notification log, silences
// and inhibition index; it is not thread-safe. One thread (the notifier's) owns it and applies
// everything to it, API silence requests included. It holds the routing through
// shared_ptr<const>, so the config may be shared with readers on other threads. No I/O.
#pragma once

#include "pipeline/notify/notification.h"
#include "pipeline/notify/route.h"
#include "pipeline/notify/silence.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::notify {

// One thing that can be notified: an incident (klaxon) or an alert (Alertmanager).
struct Item {
  std::string id;  // unique; the same id upserted again replaces the item
  Labels labels;   // sorted by name (upsert sorts them if they are not)
  int64_t starts_ns = 0;
  // 0: firing. Otherwise the item fires until ends_ns and is resolved from then on (an end in
  // the future is Alertmanager's EndsAt of a firing alert).
  int64_t ends_ns = 0;
  // Bumped by the caller when what a receiver would be shown changes (severity rose, new
  // alerts joined): a new version of a firing item is news to a receiver that was told of the
  // previous one. (Alertmanager compares label sets only; see README.)
  uint64_t version = 0;
  std::string detail;  // opaque to the dispatcher, carried through to flushes
};

// One notification decision: tell `receiver` about this group.
struct Flush {
  std::string receiver;
  std::string group_key;  // "<route key>:{<group labels>}", stable across restarts and reloads
  Labels group_labels;
  std::vector<Item> firing;    // ends_ns shown as 0, as Alertmanager does for firing alerts
  std::vector<Item> resolved;  // empty when the receiver has send_resolved: false
  bool repeat = false;         // nothing changed: repeat_interval passed since the last send
  int64_t at_ns = 0;
};

// An item left out of a flush. Reported once per change of (item, receiver) -> (reason, by),
// not on every flush.
struct Suppression {
  std::string receiver;
  std::string item_id;
  std::string reason;  // "silenced" | "inhibited"
  std::string by;      // silence id, or the id of the inhibiting item
};

struct DispatcherOptions {
  // Nothing is flushed before this time (Alertmanager's --dispatch.start-delay, counted from
  // process start): after a restart, sources get the time to re-send what still fires.
  int64_t dispatch_start_ns = 0;
  // Notification-log entries of groups that are gone are kept this long (Alertmanager's
  // --data.retention), so that an item coming back within it is not news.
  int64_t nflog_retention_ns = 120LL * 3600 * 1'000'000'000;
  // Expired silences are dropped this long after they ended.
  int64_t silence_retention_ns = 120LL * 3600 * 1'000'000'000;
  // Upper bound on each per-label-set cache (route matches, silence candidates); a full
  // cache is cleared, not grown.
  size_t cache_limit = 1 << 18;
};

struct DispatcherStats {
  uint64_t items = 0;
  uint64_t groups = 0;
  uint64_t flushes_total = 0;       // Flush values emitted
  uint64_t group_runs_total = 0;    // group timers that fired
  uint64_t deduplicated_total = 0;  // group runs where the receiver had nothing new
  uint64_t suppressions_total = 0;  // Suppression values emitted
  uint64_t nflog_entries = 0;
};

class Dispatcher {
 public:
  explicit Dispatcher(std::shared_ptr<const NotifyRouting> routing, DispatcherOptions options = {});
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void upsert(const Item& item, int64_t now_ns);
  void upsert(Item&& item, int64_t now_ns);  // the same, without copying the item
  // Forgets an item for good (no resolved notice is sent). False when the id is unknown.
  bool remove(std::string_view id);
  bool contains(std::string_view id) const;

  // Runs every group timer due at now_ns; appends to `out` and `suppressed`.
  void advance(int64_t now_ns, std::vector<Flush>& out, std::vector<Suppression>& suppressed);
  // The earliest due group timer (never before dispatch_start_ns); INT64_MAX when idle.
  int64_t next_due_ns() const;

  // A new configuration, as Alertmanager's reload: every aggregation group is rebuilt from the
  // current items and re-armed as new (group_wait, or at once for items older than that); the
  // notification log is kept, so what receivers were already told is not sent again.
  void reload(std::shared_ptr<const NotifyRouting> routing, int64_t now_ns);

  // The receiver did not get `flush` (its sink gave up). The notification log forgets that
  // send, so the group's next run sends again; resolved items of the flush come back into
  // the group unless they were upserted since.
  void delivery_failed(const Flush& flush, int64_t now_ns);

  SilenceSet& silences() { return silences_; }
  const SilenceSet& silences() const { return silences_; }
  const NotifyRouting& routing() const { return *routing_; }
  DispatcherStats stats() const;

 private:
  friend class DispatchOps;
  struct State;
  std::shared_ptr<const NotifyRouting> routing_;
  DispatcherOptions options_;
  SilenceSet silences_;
  std::unique_ptr<State> s_;
};

}  // namespace klaxon::notify
