// Syslog message parsers: RFC 5424 (strict) and RFC 3164 (lenient, real-world variants).
//
// parse_syslog() takes one frame (already split by the framer, trailer stripped) and fills
// the syslog part of an Alert: PRI, timestamp, header fields, structured data (validated,
// kept raw), MSG. It never allocates and never throws; the Alert's string_views point into
// the frame. Pure functions: any thread may call them.
//
// Detection: "<PRI>" followed by a non-zero digit and SP is RFC 5424 and parsed strictly (a
// violation rejects the message with RejectReason::kRfc5424, kept in the dead-letter store).
// Everything else is RFC 3164 parsed leniently: optional PRI, several timestamp shapes
// (Mmm dd hh:mm:ss, with year, with msec, RFC 3339, Cisco "*Mar  1 18:46:11.123"), optional
// hostname, TAG up to '[' ':' or SP. RFC 3164 never rejects a non-empty message.
//
// Details of the contract (conformance vectors: tests/pipeline/syslog_conformance_test.cc):
// - parse_syslog() first trims SP, HT, CR and LF around the frame (CR of CRLF framing,
//   indentation); parse_rfc3164() does the same, parse_rfc5424() takes the bytes as they are.
// - Reasons: an empty frame is kEmpty; "<...>" that is no valid PRI is kBadPri in both parsers;
//   any other RFC 5424 violation is kRfc5424, except a MSG after a BOM that is not UTF-8
//   (kInvalidUtf8, only with compliant_msg). ParseStatus::column is an offset into `frame`.
// - On failure the Alert keeps what was parsed before the error (like go-syslog's best-effort
//   mode: format, PRI, header fields...); callers decide by the status alone.
// - RFC 5424: NILVALUE fields are empty views; the only escapes allowed in SD-PARAM values are
//   \" \\ \] (any other backslash is an error, as in go-syslog); a repeated SD-ID is an error
//   (checked among the first 192 distinct ids of a message); timestamps must be calendar dates
//   within the int64-nanosecond range (years 1678..2261).
// - RFC 3164: after a timestamp the first token is the HOSTNAME unless it is clearly a TAG
//   ("app:", "app[pid]"); without a timestamp a token is a hostname only when "tag:" or
//   "tag[pid]" follows. "CEF:", "LEEF:" and "@cee:" are never taken as a tag. An rsyslog-style
//   SD block after the tag ("[origin software=...]", at least one parameter, followed by SP or
//   the end) goes to syslog.structured_data. A frame that is an RFC 5424 message without PRI
//   or with a multi-digit VERSION is taken as RFC 5424 when it parses strictly.
#pragma once

#include "pipeline/core/alert.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon {

struct SyslogParseOptions {
  // "Now" in UTC nanoseconds: the year of a year-less RFC 3164 timestamp is this year, or the
  // previous one when the result would lie more than a day in the future.
  int64_t now_ns = 0;
  // Zone for timestamps without an offset (RFC 3164), seconds east of UTC.
  int32_t default_utc_offset_s = 0;
  // RFC 5424 MSG that starts with a BOM must be valid UTF-8 (go-syslog's "compliant msg").
  bool compliant_msg = true;
};

ParseStatus parse_syslog(std::string_view frame, const SyslogParseOptions& options, Alert& alert);
ParseStatus parse_rfc5424(std::string_view frame, const SyslogParseOptions& options, Alert& alert);
ParseStatus parse_rfc3164(std::string_view frame, const SyslogParseOptions& options, Alert& alert);

// Walks validated RFC 5424 STRUCTURED-DATA text (Alert::syslog.structured_data).
// next_element() moves to the next "[id ...]"; next_param() yields each name and the *raw*
// value (escapes still in it; unescape_sd_value() resolves \" \\ \]).
class StructuredDataReader {
 public:
  explicit StructuredDataReader(std::string_view sd) : sd_(sd) {}
  bool next_element(std::string_view& id);
  bool next_param(std::string_view& name, std::string_view& raw_value);

 private:
  std::string_view sd_;
  size_t pos_ = 0;
  bool in_element_ = false;
};
// Appends the unescaped value to out.
void unescape_sd_value(std::string_view raw, std::string& out);

// Timestamps (pipeline/stages/syslog_parse.cc keeps the one implementation).
// RFC 3339, lenient: 'T' or ' ', 'Z'/'z', +hh:mm, +hhmm, +hh, 0..9 fraction digits (further
// digits are consumed and ignored), second 60 accepted; a missing offset means
// default_utc_offset_s. Returns false when the text is not a timestamp (not a calendar date, or
// outside years 1678..2261); consumed is the number of bytes that formed it.
bool parse_rfc3339(std::string_view text, int32_t default_utc_offset_s, int64_t* ns,
                   size_t* consumed);
// Formats UTC nanoseconds as "2026-11-23T08:25:34.123456789Z" (fraction trimmed of trailing
// zeros, none when whole seconds). Appends to out.
void append_rfc3339(int64_t ns, std::string& out);
// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace klaxon
