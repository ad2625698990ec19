// ArcSight CEF and IBM LEEF (1.0 and 2.0) bodies -> Alert.
//
// Both are "header fields, then key=value extensions". The header's `|` and `\` escapes and
// the extension escapes (`\=`, `\\`, `\n`, `\r`) are undone into the worker's Scratch; values
// without escapes stay views into the frame. Known extension keys map to ECS fields (table in
// pipeline/README.md, section "CEF and LEEF"); CEF custom fields (cs1 with cs1Label, cn1 with
// cn1Label, ...) become labels named by their label; other extensions become labels under
// their own key.
//
// Two layers, both free of allocation and of global state (any thread may call them, each with
// its own Scratch):
// - the tokenizers parse_cef_record() / parse_leef_record(): header fields plus one callback
//   per extension, key as written and value unescaped. The conformance tests compare these
//   with other parsers' vectors;
// - the mappers map_cef() / map_leef(): the tokenizer plus the ECS mapping, the severity
//   crosswalk and the timestamp normalization (UTC nanoseconds).
//
// Scratch: the tokenizers take at most body.size() bytes from it for unescaped text (each
// input byte is rewritten at most once); the mappers up to body.size() + 256 (MessageParser
// reserves frame size + 256). When it runs out, parsing fails with RejectReason::kTooLarge.
//
// Failures are ParseStatus values with static text and a column (an offset into `body`):
// RejectReason::kFormat for malformed CEF/LEEF, kInvalidUtf8 for bytes that are not UTF-8
// (both formats are defined as UTF-8 text). On failure the callback may already have been
// called for some pairs and the Alert may be partly filled: callers decide by the status.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/function_ref.h"
#include "pipeline/core/scratch.h"

#include <cstdint>
#include <string_view>

namespace klaxon {

struct KvFormatOptions {
  int64_t now_ns = 0;                // for year-less timestamps (rt=Sep 07 14:50:39)
  int32_t default_utc_offset_s = 0;  // zone of timestamps without one
};

// Called once per extension (CEF) or attribute (LEEF), in input order, repeats included.
using KvCallback = FunctionRef<void(std::string_view key, std::string_view value)>;

// ---- CEF ----

// Header fields with `\|` and `\\` undone, surrounding spaces and double quotes removed.
struct CefHeader {
  std::string_view prefix;   // text before "CEF:" (a syslog header left in the body), trimmed
  std::string_view version;  // "0" or "1" (as written)
  std::string_view device_vendor, device_product, device_version, signature_id, name, severity;
};

// body: "CEF:" (optionally after a prefix ending in a space) and 7 header fields, each ended by
// an unescaped '|', then the extension. A trailing CR/LF is ignored; any other LF is an error
// (one record per frame). Extension rules (conformance notes in tests/pipeline/
// cef_conformance_test.cc):
// - a key is `[A-Za-z0-9_][A-Za-z0-9_-]*` plus optional `.sub` parts (any bytes but
//   `. = | \ [ ]` and space) and an optional `[n]`, preceded by a space or the extension
//   start and followed by '='. Anything else, a lone '=' included, belongs to the value;
// - a value runs until the space before the next key; spaces before that key are not part of
//   it; a value wrapped in double quotes loses them; `\=` `\\` `\n` `\r` become = \ LF CR, any
//   other backslash is kept as written;
// - text before the first key is an error, so is an extension without any key.
ParseStatus parse_cef_record(std::string_view body, Scratch& scratch, CefHeader& header,
                             KvCallback on_extension);

// body starts with "CEF:". Fills `alert` (header, mapped extensions, labels, severity).
ParseStatus map_cef(std::string_view body, const KvFormatOptions& options, Scratch& scratch,
                    Alert& alert);

// CEF severity (header field, or LEEF `sev`): 0-3 low, 4-6 medium, 7-8 high, 9-10 critical;
// the words Unknown/Low/Medium/High/Very-High (any case; "Very High" too) give info/low/
// medium/high/critical. `number` is the numeric value, -1 for a word. False when the text is
// neither (then the alert keeps the syslog PRI's level).
bool cef_severity(std::string_view text, Severity* level, int64_t* number);

// True for the custom-field keys whose pairs fold into one label: cs<N>, cn<N>, cfp<N>,
// c6a<N>, flexString<N>, flexNumber<N>, flexDate<N>, deviceCustomDate<N> (and the long names
// deviceCustomString<N>, ...), each also with the suffix "Label"; N is 1..99.
bool is_cef_custom_field(std::string_view key);

// ---- LEEF ----

struct LeefHeader {
  std::string_view prefix;   // text before "LEEF:", trimmed
  std::string_view version;  // "1.0" or "2.0" (as written)
  std::string_view vendor, product, product_version, event_id;
  std::string_view delimiter;        // the attribute delimiter's bytes: TAB unless 2.0 names one
  bool has_delimiter_field = false;  // a LEEF 2.0 header with the DelimiterCharacter field
};

// body: "LEEF:1.0|Vendor|Product|Version|EventID|" then TAB-separated attributes, or
// "LEEF:2.0|...|EventID|Delimiter|" where Delimiter is one character or its code point in hex
// (`x09`, `0x7c`, `^`, `xA6`). A 2.0 header whose sixth field is no delimiter (it holds `=`,
// or the header ends there) has none: TAB; an empty sixth field is TAB too, unless a '|'
// follows at once ("||": the delimiter is '|'). Attributes: a value runs until the next delimiter
// that is followed by `key=` (key: no `\`, `"`, delimiter or `=`; spaces around it dropped);
// a delimiter followed by anything else is part of the value. LEEF defines no escapes: values
// are taken as written, spaces around them and wrapping double quotes removed. When the
// delimiter is TAB and the attributes hold no TAB but the two characters `\t` before a
// `name=`, those act as the delimiter (senders that print the escape instead of the byte).
ParseStatus parse_leef_record(std::string_view body, Scratch& scratch, LeefHeader& header,
                              KvCallback on_attribute);

// body starts with "LEEF:".
ParseStatus map_leef(std::string_view body, const KvFormatOptions& options, Scratch& scratch,
                     Alert& alert);

// ---- Timestamps (UTC nanoseconds since the epoch) ----

// CEF time values (rt, start, end, deviceCustomDate<N>, LEEF devTime without a format):
// epoch milliseconds with an optional fraction (`1616623591694.176789`); `MMM dd[ yyyy]
// HH:mm:ss[.fraction][ zone]`; RFC 3339 / ISO 8601 (`2025-06-29T23:35:00Z`,
// `2019-11-21 13:44:35`). Without a zone the text is read at utc_offset_s. Without a year, the
// year is the one of `now_ns` (in the text's zone), the previous one when that would lie more
// than 2 days ahead, the next one when `now_ns` is in December and that is at most 2 days
// ahead (Logstash's rule).
bool parse_cef_timestamp(std::string_view text, int64_t now_ns, int32_t utc_offset_s, int64_t* ns);

// LEEF devTime with devTimeFormat: a java.text.SimpleDateFormat pattern. Supported letters:
// y M d H h k K m s S a E z Z X and quoted literals; others make it fail. Same zone and year
// rules as parse_cef_timestamp.
bool parse_java_date(std::string_view text, std::string_view pattern, int64_t now_ns,
                     int32_t utc_offset_s, int64_t* ns);

// A fixed UTC offset: Z, UTC, GMT, UT, [+-]hh[:mm], [+-]hhmm, those after UTC/GMT, and common
// abbreviations (EST, CEST, JST, ...). IANA names (Europe/Moscow) are not fixed: false.
bool parse_utc_offset(std::string_view zone, int32_t* offset_s);

}  // namespace klaxon
