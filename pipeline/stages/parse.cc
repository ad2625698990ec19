#include "pipeline/stages/parse.h"

#include "pipeline/core/alert_record.h"
#include "pipeline/core/clock.h"
#include "pipeline/stages/cef.h"

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

bool is_json_dialect(InputFormat f) {
  return f == InputFormat::kJson || f >= InputFormat::kSuricata;
}

// What a body looks like: JSON, CEF, LEEF or free text (kSyslog).
InputFormat sniff_body(std::string_view body) {
  if (!body.empty() && body.front() == '{') return InputFormat::kJson;
  if (body.substr(0, 4) == "CEF:") return InputFormat::kCef;
  if (body.substr(0, 5) == "LEEF:") return InputFormat::kLeef;
  return InputFormat::kSyslog;
}

// RFC 3164 reads "CEF:0|..." after the hostname as the TAG "CEF" and the MSG "0|...": the body
// really starts at the tag. Same for LEEF. Returns the body from the tag on, or empty.
std::string_view kv_body_behind_tag(const Alert& a, std::string_view frame) {
  const std::string_view tag = a.syslog.appname;
  if (a.syslog.format != SyslogFormat::kRfc3164 || !a.syslog.procid.empty()) return {};
  if (tag != "CEF" && tag != "LEEF") return {};
  const char* end = frame.data() + frame.size();
  if (tag.data() < frame.data() || tag.data() >= end) return {};
  std::string_view body(tag.data(), static_cast<size_t>(end - tag.data()));
  return sniff_body(body) == InputFormat::kSyslog ? std::string_view{} : body;
}

// A CEF or LEEF record behind free text ("fw01 CEF:0|...": a sender that wrote a host but
// no timestamp). Only a word boundary, the tag, a version digit and a `|` count.
std::string_view kv_body_inside(std::string_view msg) {
  for (const std::string_view tag : {std::string_view(" CEF:"), std::string_view(" LEEF:")}) {
    const size_t at = msg.find(tag);
    if (at == std::string_view::npos) continue;
    const std::string_view body = msg.substr(at + 1);
    const size_t v = tag.size() - 1;
    if (body.size() > v && body[v] >= '0' && body[v] <= '9' &&
        body.find('|') != std::string_view::npos)
      return body;
  }
  return {};
}

// The CEF or LEEF record after a syslog envelope whose MSG did not start with it, or empty.
std::string_view kv_body_after_envelope(const Alert& a, std::string_view frame) {
  if (std::string_view tagged = kv_body_behind_tag(a, frame); !tagged.empty()) return tagged;
  return kv_body_inside(a.message);
}

}  // namespace

SyslogParseOptions MessageParser::syslog_options(int64_t now_ns) const {
  SyslogParseOptions so;
  so.now_ns = now_ns;
  so.default_utc_offset_s = options_.default_utc_offset_s;
  so.compliant_msg = options_.compliant_msg;
  return so;
}

ParseStatus MessageParser::map_kv(InputFormat kv, std::string_view body, size_t frame_size,
                                  int64_t now_ns, Alert& a) {
  KvFormatOptions ko;
  ko.now_ns = now_ns;
  ko.default_utc_offset_s = options_.default_utc_offset_s;
  scratch_.reset(frame_size + 256);
  const std::string_view text = a.message;
  const ParseStatus s =
      kv == InputFormat::kCef ? map_cef(body, ko, scratch_, a) : map_leef(body, ko, scratch_, a);
  // The record is not free text: `message` is its msg, not the record again.
  if (s.ok() && !text.empty() && a.message.data() == text.data()) a.message = {};
  return s;
}

void MessageParser::unwrap_shipped_line(Alert& a, int64_t now_ns) {
  const std::string_view line = a.message;
  const bool syslog = line.size() > 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '9';
  InputFormat kv = sniff_body(line);
  if (!syslog && kv != InputFormat::kCef && kv != InputFormat::kLeef) return;
  const Alert shipped = a;  // what the event says, kept when the line does not parse
  std::string_view body = line;
  if (syslog) {
    if (!parse_syslog(line, syslog_options(now_ns), a).ok()) {
      a = shipped;
      return;
    }
    // The line's own time is the event's; the shipper's @timestamp is when it read the line.
    if (!a.has_timestamp) {
      a.timestamp_ns = shipped.timestamp_ns;
      a.has_timestamp = shipped.has_timestamp;
    }
    body = a.message;
    kv = sniff_body(body);
    if (kv == InputFormat::kSyslog) {
      body = kv_body_after_envelope(a, line);
      kv = sniff_body(body);
    }
  }
  if (kv != InputFormat::kCef && kv != InputFormat::kLeef) return;
  const Alert before_kv = a;
  if (!map_kv(kv, body, line.size(), now_ns, a).ok()) a = before_kv;  // the line stays text
}

ParseStatus MessageParser::parse(std::string_view frame, const IngestMeta& meta, int64_t now_ns,
                                 Alert& alert, FunctionRef<void(Alert&)> emit) {
  alert = Alert{};
  alert.raw = frame;
  alert.ingest = meta;
  if (frame.empty()) return ParseStatus::fail(RejectReason::kEmpty, "a message", 0);
  InputFormat want = meta.format;
  if (!options_.parse_json_body && want == InputFormat::kAuto) want = InputFormat::kSyslog;

  // An envelope first, unless the frame is a bare body (JSON, CEF, LEEF without syslog).
  std::string_view body;
  InputFormat found = sniff_body(frame);
  if (found != InputFormat::kSyslog && want != InputFormat::kSyslog) {
    body = frame;
  } else {
    ParseStatus s = parse_syslog(frame, syslog_options(now_ns), alert);
    if (!s.ok()) return s;
    body = json_body_of(alert.message);
    found = sniff_body(body);
    if (found == InputFormat::kSyslog) {
      const std::string_view record = kv_body_after_envelope(alert, frame);
      body = record.empty() ? alert.message : record;
      found = sniff_body(body);
    }
  }
  if (want == InputFormat::kSyslog) found = InputFormat::kSyslog;

  const uint32_t body_column = static_cast<uint32_t>(body.data() - frame.data());
  auto at_body = [&](ParseStatus s) {
    s.column += body_column;
    return s;
  };
  auto finish = [&](Alert& a) {
    a.raw_sha256 = sha_.digest(a.raw);
    emit(a);
  };
  // An explicit format is a promise about the body; a body that breaks it is rejected.
  if (want != InputFormat::kAuto && want != InputFormat::kSyslog) {
    const bool fits = want == found || (found == InputFormat::kJson && is_json_dialect(want));
    if (!fits) {
      return at_body(ParseStatus::fail(RejectReason::kFormat, input_format_name(want), 0));
    }
  }
  switch (found) {
    case InputFormat::kJson: {
      const InputFormat dialect = is_json_dialect(want) ? want : InputFormat::kJson;
      // The body runs to the end of the frame, so the frame's padding covers it.
      const std::string_view msg_before = alert.message;
      ParseStatus s = json_.map(body, dialect, alert, [&](Alert& a) {
        // The JSON document is not free text: `message` is what the body says it is (its
        // "message" key), not the document again (that is in event.original).
        if (!msg_before.empty() && a.message.data() == msg_before.data()) a.message = {};
        if (a.format == InputFormat::kBeats) unwrap_shipped_line(a, now_ns);
        finish(a);
      });
      return s.ok() ? s : at_body(s);
    }
    case InputFormat::kCef:
    case InputFormat::kLeef: {
      const ParseStatus s = map_kv(found, body, frame.size(), now_ns, alert);
      if (!s.ok()) return at_body(s);
      alert.format = found;
      finish(alert);
      return s;
    }
    default:
      alert.format = InputFormat::kSyslog;
      finish(alert);
      return ParseStatus{};
  }
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
    meta.format = batch->format;
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
      const ParseStatus s = parser.parse(frame, meta, now, alert, [&](Alert& a) {
        append_alert_record(a, builder.begin_record());
        builder.end_record();
        if (extractor &&
            !extractor->add(a, builder.count() - 1,
                            {builder.last_record_offset(), builder.last_record_length()},
                            *block->correlation))
          ++below_severity;
        ++accepted;
      });
      if (s.ok()) continue;
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
