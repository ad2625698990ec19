// JsonMapper: maps a JSON alert body to ECS fields of an Alert (simdjson on-demand API).
//
// Dialects (InputFormat): Suricata EVE, Wazuh alerts.json, Falco, Zeek notice.log (JSON
// writer), the Alertmanager webhook (version 4, several alerts per document), Elastic Beats /
// ECS events, and a generic mapping (common key names plus configured field paths). With
// InputFormat::kJson the dialect is recognised by the document's top-level keys (rules and
// field tables in pipeline/README.md, "JSON dialects"); otherwise the given dialect decides
// what the keys mean. Every value is visited once, so the document is fully validated
// (hostile JSON is rejected with RejectReason::kJson, not half-read); a document that is
// valid JSON but not a usable webhook is rejected with kFormat.
//
// Memory: string views in the emitted Alerts point into the body (strings without escapes),
// the mapper's simdjson parser or its Scratch; they stay valid until the next map() or
// detect() call on this mapper. Nothing is allocated per document once the parser and scratch have
// grown to the largest document seen.
//
// Threads: one mapper per worker thread; not thread-safe. set_options() is called on the
// mapper's own thread (between documents).
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/function_ref.h"
#include "pipeline/core/result.h"
#include "pipeline/core/scratch.h"

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {

// How a number found at a configured `severity` path becomes one of the five levels (words
// always go through the crosswalk). The scales are those of pipeline/README.md's crosswalk.
enum class NumericSeverity : uint8_t {
  kNone = 0,   // numbers only fill event.severity (the level stays as it was)
  kSyslog,     // 0-7, 0 the worst
  kCef,        // 0-10
  kWazuh,      // rule.level 0-16
  kSuricata,   // 1 the worst
  kOcsf,       // severity_id 0-6
  kRiskScore,  // 0-100 (Elastic risk_score bands)
};
// "none", "syslog", "cef", "wazuh", "suricata", "ocsf", "risk_score"; false when unknown.
bool numeric_severity_from_name(std::string_view name, NumericSeverity* out);

// The generic mapping's configuration (pipeline/README.md, "Generic JSON"): which dotted JSON
// path fills which Alert field. Applies when a listener's format is `generic`, or when it is
// `json`/`auto` and no dialect was recognised. A configured path wins over the built-in key
// names. Built by the config loader; immutable once handed to set_options().
struct JsonMapOptions {
  struct FieldPath {
    // An ECS field name from json_field_names() ("rule.name", "source.ip", "severity",
    // "@timestamp", ...), or "labels.<key>" for a label.
    std::string field;
    // Object keys joined by '.': "detection.title" reads {"detection":{"title":...}} and
    // also a flat key "detection.title" (or {"detection.title":...} at any split). Arrays
    // are not indexed; a path ending at an array of strings joins them with ','.
    std::string path;
  };
  std::vector<FieldPath> paths;
  NumericSeverity numeric_severity = NumericSeverity::kNone;

  // Checks every entry: known field name, a non-empty path of at most 255 bytes without
  // empty segments, no field named twice, at most 64 entries. The message names the entry.
  Status validate() const;
};

// The field names a JsonMapOptions::FieldPath may name (besides "labels.<key>").
const std::vector<std::string_view>& json_field_names();

class JsonMapper {
 public:
  JsonMapper();
  ~JsonMapper();
  JsonMapper(const JsonMapper&) = delete;
  JsonMapper& operator=(const JsonMapper&) = delete;

  // Replaces the generic mapping's configuration (nullptr: none). Fails, keeping the previous
  // options, when options->validate() fails.
  Status set_options(std::shared_ptr<const JsonMapOptions> options);

  // body must have kParsePadding readable bytes after its end (see batch.h). `format` is
  // kJson (dialect recognised by its keys) or one JSON dialect (kSuricata ... kGeneric).
  // Calls emit(alert) once per alert the document holds, each starting from `alert` as it was
  // on entry (syslog envelope, ingest metadata); an Alertmanager webhook holds several, each
  // with `raw` set to its own element's JSON text. emit is only called once the whole
  // document is known to be valid: on failure nothing was emitted. On return `alert` holds
  // the last alert emitted.
  ParseStatus map(std::string_view body, InputFormat format, Alert& alert,
                  FunctionRef<void(Alert&)> emit);
  // One alert, kJson: fills `alert` (tests and tools).
  ParseStatus map(std::string_view body, Alert& alert) {
    return map(body, InputFormat::kJson, alert, [](Alert&) {});
  }

  // The dialect kJson would pick for this body (tests, klaxonctl); kGeneric when none is
  // recognised, kJson when the body is not a JSON object.
  InputFormat detect(std::string_view body);

  struct Compiled;  // the options prepared for the walk (json_map.cc)

 private:
  simdjson::ondemand::parser parser_;
  Scratch scratch_;
  std::shared_ptr<const JsonMapOptions> options_;
  std::unique_ptr<Compiled> compiled_;
  std::unique_ptr<Alert[]> pending_;  // Alertmanager alerts held until the document is valid
};

}  // namespace klaxon
