#include "daemon/notifier.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/log.h"
#include "pipeline/notify/matcher.h"
#include "pipeline/notify/route.h"
#include "pipeline/notify/silence.h"
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/request.h"

#include <openssl/sha.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace klaxon {

namespace {

constexpr int64_t kSecond = 1'000'000'000;
// Deadlines are sums of times and durations: durations are capped so that they cannot overflow.
constexpr int64_t kMaxDurationNs = 10LL * 365 * 24 * 3600 * kSecond;

std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xFF);
  return out;
}
uint64_t from_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::string short_hash(std::string_view text) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  std::string out;
  append_hex(out, d, 16);
  return out;
}

std::string rfc3339(int64_t ns) {
  if (ns <= 0) return "";
  const time_t s = static_cast<time_t>(ns / kSecond);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
    return out;
  }
  if (!n.IsSequence())
    return make_error(ErrorCode::kInvalidArgument, where + ": expected a list of names");
  for (const auto& v : n) out.push_back(v.as<std::string>());
  return out;
}

Result<int64_t> duration_at(const YAML::Node& n, const std::string& where) {
  auto d = notify::parse_duration(n.as<std::string>());
  if (!d) return make_error(ErrorCode::kInvalidArgument, where + ": " + d.error().message);
  if (*d > kMaxDurationNs) return make_error(ErrorCode::kInvalidArgument, where + ": at most 10y");
  return *d;
}

}  // namespace

// ---- configuration ----

Result<NotifierConfig> parse_notifier_config(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, "notify: invalid YAML: " + e.msg);
  }
  auto err = [](const std::string& where, const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument, "notify." + where + ": " + what);
  };
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k != "route" && k != "receivers" && k != "inhibit_rules" && k != "policies" &&
        k != "external_url")
      return err(k, "unknown key (route, receivers, inhibit_rules, policies, external_url)");
  }
  NotifierConfig cfg;
  try {
    auto routing = notify::parse_routing(root);
    if (!routing) return routing.error();
    cfg.routing = *routing;
    if (root["external_url"]) cfg.external_url = root["external_url"].as<std::string>();
    while (!cfg.external_url.empty() && cfg.external_url.back() == '/') cfg.external_url.pop_back();
    std::set<std::string> names;
    if (const auto receivers = root["receivers"]) {
      for (const auto& r : receivers) {
        auto integrations = sinks::parse_integrations(r);
        if (!integrations) return integrations.error();
        const std::string name = r["name"].as<std::string>();
        for (auto& i : *integrations) {
          if (!names.insert(i.name).second)
            return err("receivers", "duplicate integration " + i.name);
          cfg.receiver_integrations[name].push_back(cfg.integrations.size());
          cfg.integrations.push_back(std::move(i));
        }
      }
    }
    auto known = [&](const std::string& receiver) {
      return cfg.routing->find_receiver(receiver) >= 0;
    };
    if (const auto policies = root["policies"]) {
      if (!policies.IsSequence()) return err("policies", "expected a list");
      for (size_t i = 0; i < policies.size(); ++i) {
        const auto p = policies[i];
        const std::string where = "policies[" + std::to_string(i) + "]";
        NotifyPolicy pol;
        for (const auto& kv : p) {
          const std::string k = kv.first.as<std::string>();
          if (k != "match" && k != "ack_deadline" && k != "escalation" && k != "report")
            return err(where + "." + k, "unknown key (match, ack_deadline, escalation, report)");
        }
        if (const auto m = p["match"]) {
          for (const auto& kv : m) {
            const std::string k = kv.first.as<std::string>();
            if (k != "severity" && k != "category")
              return err(where + ".match." + k, "expected severity or category");
          }
          auto sev = string_list(m["severity"], "notify." + where + ".match.severity");
          if (!sev) return sev.error();
          for (const auto& s : *sev) {
            if (s != "critical" && s != "high" && s != "medium" && s != "low" && s != "info")
              return err(where + ".match.severity",
                         "expected critical, high, medium, low or info, got \"" + s + "\"");
          }
          pol.severities = *sev;
          auto cat = string_list(m["category"], "notify." + where + ".match.category");
          if (!cat) return cat.error();
          pol.categories = *cat;
        }
        if (p["ack_deadline"]) {
          auto d = duration_at(p["ack_deadline"], "notify." + where + ".ack_deadline");
          if (!d) return d.error();
          pol.ack_deadline_ns = *d;
        }
        if (const auto esc = p["escalation"]) {
          if (!esc.IsSequence())
            return err(where + ".escalation", "expected a list of {after, receivers}");
          int64_t last = 0;
          for (size_t l = 0; l < esc.size(); ++l) {
            const std::string lw = "notify." + where + ".escalation[" + std::to_string(l) + "]";
            NotifyPolicy::Level level;
            if (!esc[l]["after"])
              return make_error(ErrorCode::kInvalidArgument, lw + ".after: required");
            auto d = duration_at(esc[l]["after"], lw + ".after");
            if (!d) return d.error();
            if (*d <= last)
              return make_error(ErrorCode::kInvalidArgument,
                                lw + ".after: must grow from level to level");
            last = level.after_ns = *d;
            auto rs = string_list(esc[l]["receivers"], lw + ".receivers");
            if (!rs) return rs.error();
            if (rs->empty())
              return make_error(ErrorCode::kInvalidArgument, lw + ".receivers: required");
            for (const auto& r : *rs)
              if (!known(r))
                return make_error(ErrorCode::kInvalidArgument,
                                  lw + ".receivers: no receiver \"" + r + "\"");
            level.receivers = *rs;
            pol.escalation.push_back(std::move(level));
          }
        }
        if (pol.ack_deadline_ns == 0 && !pol.escalation.empty())
          pol.ack_deadline_ns = pol.escalation.front().after_ns;
        if (const auto rep = p["report"]) {
          const std::string rw = "notify." + where + ".report";
          if (!rep["deadline"])
            return make_error(ErrorCode::kInvalidArgument, rw + ".deadline: required");
          auto d = duration_at(rep["deadline"], rw + ".deadline");
          if (!d) return d.error();
          pol.report_deadline_ns = *d;
          if (rep["warn_before"]) {
            auto w = duration_at(rep["warn_before"], rw + ".warn_before");
            if (!w) return w.error();
            if (*w >= *d)
              return make_error(ErrorCode::kInvalidArgument,
                                rw + ".warn_before: must be shorter than the deadline");
            pol.report_warn_before_ns = *w;
          }
          auto rs = string_list(rep["receivers"], rw + ".receivers");
          if (!rs) return rs.error();
          for (const auto& r : *rs)
            if (!known(r))
              return make_error(ErrorCode::kInvalidArgument,
                                rw + ".receivers: no receiver \"" + r + "\"");
          pol.report_receivers = *rs;
        }
        cfg.policies.push_back(std::move(pol));
      }
    }
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("notify: ") + e.what());
  }
  return cfg;
}

notify::Labels incident_labels(const Incident& in) {
  notify::Labels l;
  auto first = [&](ObservableKind k) -> std::string {
    for (const Observable& o : in.observables)
      if (o.kind == k) return o.value;
    return "";
  };
  auto add = [&](const char* name, std::string value) {
    if (!value.empty()) l.emplace_back(name, std::move(value));
  };
  add("category", in.category);
  add("destination_ip", first(ObservableKind::kDestinationIp));
  add("flapping", in.flapping ? "true" : "");
  add("host", first(ObservableKind::kHost));
  add("incident", in.id.to_string());
  add("rule", in.rule.empty() ? first(ObservableKind::kRule) : in.rule);
  add("severity", severity_name(in.severity));
  add("source_ip", first(ObservableKind::kSourceIp));
  add("status", incident_status_name(in.status));
  add("title", in.title);
  add("user", first(ObservableKind::kUser));
  std::sort(l.begin(), l.end());
  return l;
}

// ---- state ----

struct Notifier::Tracked {
  Incident state;
  std::string id;
  const NotifyPolicy* policy = nullptr;
  struct Told {
    uint64_t version = 0;  // the last version this receiver was told of; 0: never
    bool resolved = false;
  };
  std::map<std::string, Told> told;
  uint32_t level = 0;  // escalation levels run
  bool report_warned = false;
  int64_t opened_ns = 0;                          // created or last reopened: the escalation clock
  IncidentStatus status = IncidentStatus::kOpen;  // as last taken in
  bool seen = false;  // a state was taken in (false: restored from "n/" only)
  // Changes when a receiver should hear again: severity, alerts joined, a reopening.
  uint64_t version() const {
    return (static_cast<uint64_t>(state.reopen_count) << 48) ^
           ((static_cast<uint64_t>(state.severity) + 1) << 40 |
            std::min<uint64_t>(state.alert_count, (1ULL << 40) - 1));
  }
};

Notifier::Notifier(Store& store, CorrelateStage& correlate, NotifierConfig config,
                   prometheus::Registry& registry, NotifierOptions options)
    : store_(store),
      correlate_(correlate),
      config_(std::move(config)),
      options_(options),
      dispatcher_(std::make_unique<notify::Dispatcher>(config_.routing)),
      notifications_(prometheus::BuildCounter()
                         .Name("klaxon_notifications_total")
                         .Help("Notifications decided, by receiver and kind")
                         .Register(registry)),
      suppressed_(prometheus::BuildCounter()
                      .Name("klaxon_notifications_suppressed_total")
                      .Help("Notifications muted, by reason (silenced, inhibited)")
                      .Register(registry)),
      escalations_(prometheus::BuildCounter()
                       .Name("klaxon_escalations_total")
                       .Help("Escalations and report-deadline warnings sent")
                       .Register(registry)
                       .Add({})),
      tracked_gauge_(prometheus::BuildGauge()
                         .Name("klaxon_notify_tracked_incidents")
                         .Help("Incidents the notifier follows (not closed)")
                         .Register(registry)
                         .Add({})),
      outbox_gauge_(prometheus::BuildGauge()
                        .Name("klaxon_notify_outbox_requests")
                        .Help("Requests in the outbox: written, not yet delivered or given up")
                        .Register(registry)
                        .Add({})) {}

Result<std::unique_ptr<Notifier>> Notifier::start(Store& store, CorrelateStage& correlate,
                                                  NotifierConfig config,
                                                  prometheus::Registry& registry,
                                                  NotifierOptions options) {
  std::unique_ptr<Notifier> n(new Notifier(store, correlate, std::move(config), registry, options));
  Notifier* raw = n.get();
  auto deliverer = sinks::Deliverer::start(
      n->config_.integrations, [raw](const sinks::AttemptResult& r) { raw->on_attempt(r); },
      registry, options.delivery);
  if (!deliverer) return deliverer.error();
  n->deliverer_ = std::move(*deliverer);
  KLAXON_TRY(n->load());
  n->thread_ = std::thread([raw] { raw->run(); });
  return n;
}

Notifier::~Notifier() { stop(false); }

void Notifier::stop(bool record) {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    if (stopping_ && !thread_.joinable() && !deliverer_) return;
    stopping_ = true;
  }
  inbox_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (deliverer_) {
    const auto unsent =
        deliverer_->stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    if (!unsent.empty())
      log_event(LogLevel::kInfo, "notify", "requests left in the outbox for the next start",
                {{"requests", std::to_string(unsent.size())}});
    // Results that came in while stopping are still proof: record them.
    std::vector<sinks::AttemptResult> results;
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      results.swap(inbox_results_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (record)
      for (const auto& r : results) record_attempt(r);
    // Deletes only now: the Deliverer is stopped, nothing new is submitted.
    outbox_submits_.clear();
    (void)store_.write_outbox(outbox_puts_, outbox_deletes_);
    outbox_puts_.clear();
    outbox_deletes_.clear();
    deliverer_.reset();
  }
}

Status Notifier::reload(NotifierConfig config) {
  auto key = [](const NotifierConfig& c) {
    std::string k;
    for (const auto& i : c.integrations) {
      k += i.name + "|" + i.url + "|" + i.ca_file + "|" + i.signing_key + "|" + i.routing_key +
           "|" + i.api_key + "|" + i.organisation + "|" + std::to_string(i.timeout_ns) + "|" +
           std::to_string(i.rate_limit_per_minute) + "|" + std::to_string(i.queue_capacity) + "|" +
           std::to_string(i.max_attempts) + "|" + i.smarthost + "|" + i.from + "|" +
           i.auth_username + "|" + i.auth_password + ";";
      for (const auto& t : i.to) k += t + ",";
    }
    return k;
  };
  std::lock_guard<std::mutex> lock(mu_);
  if (key(config) != key(config_))
    return make_error(ErrorCode::kInvalidArgument,
                      "notify.receivers: a sink's settings changed; that needs a restart");
  config_.routing = config.routing;
  config_.policies = std::move(config.policies);
  config_.external_url = std::move(config.external_url);
  config_.receiver_integrations = std::move(config.receiver_integrations);
  for (auto& [id, t] : tracked_) t->policy = t->seen ? policy_for(t->state) : nullptr;
  dispatcher_->reload(config_.routing, wall_ns());
  return ok_status();
}

void Notifier::on_commit(const IncidentCommit& commit) {
  if (commit.incidents.empty()) return;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    for (const auto& [id, state] : commit.incidents) inbox_states_.push_back(state);
  }
  inbox_cv_.notify_one();
}

void Notifier::on_attempt(const sinks::AttemptResult& r) {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    inbox_results_.push_back(r);
  }
  inbox_cv_.notify_one();
}

Status Notifier::load() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = wall_ns();
  // Silences.
  KLAXON_TRY(store_.for_each_outbox("s/", [&](std::string_view, std::string_view v) {
    auto s = notify::silence_from_json(v);
    if (s) (void)dispatcher_->silences().restore(std::move(*s));
    return true;
  }));
  // The notification log.
  KLAXON_TRY(store_.for_each_outbox("n/", [&](std::string_view k, std::string_view v) {
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(v.data(), v.size()).get(doc) != simdjson::SUCCESS) return true;
    auto t = std::make_unique<Tracked>();
    t->id = std::string(k.substr(2));
    int64_t i = 0;
    if (doc["level"].get(i) == simdjson::SUCCESS) t->level = static_cast<uint32_t>(i);
    if (doc["opened"].get(i) == simdjson::SUCCESS) t->opened_ns = i;
    bool b = false;
    if (doc["report"].get(b) == simdjson::SUCCESS) t->report_warned = b;
    std::string_view st;
    if (doc["status"].get(st) == simdjson::SUCCESS) parse_incident_status(st, &t->status);
    simdjson::dom::object told;
    if (doc["told"].get(told) == simdjson::SUCCESS) {
      for (auto [name, val] : told) {
        simdjson::dom::array a;
        if (val.get(a) != simdjson::SUCCESS || a.size() != 2) continue;
        uint64_t version = 0;
        bool resolved = false;
        if (a.at(0).get(version) != simdjson::SUCCESS) continue;
        if (a.at(1).get(resolved) != simdjson::SUCCESS) continue;
        t->told[std::string(name)] = Tracked::Told{version, resolved};
      }
    }
    tracked_[t->id] = std::move(t);
    return true;
  }));
  // Requests written and not delivered: sent again, same bytes, same idempotency key.
  uint64_t max_id = 0;
  std::vector<std::pair<uint64_t, sinks::OutboundRequest>> pending;
  KLAXON_TRY(store_.for_each_outbox("o/", [&](std::string_view k, std::string_view v) {
    const uint64_t id = from_be64(k.substr(2));
    max_id = std::max(max_id, id);
    auto req = sinks::decode_request(v);
    if (!req) {
      log_event(LogLevel::kWarn, "notify", "unreadable outbox entry dropped",
                {{"id", std::to_string(id)}, {"error", req.error().message}});
      return true;
    }
    pending.emplace_back(id, std::move(*req));
    return true;
  }));
  next_outbox_id_ = std::max<uint64_t>(max_id + 1, static_cast<uint64_t>(now / 1000));
  for (auto& [id, req] : pending) {
    ++outbox_pending_;
    if (!deliverer_->submit(id, std::move(req))) {
      log_event(LogLevel::kWarn, "notify",
                "outbox request for an integration no longer configured; kept",
                {{"id", std::to_string(id)}});
    }
  }
  // Every incident not closed, and those closed while their closure notice was owed.
  std::vector<Incident> states;
  KLAXON_TRY(store_.for_each_incident([&](const Incident& in) {
    if (in.status != IncidentStatus::kClosed || tracked_.count(in.id.to_string()))
      states.push_back(in);
    return true;
  }));
  for (const Incident& in : states) take_state(in, now);
  flush_outbox();
  outbox_gauge_.Set(static_cast<double>(outbox_pending_));
  if (!pending.empty())
    log_event(LogLevel::kInfo, "notify", "re-sending undelivered notifications",
              {{"requests", std::to_string(pending.size())}});
  return ok_status();
}

const NotifyPolicy* Notifier::policy_for(const Incident& in) const {
  const std::string sev = severity_name(in.severity);
  for (const NotifyPolicy& p : config_.policies) {
    if (!p.severities.empty() &&
        std::find(p.severities.begin(), p.severities.end(), sev) == p.severities.end())
      continue;
    if (!p.categories.empty() &&
        std::find(p.categories.begin(), p.categories.end(), in.category) == p.categories.end())
      continue;
    return &p;
  }
  return nullptr;
}

notify::IncidentView Notifier::view_of(const Tracked& t) const {
  const Incident& in = t.state;
  notify::IncidentView v;
  v.id = t.id;
  v.title = in.title;
  v.category = in.category;
  v.severity = severity_name(in.severity);
  v.status = incident_status_name(in.status);
  v.rule = in.rule;
  v.assignee = in.assignee;
  v.labels = incident_labels(in);
  for (const Observable& o : in.observables)
    v.observables.emplace_back(observable_kind_name(o.kind), o.value);
  v.created_ns = in.created_ns;
  v.first_seen_ns = in.first_seen_ns;
  v.last_seen_ns = in.last_seen_ns;
  v.status_changed_ns = in.status_changed_ns;
  v.alert_count = in.alert_count;
  v.occurrences = in.occurrences;
  v.escalation_level = t.level;
  if (t.policy) {
    if (t.policy->ack_deadline_ns && in.status == IncidentStatus::kOpen)
      v.ack_deadline_ns = t.opened_ns + t.policy->ack_deadline_ns;
    if (t.policy->report_deadline_ns)
      v.report_deadline_ns = in.created_ns + t.policy->report_deadline_ns;
  }
  v.version = in.next_event_seq;
  return v;
}

void Notifier::persist(const Tracked& t) {
  std::string v;
  JsonObjectWriter w(v);
  w.key("told");
  {
    JsonObjectWriter tw(v);
    for (const auto& [r, told] : t.told) {
      tw.key(r);
      v += "[";
      append_int(v, static_cast<int64_t>(told.version));
      v += told.resolved ? ",true]" : ",false]";
    }
    tw.close();
  }
  w.num("level", t.level);
  w.raw("report", t.report_warned ? "true" : "false");
  w.num("opened", t.opened_ns);
  w.str("status", incident_status_name(t.status));
  w.close();
  // A delete of the same key queued earlier this round (a close) must not win over this put.
  std::erase(outbox_deletes_, "n/" + t.id);
  outbox_puts_.emplace_back("n/" + t.id, std::move(v));
}

void Notifier::flush_outbox() {
  if (outbox_puts_.empty() && outbox_deletes_.empty()) return;
  if (auto st = store_.write_outbox(outbox_puts_, outbox_deletes_); !st) {
    // Nothing of this round is sent: what is not recorded is not sent.
    log_event(
        LogLevel::kError, "notify", "cannot write the outbox; not sending this round",
        {{"requests", std::to_string(outbox_submits_.size())}, {"error", st.error().message}});
    outbox_pending_ -= static_cast<int64_t>(outbox_submits_.size());
    outbox_submits_.clear();
  }
  outbox_puts_.clear();
  outbox_deletes_.clear();
  for (auto& [id, req] : outbox_submits_) deliverer_->submit(id, std::move(req));
  outbox_submits_.clear();
  outbox_gauge_.Set(static_cast<double>(outbox_pending_));
}

void Notifier::event(const Incident& in, IncidentEventType type, std::string actor,
                     std::string data) {
  IncidentOp op;
  op.incident = in.id;
  op.group_hash = in.group_hash;
  op.type = type;
  op.actor = std::move(actor);
  op.data = std::move(data);
  op.time_ns = wall_ns();
  if (!correlate_.apply(std::move(op)))
    log_event(LogLevel::kWarn, "notify", "incident event dropped: operation queue full",
              {{"incident", in.id.to_string()}, {"type", incident_event_type_name(type)}});
}

// ---- decisions ----

void Notifier::take_state(const Incident& in, int64_t now) {
  const std::string id = in.id.to_string();
  auto& slot = tracked_[id];
  if (!slot) {
    if (in.status == IncidentStatus::kClosed) {
      tracked_.erase(id);
      return;  // nobody was told of it: nothing to close
    }
    slot = std::make_unique<Tracked>();
    slot->id = id;
    // Reopened after a close (which forgot it): the escalation clock starts at the reopening.
    slot->opened_ns = in.reopen_count > 0 ? in.status_changed_ns : in.created_ns;
    slot->status = in.status;
  }
  Tracked& t = *slot;
  const IncidentStatus prev = t.status;
  const bool first_since_restart = !t.seen && !t.told.empty();
  t.state = in;
  t.seen = true;
  t.policy = policy_for(in);
  if (t.opened_ns == 0) t.opened_ns = in.created_ns;
  bool dirty = false;
  if (prev != in.status) {
    t.status = in.status;
    dirty = true;
    if (in.status == IncidentStatus::kAcknowledged) {
      std::vector<std::string> told;
      for (const auto& [r, x] : t.told) told.push_back(r);
      tell_directly(t, notify::NotifyKind::kAcknowledge, told,
                    "acknowledged" + (in.assignee.empty() ? "" : " (" + in.assignee + ")"), now);
    } else if (in.status == IncidentStatus::kOpen &&
               (prev == IncidentStatus::kResolved || prev == IncidentStatus::kClosed)) {
      // Reopened: a new round (escalation starts over; receivers hear it fire again).
      t.opened_ns = in.status_changed_ns;
      t.level = 0;
      t.report_warned = false;
      // Everyone hears it fire again, as a trigger (PagerDuty opens a new alert for the key).
      for (auto& [r, x] : t.told) x = Tracked::Told{};
    }
  }
  if (in.status == IncidentStatus::kClosed) {
    std::vector<std::string> told;
    for (const auto& [r, x] : t.told) told.push_back(r);
    tell_directly(t, notify::NotifyKind::kClose, told, "closed", now);
    dispatcher_->remove(id);
    std::erase_if(outbox_puts_, [&](const auto& kv) { return kv.first == "n/" + id; });
    outbox_deletes_.push_back("n/" + id);
    tracked_.erase(id);
    tracked_gauge_.Set(static_cast<double>(tracked_.size()));
    return;
  }
  // Resolved while (or just before) klaxond was down: the dispatcher, new since the restart,
  // has no group that was told of it, so the receivers told of it hear it here.
  if (first_since_restart && in.status == IncidentStatus::kResolved) {
    std::vector<std::string> owed;
    for (auto& [r, x] : t.told) {
      if (x.version > 0 && !x.resolved) {
        owed.push_back(r);
        x.resolved = true;
      }
    }
    if (!owed.empty()) {
      tell_directly(t, notify::NotifyKind::kResolve, owed, "resolved", now);
      dirty = true;
    }
  }
  notify::Item item;
  item.id = id;
  item.labels = incident_labels(in);
  item.starts_ns = in.created_ns;
  item.ends_ns =
      in.status == IncidentStatus::kResolved ? std::max<int64_t>(in.status_changed_ns, 1) : 0;
  item.version = t.version();
  dispatcher_->upsert(item, now);
  if (dirty) persist(t);
  tracked_gauge_.Set(static_cast<double>(tracked_.size()));
}

void Notifier::send(notify::Notification n, const std::vector<Tracked*>& about) {
  n.external_url = config_.external_url;
  n.created_ns = wall_ns();
  notifications_.Add({{"receiver", n.receiver}, {"kind", notify_kind_name(n.kind)}}).Increment();
  const auto it = config_.receiver_integrations.find(n.receiver);
  if (it == config_.receiver_integrations.end()) return;  // a receiver with no integration
  for (size_t idx : it->second) {
    const sinks::IntegrationConfig& cfg = config_.integrations[idx];
    for (sinks::OutboundRequest& req : sinks::render(n, cfg)) {
      const uint64_t oid = next_outbox_id_++;
      // Written (flush_outbox) before it is handed to the Deliverer.
      outbox_puts_.emplace_back("o/" + be64(oid), sinks::encode_request(req));
      ++outbox_pending_;
      for (const std::string& iid : req.incident_ids) {
        for (Tracked* t : about) {
          if (t->id != iid) continue;
          std::string data;
          JsonObjectWriter w(data);
          w.str("receiver", n.receiver);
          w.str("integration", cfg.name);
          w.str("kind", notify_kind_name(n.kind));
          w.str("idempotency_key", req.idempotency_key);
          w.num("outbox", static_cast<int64_t>(oid));
          if (!n.reason.empty()) w.str("reason", n.reason);
          w.close();
          event(t->state, IncidentEventType::kNotificationQueued, "notify", std::move(data));
        }
      }
      outbox_submits_.emplace_back(oid, std::move(req));
    }
  }
}

void Notifier::tell_directly(Tracked& t, notify::NotifyKind kind,
                             const std::vector<std::string>& receivers, const std::string& reason,
                             int64_t /*now*/) {
  for (const std::string& r : receivers) {
    notify::Notification n;
    n.receiver = r;
    n.kind = kind;
    n.reason = reason;
    n.incidents.push_back(view_of(t));
    n.idempotency_key =
        short_hash(r + "|" + notify_kind_name(kind) + "|" + t.id + "|" +
                   std::to_string(t.state.next_event_seq) + "|" + std::to_string(t.level));
    send(std::move(n), {&t});
  }
}

void Notifier::advance(int64_t now) {
  std::vector<notify::Flush> flushes;
  std::vector<notify::Suppression> suppressed;
  dispatcher_->advance(now, flushes, suppressed);
  for (notify::Flush& f : flushes) {
    notify::Notification n;
    n.receiver = f.receiver;
    n.group_key = f.group_key;
    n.group_labels = f.group_labels;
    std::vector<Tracked*> about;
    bool news = false, any_new = false;
    std::string key = f.receiver + "|" + f.group_key;
    auto take = [&](const notify::Item& item, bool resolved) {
      auto it = tracked_.find(item.id);
      if (it == tracked_.end()) return;
      Tracked& t = *it->second;
      Tracked::Told& told = t.told[f.receiver];
      if (resolved) {
        news |= !told.resolved;
      } else {
        any_new |= told.version == 0;
        news |= told.version != item.version;
      }
      about.push_back(&t);
      n.incidents.push_back(view_of(t));
      key += "|" + item.id + ":" + std::to_string(item.version) + (resolved ? "r" : "");
    };
    for (const auto& item : f.firing) take(item, false);
    for (const auto& item : f.resolved) take(item, true);
    if (about.empty()) continue;
    // After a restart the dispatcher's own log is empty: what this receiver was already told
    // (the persisted log) is not sent again, except as a due repeat.
    if (!news && !f.repeat) continue;
    n.kind = f.firing.empty()    ? notify::NotifyKind::kResolve
             : any_new           ? notify::NotifyKind::kTrigger
             : f.repeat && !news ? notify::NotifyKind::kRepeat
                                 : notify::NotifyKind::kUpdate;
    n.idempotency_key = short_hash(key + "|" + notify_kind_name(n.kind));
    for (const auto& item : f.firing) {
      if (auto it = tracked_.find(item.id); it != tracked_.end())
        it->second->told[f.receiver].version = item.version;
    }
    for (const auto& item : f.resolved) {
      if (auto it = tracked_.find(item.id); it != tracked_.end())
        it->second->told[f.receiver].resolved = true;
    }
    send(std::move(n), about);
    for (Tracked* t : about) persist(*t);
  }
  for (const notify::Suppression& s : suppressed) {
    suppressed_.Add({{"reason", s.reason}}).Increment();
    auto it = tracked_.find(s.item_id);
    if (it == tracked_.end()) continue;
    std::string data;
    JsonObjectWriter w(data);
    w.str("receiver", s.receiver);
    w.str("reason", s.reason);
    w.str("by", s.by);
    w.close();
    event(it->second->state, IncidentEventType::kNotificationSuppressed, "notify", std::move(data));
  }
  // Escalation and the report deadline, looked at four times a second (not at every wake-up:
  // this walks every incident followed).
  if (config_.policies.empty() || now < next_deadline_scan_ns_) return;
  next_deadline_scan_ns_ = now + 250'000'000;
  for (auto& [id, tp] : tracked_) {
    Tracked& t = *tp;
    if (!t.seen || t.policy == nullptr) continue;
    const NotifyPolicy& p = *t.policy;
    bool dirty = false;
    while (t.state.status == IncidentStatus::kOpen && t.level < p.escalation.size() &&
           now >= t.opened_ns + p.escalation[t.level].after_ns) {
      const NotifyPolicy::Level& level = p.escalation[t.level];
      ++t.level;
      const std::string reason =
          "not acknowledged within " + notify::format_duration(level.after_ns);
      tell_directly(t, notify::NotifyKind::kEscalation, level.receivers, reason, now);
      for (const auto& r : level.receivers) t.told[r].version = t.version();
      std::string data;
      JsonObjectWriter w(data);
      w.num("level", t.level);
      w.key("receivers");
      data += "[";
      for (size_t i = 0; i < level.receivers.size(); ++i) {
        if (i) data += ",";
        append_json_string(data, level.receivers[i]);
      }
      data += "]";
      w.str("reason", reason);
      w.close();
      event(t.state, IncidentEventType::kEscalated, "notify", std::move(data));
      escalations_.Increment();
      dirty = true;
    }
    if (p.report_deadline_ns && !t.report_warned && t.state.status != IncidentStatus::kClosed &&
        now >= t.state.created_ns + p.report_deadline_ns - p.report_warn_before_ns) {
      t.report_warned = true;
      std::vector<std::string> to = p.report_receivers;
      if (to.empty())
        for (const auto& [r, x] : t.told) to.push_back(r);
      const int64_t deadline = t.state.created_ns + p.report_deadline_ns;
      tell_directly(t, notify::NotifyKind::kReportDeadline, to,
                    "external report due by " + rfc3339(deadline), now);
      std::string data;
      JsonObjectWriter w(data);
      w.str("reason", "report_deadline");
      w.str("deadline", rfc3339(deadline));
      w.close();
      event(t.state, IncidentEventType::kEscalated, "notify", std::move(data));
      escalations_.Increment();
      dirty = true;
    }
    if (dirty) persist(t);
  }
}

void Notifier::record_attempt(const sinks::AttemptResult& r) {
  const bool delivered = r.outcome == sinks::AttemptResult::kDelivered;
  std::string data;
  JsonObjectWriter w(data);
  w.str("receiver", r.receiver);
  w.str("integration", r.integration);
  w.str("kind", notify_kind_name(r.kind));
  w.str("outcome", sinks::outcome_name(r.outcome));
  w.num("attempt", r.attempt);
  w.num("status", static_cast<int64_t>(r.http_status));
  w.num("latency_ms", r.latency_ns / 1'000'000);
  w.str("sent_at", rfc3339(r.sent_ns));
  w.str("sha256", r.body_sha256);
  w.str("idempotency_key", r.idempotency_key);
  w.num("outbox", static_cast<int64_t>(r.id));
  if (!r.error.empty()) w.str("error", r.error);
  if (r.outcome == sinks::AttemptResult::kRetrying)
    w.str("next_attempt_at", rfc3339(r.next_attempt_ns));
  w.close();
  for (const std::string& iid : r.incident_ids) {
    Incident in;
    if (auto it = tracked_.find(iid); it != tracked_.end()) {
      in = it->second->state;
    } else {
      auto id = IncidentId::parse(iid);
      if (!id) continue;
      auto stored = store_.get_incident(*id);
      if (!stored) continue;
      in = std::move(*stored);
    }
    event(in,
          delivered ? IncidentEventType::kNotificationDelivered
                    : IncidentEventType::kNotificationFailed,
          "sink:" + r.integration, data);
  }
  if (r.outcome != sinks::AttemptResult::kRetrying) {
    outbox_deletes_.push_back("o/" + be64(r.id));
    --outbox_pending_;
  }
}

void Notifier::run() {
  std::vector<std::string> states;
  std::vector<sinks::AttemptResult> results;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(inbox_mu_);
      int64_t due = INT64_MAX;
      {
        std::lock_guard<std::mutex> l2(mu_);
        due = dispatcher_->next_due_ns();
      }
      const int64_t now = wall_ns();
      const int64_t wait = std::clamp<int64_t>(due - now, 0, options_.tick_ns);
      inbox_cv_.wait_for(lock, std::chrono::nanoseconds(wait), [&] {
        return stopping_ || !inbox_states_.empty() || !inbox_results_.empty();
      });
      if (stopping_) break;
      states.swap(inbox_states_);
      results.swap(inbox_results_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = wall_ns();
    for (const std::string& s : states) {
      auto in = decode_incident(s);
      if (in) take_state(*in, now);
    }
    states.clear();
    for (const auto& r : results) record_attempt(r);
    results.clear();
    advance(now);
    flush_outbox();
  }
  std::lock_guard<std::mutex> lock(mu_);
  flush_outbox();
}

// ---- silences (the API) ----

Result<std::string> Notifier::create_silence(std::string_view body, const std::string& actor) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return make_error(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  notify::Silence s;
  simdjson::dom::array matchers;
  if (doc["matchers"].get(matchers) != simdjson::SUCCESS || matchers.size() == 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "matchers: expected a list like [\"host=\\\"web-01\\\"\"]");
  for (auto m : matchers) {
    std::string_view text;
    if (m.get(text) != simdjson::SUCCESS)
      return make_error(ErrorCode::kInvalidArgument,
                        "matchers: each is a string like severity=\"low\"");
    auto parsed = notify::parse_matchers(text);
    if (!parsed) return parsed.error();
    for (auto& x : *parsed) s.matchers.push_back(std::move(x));
  }
  const int64_t now = wall_ns();
  auto time_of = [&](const char* key, int64_t* out) -> Status {
    std::string_view v;
    if (doc[key].get(v) != simdjson::SUCCESS) return ok_status();
    std::tm tm{};
    const std::string t(v);
    const char* rest = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr || (*rest != 'Z' && *rest != '\0'))
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(key) + ": expected RFC 3339 UTC, e.g. 2026-11-23T10:00:00Z");
    *out = static_cast<int64_t>(timegm(&tm)) * kSecond;
    return ok_status();
  };
  s.starts_ns = now;
  KLAXON_TRY(time_of("starts_at", &s.starts_ns));
  KLAXON_TRY(time_of("ends_at", &s.ends_ns));
  std::string_view dur;
  if (doc["duration"].get(dur) == simdjson::SUCCESS) {
    auto d = notify::parse_duration(dur);
    if (!d) return make_error(ErrorCode::kInvalidArgument, "duration: " + d.error().message);
    if (*d > kMaxDurationNs)
      return make_error(ErrorCode::kInvalidArgument, "duration: at most 10y");
    s.ends_ns = s.starts_ns + *d;
  }
  if (s.ends_ns == 0)
    return make_error(ErrorCode::kInvalidArgument, "ends_at or duration is required");
  std::string_view comment;
  if (doc["comment"].get(comment) == simdjson::SUCCESS) s.comment.assign(comment);
  s.created_by = actor;
  std::lock_guard<std::mutex> lock(mu_);
  auto id = dispatcher_->silences().add(std::move(s), now);
  if (!id) return id.error();
  const notify::Silence* stored = dispatcher_->silences().get(*id);
  KLAXON_TRY(store_.put_outbox("s/" + *id, notify::silence_to_json(*stored)));
  log_event(
      LogLevel::kInfo, "notify", "silence created",
      {{"id", *id}, {"by", actor}, {"matchers", notify::matchers_to_string(stored->matchers)}});
  return notify::silence_to_json(*stored, now);
}

Result<std::string> Notifier::expire_silence(std::string_view id, const std::string& actor) {
  const int64_t now = wall_ns();
  std::lock_guard<std::mutex> lock(mu_);
  KLAXON_TRY(dispatcher_->silences().expire(id, now));
  const notify::Silence* stored = dispatcher_->silences().get(id);
  KLAXON_TRY(store_.put_outbox("s/" + std::string(id), notify::silence_to_json(*stored)));
  log_event(LogLevel::kInfo, "notify", "silence expired", {{"id", std::string(id)}, {"by", actor}});
  return notify::silence_to_json(*stored, now);
}

std::string Notifier::list_silences_json() {
  const int64_t now = wall_ns();
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = "{\"silences\":[";
  bool first = true;
  for (const notify::Silence& s : dispatcher_->silences().list()) {
    if (!first) out += ",";
    first = false;
    out += notify::silence_to_json(s, now);
  }
  out += "]}";
  return out;
}

}  // namespace klaxon
