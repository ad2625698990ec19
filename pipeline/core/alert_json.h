// The stored and printed form of an Alert: one JSON object with ECS field names.
// The layout is documented field by field in pipeline/README.md and is stable: tests compare
// it, klaxonctl prints it, and the alert log stores exactly these bytes.
#pragma once

#include "pipeline/core/alert.h"

#include <string>

namespace klaxon {

// Appends the JSON object for `alert` to out (no trailing newline).
void append_alert_json(const Alert& alert, std::string& out);

}  // namespace klaxon
