// The routing configuration: Alertmanager's routing tree, the receivers' names and the
// inhibit rules, parsed from the `notify:` section of klaxon.yaml.
//
//   notify:
//     route:                      # the root: a receiver, no matchers
//       receiver: soc
//       group_by: [category, rule]        # ['...'] groups by every label; [] (default): one group
//       group_wait: 30s                   # defaults 30s / 5m / 4h, inherited by children
//       group_interval: 5m
//       repeat_interval: 4h
//       routes:
//         - matchers: ['severity="critical"', 'host=~"db-.*"']   # or match: / match_re: maps
//           receiver: dba-pager
//           continue: true                # keep looking at the next siblings
//     receivers:
//       - name: soc                       # only name and send_resolved (default true) are read
//         send_resolved: false            # here; *_configs belong to pipeline/sinks/
//     inhibit_rules:
//       - source_matchers: ['severity="critical"']   # or source_match / source_match_re
//         target_matchers: ['severity=~"medium|low"']  # or target_match / target_match_re
//         equal: [host]
//
// A NotifyRouting is immutable once parsed and shared through shared_ptr<const>: any thread
// may read it and call match(). A reload parses a new one and hands it to the Dispatcher.
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/notify/inhibit.h"
#include "pipeline/notify/matcher.h"
#include "pipeline/notify/notification.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace klaxon::notify {

// Durations as Prometheus writes them: a sequence of <digits><unit> with units in decreasing
// order, each at most once: y (365d), w, d, h, m, s, ms; or "0". E.g. 30s, 5m, 1h30m, 4900ms.
Result<int64_t> parse_duration(std::string_view text);
std::string format_duration(int64_t ns);  // "1h30m", "4900ms", "0s"

inline constexpr int64_t kDefaultGroupWaitNs = 30LL * 1'000'000'000;
inline constexpr int64_t kDefaultGroupIntervalNs = 5LL * 60 * 1'000'000'000;
inline constexpr int64_t kDefaultRepeatIntervalNs = 4LL * 3600 * 1'000'000'000;

struct Receiver {
  std::string name;
  bool send_resolved = true;
};

struct Route {
  uint32_t index = 0;  // position in NotifyRouting::routes(), depth-first pre-order; 0: root
  int32_t parent = -1;
  std::vector<uint32_t> children;     // in config order
  Matchers matchers;                  // sorted; empty on the root
  uint32_t receiver = 0;              // index into NotifyRouting::receivers()
  std::vector<std::string> group_by;  // sorted, unique
  bool group_by_all = false;          // group_by: ['...']
  int64_t group_wait_ns = kDefaultGroupWaitNs;
  int64_t group_interval_ns = kDefaultGroupIntervalNs;
  int64_t repeat_interval_ns = kDefaultRepeatIntervalNs;
  bool continue_matching = false;  // `continue`
  // Alertmanager's route key, `{}/{severity="critical"}`, made unique among siblings (`/<i>`
  // appended to the later of two routes that would share one). Stable across reloads of the
  // same tree: aggregation group keys and the notification log are keyed by it.
  std::string key;
};

class NotifyRouting {
 public:
  const std::vector<Route>& routes() const { return routes_; }
  const Route& root() const { return routes_.front(); }
  const std::vector<Receiver>& receivers() const { return receivers_; }
  const Receiver& receiver_of(const Route& r) const { return receivers_[r.receiver]; }
  int find_receiver(std::string_view name) const;  // -1 when there is none
  const std::vector<InhibitRule>& inhibit_rules() const { return inhibit_rules_; }

  // The routes an item with these labels goes to (indices into routes()), as Alertmanager
  // walks the tree: depth first; a matching child ends the search among its siblings unless
  // it has `continue`; a route none of whose children match is itself the match. Never empty:
  // the root matches everything.
  void match(const Labels& labels, std::vector<uint32_t>& out) const;
  std::vector<uint32_t> match(const Labels& labels) const;

  // Label names used by route matchers and by inhibit rule source/target matchers, sorted:
  // route and rule matching depends on these labels only (the dispatcher caches on them).
  const std::vector<std::string>& matched_label_names() const { return matched_names_; }

 private:
  friend Result<std::shared_ptr<const NotifyRouting>> parse_routing(const YAML::Node& notify);
  void match_from(uint32_t route, const Labels& labels, std::vector<uint32_t>& out) const;

  std::vector<Route> routes_;
  std::vector<Receiver> receivers_;
  std::vector<InhibitRule> inhibit_rules_;
  std::vector<std::string> matched_names_;
};

// Parses the `notify:` node (a map with route, receivers, inhibit_rules; other keys belong to
// other components and are ignored). Errors name the key path, e.g.
// `notify.route.routes[1].matchers[0]: bad matcher "sev=~\"(\"": ...`, and what was expected.
// Checks as Alertmanager does: the root has a receiver and no matchers (nor `continue`),
// every receiver named by a route exists, receiver names are unique, group_interval and
// repeat_interval are not zero, `...` is alone in group_by, unknown route keys are errors.
Result<std::shared_ptr<const NotifyRouting>> parse_routing(const YAML::Node& notify);
// The same from YAML text (the whole text is the `notify:` map).
Result<std::shared_ptr<const NotifyRouting>> parse_routing_yaml(std::string_view text);

}  // namespace klaxon::notify
