// The correlate stage on its own: alerts parsed by the real MessageParser, extracted, stamped
// with sequences as the writer would, run through the shards; the IncidentCommits are read
// back as a store would see them.
#include "pipeline/stages/correlate.h"

#include "pipeline/core/alert_record.h"
#include "pipeline/core/batch.h"
#include "pipeline/stages/parse.h"
#include "pipeline/stages/syslog_parse.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace klaxon {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
using namespace std::chrono_literals;
constexpr int64_t kBase = 1'700'000'000LL * kSecond;  // 2023-11-14T22:13:20Z

struct Input {
  std::string host, rule, src;
  int64_t at_s = 0;  // event time, seconds after kBase
  int severity = 3;  // syslog severity in the PRI (3 = error = high)
};

// A syslog line with a JSON body: what a Suricata sensor sends.
std::string line_of(const Input& in) {
  const int pri = 4 * 8 + in.severity;  // facility auth
  std::string ts;
  {
    std::string s;
    append_rfc3339(kBase + in.at_s * kSecond, s);
    ts = s;
  }
  return "<" + std::to_string(pri) + ">1 " + ts + " " + in.host +
         " suricata - - - {\"event_type\":\"alert\",\"src_ip\":\"" + in.src +
         "\",\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":\"" + in.rule +
         "\",\"signature\":\"rule " + in.rule + "\",\"category\":\"attempted-admin\"}}";
}

// Runs inputs through a stage; the store is a map the test keeps across stage restarts.
struct FakeStore {
  std::map<std::string, std::string> events;     // key -> value
  std::map<std::string, std::string> incidents;  // id -> state
  std::map<uint32_t, uint64_t> covered;
  std::map<std::string, std::string> meta;
  bool keep_checkpoints = true;  // false: as if every checkpoint after now were not written
  uint64_t next_seq = 1;
  std::vector<std::string> log;  // every alert line by sequence (index = seq - 1)

  std::vector<Incident> all_incidents() const {
    std::vector<Incident> out;
    for (auto& [k, v] : incidents) {
      auto in = decode_incident(v);
      EXPECT_TRUE(in.has_value());
      if (in) out.push_back(*in);
    }
    return out;
  }
  std::vector<std::string> dedupe_checkpoints(size_t shards) const {
    std::vector<std::string> out(shards);
    for (size_t i = 0; i < shards; ++i) {
      auto it = meta.find("corr/dedupe/" + std::to_string(i));
      if (it != meta.end()) out[i] = it->second;
    }
    return out;
  }
  std::vector<uint64_t> covered_list() const {
    std::vector<uint64_t> out;
    for (auto& [shard, c] : covered) {
      if (out.size() <= shard) out.resize(shard + 1);
      out[shard] = c;
    }
    return out;
  }
};

class Runner {
 public:
  Runner(FakeStore& store, std::shared_ptr<const CorrelateOptions> options,
         std::array<uint8_t, 16> secret = {1, 2, 3}, IncidentCreatedHook hook = {})
      : store_(store), options_(std::move(options)), out_(1024) {
    PipelineMetrics* m = metrics();
    stage_ = std::make_unique<CorrelateStage>(options_, secret, out_, *m);
    stage_->restore(store_.all_incidents(), store_.covered_list(),
                    store_.dedupe_checkpoints(static_cast<size_t>(options_->shards)));
    if (hook) stage_->set_created_hook(std::move(hook));
    stage_->start();
  }
  CorrelateStage& stage() { return *stage_; }
  ~Runner() { finish(); }

  // Appends alerts to the log, then correlates them as one durable block.
  void feed(const std::vector<Input>& inputs) {
    std::vector<std::string> lines;
    for (auto& in : inputs) lines.push_back(line_of(in));
    const uint64_t first = store_.next_seq;
    for (auto& l : lines) store_.log.push_back(l);
    store_.next_seq += lines.size();
    correlate_range(first, lines);
  }
  // Re-submits stored alerts [from, to] as the daemon's start-up replay does.
  void replay(uint64_t from) {
    std::vector<std::string> lines(store_.log.begin() + static_cast<long>(from - 1),
                                   store_.log.end());
    correlate_range(from, lines);
  }
  void finish() {
    if (!stage_) return;
    stage_->drain_and_stop();
    while (auto c = out_.try_pop()) apply(*c);
    stage_.reset();
  }
  uint64_t replay_from() const { return stage_->replay_from(); }
  static PipelineMetrics* metrics() {
    static prometheus::Registry registry;
    static PipelineMetrics m(registry);
    return &m;
  }

 private:
  void correlate_range(uint64_t first, const std::vector<std::string>& lines) {
    CorrelationExtractor ex(options_);
    auto batch = std::make_unique<CorrelationBatch>();
    MessageParser parser{ParseOptions{}};
    Alert a;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string buf = lines[i] + std::string(kParsePadding, '\0');
      IngestMeta meta;
      meta.received_ns = kBase + 3600 * kSecond;
      ASSERT_TRUE(
          parser.parse(std::string_view(buf.data(), lines[i].size()), meta, meta.received_ns, a)
              .ok())
          << lines[i];
      const auto offset = static_cast<uint32_t>(batch->arena->size());
      append_alert_record(a, *batch->arena);
      ex.add(a, static_cast<uint32_t>(i),
             {offset, static_cast<uint32_t>(batch->arena->size() - offset)}, *batch);
    }
    for (auto& it : batch->items) it.seq = first + it.index;
    batch->last_seq = first + lines.size() - 1;
    stage_->submit(std::move(batch));
    // Every shard answers every submitted batch with one commit; apply them as the incident
    // writer would, so that a restart sees them.
    for (size_t i = 0; i < stage_->shard_count(); ++i) {
      auto c = out_.pop_wait(std::chrono::milliseconds(10'000));
      ASSERT_TRUE(c) << "a shard did not answer";
      apply(*c);
    }
  }

 public:
  // Applies whatever the shards hand on within `for_ms` (commits of outside operations).
  void pump(int for_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(for_ms);
    while (std::chrono::steady_clock::now() < end) {
      if (auto c = out_.pop_wait(std::chrono::milliseconds(10))) apply(*c);
    }
  }

 private:
  void apply(const IncidentCommit& c) {
    for (const auto& cb : c.on_durable) cb();
    for (auto& [k, v] : c.events) {
      EXPECT_EQ(store_.events.count(k), 0u) << "an event key was written twice";
      store_.events[k] = v;
    }
    for (auto& [k, v] : c.incidents) store_.incidents[k] = v;
    store_.covered[c.shard] = c.covered_seq;
    if (store_.keep_checkpoints)
      for (auto& [k, v] : c.meta) store_.meta[k] = v;
  }

  FakeStore& store_;
  std::shared_ptr<const CorrelateOptions> options_;
  BoundedQueue<IncidentCommit> out_;
  std::unique_ptr<CorrelateStage> stage_;
};

std::shared_ptr<const CorrelateOptions> options(int shards = 2) {
  auto o = std::make_shared<CorrelateOptions>();
  o->shards = shards;
  return o;
}

// Every incident's events form an unbroken chain that matches its state.
void expect_chains_valid(const FakeStore& s) {
  std::map<IncidentId, std::vector<IncidentEvent>> chains;
  for (auto& [k, v] : s.events) {
    IncidentId id;
    uint64_t seq = 0;
    ASSERT_TRUE(parse_incident_event_key(k, &id, &seq));
    auto e = decode_incident_event(id, v);
    ASSERT_TRUE(e.has_value()) << e.error().message;
    Hash256 h{};
    ASSERT_TRUE(compute_incident_event_hash(id, v, &h));
    EXPECT_EQ(h, e->hash);
    EXPECT_EQ(e->seq, seq);
    chains[id].push_back(*e);
  }
  for (const Incident& in : s.all_incidents()) {
    auto& chain = chains[in.id];
    ASSERT_FALSE(chain.empty()) << in.id.to_string();
    EXPECT_EQ(chain.front().type, IncidentEventType::kCreated);
    Hash256 prev{};
    for (size_t i = 0; i < chain.size(); ++i) {
      EXPECT_EQ(chain[i].seq, i);
      EXPECT_EQ(chain[i].prev_hash, prev);
      prev = chain[i].hash;
    }
    EXPECT_EQ(in.next_event_seq, chain.size());
    EXPECT_EQ(in.head_hash, prev);
  }
  EXPECT_EQ(chains.size(), s.incidents.size());
}

TEST(Correlate, AlertsOfOneHostAndRuleJoinOneIncidentAndRepeatsAreCounted) {
  FakeStore store;
  {
    Runner r(store, options());
    std::vector<Input> in;
    for (const char* host : {"web01", "web02", "db01"}) {
      for (const char* rule : {"2019401", "2100498"}) {
        for (int i = 0; i < 5; ++i) {
          const std::string src = "198.51.100." + std::to_string(i);
          in.push_back({host, rule, src, i});
          in.push_back({host, rule, src, i + 1});  // the same alert again: a duplicate
        }
      }
    }
    r.feed(in);
  }
  auto incidents = store.all_incidents();
  ASSERT_EQ(incidents.size(), 6u);
  std::set<std::string> titles;
  for (const Incident& in : incidents) {
    EXPECT_EQ(in.alert_count, 5u) << in.title;
    EXPECT_EQ(in.occurrences, 10u) << in.title;
    EXPECT_EQ(in.status, IncidentStatus::kOpen);
    EXPECT_EQ(in.category, "attempted-admin");
    EXPECT_EQ(in.first_seen_ns, kBase);
    EXPECT_EQ(in.last_seen_ns, kBase + 5 * kSecond);
    size_t sources = 0;
    for (auto& o : in.observables) sources += o.kind == ObservableKind::kSourceIp;
    EXPECT_EQ(sources, 5u);
    titles.insert(in.title);
  }
  EXPECT_EQ(titles, (std::set<std::string>{"rule 2019401", "rule 2100498"}));
  expect_chains_valid(store);
}

TEST(Correlate, OutsideOperationsLandOnTheOwningShardsChainInOrder) {
  FakeStore store;
  std::mutex mu;
  std::vector<Incident> created;
  PipelineMetrics& m = *Runner::metrics();
  const double applied_before = m.incident_ops_applied->Value();
  const double stray_before = m.incident_ops_not_active->Value();
  {
    Runner r(store, options(), {1, 2, 3}, [&](const Incident& in) {
      std::lock_guard<std::mutex> lock(mu);
      created.push_back(in);  // called on the shard thread, as enrichment requests are
    });
    r.feed({{"web01", "1", "198.51.100.1", 0}, {"db01", "2", "198.51.100.2", 0}});
    std::vector<Incident> seen;
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = created;
    }
    ASSERT_EQ(seen.size(), 2u);
    for (const Incident& in : seen) {
      IncidentOp op;
      op.incident = in.id;
      op.group_hash = in.group_hash;
      op.type = IncidentEventType::kEnriched;
      op.actor = "enrich";
      op.data = R"({"kind":"ptr","value":"host.example.org"})";
      op.time_ns = kBase + 10 * kSecond;
      EXPECT_TRUE(r.stage().apply(std::move(op)));
    }
    IncidentOp stray;  // an incident this shard does not hold
    stray.incident = make_incident_id({9, 9, 9}, 1, 0);
    stray.group_hash = seen[0].group_hash;
    EXPECT_TRUE(r.stage().apply(std::move(stray)));
    // Applied while running (not only at shutdown), within a shard's 50 ms poll.
    EXPECT_TRUE(test::wait_until(
        [&] { return m.incident_ops_applied->Value() - applied_before >= 2; }, 2000ms));
    EXPECT_TRUE(test::wait_until(
        [&] { return m.incident_ops_not_active->Value() - stray_before >= 1; }, 2000ms));
    // An alert after the enrichment: its link follows the enriched event on the chain.
    r.feed({{"web01", "1", "198.51.100.9", 20}});
  }
  size_t enriched = 0;
  for (auto& [k, v] : store.events) {
    IncidentId id;
    uint64_t seq = 0;
    ASSERT_TRUE(parse_incident_event_key(k, &id, &seq));
    auto e = decode_incident_event(id, v);
    ASSERT_TRUE(e.has_value());
    if (e->type != IncidentEventType::kEnriched) continue;
    ++enriched;
    EXPECT_EQ(e->actor, "enrich");
    EXPECT_EQ(e->seq, 1u);  // right after created
    EXPECT_EQ(e->data, R"({"kind":"ptr","value":"host.example.org"})");
  }
  EXPECT_EQ(enriched, 2u);
  expect_chains_valid(store);
}

// The lifecycle as the API drives it: each change answered after its commit, refusals
// written nowhere; an alert reopens a resolved incident, and three reopenings within the window
// mark it flapping; a closed incident that left its group still takes operations.
TEST(Correlate, StatusChangesFollowTheLifecycleAndAnswerOnceDurable) {
  FakeStore store;
  std::mutex mu;
  std::vector<Incident> created;
  auto o = options(1);
  Runner r(store, o, {1, 2, 3}, [&](const Incident& in) {
    std::lock_guard<std::mutex> lock(mu);
    created.push_back(in);
  });
  r.feed({{"web01", "1", "198.51.100.1", 0}});
  Incident first;
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(created.size(), 1u);
    first = created[0];
  }
  // Applies one operation and returns its outcome (after the commit, as the writer would).
  auto change = [&](IncidentEventType type, const IncidentId& id = IncidentId{}) {
    std::optional<IncidentOpResult> got;
    IncidentOp op;
    op.incident = id.is_nil() ? first.id : id;
    op.group_hash = first.group_hash;
    op.type = type;
    op.actor = "user:alice";
    op.data = "{}";
    op.assignee = "bob";
    op.time_ns = kBase + 30 * kSecond;
    op.done = [&](IncidentOpResult res) {
      std::lock_guard<std::mutex> lock(mu);
      got = std::move(res);
    };
    EXPECT_TRUE(r.stage().apply(std::move(op)));
    for (int i = 0; i < 100; ++i) {
      r.pump(20);
      std::lock_guard<std::mutex> lock(mu);
      if (got) return *got;
    }
    ADD_FAILURE() << "no answer";
    return IncidentOpResult{};
  };
  auto status_of = [](const IncidentOpResult& res) {
    return res.status ? std::string(incident_status_name(res.state.status))
                      : std::string(error_code_name(res.status.error().code));
  };
  EXPECT_EQ(status_of(change(IncidentEventType::kAcknowledged)), "acknowledged");
  EXPECT_EQ(status_of(change(IncidentEventType::kAcknowledged)), "conflict");
  EXPECT_EQ(status_of(change(IncidentEventType::kReopened)), "conflict");
  auto assigned = change(IncidentEventType::kAssigned);
  EXPECT_EQ(assigned.state.assignee, "bob");
  EXPECT_EQ(status_of(change(IncidentEventType::kResolved)), "resolved");
  // New alerts reopen it; the third reopening within the hour marks it flapping.
  for (int i = 1; i <= 3; ++i) {
    r.feed({{"web01", "1", "198.51.100." + std::to_string(10 + i), 10 * i}});
    if (i < 3) EXPECT_EQ(status_of(change(IncidentEventType::kResolved)), "resolved");
  }
  auto noted = change(IncidentEventType::kNoteAdded);
  ASSERT_TRUE(noted.status);
  EXPECT_EQ(noted.state.status, IncidentStatus::kOpen);
  EXPECT_EQ(noted.state.reopen_count, 3u);
  EXPECT_TRUE(noted.state.flapping);
  EXPECT_EQ(status_of(change(IncidentEventType::kClosed)), "closed");
  EXPECT_EQ(status_of(change(IncidentEventType::kAssigned)), "conflict");
  // The group's next alert opens a new incident; the closed one is still reachable.
  r.feed({{"web01", "1", "198.51.100.99", 50}});
  EXPECT_EQ(status_of(change(IncidentEventType::kReopened)), "open");
  EXPECT_EQ(status_of(change(IncidentEventType::kClosed)), "closed");
  EXPECT_EQ(status_of(change(IncidentEventType::kAcknowledged, make_incident_id({7}, 1, 0))),
            "not_found");
  r.finish();
  size_t reopened = 0, flapping = 0, refused_events = 0;
  for (auto& [k, v] : store.events) {
    IncidentId id;
    uint64_t seq = 0;
    ASSERT_TRUE(parse_incident_event_key(k, &id, &seq));
    auto e = decode_incident_event(id, v);
    ASSERT_TRUE(e.has_value());
    reopened += e->type == IncidentEventType::kReopened;
    flapping += e->type == IncidentEventType::kFlapping;
    refused_events += e->actor == "user:alice" && id != first.id;
  }
  EXPECT_EQ(reopened, 4u);  // three by alerts, one by the operator
  EXPECT_EQ(flapping, 1u);
  EXPECT_EQ(refused_events, 0u);
  EXPECT_EQ(store.all_incidents().size(), 2u);
  expect_chains_valid(store);
}

TEST(Correlate, AnAlertAfterTheGroupWindowOpensANewIncident) {
  auto o = std::make_shared<CorrelateOptions>();
  o->group_window_ns = 600 * kSecond;
  FakeStore store;
  {
    Runner r(store, o);
    r.feed({{"web01", "1", "192.0.2.1", 0}, {"web01", "1", "192.0.2.2", 599}});
    r.feed({{"web01", "1", "192.0.2.3", 599 + 601}});
  }
  auto incidents = store.all_incidents();
  ASSERT_EQ(incidents.size(), 2u);
  std::multiset<uint64_t> counts;
  for (auto& in : incidents) counts.insert(in.alert_count);
  EXPECT_EQ(counts, (std::multiset<uint64_t>{1, 2}));
  expect_chains_valid(store);
}

TEST(Correlate, AHigherSeverityRaisesTheIncidentWithAnEvent) {
  FakeStore store;
  {
    Runner r(store, options(1));
    r.feed({{"web01", "1", "192.0.2.1", 0, 4}, {"web01", "1", "192.0.2.2", 1, 2}});
  }
  auto incidents = store.all_incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].severity, Severity::kCritical);
  bool changed = false;
  for (auto& [k, v] : store.events) {
    IncidentId id;
    uint64_t seq = 0;
    ASSERT_TRUE(parse_incident_event_key(k, &id, &seq));
    auto e = decode_incident_event(id, v);
    if (e->type == IncidentEventType::kSeverityChanged) {
      changed = true;
      EXPECT_NE(e->data.find("\"from\":\"medium\",\"to\":\"critical\""), std::string::npos)
          << e->data;
    }
  }
  EXPECT_TRUE(changed);
  expect_chains_valid(store);
}

TEST(Correlate, AlertsBelowTheMinimumSeverityAreNotCorrelated) {
  FakeStore store;
  {
    Runner r(store, options());
    r.feed({{"web01", "1", "192.0.2.1", 0, 6}, {"web01", "2", "192.0.2.1", 0, 7}});
  }
  EXPECT_TRUE(store.all_incidents().empty());
}

std::vector<Input> workload(int n, int first_s = 0) {
  std::vector<Input> in;
  for (int i = 0; i < n; ++i) {
    in.push_back({"host" + std::to_string(i % 7), std::to_string(1000 + i % 3),
                  "203.0.113." + std::to_string(i % 11), first_s + i});
  }
  return in;
}

TEST(Correlate, ReplayingWhatWasCoveredChangesNothing) {
  FakeStore store;
  {
    Runner r(store, options());
    r.feed(workload(200));
  }
  const auto events_before = store.events;
  const auto incidents_before = store.incidents;
  {
    // A restart that (wrongly or after a crash) replays the whole log.
    Runner r(store, options());
    EXPECT_EQ(r.replay_from(), store.next_seq);
    r.replay(1);
  }
  EXPECT_EQ(store.events, events_before);
  EXPECT_EQ(store.incidents, incidents_before);
}

TEST(Correlate, ACrashBetweenBatchesEndsWithTheSameIncidentsAsAnUninterruptedRun) {
  const auto all = workload(300);
  const std::vector<Input> first(all.begin(), all.begin() + 120),
      second(all.begin() + 120, all.end());
  FakeStore straight;
  {
    Runner r(straight, options());
    r.feed(first);
    r.feed(second);
  }
  FakeStore crashed;
  {
    Runner r(crashed, options());
    r.feed(first);
  }
  // The second block reached the log but not correlation (killed in between).
  for (auto& in : second) crashed.log.push_back(line_of(in));
  crashed.next_seq += second.size();
  {
    Runner r(crashed, options());
    EXPECT_EQ(r.replay_from(), 121u);
    r.replay(r.replay_from());
  }
  auto a = straight.all_incidents(), b = crashed.all_incidents();
  ASSERT_EQ(a.size(), b.size());
  std::map<IncidentId, Incident> by_id;
  for (auto& in : b) by_id[in.id] = in;
  for (auto& in : a) {
    ASSERT_EQ(by_id.count(in.id), 1u) << "incident " << in.id.to_string() << " not re-derived";
    const Incident& c = by_id[in.id];
    // The dedupe checkpoint comes back with the restart: repeats are still repeats.
    EXPECT_EQ(c.occurrences, in.occurrences);
    EXPECT_EQ(c.alert_count, in.alert_count);
    EXPECT_EQ(c.first_alert_seq, in.first_alert_seq);
    EXPECT_EQ(c.last_alert_seq, in.last_alert_seq);
  }
  expect_chains_valid(crashed);
}

TEST(Correlate, ADedupeCheckpointOlderThanTheCoveredSequenceIsCaughtUpFromTheLog) {
  const auto all = workload(450);
  const std::vector<Input> a(all.begin(), all.begin() + 150),
      b(all.begin() + 150, all.begin() + 300), c(all.begin() + 300, all.end());
  FakeStore straight;
  {
    Runner r(straight, options());
    r.feed(a);
    r.feed(b);
    r.feed(c);
  }
  FakeStore restarted;
  {
    Runner r(restarted, options());
    r.feed(a);  // its shutdown checkpoints the dedupe tables at 150
  }
  restarted.keep_checkpoints = false;
  {
    Runner r(restarted, options());
    r.feed(b);  // covered moves to 300, the checkpoint stays at 150
  }
  restarted.keep_checkpoints = true;
  {
    Runner r(restarted, options());
    EXPECT_EQ(r.replay_from(), 151u);
    r.replay(r.replay_from());  // 151..300: into the dedupe tables only
    r.feed(c);
  }
  std::map<IncidentId, Incident> by_id;
  for (auto& in : restarted.all_incidents()) by_id[in.id] = in;
  const auto expected = straight.all_incidents();
  ASSERT_EQ(by_id.size(), expected.size());
  for (const Incident& in : expected) {
    ASSERT_EQ(by_id.count(in.id), 1u);
    EXPECT_EQ(by_id[in.id].alert_count, in.alert_count);
    EXPECT_EQ(by_id[in.id].occurrences, in.occurrences);
  }
  expect_chains_valid(restarted);
}

TEST(Correlate, AChangedShardCountReplaysSafelyFromTheOldestCoveredSequence) {
  FakeStore store;
  {
    Runner r(store, options(2));
    r.feed(workload(150));
  }
  const auto events_before = store.events;
  const auto incidents_before = store.incidents;
  {
    Runner r(store, options(3));
    r.replay(1);  // shards that never covered anything see every alert again
  }
  EXPECT_EQ(store.events, events_before);
  EXPECT_EQ(store.incidents, incidents_before);
}

// A crash after one shard's first commit landed and before the other's: the second shard has
// no covered sequence yet, and has covered nothing (it once took the first shard's, and skipped
// alerts it had never counted: the kill -9 test's rare undercount).
TEST(Correlate, AShardWithNoCoveredSequenceYetReplaysFromTheStart) {
  auto o = options(2);
  BoundedQueue<IncidentCommit> out(16);
  {
    CorrelateStage stage(o, {1}, out, *Runner::metrics());
    stage.restore({}, {500}, {}, 2);
    EXPECT_EQ(stage.replay_from(), 1u);
  }
  {
    CorrelateStage stage(o, {1}, out, *Runner::metrics());
    stage.restore({}, {500, 400}, {}, 2);
    EXPECT_EQ(stage.replay_from(), 401u);
  }
  {
    // Data written by three shards: the oldest covered sequence for all.
    CorrelateStage stage(o, {1}, out, *Runner::metrics());
    stage.restore({}, {500, 400, 450}, {}, 3);
    EXPECT_EQ(stage.replay_from(), 401u);
  }
  {
    // ... unless one of the three never covered anything.
    CorrelateStage stage(o, {1}, out, *Runner::metrics());
    stage.restore({}, {500, 400}, {}, 3);
    EXPECT_EQ(stage.replay_from(), 1u);
  }
}

TEST(Correlate, IncidentIdsAreUuidV4AndDependOnTheSecret) {
  const std::array<uint8_t, 16> s1{1}, s2{2};
  const IncidentId a = make_incident_id(s1, 42, 0), b = make_incident_id(s1, 42, 0);
  const IncidentId c = make_incident_id(s2, 42, 0), d = make_incident_id(s1, 43, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  const std::string text = a.to_string();
  ASSERT_EQ(text.size(), 36u);
  EXPECT_EQ(text[14], '4');
  EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos);
  auto parsed = IncidentId::parse(text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, a);
  EXPECT_FALSE(IncidentId::parse("not-a-uuid").has_value());
}

TEST(Correlate, IncidentEncodingRoundTrips) {
  Incident in;
  in.id = make_incident_id({7}, 1, 0);
  in.title = "ET POLICY \"quoted\"";
  in.category = "policy";
  in.severity = Severity::kHigh;
  in.status = IncidentStatus::kAcknowledged;
  in.alert_count = 3;
  in.add_observable(ObservableKind::kSourceIp, "192.0.2.1");
  in.add_observable(ObservableKind::kUser, "alice");
  auto back = decode_incident(encode_incident(in));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(encode_incident(*back), encode_incident(in));
  EXPECT_FALSE(decode_incident(encode_incident(in).substr(0, 40)).has_value());
}

}  // namespace
}  // namespace klaxon
