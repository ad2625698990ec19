// The stored form of an Alert: a compact binary record, rendered as JSON only when read
// (klaxonctl, the API). Storing JSON would escape the raw message a second time and hand
// zstd twice the bytes; measured in bench/README.md.
//
// Record layout (little-endian), version 5 (older versions are still read: 4 lacks the
// observable fields, the input format and the labels, 3 also has a u8 syslog_version, 2 also
// lacks the Kafka fields, 1 also the TLS identity):
//   u8 version | u8 flags | u8 severity | u8 transport | u8 syslog_format
//   i64 timestamp_ns | i64 received_ns | i64 event_severity
//   i16 facility | i16 syslog_severity | u16 syslog_version (u8 before version 4)
//   i32 source_port | i32 destination_port
//   32 bytes raw SHA-256
//   varint raw length | raw bytes
//   then kRecordStringFields string fields in a fixed order, each either
//     varint (len << 1 | 1), varint offset   -- a slice of the raw bytes (the common case)
//     varint (len << 1)    , bytes           -- stored inline (unescaped JSON strings)
//   i32 kafka_partition | i64 kafka_offset
//   u8 input_format | varint labels_dropped | varint label_count | label_count x (key, value),
//   each a string field as above
// Encoding never allocates beyond appending to `out`; decoding returns views into the record.
#pragma once

#include "pipeline/core/alert.h"

#include <string>
#include <string_view>

namespace klaxon {

void append_alert_record(const Alert& alert, std::string& out);
// Fills `alert` with views into `record`. False when the record is malformed or truncated.
bool read_alert_record(std::string_view record, Alert& alert);

}  // namespace klaxon
