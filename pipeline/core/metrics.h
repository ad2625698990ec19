// PipelineMetrics: every metric handle the pipeline updates, created once at start-up.
//
// Handles are looked up here, never on the hot path; stages add per batch, not per alert.
// prometheus-cpp counters and gauges are atomic: any thread may update them. Names follow
// the Prometheus conventions (klaxon_<component>_<what>_<unit>, counters end in _total,
// base units); the full list is in daemon/README.md.
#pragma once

#include "pipeline/core/alert.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

namespace klaxon {

struct TransportMetrics {
  prometheus::Counter* received_messages = nullptr;
  prometheus::Counter* received_bytes = nullptr;
  prometheus::Counter* dropped_queue_full = nullptr;
  prometheus::Gauge* connections = nullptr;  // open connections (stream transports)
  prometheus::Counter* connections_accepted = nullptr;
  prometheus::Counter* connections_refused_limit = nullptr;
  prometheus::Counter* connections_idle_closed = nullptr;
  prometheus::Counter* backpressure_pauses = nullptr;
};

struct PipelineMetrics {
  explicit PipelineMetrics(prometheus::Registry& registry);

  TransportMetrics& transport(Transport t) { return transports[static_cast<size_t>(t)]; }

  std::array<TransportMetrics, 6> transports{};
  // TLS handshakes refused, by reason (protocol, cipher, no_certificate, certificate,
  // not_tls, timeout, other).
  prometheus::Counter* tls_handshake_failure(const std::string& reason);
  prometheus::Family<prometheus::Counter>* tls_failures = nullptr;
  prometheus::Counter* tls_handshakes = nullptr;
  prometheus::Counter* parse_accepted = nullptr;
  std::array<prometheus::Counter*, kRejectReasonCount> rejected{};  // by RejectReason
  prometheus::Histogram* parse_batch_seconds = nullptr;
  prometheus::Gauge* parse_queue_depth = nullptr;
  prometheus::Gauge* parse_queue_capacity = nullptr;
  prometheus::Gauge* persist_queue_depth = nullptr;
  prometheus::Gauge* persist_queue_capacity = nullptr;
  prometheus::Counter* persisted_alerts = nullptr;
  prometheus::Counter* persisted_bytes = nullptr;
  prometheus::Counter* persisted_raw_bytes = nullptr;
  prometheus::Counter* commits = nullptr;
  prometheus::Counter* commit_errors = nullptr;
  prometheus::Counter* dead_letters = nullptr;
  prometheus::Histogram* commit_seconds = nullptr;
  prometheus::Histogram* pipeline_latency_seconds = nullptr;  // enqueued -> durable
  prometheus::Gauge* last_sequence = nullptr;

  // Correlation (pipeline/stages/correlate.h) and the incident writer.
  prometheus::Counter* correlate_new_incident = nullptr;  // alerts that opened an incident
  prometheus::Counter* correlate_linked = nullptr;        // joined an incident
  prometheus::Counter* correlate_duplicate = nullptr;     // dedupe hits
  prometheus::Counter* correlate_below_severity = nullptr;
  prometheus::Counter* correlate_replayed = nullptr;  // skipped on replay: already covered
  prometheus::Gauge* correlate_active_incidents = nullptr;
  prometheus::Gauge* dedupe_entries = nullptr;
  prometheus::Counter* dedupe_evicted_capacity = nullptr;
  prometheus::Gauge* correlate_queue_depth = nullptr;
  prometheus::Counter* incidents_created = nullptr;
  prometheus::Counter* incident_events = nullptr;
  prometheus::Counter* incident_commits = nullptr;
  prometheus::Counter* incident_commit_errors = nullptr;
  prometheus::Histogram* incident_commit_seconds = nullptr;
  prometheus::Histogram* incident_latency_seconds = nullptr;  // alert enqueued -> event durable
  prometheus::Counter* sigma_matches = nullptr;               // base-rule matches (parse workers)
  prometheus::Counter* sigma_firings = nullptr;               // correlation-rule firings (shards)
  // Changes to incidents from outside the alert stream (correlate.h IncidentOp), by result.
  prometheus::Counter* incident_ops_applied = nullptr;
  prometheus::Counter* incident_ops_not_active = nullptr;  // the incident left memory first
  prometheus::Counter* incident_ops_queue_full = nullptr;
};

}  // namespace klaxon
