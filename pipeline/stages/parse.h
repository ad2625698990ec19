// The parse stage: raw frames in, normalized and encoded alert blocks out.
//
// MessageParser does the per-message work (syslog envelope, JSON body, severity, SHA-256 of
// the raw bytes, JSON encoding) with per-thread scratch and no per-message allocation.
// ParseStage runs `workers` threads; each pops RawBatches from the parse queue, coalesces
// what is waiting into one block of up to block_max_alerts, compresses it (zstd level 1) and
// pushes the EncodedBlock to the persist queue. A full persist queue stalls the worker, which
// fills the parse queue, which pauses the TCP readers: backpressure end to end.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/block.h"
#include "pipeline/core/buffer_pool.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/core/scratch.h"
#include "pipeline/core/sha256.h"
#include "pipeline/stages/correlate.h"
#include "pipeline/stages/json_map.h"
#include "pipeline/stages/syslog_parse.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace klaxon {

struct ParseOptions {
  int32_t default_utc_offset_s = 0;  // zone of timestamps without an offset
  bool compliant_msg = true;
  bool parse_json_body = true;
  // Field paths and the numeric severity scale for generic JSON (`parse.json_fields`,
  // `parse.json_numeric_severity`; pipeline/README.md "JSON dialects"). Null: none.
  std::shared_ptr<const JsonMapOptions> json;
};

class MessageParser {
 public:
  explicit MessageParser(ParseOptions options) : options_(options) {
    // Validated when the configuration was loaded; an invalid set would keep the old one.
    if (options_.json) static_cast<void>(json_.set_options(options_.json));
  }
  // frame must have kParsePadding readable bytes after it. The format comes from
  // meta.format (kAuto: detected). Calls emit(alert) for each alert the frame holds (one,
  // except an Alertmanager webhook); on failure nothing was emitted.
  ParseStatus parse(std::string_view frame, const IngestMeta& meta, int64_t now_ns, Alert& alert,
                    FunctionRef<void(Alert&)> emit);
  // One alert: on success `alert` holds the (last) alert.
  ParseStatus parse(std::string_view frame, const IngestMeta& meta, int64_t now_ns, Alert& alert) {
    return parse(frame, meta, now_ns, alert, [](Alert&) {});
  }
  void set_options(ParseOptions options) {
    if (options.json != options_.json) static_cast<void>(json_.set_options(options.json));
    options_ = std::move(options);
  }

 private:
  // A Beats event whose `message` is a whole syslog line, or a CEF/LEEF record, as Filebeat
  // ships them: the line is parsed too (its envelope, time and body), over the event's fields.
  void unwrap_shipped_line(Alert& alert, int64_t now_ns);
  SyslogParseOptions syslog_options(int64_t now_ns) const;
  // A CEF or LEEF record into `a` (values unescaped into scratch_, sized from the frame).
  ParseStatus map_kv(InputFormat kv, std::string_view body, size_t frame_size, int64_t now_ns,
                     Alert& a);

  ParseOptions options_;
  JsonMapper json_;
  Scratch scratch_;
  Sha256 sha_;
};

struct ParseStageOptions {
  int workers = 2;
  uint32_t block_max_alerts = 4096;
  int zstd_level = 1;
  ParseOptions parse;
  // When set, each block carries a CorrelationBatch of its alerts (pipeline/stages/correlate.h).
  std::shared_ptr<const CorrelateOptions> correlate;
};

class ParseStage {
 public:
  ParseStage(ParseStageOptions options, BoundedQueue<RawBatch>& in, BoundedQueue<EncodedBlock>& out,
             PipelineMetrics& metrics);
  ~ParseStage();

  void start();
  // Reload (SIGHUP): workers pick the new options up before their next batch. Any thread.
  void update_parse_options(const ParseOptions& options);
  // Returns once the input queue is empty and every worker has pushed its last block.
  // Sources must have stopped producing first.
  void drain_and_stop();

 private:
  void run(int index);

  ParseStageOptions options_;
  BoundedQueue<RawBatch>& in_;
  BoundedQueue<EncodedBlock>& out_;
  PipelineMetrics& metrics_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex options_mu_;  // guards options_.parse after start()
  std::atomic<uint64_t> options_version_{0};
  // Block payloads handed to correlation come back here (no page faults per block).
  BufferPool record_buffers_{256};
};

}  // namespace klaxon
