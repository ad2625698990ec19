#include "pipeline/core/metrics.h"

namespace klaxon {

namespace {
prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
}
}  // namespace

PipelineMetrics::PipelineMetrics(prometheus::Registry& registry) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  auto& rx_msgs = BuildCounter()
                      .Name("klaxon_source_received_messages_total")
                      .Help("Messages framed by a source, before parsing")
                      .Register(registry);
  auto& rx_bytes = BuildCounter()
                       .Name("klaxon_source_received_bytes_total")
                       .Help("Bytes read by a source")
                       .Register(registry);
  auto& dropped = BuildCounter()
                      .Name("klaxon_source_dropped_messages_total")
                      .Help("Messages a source dropped, by reason")
                      .Register(registry);
  auto& conns = BuildGauge()
                    .Name("klaxon_source_connections")
                    .Help("Open connections of a stream source")
                    .Register(registry);
  auto& conns_total = BuildCounter()
                          .Name("klaxon_source_connections_accepted_total")
                          .Help("Connections accepted")
                          .Register(registry);
  auto& conns_closed = BuildCounter()
                           .Name("klaxon_source_connections_closed_total")
                           .Help("Connections klaxond closed, by reason")
                           .Register(registry);
  auto& pauses = BuildCounter()
                     .Name("klaxon_source_backpressure_pauses_total")
                     .Help("Times a stream source stopped reading because the pipeline was full")
                     .Register(registry);
  // Every transport's series exist from the start (export 0 for known series).
  for (Transport t : {Transport::kUdp, Transport::kTcp, Transport::kTls, Transport::kKafka,
                      Transport::kHttp, Transport::kStdin}) {
    auto& m = transports[static_cast<size_t>(t)];
    const std::string name = transport_name(t);
    m.received_messages = &rx_msgs.Add({{"transport", name}});
    m.received_bytes = &rx_bytes.Add({{"transport", name}});
    m.dropped_queue_full = &dropped.Add({{"transport", name}, {"reason", "queue_full"}});
    m.connections = &conns.Add({{"transport", name}});
    m.connections_accepted = &conns_total.Add({{"transport", name}});
    m.connections_refused_limit = &conns_closed.Add({{"transport", name}, {"reason", "limit"}});
    m.connections_idle_closed = &conns_closed.Add({{"transport", name}, {"reason", "idle"}});
    m.backpressure_pauses = &pauses.Add({{"transport", name}});
  }
  tls_failures = &BuildCounter()
                      .Name("klaxon_source_tls_handshake_failures_total")
                      .Help("TLS handshakes refused or failed, by reason")
                      .Register(registry);
  for (const char* r :
       {"protocol", "cipher", "no_certificate", "certificate", "not_tls", "timeout", "other"}) {
    tls_failures->Add({{"reason", r}});
  }
  tls_handshakes = &BuildCounter()
                        .Name("klaxon_source_tls_handshakes_total")
                        .Help("TLS handshakes completed")
                        .Register(registry)
                        .Add({});
  parse_accepted = &BuildCounter()
                        .Name("klaxon_parse_accepted_messages_total")
                        .Help("Messages parsed and normalized into alerts")
                        .Register(registry)
                        .Add({});
  auto& rejected_family = BuildCounter()
                              .Name("klaxon_parse_rejected_messages_total")
                              .Help("Messages rejected (kept in the dead-letter store), by reason")
                              .Register(registry);
  for (int r = 1; r < kRejectReasonCount; ++r) {
    if (static_cast<RejectReason>(r) == RejectReason::kQueueFull) continue;
    rejected[r] =
        &rejected_family.Add({{"reason", reject_reason_name(static_cast<RejectReason>(r))}});
  }
  parse_batch_seconds = &BuildHistogram()
                             .Name("klaxon_parse_batch_duration_seconds")
                             .Help("Time to parse, normalize and encode one block")
                             .Register(registry)
                             .Add({}, latency_buckets());
  auto& depth = BuildGauge()
                    .Name("klaxon_queue_depth_batches")
                    .Help("Batches waiting in a stage's input queue")
                    .Register(registry);
  auto& capacity = BuildGauge()
                       .Name("klaxon_queue_capacity_batches")
                       .Help("Capacity of a stage's input queue")
                       .Register(registry);
  parse_queue_depth = &depth.Add({{"queue", "parse"}});
  persist_queue_depth = &depth.Add({{"queue", "persist"}});
  parse_queue_capacity = &capacity.Add({{"queue", "parse"}});
  persist_queue_capacity = &capacity.Add({{"queue", "persist"}});
  persisted_alerts = &BuildCounter()
                          .Name("klaxon_storage_persisted_alerts_total")
                          .Help("Alerts durable in the alert log")
                          .Register(registry)
                          .Add({});
  persisted_bytes = &BuildCounter()
                         .Name("klaxon_storage_persisted_bytes_total")
                         .Help("Bytes written to the alert log (after compression)")
                         .Register(registry)
                         .Add({});
  persisted_raw_bytes = &BuildCounter()
                             .Name("klaxon_storage_persisted_received_bytes_total")
                             .Help("Received bytes of the alerts made durable")
                             .Register(registry)
                             .Add({});
  commits = &BuildCounter()
                 .Name("klaxon_storage_commits_total")
                 .Help("Group commits (one RocksDB WriteBatch each)")
                 .Register(registry)
                 .Add({});
  commit_errors = &BuildCounter()
                       .Name("klaxon_storage_commit_errors_total")
                       .Help("Group commits that RocksDB refused (retried)")
                       .Register(registry)
                       .Add({});
  dead_letters = &BuildCounter()
                      .Name("klaxon_storage_dead_letters_total")
                      .Help("Rejected messages written to the dead-letter column family")
                      .Register(registry)
                      .Add({});
  commit_seconds = &BuildHistogram()
                        .Name("klaxon_storage_commit_duration_seconds")
                        .Help("Duration of one group commit, sync included")
                        .Register(registry)
                        .Add({}, latency_buckets());
  pipeline_latency_seconds = &BuildHistogram()
                                  .Name("klaxon_pipeline_latency_seconds")
                                  .Help("From a batch entering the pipeline to its alerts durable")
                                  .Register(registry)
                                  .Add({}, latency_buckets());
  last_sequence = &BuildGauge()
                       .Name("klaxon_storage_next_sequence")
                       .Help("Sequence number the next stored alert will get")
                       .Register(registry)
                       .Add({});
  auto& correlated = BuildCounter()
                         .Name("klaxon_correlate_alerts_total")
                         .Help("Alerts seen by correlation, by outcome")
                         .Register(registry);
  correlate_new_incident = &correlated.Add({{"result", "new_incident"}});
  correlate_linked = &correlated.Add({{"result", "linked"}});
  correlate_duplicate = &correlated.Add({{"result", "duplicate"}});
  correlate_below_severity = &correlated.Add({{"result", "below_min_severity"}});
  correlate_replayed = &correlated.Add({{"result", "already_covered"}});
  correlate_active_incidents = &BuildGauge()
                                    .Name("klaxon_correlate_active_incidents")
                                    .Help("Incidents whose group is still open to new alerts")
                                    .Register(registry)
                                    .Add({});
  dedupe_entries = &BuildGauge()
                        .Name("klaxon_dedupe_entries")
                        .Help("Fingerprints tracked by the dedupe tables")
                        .Register(registry)
                        .Add({});
  dedupe_evicted_capacity = &BuildCounter()
                                 .Name("klaxon_dedupe_evicted_capacity_total")
                                 .Help("Fingerprints evicted early because a table was full")
                                 .Register(registry)
                                 .Add({});
  correlate_queue_depth = &BuildGauge()
                               .Name("klaxon_correlate_queue_depth")
                               .Help("Batches waiting in the correlation shard queues")
                               .Register(registry)
                               .Add({});
  incidents_created = &BuildCounter()
                           .Name("klaxon_incidents_created_total")
                           .Help("Incidents opened")
                           .Register(registry)
                           .Add({});
  incident_events = &BuildCounter()
                         .Name("klaxon_incident_events_total")
                         .Help("Incident events written (hash-chained)")
                         .Register(registry)
                         .Add({});
  incident_commits = &BuildCounter()
                          .Name("klaxon_incident_commits_total")
                          .Help("Incident write batches committed")
                          .Register(registry)
                          .Add({});
  incident_commit_errors = &BuildCounter()
                                .Name("klaxon_incident_commit_errors_total")
                                .Help("Incident write batches RocksDB refused (retried)")
                                .Register(registry)
                                .Add({});
  incident_commit_seconds = &BuildHistogram()
                                 .Name("klaxon_incident_commit_duration_seconds")
                                 .Help("Duration of one incident commit, sync included")
                                 .Register(registry)
                                 .Add({}, latency_buckets());
  sigma_matches = &BuildCounter()
                       .Name("klaxon_sigma_rule_matches_total")
                       .Help("Alerts matching a Sigma base rule (one per rule matched)")
                       .Register(registry)
                       .Add({});
  auto& ops = BuildCounter()
                  .Name("klaxon_incident_operations_total")
                  .Help(
                      "Changes to incidents from outside the alert stream (enrichment, API), "
                      "by result")
                  .Register(registry);
  incident_ops_applied = &ops.Add({{"result", "applied"}});
  incident_ops_not_active = &ops.Add({{"result", "not_active"}});
  incident_ops_queue_full = &ops.Add({{"result", "queue_full"}});
  sigma_firings = &BuildCounter()
                       .Name("klaxon_sigma_correlation_firings_total")
                       .Help("Sigma correlation rules whose condition was met")
                       .Register(registry)
                       .Add({});
  incident_latency_seconds =
      &BuildHistogram()
           .Name("klaxon_incident_latency_seconds")
           .Help("From alerts entering the pipeline to their incident events durable")
           .Register(registry)
           .Add({}, latency_buckets());
}

prometheus::Counter* PipelineMetrics::tls_handshake_failure(const std::string& reason) {
  return &tls_failures->Add({{"reason", reason}});
}

}  // namespace klaxon
