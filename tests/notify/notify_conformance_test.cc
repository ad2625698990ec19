// Conformance of klaxon's Dispatcher (pipeline/notify/) against Alertmanager's acceptance
// tests (vectors/alertmanager-grouping-tests/grouping.jsonl: config YAML, timed pushes,
// reloads and silences, expected notification windows). Schema and semantics:
// vectors/README.md in the corpus, section "alertmanager-grouping-tests".
//
// The corpus is $KLAXON_CORPUS_DIR, else $KLAXON_CORPUS, else the build's default
// (tests/support/test_support.h). Each vector runs on a simulated clock (seconds from the
// start of the test; the dispatcher is advanced at least every 10 ms and exactly at every
// event, timer and delivery attempt) and prints PASS or FAIL with the reasons.
//
// What the harness models around the Dispatcher (Alertmanager's parts that are not routing):
//   API + alert store  a push stamps a missing start (or one <= 0) with the receipt time (the
//                      end time when only that is given), a missing end with receipt +
//                      global.resolve_timeout (default 5m); a push overlapping the stored alert
//                      is merged as types.Alert.Merge does (earliest start; annotations from
//                      the latest push; the latest explicit resolve wins). The item id is the
//                      label set's fingerprint; the version is bumped when annotations change.
//   receivers          each webhook_configs entry of an Alertmanager receiver becomes a klaxon
//                      receiver named as in the vector's "receivers" list (send_resolved from
//                      there or from the webhook config); a receiver with several becomes a
//                      fan-out of child routes (continue: true), which keeps one group per
//                      integration as Alertmanager does.
//   webhook delivery   Alertmanager's RetryStage: an attempt that fails (a receiver rejecting
//                      requests before `rejects_requests_before_s`, or answering after its
//                      webhook timeout before `slow_before_s`) is retried with exponential
//                      backoff (0.5 s, x1.5, no jitter) until it succeeds or the flush's
//                      context ends (max(group_interval, 10 s)); then delivery_failed() tells
//                      the dispatcher. A newer flush of the same group supersedes a pending
//                      retry, as a blocked Alertmanager group would send its next flush.
//   --dispatch.start-delay   DispatcherOptions::dispatch_start_ns, the process starting at 0.
//
// Checked as the Alertmanager harness (Collector.check) does: every expected notification is
// met by a batch received by that receiver inside [t1, t2] with exactly the listed alerts
// (labels and annotations equal, start and end within the tolerance, null end = firing); an
// empty list means no batch in that window; each receiver's total number of alerts received
// equals the expected total (no extra notifications). A vector fails on any mismatch; the one
// documented divergence (kDivergences) is checked to still occur.
#include "pipeline/notify/dispatch.h"
#include "pipeline/notify/route.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::notify {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBase = 1'000 * kSec;  // test time 0 on the simulated clock (keeps ns > 0)
constexpr int64_t kStep = 10'000'000;    // 10 ms

int64_t at(double t) { return kBase + std::llround(t * 1e9); }
double secs(int64_t ns) { return static_cast<double>(ns - kBase) / 1e9; }

// A place where klaxon's result differs from the vector on purpose, narrowed to one field of
// one alert; the rest of the vector is checked as usual.
struct Divergence {
  std::string_view vector;  // suffix of the vector id
  std::string_view alertname;
  std::string_view field;  // "starts_at"
  std::string_view reason;
};
constexpr Divergence kDivergences[] = {
    {"TestColdStart", "test2", "starts_at",
     "the vector expects test2 to start at 4 s, but it is pushed at 2 s without a start, and "
     "the README's (and Alertmanager's API) rule stamps a missing start with the receipt "
     "time: 2 s. Nothing in the dispatcher can move an item's start; klaxon reports 2 s."},
};

// ---------------------------------------------------------------------------------------------
// The vector

using StrMap = std::map<std::string, std::string>;

struct AlertSpec {
  StrMap labels;
  StrMap annotations;
  std::optional<double> starts;  // absent or null
  std::optional<double> ends;    // absent or null
};

struct SilenceSpec {
  double starts = 0, ends = 0;
  std::vector<std::tuple<std::string, std::string, bool>> matchers;  // name, value, regex
};

struct Event {
  double time = 0;
  std::string action;  // push | reload | set_silence | delete_silence
  std::vector<AlertSpec> alerts;
  SilenceSpec silence;
  std::string silence_ref;
};

struct ReceiverSpec {
  std::string name;
  std::optional<bool> send_resolved;
  double rejects_before = -1;  // rejects_requests_before_s
  double slow_before = -1;     // slow_before_s
  double slow_delay = 0;       // slow_delay_s
  double timeout = 0;          // webhook_timeout
};

struct Expectation {
  std::string receiver;
  double t1 = 0, t2 = 0;
  std::vector<AlertSpec> alerts;
};

struct Vector {
  std::string id;
  std::string name;  // the Go test's name
  std::string rules;
  std::vector<ReceiverSpec> receivers;
  double tolerance = 0.15;
  double start_delay = 0;
  std::vector<Event> events;
  std::vector<Expectation> expect;
};

std::optional<double> number(element e) {
  double d;
  int64_t i;
  if (e.get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  if (e.get(d) == simdjson::SUCCESS) return d;
  return std::nullopt;
}

StrMap str_map(element e) {
  StrMap out;
  object o;
  if (e.get(o)) return out;
  for (auto [k, v] : o) {
    std::string_view s;
    if (!v.get(s)) out.emplace(std::string(k), std::string(s));
  }
  return out;
}

std::vector<AlertSpec> alerts_of(element e) {
  std::vector<AlertSpec> out;
  array arr;
  if (e.get(arr)) return out;
  for (element a : arr) {
    AlertSpec s;
    s.labels = str_map(a["labels"].value_unsafe());
    element ann;
    if (!a["annotations"].get(ann)) s.annotations = str_map(ann);
    element t;
    if (!a["starts_at"].get(t)) s.starts = number(t);
    if (!a["ends_at"].get(t)) s.ends = number(t);
    out.push_back(std::move(s));
  }
  return out;
}

bool parse_vector(const std::string& line, Vector* v, std::string* why) {
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(line).get(doc)) {
    *why = "not JSON";
    return false;
  }
  std::string_view sv;
  if (doc["id"].get(sv) || doc["rules"].get(sv)) {
    *why = "no id or rules";
    return false;
  }
  v->id = std::string(doc["id"].get_string().value_unsafe());
  v->name = v->id.substr(v->id.rfind(':') + 1);
  v->rules = std::string(sv);
  array recv;
  if (!doc["receivers"].get(recv)) {
    for (element r : recv) {
      ReceiverSpec rs;
      rs.name = std::string(r["name"].get_string().value_unsafe());
      bool b;
      if (!r["send_resolved"].get(b)) rs.send_resolved = b;
      element n;
      if (!r["rejects_requests_before_s"].get(n)) rs.rejects_before = number(n).value_or(-1);
      if (!r["slow_before_s"].get(n)) rs.slow_before = number(n).value_or(-1);
      if (!r["slow_delay_s"].get(n)) rs.slow_delay = number(n).value_or(0);
      std::string_view to;
      if (!r["webhook_timeout"].get(to)) {
        auto d = parse_duration(to);
        if (!d) {
          *why = "bad webhook_timeout";
          return false;
        }
        rs.timeout = static_cast<double>(*d) / 1e9;
      }
      v->receivers.push_back(std::move(rs));
    }
  }
  object opts;
  if (!doc["options"].get(opts)) {
    element n;
    if (!opts["tolerance_s"].get(n)) v->tolerance = number(n).value_or(0.15);
    array args;
    if (!opts["extra_args"].get(args)) {
      std::vector<std::string> a;
      for (element x : args) a.emplace_back(x.get_string().value_unsafe());
      for (size_t i = 0; i + 1 < a.size(); ++i) {
        if (a[i] == "--dispatch.start-delay") {
          auto d = parse_duration(a[i + 1]);
          if (!d) {
            *why = "bad start delay";
            return false;
          }
          v->start_delay = static_cast<double>(*d) / 1e9;
        } else {
          *why = "unknown extra argument " + a[i];
          return false;
        }
      }
    }
  }
  array events;
  if (!doc["events"].get(events)) {
    for (element e : events) {
      Event ev;
      ev.time = number(e["time"].value_unsafe()).value_or(0);
      ev.action = std::string(e["action"].get_string().value_unsafe());
      element x;
      if (!e["alerts"].get(x)) ev.alerts = alerts_of(x);
      object sil;
      if (!e["silence"].get(sil)) {
        ev.silence.starts = number(sil["starts_at"].value_unsafe()).value_or(0);
        ev.silence.ends = number(sil["ends_at"].value_unsafe()).value_or(0);
        array ms;
        if (!sil["matchers"].get(ms)) {
          for (element m : ms) {
            bool re = false;
            if (m["regex"].get(re) != simdjson::SUCCESS) re = false;
            ev.silence.matchers.emplace_back(std::string(m["name"].get_string().value_unsafe()),
                                             std::string(m["value"].get_string().value_unsafe()),
                                             re);
          }
        }
      }
      if (!e["silence_ref"].get(sv)) ev.silence_ref = std::string(sv);
      v->events.push_back(std::move(ev));
    }
  }
  array exp;
  if (doc["expect"]["notifications"].get(exp)) {
    *why = "no expect.notifications";
    return false;
  }
  for (element n : exp) {
    Expectation x;
    x.receiver = std::string(n["receiver"].get_string().value_unsafe());
    array between;
    if (n["between"].get(between) || between.size() != 2) {
      *why = "bad between";
      return false;
    }
    x.t1 = number(between.at(0).value_unsafe()).value_or(0);
    x.t2 = number(between.at(1).value_unsafe()).value_or(0);
    x.alerts = alerts_of(n["alerts"].value_unsafe());
    v->expect.push_back(std::move(x));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The configuration: Alertmanager's YAML -> klaxon's notify section

struct Config {
  std::shared_ptr<const NotifyRouting> routing;
  double resolve_timeout = 300;
  double group_interval = 300;
};

bool build_config(const Vector& v, Config* out, std::string* why) {
  YAML::Node am;
  try {
    am = YAML::Load(v.rules);
  } catch (const YAML::Exception& e) {
    *why = std::string("rules YAML: ") + e.what();
    return false;
  }
  if (am["global"] && am["global"]["resolve_timeout"]) {
    auto d = parse_duration(am["global"]["resolve_timeout"].as<std::string>());
    if (!d) {
      *why = "bad resolve_timeout";
      return false;
    }
    out->resolve_timeout = static_cast<double>(*d) / 1e9;
  }
  // Each webhook_configs entry, in order, is one receiver of the vector.
  std::map<std::string, std::vector<std::string>> fan_out;
  YAML::Node receivers(YAML::NodeType::Sequence);
  size_t next = 0;
  for (const auto& r : am["receivers"]) {
    const std::string name = r["name"].as<std::string>();
    for (const auto& w : r["webhook_configs"]) {
      if (next >= v.receivers.size()) {
        *why = "more webhook configs than receivers in the vector";
        return false;
      }
      const ReceiverSpec& rs = v.receivers[next++];
      YAML::Node kr;
      kr["name"] = rs.name;
      bool sr = true;
      if (w["send_resolved"]) sr = w["send_resolved"].as<bool>();
      if (rs.send_resolved) sr = *rs.send_resolved;
      kr["send_resolved"] = sr;
      receivers.push_back(kr);
      fan_out[name].push_back(rs.name);
    }
  }
  YAML::Node route = YAML::Clone(am["route"]);
  const auto& targets = fan_out[route["receiver"].as<std::string>()];
  if (targets.empty()) {
    *why = "the root receiver has no webhook";
    return false;
  }
  if (route["routes"]) {
    *why = "nested routes are not translated by this harness";
    return false;
  }
  route["receiver"] = targets[0];
  if (targets.size() > 1) {
    for (size_t i = 0; i < targets.size(); ++i) {
      YAML::Node child;
      child["receiver"] = targets[i];
      child["continue"] = i + 1 < targets.size();
      route["routes"].push_back(child);
    }
  }
  YAML::Node notify;
  notify["route"] = route;
  notify["receivers"] = receivers;
  if (am["inhibit_rules"]) notify["inhibit_rules"] = YAML::Clone(am["inhibit_rules"]);
  auto routing = parse_routing(notify);
  if (!routing) {
    *why = routing.error().to_string();
    return false;
  }
  out->routing = *routing;
  out->group_interval = static_cast<double>(out->routing->root().group_interval_ns) / 1e9;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The simulation

Labels to_labels(const StrMap& m) { return Labels(m.begin(), m.end()); }

std::string fingerprint(const StrMap& labels) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a, as Alertmanager's model.Fingerprint
  for (const auto& [k, v] : labels) {
    for (char c : k + '\xff' + v + '\xff') {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string encode_annotations(const StrMap& a) {
  std::string out;
  for (const auto& [k, v] : a) out += k + '\x1f' + v + '\x1e';
  return out;
}

StrMap decode_annotations(const std::string& s) {
  StrMap out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t sep = s.find('\x1f', pos);
    const size_t end = s.find('\x1e', sep);
    out.emplace(s.substr(pos, sep - pos), s.substr(sep + 1, end - sep - 1));
    pos = end + 1;
  }
  return out;
}

// Alertmanager's stored alert.
struct Stored {
  StrMap annotations;
  int64_t starts = 0, ends = 0;
  bool timeout = false;
  uint64_t version = 0;
};

struct Received {
  std::string receiver;
  double time = 0;
  std::vector<AlertSpec> alerts;
};

struct Pending {
  Flush flush;
  int64_t next_attempt = 0;
  int64_t deadline = 0;
  double backoff = 0.5;
};

class Simulation {
 public:
  Simulation(const Vector& v, const Config& c) : v_(v), c_(c), d_(c.routing, options(v)) {
    for (const auto& r : v.receivers) specs_[r.name] = &r;
  }

  std::vector<Received> run(double end) {
    size_t next_event = 0;
    int64_t now = at(0);
    const int64_t stop = at(end);
    while (now <= stop) {
      while (next_event < v_.events.size() && at(v_.events[next_event].time) <= now) {
        apply(v_.events[next_event++], now);
      }
      std::vector<Flush> flushes;
      std::vector<Suppression> suppressed;
      d_.advance(now, flushes, suppressed);
      for (auto& f : flushes) {
        Pending p;
        p.next_attempt = now;
        p.deadline = now + std::llround(std::max(c_.group_interval, 10.0) * 1e9);
        p.flush = std::move(f);
        const std::string key = p.flush.receiver + "\n" + p.flush.group_key;
        pending_[key] = std::move(p);  // supersedes a pending retry
      }
      deliver(now);
      // Next instant: 10 ms on, or earlier for an event, a timer or a delivery attempt.
      int64_t t = now + kStep;
      if (next_event < v_.events.size()) t = std::min(t, at(v_.events[next_event].time));
      t = std::min(t, d_.next_due_ns());
      for (const auto& [k, p] : pending_) t = std::min(t, p.next_attempt);
      now = std::max(t, now + 1);
    }
    return received_;
  }

 private:
  static DispatcherOptions options(const Vector& v) {
    DispatcherOptions o;
    o.dispatch_start_ns = at(v.start_delay);
    return o;
  }

  void apply(const Event& e, int64_t now) {
    if (e.action == "push") {
      for (const auto& a : e.alerts) push(a, now);
    } else if (e.action == "reload") {
      std::string why;
      Config fresh;
      const bool ok = build_config(v_, &fresh, &why);
      EXPECT_TRUE(ok) << why;
      if (ok) d_.reload(fresh.routing, now);
    } else if (e.action == "set_silence") {
      Silence s;
      for (const auto& [name, value, re] : e.silence.matchers) {
        auto m = Matcher::make(name, re ? MatchOp::kRegex : MatchOp::kEqual, value);
        EXPECT_TRUE(m.has_value());
        if (m) s.matchers.push_back(*m);
      }
      s.starts_ns = at(e.silence.starts);
      s.ends_ns = at(e.silence.ends);
      s.created_by = "acceptance";
      auto id = d_.silences().add(s, now);
      EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().to_string());
      if (id) silence_ids_.emplace_back(e.time, *id);
    } else if (e.action == "delete_silence") {
      // "the silence set at 1.3": the silence added at that time.
      const double t = std::atof(e.silence_ref.substr(e.silence_ref.rfind(' ') + 1).c_str());
      bool found = false;
      for (const auto& [when, id] : silence_ids_) {
        if (std::fabs(when - t) < 1e-9) {
          EXPECT_TRUE(d_.silences().expire(id, now).has_value());
          found = true;
        }
      }
      EXPECT_TRUE(found) << "no silence for " << e.silence_ref;
    } else {
      ADD_FAILURE() << v_.name << ": unknown action " << e.action;
    }
  }

  // Alertmanager's API (postAlerts) and alert store (mem provider Put + types.Alert.Merge).
  void push(const AlertSpec& a, int64_t now) {
    Stored n;
    n.annotations = a.annotations;
    n.starts = a.starts && *a.starts > 0 ? at(*a.starts) : 0;
    n.ends = a.ends && *a.ends > 0 ? at(*a.ends) : 0;
    if (n.starts == 0) n.starts = n.ends != 0 ? n.ends : now;
    if (n.ends == 0) {
      n.timeout = true;
      n.ends = now + std::llround(c_.resolve_timeout * 1e9);
    }
    const std::string fp = fingerprint(a.labels);
    auto it = store_.find(fp);
    if (it != store_.end()) {
      const Stored& o = it->second;
      n.version = o.version + (o.annotations != n.annotations ? 1 : 0);
      const bool overlap =
          (n.ends > o.starts && n.ends < o.ends) || (n.starts > o.starts && n.starts < o.ends);
      if (overlap) {
        if (o.starts < n.starts) n.starts = o.starts;
        if (n.ends <= now) {
          if (o.ends <= now && o.ends > n.ends) n.ends = o.ends;
        } else if (o.ends > n.ends && !o.timeout) {
          n.ends = o.ends;
        }
      }
    }
    store_[fp] = n;
    Item item;
    item.id = fp;
    item.labels = to_labels(a.labels);
    item.starts_ns = n.starts;
    item.ends_ns = n.ends;
    item.version = n.version;
    item.detail = encode_annotations(n.annotations);
    d_.upsert(item, now);
  }

  // Attempts due at now; failures are retried with backoff until the flush's deadline.
  void deliver(int64_t now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (p.next_attempt > now) {
        ++it;
        continue;
      }
      const ReceiverSpec* spec = specs_[p.flush.receiver];
      const double t = secs(now);
      double busy = 0;  // how long the failed attempt took
      bool ok = true;
      if (spec->rejects_before >= 0 && t < spec->rejects_before) ok = false;
      if (spec->slow_before >= 0 && t < spec->slow_before && spec->slow_delay > spec->timeout) {
        ok = false;
        busy = spec->timeout;
      }
      if (ok) {
        record(p.flush, t);
        it = pending_.erase(it);
        continue;
      }
      const int64_t next =
          std::max(now + std::llround(p.backoff * 1e9), now + std::llround(busy * 1e9));
      p.backoff *= 1.5;
      if (next > p.deadline) {
        d_.delivery_failed(p.flush, now);
        it = pending_.erase(it);
        continue;
      }
      p.next_attempt = next;
      ++it;
    }
  }

  void record(const Flush& f, double t) {
    Received r;
    r.receiver = f.receiver;
    r.time = t;
    for (const auto* list : {&f.firing, &f.resolved}) {
      for (const Item& i : *list) {
        AlertSpec a;
        a.labels = StrMap(i.labels.begin(), i.labels.end());
        a.annotations = decode_annotations(i.detail);
        a.starts = secs(i.starts_ns);
        if (list == &f.resolved) a.ends = secs(i.ends_ns);
        r.alerts.push_back(std::move(a));
      }
    }
    received_.push_back(std::move(r));
  }

  const Vector& v_;
  const Config& c_;
  Dispatcher d_;
  std::map<std::string, const ReceiverSpec*> specs_;
  std::map<std::string, Stored> store_;
  std::map<std::string, Pending> pending_;
  std::vector<std::pair<double, std::string>> silence_ids_;
  std::vector<Received> received_;
};

// ---------------------------------------------------------------------------------------------
// Checking

std::string show(const AlertSpec& a) {
  std::ostringstream o;
  o << "{";
  for (const auto& [k, v] : a.labels) o << k << "=" << v << " ";
  for (const auto& [k, v] : a.annotations) o << "@" << k << "=" << v << " ";
  o << "start=" << (a.starts ? std::to_string(*a.starts) : "-")
    << " end=" << (a.ends ? std::to_string(*a.ends) : "firing") << "}";
  return o.str();
}

std::string show(const std::vector<AlertSpec>& as) {
  std::string out;
  for (const auto& a : as) out += show(a) + " ";
  return out;
}

struct CheckState {
  const Vector* v;
  std::vector<std::string> divergences_seen;
};

const Divergence* divergence_for(const Vector& v, const AlertSpec& want, std::string_view field) {
  for (const auto& d : kDivergences) {
    auto it = want.labels.find("alertname");
    if (v.name == d.vector && d.field == field && it != want.labels.end() &&
        it->second == d.alertname) {
      return &d;
    }
  }
  return nullptr;
}

bool same_alert(const AlertSpec& want, const AlertSpec& got, CheckState& cs) {
  const double tol = cs.v->tolerance;
  if (want.labels != got.labels || want.annotations != got.annotations) return false;
  if (want.starts && (!got.starts || std::fabs(*want.starts - *got.starts) > tol)) {
    const Divergence* d = divergence_for(*cs.v, want, "starts_at");
    if (d == nullptr) return false;
    cs.divergences_seen.emplace_back(std::string(d->alertname) + " " + std::string(d->field));
  }
  if (want.ends.has_value() != got.ends.has_value()) return false;
  if (want.ends && std::fabs(*want.ends - *got.ends) > tol) return false;
  return true;
}

bool same_batch(const std::vector<AlertSpec>& want, const std::vector<AlertSpec>& got,
                CheckState& cs) {
  if (want.size() != got.size()) return false;
  std::vector<bool> used(got.size(), false);
  for (const auto& w : want) {
    bool found = false;
    for (size_t i = 0; i < got.size() && !found; ++i) {
      if (used[i]) continue;
      CheckState probe = cs;
      if (same_alert(w, got[i], probe)) {
        used[i] = true;
        found = true;
        cs = probe;
      }
    }
    if (!found) return false;
  }
  return true;
}

// Empty when the vector passes; else the reasons.
std::vector<std::string> check(const Vector& v, const std::vector<Received>& got,
                               std::vector<std::string>* divergences) {
  std::vector<std::string> errors;
  CheckState cs{&v, {}};
  std::map<std::string, size_t> want_total, got_total;
  for (const auto& r : v.receivers) want_total[r.name] = 0;
  for (const auto& e : v.expect) {
    want_total[e.receiver] += e.alerts.size();
    std::vector<const Received*> in_window;
    for (const auto& r : got) {
      if (r.receiver == e.receiver && r.time >= e.t1 - 1e-9 && r.time <= e.t2 + 1e-9) {
        in_window.push_back(&r);
      }
    }
    std::ostringstream where;
    where << e.receiver << " in [" << e.t1 << ", " << e.t2 << "]";
    if (e.alerts.empty()) {
      for (const auto* r : in_window) {
        errors.push_back("unexpected notification to " + where.str() + " at " +
                         std::to_string(r->time) + ": " + show(r->alerts));
      }
      continue;
    }
    bool met = false;
    for (const auto* r : in_window) {
      if (same_batch(e.alerts, r->alerts, cs)) {
        met = true;
        break;
      }
    }
    if (!met) {
      std::string seen;
      for (const auto* r : in_window)
        seen += "\n    at " + std::to_string(r->time) + ": " + show(r->alerts);
      errors.push_back("no notification to " + where.str() + " with " + show(e.alerts) +
                       (seen.empty() ? std::string("; none in the window") : "; got:" + seen));
    }
  }
  for (const auto& r : got) got_total[r.receiver] += r.alerts.size();
  for (const auto& [name, n] : want_total) {
    if (got_total[name] != n) {
      errors.push_back(name + " received " + std::to_string(got_total[name]) +
                       " alerts in total, expected " + std::to_string(n));
    }
  }
  for (const auto& [name, n] : got_total) {
    if (want_total.count(name) == 0) errors.push_back("notifications to unknown receiver " + name);
  }
  *divergences = cs.divergences_seen;
  return errors;
}

// Every notification, for a failing vector's report.
std::string timeline(const std::vector<Received>& got) {
  std::string out;
  for (const auto& r : got) {
    out += "    " + r.receiver + " at " + std::to_string(r.time) + ": " + show(r.alerts) + "\n";
  }
  return out;
}

std::string corpus_dir() {
  if (const char* e = std::getenv("KLAXON_CORPUS_DIR"); e != nullptr && *e != '\0') return e;
  return test::corpus_dir();
}

TEST(NotifyConformance, AlertmanagerAcceptance) {
  const std::string path = corpus_dir() + "/vectors/alertmanager-grouping-tests/grouping.jsonl";
  const auto lines = test::read_lines(path);
  ASSERT_FALSE(lines.empty()) << "no vectors in " << path;
  int passed = 0;
  int failed = 0;
  for (const auto& line : lines) {
    if (line.empty()) continue;
    Vector v;
    std::string why;
    if (!parse_vector(line, &v, &why)) {
      ADD_FAILURE() << "unreadable vector: " << why << ": " << line.substr(0, 120);
      ++failed;
      continue;
    }
    Config config;
    if (!build_config(v, &config, &why)) {
      ADD_FAILURE() << v.name << ": config: " << why;
      std::printf("FAIL %-28s config: %s\n", v.name.c_str(), why.c_str());
      ++failed;
      continue;
    }
    double end = 0;
    for (const auto& e : v.expect) end = std::max(end, e.t2);
    if (v.expect.empty()) {
      for (const auto& e : v.events) end = std::max(end, e.time);
      end += 10;  // nothing may arrive in the 10 s after the last event
    }
    Simulation sim(v, config);
    const auto got = sim.run(end);
    std::vector<std::string> divergences;
    const auto errors = check(v, got, &divergences);
    for (const auto& d : kDivergences) {
      if (v.name != d.vector) continue;
      if (divergences.empty()) {
        ADD_FAILURE() << v.name << ": the documented divergence (" << d.reason
                      << ") no longer occurs: remove it from kDivergences";
      }
    }
    if (errors.empty()) {
      ++passed;
      std::printf("PASS %-28s %zu notifications%s\n", v.name.c_str(), got.size(),
                  divergences.empty() ? "" : " (1 documented divergence: see kDivergences)");
    } else {
      ++failed;
      std::string text;
      for (const auto& e : errors) text += "\n  " + e;
      ADD_FAILURE() << v.name << ":" << text << "\n  received:\n" << timeline(got);
      std::printf("FAIL %-28s%s\n", v.name.c_str(), text.c_str());
    }
  }
  std::printf("alertmanager-grouping-tests: %d passed, %d failed\n", passed, failed);
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace klaxon::notify
