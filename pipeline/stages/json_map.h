// JsonMapper: maps a JSON alert body to ECS fields of an Alert (simdjson on-demand API).
//
// Recognised shapes: Suricata EVE (has "event_type"; "alert" events become event.kind=alert)
// and a generic JSON alert (common key names, flat or nested; table in pipeline/README.md).
// Every value is visited once, so the document is fully validated (hostile JSON is rejected
// with RejectReason::kJson, not half-read). String views in the Alert point into the
// mapper's simdjson parser and stay valid until the next map() call on this mapper.
// One mapper per worker thread; not thread-safe.
#pragma once

#include "pipeline/core/alert.h"

#include <simdjson.h>

#include <string_view>

namespace klaxon {

class JsonMapper {
 public:
  JsonMapper();
  // body must have kParsePadding readable bytes after its end (see batch.h).
  ParseStatus map(std::string_view body, Alert& alert);

 private:
  simdjson::ondemand::parser parser_;
};

}  // namespace klaxon
