#include "daemon/daemon.h"

#include "daemon/http_intake.h"
#include "daemon/http_server.h"
#include "daemon/incident_api.h"
#include "daemon/notifier.h"
#include "daemon/watchdog.h"
#include "enrich/enricher.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"
#include "pipeline/core/metrics.h"
#include "pipeline/sources/kafka.h"
#include "pipeline/sources/syslog_tcp.h"
#include "pipeline/sources/syslog_udp.h"
#include "pipeline/stages/correlate.h"
#include "pipeline/stages/parse.h"
#include "storage/audit.h"
#include "storage/incident_writer.h"
#include "storage/store.h"
#include "storage/writer.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#ifndef KLAXON_VERSION
#define KLAXON_VERSION "0.0.0"
#endif

namespace klaxon {

namespace asio = boost::asio;

namespace {

// Hands the correlate stage the incidents that may still take alerts, and each shard's
// covered sequence.
Status restore_correlation(Store& store, CorrelateStage& stage,
                           const std::shared_ptr<const CorrelateOptions>& /*options*/) {
  std::vector<Incident> incidents;
  KLAXON_TRY(store.for_each_incident([&](const Incident& in) {
    if (in.status != IncidentStatus::kClosed) incidents.push_back(in);
    return true;
  }));
  auto covered = store.covered_sequences();
  if (!covered) return covered.error();
  std::vector<std::string> checkpoints(stage.shard_count());
  KLAXON_TRY(store.for_each_meta("corr/dedupe/", [&](std::string_view key, std::string_view v) {
    const unsigned long shard = std::strtoul(
        std::string(key.substr(std::string_view("corr/dedupe/").size())).c_str(), nullptr, 10);
    if (shard < checkpoints.size()) checkpoints[shard].assign(v);
    return true;
  }));
  // The shard count that wrote the covered sequences. It is recorded before any shard
  // commits; when it changes, every shard starts from the oldest covered sequence, written
  // for all shards at once so that a crash before their first commits keeps it.
  size_t stored_shards = 0;
  if (auto v = store.get_meta("corr/shards"); v && !v->empty())
    stored_shards = std::strtoul(v->c_str(), nullptr, 10);
  const size_t n = incidents.size();
  stage.restore(std::move(incidents), *covered, checkpoints, stored_shards);
  if (stored_shards != stage.shard_count()) {
    if (!covered->empty()) {
      const uint64_t from = stage.replay_from() - 1;
      for (size_t i = 0; i < stage.shard_count(); ++i) {
        std::string v(8, '\0');
        for (int b = 0; b < 8; ++b) v[b] = static_cast<char>((from >> (8 * (7 - b))) & 0xFF);
        KLAXON_TRY(store.put_meta("corr/covered/" + std::to_string(i), v));
      }
    }
    KLAXON_TRY(store.put_meta("corr/shards", std::to_string(stage.shard_count())));
  }
  log_event(LogLevel::kInfo, "correlate", "restored",
            {{"incidents", std::to_string(n)},
             {"replay_from", std::to_string(stage.replay_from())},
             {"shards", std::to_string(stage.shard_count())}});
  return ok_status();
}

// Feeds the alerts stored after the oldest covered sequence back through correlation: the
// alerts of a crash's last moments, durable but not yet correlated. Shards skip what they
// had covered. Runs before the sources start.
Status replay_alert_log(Store& store, CorrelateStage& stage,
                        const std::shared_ptr<const CorrelateOptions>& options) {
  const uint64_t from = stage.replay_from();
  if (from >= store.next_sequence()) return ok_status();
  const int64_t t0 = monotonic_ns();
  CorrelationExtractor extractor(options);
  auto batch = std::make_unique<CorrelationBatch>();
  uint64_t batch_first = from, next = from, replayed = 0;
  Alert alert;
  auto submit = [&] {
    if (next == batch_first) return;
    for (CorrelationItem& it : batch->items) it.seq = batch_first + it.index;
    for (uint64_t& a : batch->update_alert) a += batch_first;
    batch->last_seq = next - 1;
    stage.submit(std::move(batch));
    batch = std::make_unique<CorrelationBatch>();
    batch_first = next;
  };
  Status bad = ok_status();
  KLAXON_TRY(store.for_each_alert(from, [&](uint64_t seq, std::string_view record) {
    if (seq != next) {
      bad = make_error(ErrorCode::kStorage, "alert log gap at sequence " + std::to_string(next));
      return false;
    }
    // The record is copied: the block it was decoded from is gone after this call.
    const ArenaRef ref = batch->add(record);
    if (!read_alert_record(batch->str(ref), alert)) {
      bad = make_error(ErrorCode::kStorage, "malformed alert record " + std::to_string(seq));
      return false;
    }
    extractor.add(alert, static_cast<uint32_t>(seq - batch_first), ref, *batch);
    ++next;
    ++replayed;
    if (next - batch_first >= 4096) submit();
    return true;
  }));
  KLAXON_TRY(bad);
  submit();
  log_event(LogLevel::kInfo, "correlate", "replayed the alert log",
            {{"from", std::to_string(from)},
             {"alerts", std::to_string(replayed)},
             {"seconds", std::to_string(static_cast<double>(monotonic_ns() - t0) * 1e-9)}});
  return ok_status();
}

// Signs the incident chain heads into the checkpoint file every audit.interval on its own
// thread, and once more at stop() (after the incident writer has drained).
class Checkpointer {
 public:
  Checkpointer(Store& store, Ed25519Key key, const Config& config, prometheus::Registry& registry)
      : store_(store),
        key_(std::move(key)),
        path_(config.audit.checkpoint_file),
        data_dir_(config.data_dir),
        interval_(config.audit.interval) {
    auto& written = prometheus::BuildCounter()
                        .Name("klaxon_audit_checkpoints_total")
                        .Help("Signed checkpoints of the incident chain heads, by result")
                        .Register(registry);
    ok_ = &written.Add({{"result", "ok"}});
    failed_ = &written.Add({{"result", "error"}});
    last_ = &prometheus::BuildGauge()
                 .Name("klaxon_audit_last_checkpoint_timestamp_seconds")
                 .Help("When the last signed checkpoint was written")
                 .Register(registry)
                 .Add({});
  }
  ~Checkpointer() { stop(); }

  void start() {
    write();
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        write();
        lock.lock();
      }
    });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    write();
  }

 private:
  void write() {
    CheckpointOptions o;
    o.data_dir = data_dir_;
    auto r = write_checkpoint(store_, key_, path_, o);
    if (!r) {
      // Never overwritten: a store that contradicts the last checkpoint keeps the proof.
      failed_->Increment();
      log_event(LogLevel::kError, "audit", "checkpoint not written",
                {{"file", path_}, {"error", r.error().to_string()}});
      return;
    }
    ok_->Increment();
    last_->Set(static_cast<double>(wall_ns()) * 1e-9);
    log_event(LogLevel::kDebug, "audit", "checkpoint written",
              {{"file", path_},
               {"seq", std::to_string(r->seq)},
               {"incidents", std::to_string(r->incidents)},
               {"hash", hash_hex(r->hash)}});
  }

  Store& store_;
  Ed25519Key key_;
  std::string path_, data_dir_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  prometheus::Counter* ok_;
  prometheus::Counter* failed_;
  prometheus::Gauge* last_;
};

// The signing key, generated on first start when the configuration asks for it.
Result<Ed25519Key> audit_key(const Config& config) {
  const std::string& path = config.audit.signing_key;
  std::error_code ec;
  if (config.audit.generate_key && !std::filesystem::exists(path, ec)) {
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return make_error(ErrorCode::kIo, dir.string() + ": " + ec.message());
    }
    KLAXON_TRY(generate_key_files(path.substr(0, path.size() - 4)));
    log_event(LogLevel::kWarn, "audit",
              "generated an Ed25519 signing key for incident checkpoints; keep a copy of the "
              "public key away from this machine",
              {{"private_key", path}, {"public_key", path.substr(0, path.size() - 4) + ".pub"}});
  }
  return Ed25519Key::load_private(path);
}

// Each new incident's observables are looked up (DNS by default; RDAP and WHOIS when
// enabled); every definite answer, even a late one, becomes an `enriched` event on the
// incident, appended by the shard that owns it. The shards never wait for an answer.
Result<std::unique_ptr<enrich::Enricher>> start_enrichment(const Config::Enrich& config,
                                                           prometheus::Registry& registry,
                                                           CorrelateStage& correlate) {
  enrich::EnrichOptions options = config.options;
  if (!config.whois) {
    options.whois_server.clear();
    options.whois_fallback = false;
  }
  auto created = enrich::Enricher::create(options, registry);
  if (!created) return created.error();
  enrich::Enricher* enricher = created->get();
  const bool dns = config.dns, rdap = config.rdap, whois = config.whois;
  correlate.set_created_hook([enricher, &correlate, dns, rdap, whois](const Incident& incident) {
    for (const Observable& ob : incident.observables) {
      for (auto& [kind, value] : enrich::plan_lookups(ob)) {
        const bool wanted = kind == enrich::LookupKind::kRdap    ? rdap
                            : kind == enrich::LookupKind::kWhois ? whois
                                                                 : dns;
        if (!wanted) continue;
        enricher->request(kind, value,
                          [&correlate, id = incident.id,
                           group = incident.group_hash](const enrich::LookupResult& r) {
                            // Timeouts, refusals and drops are counted by the enricher; the
                            // chain records answers.
                            if (r.status() != enrich::LookupStatus::kOk &&
                                r.status() != enrich::LookupStatus::kNotFound)
                              return;
                            IncidentOp op;
                            op.incident = id;
                            op.group_hash = group;
                            op.type = IncidentEventType::kEnriched;
                            op.actor = "enrich";
                            op.data = enrich::to_json(r);
                            op.time_ns = wall_ns();
                            correlate.apply(std::move(op));
                          });
      }
    }
  });
  return created;
}

}  // namespace

int run_daemon(Config config, const std::string& config_path) {
  log_configure(config.log_level, config.log_json);
  std::error_code fs_ec;
  std::filesystem::create_directories(config.data_dir, fs_ec);
  if (fs_ec) {
    log_event(LogLevel::kError, "daemon", "cannot create data directory",
              {{"data_dir", config.data_dir}, {"error", fs_ec.message()}});
    return 1;
  }
  StoreOptions so;
  so.sync = config.sync;
  auto store_r = Store::open(config.data_dir + "/db", so);
  if (!store_r) {
    log_event(LogLevel::kError, "storage", "cannot open the store",
              {{"error", store_r.error().to_string()}});
    return 1;
  }
  std::unique_ptr<Store> store = std::move(*store_r);
  log_event(LogLevel::kInfo, "storage", "opened",
            {{"path", config.data_dir + "/db"},
             {"next_sequence", std::to_string(store->next_sequence())},
             {"sync", config.sync ? "commit" : "none"}});

  auto registry = std::make_shared<prometheus::Registry>();
  PipelineMetrics metrics(*registry);
  std::unique_ptr<Checkpointer> checkpointer;
  if (!config.audit.signing_key.empty()) {
    auto key = audit_key(config);
    if (!key) {
      log_event(LogLevel::kError, "audit", "cannot load the signing key",
                {{"error", key.error().to_string()}});
      return 1;
    }
    checkpointer = std::make_unique<Checkpointer>(*store, std::move(*key), config, *registry);
  } else {
    log_event(LogLevel::kWarn, "audit",
              "audit.signing_key is not set: incident chains are not signed, so a rewritten "
              "or truncated history cannot be detected");
  }
  auto& build_info = prometheus::BuildGauge()
                         .Name("klaxon_build_info")
                         .Help("klaxond version")
                         .Register(*registry)
                         .Add({{"version", KLAXON_VERSION}});
  build_info.Set(1);
  auto& reload_ok_family = prometheus::BuildGauge()
                               .Name("klaxon_config_last_reload_successful")
                               .Help("1 when the last configuration (re)load succeeded")
                               .Register(*registry);
  auto& reload_ok = reload_ok_family.Add({});
  auto& reload_ts = prometheus::BuildGauge()
                        .Name("klaxon_config_last_reload_success_timestamp_seconds")
                        .Help("When the configuration was last loaded successfully")
                        .Register(*registry)
                        .Add({});
  reload_ok.Set(1);
  reload_ts.Set(static_cast<double>(wall_ns()) * 1e-9);

  BoundedQueue<RawBatch> parse_queue(config.queue_capacity);
  BoundedQueue<EncodedBlock> persist_queue(config.queue_capacity);
  metrics.parse_queue_capacity->Set(static_cast<double>(parse_queue.capacity()));
  metrics.persist_queue_capacity->Set(static_cast<double>(persist_queue.capacity()));

  GroupCommitWriter writer(*store, persist_queue, metrics);
  // Correlation: restored from the store, then caught up with the alert log, before any
  // source starts (the log must not grow while it is replayed).
  BoundedQueue<IncidentCommit> incident_queue(config.queue_capacity * 4);
  // Declared before the writer that calls it: destroyed after that writer's thread is joined.
  std::unique_ptr<Notifier> notifier;
  IncidentWriter incident_writer(*store, incident_queue, metrics);
  std::unique_ptr<CorrelateStage> correlate;
  // Declared after `correlate`: destroyed first, so its last callbacks still find the stage.
  std::unique_ptr<enrich::Enricher> enricher;
  if (config.correlate.enabled) {
    auto options = std::make_shared<const CorrelateOptions>(config.correlate);
    config.parse.correlate = options;
    correlate = std::make_unique<CorrelateStage>(options, store->instance_secret(), incident_queue,
                                                 metrics);
    if (auto st = restore_correlation(*store, *correlate, options); !st) {
      log_event(LogLevel::kError, "correlate", "cannot restore correlation state",
                {{"error", st.error().to_string()}});
      return 1;
    }
    // Operations on incidents that left memory (an acknowledgement of an old incident, the
    // delivery record of a closure notice) read them back from the store.
    correlate->set_loader([&store](const IncidentId& id) { return store->get_incident(id); });
    if (config.enrich.enabled) {
      auto created = start_enrichment(config.enrich, *registry, *correlate);
      if (!created) {
        log_event(LogLevel::kError, "enrich", "cannot start enrichment",
                  {{"error", created.error().to_string()}});
        return 1;
      }
      enricher = std::move(*created);
    }
    if (!config.notify_yaml.empty()) {
      auto nc = parse_notifier_config(config.notify_yaml);
      if (!nc) {
        log_event(LogLevel::kError, "notify", "bad notify configuration",
                  {{"error", nc.error().message}});
        return 1;
      }
      auto started = Notifier::start(*store, *correlate, std::move(*nc), *registry);
      if (!started) {
        log_event(LogLevel::kError, "notify", "cannot start notification",
                  {{"error", started.error().to_string()}});
        return 1;
      }
      notifier = std::move(*started);
      Notifier* n = notifier.get();
      incident_writer.set_on_written([n](const IncidentCommit& c) { n->on_commit(c); });
    }
    incident_writer.start();
    correlate->start();
    if (auto st = replay_alert_log(*store, *correlate, options); !st) {
      log_event(LogLevel::kError, "correlate", "cannot replay the alert log",
                {{"error", st.error().to_string()}});
      correlate->drain_and_stop();
      incident_writer.drain_and_stop();
      return 1;
    }
    writer.set_correlation_sink(
        [&correlate](std::unique_ptr<CorrelationBatch> b) { correlate->submit(std::move(b)); });
  }
  ParseStage parse(config.parse, parse_queue, persist_queue, metrics);
  writer.start();
  parse.start();

  asio::io_context io(1);
  std::vector<std::unique_ptr<SyslogTcpSource>> tcp;
  std::vector<std::unique_ptr<SyslogUdpSource>> udp;
  std::vector<std::unique_ptr<KafkaSource>> kafka;
  HttpServer http(io, config.http_listen, config.http_max_body_size);
  HttpIntake intake(
      io,
      HttpIntakeOptions{config.http_tokens, config.http_max_messages, config.http_durable_timeout},
      parse_queue, metrics, *registry);
  std::atomic<bool> draining{false};

  auto fail_start = [&](const Error& e) {
    log_event(LogLevel::kError, "daemon", "start-up failed", {{"error", e.message}});
    parse.drain_and_stop();
    writer.drain_and_stop();
    if (notifier) notifier->stop();
    if (correlate) correlate->drain_and_stop();
    incident_writer.drain_and_stop();
    return 1;
  };
  for (const auto& o : config.tcp) {
    tcp.push_back(std::make_unique<SyslogTcpSource>(io, o, parse_queue, metrics));
    if (auto s = tcp.back()->start(); !s) return fail_start(s.error());
  }
  for (const auto& o : config.udp) {
    udp.push_back(std::make_unique<SyslogUdpSource>(io, o, parse_queue, metrics));
    if (auto s = udp.back()->start(); !s) return fail_start(s.error());
  }

  for (const auto& o : config.kafka) {
    kafka.push_back(std::make_unique<KafkaSource>(o, parse_queue, metrics));
    if (auto s = kafka.back()->start(); !s) {
      for (auto& k : kafka) k->finish();
      return fail_start(s.error());
    }
  }

  http.route("/metrics", [registry] {
    prometheus::TextSerializer serializer;
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = serializer.Serialize(registry->Collect());
    return r;
  });
  http.route("/healthz", [] { return HttpResponse{200, "text/plain; charset=utf-8", "ok\n", {}}; });
  http.route("/readyz", [&draining] {
    if (draining.load()) return HttpResponse{503, "text/plain; charset=utf-8", "draining\n", {}};
    return HttpResponse{200, "text/plain; charset=utf-8", "ready\n", {}};
  });
  intake.register_routes(http);
  IncidentApi api(io, *store, correlate.get(), notifier.get(),
                  IncidentApiOptions{config.api_tokens, config.http_durable_timeout}, *registry);
  api.register_routes(http);
  if (auto s = http.start(); !s) return fail_start(s.error());

  // Queue depths are sampled, not updated per batch.
  asio::steady_timer sampler(io);
  std::function<void()> sample = [&] {
    metrics.parse_queue_depth->Set(static_cast<double>(parse_queue.size()));
    metrics.persist_queue_depth->Set(static_cast<double>(persist_queue.size()));
    if (correlate) metrics.correlate_queue_depth->Set(static_cast<double>(correlate->queued()));
    sampler.expires_after(std::chrono::milliseconds(500));
    sampler.async_wait([&](boost::system::error_code ec) {
      if (!ec) sample();
    });
  };
  sample();

  Config current = config;
  auto reload = [&] {
    if (config_path.empty()) {
      log_event(LogLevel::kInfo, "daemon",
                "SIGHUP: running on the embedded default, nothing to reload");
      return;
    }
    auto next = load_config_file(config_path);
    if (!next) {
      reload_ok.Set(0);
      log_event(LogLevel::kError, "daemon", "reload failed, keeping the running configuration",
                {{"error", next.error().message}});
      return;
    }
    for (const auto& key : restart_required_changes(current, *next)) {
      log_event(LogLevel::kWarn, "daemon",
                "changed setting needs a restart; keeping the running value", {{"key", key}});
    }
    log_configure(next->log_level, next->log_json);
    parse.update_parse_options(next->parse.parse);
    intake.set_tokens(next->http_tokens);
    api.set_tokens(next->api_tokens);
    bool notify_ok = true;
    if (next->notify_yaml != current.notify_yaml) {
      if (!notifier || next->notify_yaml.empty()) {
        notify_ok = false;
        log_event(LogLevel::kWarn, "daemon",
                  "turning notification on or off needs a restart; keeping the running one");
      } else if (auto nc = parse_notifier_config(next->notify_yaml); !nc) {
        notify_ok = false;  // cannot happen: load_config_file validated it
      } else if (auto st = notifier->reload(std::move(*nc)); !st) {
        notify_ok = false;
        log_event(LogLevel::kWarn, "daemon", "notify reload refused; keeping the running one",
                  {{"error", st.error().message}});
      } else {
        current.notify_yaml = next->notify_yaml;
        log_event(LogLevel::kInfo, "notify", "routes, inhibit rules and policies reloaded");
      }
    }
    bool tls_ok = true;
    for (size_t i = 0; i < tcp.size() && i < next->tcp.size(); ++i) {
      tcp[i]->update_limits(next->tcp[i]);
      if (next->tcp[i].tls) {
        // A bad certificate or key keeps the running one; established connections go on.
        if (auto st = tcp[i]->reload_tls(next->tcp[i].tls_options); !st) {
          tls_ok = false;
          log_event(LogLevel::kError, "daemon",
                    "TLS reload failed, keeping the running certificate",
                    {{"error", st.error().message}});
        }
      }
    }
    for (size_t i = 0; i < udp.size() && i < next->udp.size(); ++i)
      udp[i]->update_limits(next->udp[i]);
    current.log_level = next->log_level;
    current.log_json = next->log_json;
    current.parse.parse = next->parse.parse;
    reload_ok.Set(tls_ok && notify_ok ? 1 : 0);
    if (tls_ok && notify_ok) reload_ts.Set(static_cast<double>(wall_ns()) * 1e-9);
    log_event(LogLevel::kInfo, "daemon", "configuration reloaded", {{"file", config_path}});
  };

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  asio::steady_timer drain_timer(io);
  std::function<void()> wait_sessions;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      if (draining.exchange(true)) return;
      log_event(LogLevel::kInfo, "daemon", "shutting down: draining",
                {{"signal", std::to_string(sig)}});
      sd_notify(0, "STOPPING=1");
      for (auto& s : tcp) s->stop();
      for (auto& s : udp) s->stop();
      for (auto& k : kafka) k->stop_consuming();
      http.stop();
      intake.stop_accepting();
      wait_sessions();
    });
  };
  // Connections hand their last complete frames over before the I/O thread stops.
  // HTTP requests already accepted get their answer (the pipeline is still running).
  int quiet_ticks = 0;
  wait_sessions = [&] {
    size_t open = intake.pending() + api.pending();
    for (auto& s : tcp) open += s->connections();
    // Two quiet ticks: the last answers are written before the I/O thread stops.
    quiet_ticks = open == 0 ? quiet_ticks + 1 : 0;
    if (quiet_ticks >= 2) {
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(5));
    drain_timer.async_wait([&](boost::system::error_code) { wait_sessions(); });
  };
  wait_signal();

  if (checkpointer) checkpointer->start();
  sd_notify(0, "READY=1");
  auto watchdog = start_pipeline_watchdog(io, parse_queue, persist_queue, incident_queue,
                                          correlate.get(), metrics);  // when WatchdogSec= is set
  log_event(LogLevel::kInfo, "daemon", "ready",
            {{"version", KLAXON_VERSION}, {"config", config.source_name}});
  io.run();

  parse.drain_and_stop();
  writer.drain_and_stop();
  // Everything read is durable now: store and commit the final Kafka offsets.
  for (auto& k : kafka) k->finish();
  // The notifier first: its last delivery results become events through the shards.
  if (notifier) notifier->stop();
  if (correlate) correlate->drain_and_stop();
  incident_writer.drain_and_stop();
  if (checkpointer) checkpointer->stop();  // signs the final heads
  log_event(LogLevel::kInfo, "daemon", "stopped cleanly",
            {{"next_sequence", std::to_string(store->next_sequence())}});
  return 0;
}

}  // namespace klaxon
