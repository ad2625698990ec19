#include "pipeline/stages/parse.h"

#include "pipeline/core/alert_record.h"
#include "pipeline/core/clock.h"

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>

namespace klaxon {

namespace {

// "@cee:" (CEE-enhanced syslog, Suricata's optional prefix) before a JSON body.
std::string_view json_body_of(std::string_view msg) {
  if (msg.substr(0, 5) == "@cee:") msg.remove_prefix(5);
  while (!msg.empty() && msg.front() == ' ') msg.remove_prefix(1);
  return msg;
}

}  // namespace

ParseStatus MessageParser::parse(std::string_view frame, const IngestMeta& meta, int64_t now_ns,
                                 Alert& alert) {
  alert = Alert{};
  alert.raw = frame;
  alert.ingest = meta;
  if (frame.empty()) return ParseStatus::fail(RejectReason::kEmpty, "a message", 0);
  if (frame.front() == '{') {
    // A bare JSON alert (no syslog envelope): Filebeat-style or `nc` users.
    if (!options_.parse_json_body) return ParseStatus::fail(RejectReason::kJson, "syslog", 0);
    ParseStatus s = json_.map(frame, alert);
    if (!s.ok()) return s;
  } else {
    SyslogParseOptions so;
    so.now_ns = now_ns;
    so.default_utc_offset_s = options_.default_utc_offset_s;
    so.compliant_msg = options_.compliant_msg;
    ParseStatus s = parse_syslog(frame, so, alert);
    if (!s.ok()) return s;
    if (options_.parse_json_body) {
      const std::string_view body = json_body_of(alert.message);
      if (!body.empty() && body.front() == '{') {
        // The body runs to the end of the frame, so the frame's padding covers it.
        const std::string_view msg_before = alert.message;
        s = json_.map(body, alert);
        if (!s.ok()) {
          s.column += static_cast<uint32_t>(body.data() - frame.data());
          return s;
        }
        // The JSON document is not free text: `message` is what the body says it is (its
        // "message" key), not the document again (that is in event.original).
        if (alert.message.data() == msg_before.data()) alert.message = {};
      }
    }
  }
  alert.raw_sha256 = sha_.digest(frame);
  return ParseStatus{};
}

// ---- ParseStage ----

ParseStage::ParseStage(ParseStageOptions options, BoundedQueue<RawBatch>& in,
                       BoundedQueue<EncodedBlock>& out, PipelineMetrics& metrics)
    : options_(options), in_(in), out_(out), metrics_(metrics) {}

ParseStage::~ParseStage() { drain_and_stop(); }

void ParseStage::start() {
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { run(i); });
}

void ParseStage::update_parse_options(const ParseOptions& options) {
  std::lock_guard<std::mutex> lock(options_mu_);
  options_.parse = options;
  options_version_.fetch_add(1);
}

void ParseStage::drain_and_stop() {
  stopping_.store(true);
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ParseStage::run(int /*index*/) {
  uint64_t seen_version = options_version_.load();
  MessageParser parser([&] {
    std::lock_guard<std::mutex> lock(options_mu_);
    return options_.parse;
  }());
  BlockBuilder builder(options_.zstd_level);
  auto block = std::make_unique<EncodedBlock>();
  std::array<uint64_t, kRejectReasonCount> rejected{};
  uint64_t accepted = 0;
  uint64_t below_severity = 0;
  uint64_t reported_matches = 0;
  int64_t block_started = 0;
  Alert alert;
  std::optional<CorrelationExtractor> extractor;
  if (options_.correlate) extractor.emplace(options_.correlate);
  if (extractor) {
    block->correlation = std::make_unique<CorrelationBatch>();
    block->correlation->arena = record_buffers_.make_shared();
  }

  auto flush = [&] {
    if (builder.count() == 0 && block->rejected.empty() && block->on_durable.empty()) return;
    builder.finish(*block, block->correlation ? block->correlation->arena.get() : nullptr);
    metrics_.parse_accepted->Increment(static_cast<double>(accepted));
    for (int r = 1; r < kRejectReasonCount; ++r) {
      if (rejected[r] && metrics_.rejected[r])
        metrics_.rejected[r]->Increment(static_cast<double>(rejected[r]));
      rejected[r] = 0;
    }
    accepted = 0;
    if (extractor) {
      metrics_.sigma_matches->Increment(
          static_cast<double>(extractor->sigma_matches() - reported_matches));
      reported_matches = extractor->sigma_matches();
    }
    if (below_severity)
      metrics_.correlate_below_severity->Increment(static_cast<double>(below_severity));
    below_severity = 0;
    metrics_.parse_batch_seconds->Observe(static_cast<double>(monotonic_ns() - block_started) *
                                          1e-9);
    // Backpressure: wait for the writer rather than drop anything already accepted.
    while (!out_.try_push(block)) std::this_thread::sleep_for(std::chrono::microseconds(200));
    block = std::make_unique<EncodedBlock>();
    if (extractor) {
      block->correlation = std::make_unique<CorrelationBatch>();
      block->correlation->arena = record_buffers_.make_shared();
    }
  };

  for (;;) {
    auto batch = in_.pop_wait(std::chrono::milliseconds(50));
    if (!batch) {
      flush();
      if (stopping_.load() && in_.size() == 0) break;
      continue;
    }
    if (const uint64_t v = options_version_.load(std::memory_order_relaxed); v != seen_version) {
      std::lock_guard<std::mutex> lock(options_mu_);
      parser.set_options(options_.parse);
      seen_version = v;
    }
    if (builder.count() == 0 && block->rejected.empty() && block->on_durable.empty()) {
      block_started = monotonic_ns();
      block->oldest_enqueued_ns = batch->enqueued_ns;
    }
    IngestMeta meta;
    meta.transport = batch->transport;
    meta.peer = batch->peer;
    meta.listener = batch->listener;
    meta.tls_subject = batch->tls_subject;
    meta.tls_fingerprint = batch->tls_fingerprint;
    meta.received_ns = batch->received_ns;
    meta.kafka_topic = batch->kafka_topic;
    meta.kafka_partition = batch->kafka_partition;
    const bool kafka = !batch->kafka_offsets.empty();
    const int64_t now = batch->received_ns;
    for (size_t i = 0; i < batch->frames.size(); ++i) {
      const std::string_view frame = batch->frame(batch->frames[i]);
      if (kafka) meta.kafka_offset = batch->kafka_offsets[i];
      block->raw_bytes += frame.size();
      const ParseStatus s = parser.parse(frame, meta, now, alert);
      if (s.ok()) {
        append_alert_record(alert, builder.begin_record());
        builder.end_record();
        if (extractor &&
            !extractor->add(alert, builder.count() - 1,
                            {builder.last_record_offset(), builder.last_record_length()},
                            *block->correlation))
          ++below_severity;
        ++accepted;
        continue;
      }
      ++rejected[static_cast<size_t>(s.reason)];
      Rejection r;
      r.reason = s.reason;
      r.detail = std::string(s.what) + " [col " + std::to_string(s.column) + "]";
      r.sample.assign(frame.substr(0, kRejectSampleBytes));
      r.size = frame.size();
      r.transport = batch->transport;
      r.peer = batch->peer;
      r.listener = batch->listener;
      r.received_ns = batch->received_ns;
      r.kafka_topic = batch->kafka_topic;
      r.kafka_partition = meta.kafka_partition;
      r.kafka_offset = meta.kafka_offset;
      block->rejected.push_back(std::move(r));
    }
    for (auto& r : batch->rejected) {
      ++rejected[static_cast<size_t>(r.reason)];
      block->rejected.push_back(std::move(r));
    }
    if (batch->on_durable) block->on_durable.push_back(std::move(batch->on_durable));
    if (builder.count() >= options_.block_max_alerts || in_.size() == 0) flush();
  }
  flush();
}

}  // namespace klaxon
