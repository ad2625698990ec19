// Syslog parsers: RFC 5424 (strict) and RFC 3164 (lenient). Contract in syslog_parse.h.
//
// Every read goes through an index that is compared with the frame size first: hostile input
// (truncated headers, NUL bytes, digit runs of any length) ends in a clean status, never in a
// read past the end. syslog-ng CVE-2022-38725 was exactly such a read, for a truncated RFC 3164
// timestamp. Nothing here allocates: results are string_views into the frame, and the only
// scratch memory (the SD-ID set for duplicate detection) lives on the stack.
#include "pipeline/stages/syslog_parse.h"

#include <array>
#include <cstdio>
#include <limits>

namespace klaxon {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;
// int64 nanoseconds cover 1677-09-21 .. 2262-04-11; one second of margin on each side.
constexpr int64_t kMaxAbsSec = std::numeric_limits<int64_t>::max() / kNsPerSec - 1;

constexpr size_t kMaxHostname = 255;  // RFC 5424 §6.2.4
constexpr size_t kMaxAppName = 48;    // §6.2.5
constexpr size_t kMaxProcId = 128;    // §6.2.6
constexpr size_t kMaxMsgId = 32;      // §6.2.7
constexpr size_t kMaxSdName = 32;     // §6.3.2, §6.3.3
constexpr size_t kMaxTag = 32;        // RFC 3164 §4.1.3

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_printusascii(unsigned char c) { return c >= 33 && c <= 126; }
// Whitespace that senders and framers leave around a frame (CR of CRLF, indentation).
bool is_frame_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Inverse of days_from_civil (Howard Hinnant's civil_from_days).
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

// Floor division of a (possibly negative) count by a positive unit; never overflows.
void split_floor(int64_t v, int64_t unit, int64_t* quot, int64_t* rem) {
  *quot = v / unit;
  *rem = v % unit;
  if (*rem < 0) {
    *rem += unit;
    *quot -= 1;
  }
}

// Wall-clock fields (already validated) minus the zone offset -> UTC nanoseconds. False when
// the instant does not fit in int64 nanoseconds.
bool civil_to_ns(int64_t y, unsigned mo, unsigned d, int h, int mi, int s, int64_t frac_ns,
                 int64_t offset_s, int64_t* out) {
  if (y < 0 || y > 9999) return false;
  const int64_t secs = days_from_civil(y, mo, d) * kSecPerDay + h * 3600 + mi * 60 + s - offset_s;
  if (secs < -kMaxAbsSec || secs > kMaxAbsSec) return false;
  *out = secs * kNsPerSec + frac_ns;
  return true;
}

// Reads exactly n digits at s[pos..]; false when the frame is shorter or a byte is no digit.
bool fixed_digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos > s.size() || s.size() - pos < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[pos + i]);
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool at(std::string_view s, size_t pos, char c) { return pos < s.size() && s[pos] == c; }

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  return pos;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). On failure *bad is
// the offset of the first byte of the offending sequence.
bool valid_utf8(std::string_view s, size_t* bad) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      *bad = i;
      return false;
    }
    if (n - i < len) {
      *bad = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) {
        *bad = i;
        return false;
      }
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      *bad = i;
      return false;
    }
    i += len;
  }
  return true;
}

ParseStatus fail_5424(const char* what, size_t column) {
  return ParseStatus::fail(RejectReason::kRfc5424, what, column);
}

// What one parse produces. Kept apart from the Alert so that a speculative parse (the RFC 5424
// layout tried inside the lenient parser) leaves the Alert untouched when it fails.
struct Parsed {
  SyslogFields syslog;
  int64_t timestamp_ns = 0;
  bool has_timestamp = false;
  std::string_view message;
};

void reset(Alert& alert) {
  alert.syslog = SyslogFields{};
  alert.timestamp_ns = 0;
  alert.has_timestamp = false;
  alert.message = {};
}

void commit(const Parsed& p, Alert& alert) {
  alert.syslog = p.syslog;
  alert.timestamp_ns = p.timestamp_ns;
  alert.has_timestamp = p.has_timestamp;
  alert.message = p.message;
  if (p.syslog.severity >= 0) alert.severity = severity_from_syslog(p.syslog.severity);
}

void set_pri(int pri, Parsed& p) {
  p.syslog.facility = pri >> 3;
  p.syslog.severity = pri & 7;
}

// ---------------------------------------------------------------------------------------------
// PRI

// Strict RFC 5424 PRI at s[0]: "<" ("0" / 1-3 digits without leading zero, <= 191) ">".
ParseStatus parse_pri_strict(std::string_view s, size_t* pos, int* pri) {
  if (!at(s, 0, '<')) return fail_5424("expecting '<' and a priority value", 0);
  constexpr const char* kWhat = "expecting a priority value 0..191 without leading zeros, then '>'";
  size_t p = 1;
  int v = 0;
  while (p < s.size() && is_digit(static_cast<unsigned char>(s[p])) && p <= 3) {
    v = v * 10 + (s[p] - '0');
    ++p;
  }
  const size_t ndigits = p - 1;
  if (ndigits == 0) return ParseStatus::fail(RejectReason::kBadPri, kWhat, 1);
  if (ndigits > 1 && s[1] == '0') return ParseStatus::fail(RejectReason::kBadPri, kWhat, 1);
  if (!at(s, p, '>') || v > 191) return ParseStatus::fail(RejectReason::kBadPri, kWhat, p);
  *pos = p + 1;
  *pri = v;
  return ParseStatus{};
}

enum class PriScan { kAbsent, kOk, kBad };

// Lenient RFC 3164 PRI at s[0] == '<': 1-3 digits (leading zeros tolerated), value <= 191, '>'.
// "<" + digits + ">" that is no such PRI ("<999>", "<0000013>"), or "<" + up to four other bytes
// + ">" ("<abc>", "<>") is a bad PRI; any other '<' is just the first character of the text.
PriScan scan_pri_lenient(std::string_view s, size_t* pos, int* pri, size_t* bad_column) {
  const size_t n = s.size();
  size_t p = 1;
  if (p < n && is_digit(static_cast<unsigned char>(s[p]))) {
    int v = 0;
    while (p < n && is_digit(static_cast<unsigned char>(s[p]))) {
      if (v < 1000) v = v * 10 + (s[p] - '0');  // capped: any digit run is bounded work
      ++p;
    }
    if (!at(s, p, '>')) return PriScan::kAbsent;  // "<3 hearts" is text
    if (p - 1 <= 3 && v <= 191) {
      *pos = p + 1;
      *pri = v;
      return PriScan::kOk;
    }
    *bad_column = p - 1 > 3 ? 4 : 1;
    return PriScan::kBad;
  }
  for (size_t j = 1; j < n && j <= 5; ++j) {
    if (s[j] == '>') {
      *bad_column = 1;
      return PriScan::kBad;
    }
  }
  return PriScan::kAbsent;
}

// ---------------------------------------------------------------------------------------------
// Structured data

// SD-IDs seen in one STRUCTURED-DATA block, for the "same SD-ID MUST NOT occur twice" rule
// (RFC 5424 §6.3.2). Lives on the stack: the first kLinear ids are compared linearly (the common
// case, one to three elements, costs no table set-up); beyond that an open-addressing table is
// filled. Only the first kMaxIds distinct ids are remembered; later ones are still checked
// against them, which bounds the work for a frame made of thousands of tiny elements.
class SdIdSet {
 public:
  // False when id was seen before.
  bool insert(std::string_view id) {
    if (count_ < kLinear) {
      for (size_t i = 0; i < count_; ++i) {
        if (linear_[i] == id) return false;
      }
      linear_[count_++] = id;
      return true;
    }
    if (!table_ready_) {
      slots_.fill(Slot{nullptr, 0, 0});
      for (std::string_view seen : linear_) put(seen, hash(seen));
      table_ready_ = true;
    }
    const uint32_t h = hash(id);
    for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
      const Slot& slot = slots_[i];
      if (slot.data == nullptr) break;
      if (slot.hash == h && std::string_view(slot.data, slot.len) == id) return false;
    }
    if (count_ < kMaxIds) {
      put(id, h);
      ++count_;
    }
    return true;
  }

 private:
  static constexpr size_t kLinear = 16;
  static constexpr size_t kSlots = 256;   // power of two
  static constexpr size_t kMaxIds = 192;  // load factor <= 3/4, so probing always ends
  struct Slot {
    const char* data;
    uint32_t len;
    uint32_t hash;
  };
  static uint32_t hash(std::string_view s) {  // FNV-1a
    uint32_t h = 2166136261u;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
  }
  void put(std::string_view id, uint32_t h) {
    size_t i = h & (kSlots - 1);
    while (slots_[i].data != nullptr) i = (i + 1) & (kSlots - 1);
    slots_[i] = Slot{id.data(), static_cast<uint32_t>(id.size()), h};
  }
  std::array<std::string_view, kLinear> linear_;
  std::array<Slot, kSlots> slots_;  // set up only when more than kLinear ids arrive
  size_t count_ = 0;
  bool table_ready_ = false;
};

bool is_sd_name_char(unsigned char c) {
  return is_printusascii(c) && c != '=' && c != ']' && c != '"';  // SP is not PRINTUSASCII
}

// SD-NAME at s[p]: 1..32 of the above. Returns the end, or p when there is none / it is too long.
size_t sd_name_end(std::string_view s, size_t p) {
  size_t e = p;
  while (e < s.size() && is_sd_name_char(static_cast<unsigned char>(s[e])) && e - p <= kMaxSdName) {
    ++e;
  }
  return e - p > kMaxSdName ? p : e;
}

// Validates 1*SD-ELEMENT starting at s[pos] == '['. *end is the index after the last ']'.
// PARAM-VALUE bytes are not checked for UTF-8 (kept as bytes; the encoder escapes them).
ParseStatus validate_sd(std::string_view s, size_t pos, size_t* end) {
  constexpr const char* kIdWhat =
      "expecting an SD-ID (1..32 printable US-ASCII except '=', ' ', ']', '\"')";
  constexpr const char* kParamWhat = "expecting an SD-PARAM (name=\"value\", name 1..32 chars)";
  constexpr const char* kEscapeWhat =
      "in an SD-PARAM value '\"', '\\' and ']' must be escaped as \\\" \\\\ \\]";
  const size_t n = s.size();
  SdIdSet ids;
  size_t p = pos;
  while (at(s, p, '[')) {
    ++p;
    const size_t id_end = sd_name_end(s, p);
    if (id_end == p) return fail_5424(kIdWhat, p);
    if (!ids.insert(s.substr(p, id_end - p))) return fail_5424("duplicate SD-ID", p);
    p = id_end;
    for (;;) {
      if (p >= n) return fail_5424(kParamWhat, p);
      if (s[p] == ']') {
        ++p;
        break;
      }
      if (s[p] != ' ') return fail_5424(kIdWhat, p);
      ++p;
      const size_t name_end = sd_name_end(s, p);
      if (name_end == p || !at(s, name_end, '=') || !at(s, name_end + 1, '"')) {
        return fail_5424(kParamWhat, p);
      }
      p = name_end + 2;
      for (;;) {
        if (p >= n) return fail_5424(kParamWhat, p);
        const char c = s[p];
        if (c == '"') break;
        if (c == ']') return fail_5424(kEscapeWhat, p);
        if (c == '\\') {
          // go-syslog's ErrEscape: only \" \\ \] are escapes; a lone backslash is an error.
          if (p + 1 >= n || (s[p + 1] != '"' && s[p + 1] != '\\' && s[p + 1] != ']')) {
            return fail_5424(kEscapeWhat, p);
          }
          ++p;
        }
        ++p;
      }
      ++p;  // closing quote
      if (p >= n || (s[p] != ' ' && s[p] != ']')) return fail_5424(kParamWhat, p);
    }
  }
  *end = p;
  return ParseStatus{};
}

// ---------------------------------------------------------------------------------------------
// RFC 5424

// Strict TIMESTAMP: FULL-DATE "T" PARTIAL-TIME [. 1*6DIGIT] ("Z" / (+/-)hh:mm), a calendar date,
// no leap second. *pos moves past it.
ParseStatus parse_timestamp_5424(std::string_view s, size_t* pos, int64_t* ns) {
  constexpr const char* kWhat =
      "expecting an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss[.1-6 digits](Z|+hh:mm)) or '-'";
  const size_t b = *pos;
  int y, mo, d, h, mi, sec;
  // Each step names the column where a mismatch is reported.
  if (!fixed_digits(s, b, 4, &y)) return fail_5424(kWhat, b);
  if (!at(s, b + 4, '-') || !fixed_digits(s, b + 5, 2, &mo) || mo < 1 || mo > 12) {
    return fail_5424(kWhat, b + 4);
  }
  if (!at(s, b + 7, '-') || !fixed_digits(s, b + 8, 2, &d) || d < 1 || d > 31) {
    return fail_5424(kWhat, b + 7);
  }
  if (!at(s, b + 10, 'T') || !fixed_digits(s, b + 11, 2, &h) || h > 23) {
    return fail_5424(kWhat, b + 10);
  }
  if (!at(s, b + 13, ':') || !fixed_digits(s, b + 14, 2, &mi) || mi > 59) {
    return fail_5424(kWhat, b + 13);
  }
  if (!at(s, b + 16, ':') || !fixed_digits(s, b + 17, 2, &sec) || sec > 59) {
    return fail_5424(kWhat, b + 16);
  }
  size_t p = b + 19;
  int64_t frac_ns = 0;
  if (at(s, p, '.')) {
    ++p;
    size_t ndigits = 0;
    int64_t scale = kNsPerSec;
    while (p < s.size() && is_digit(static_cast<unsigned char>(s[p]))) {
      if (++ndigits > 6) return fail_5424(kWhat, p);
      scale /= 10;
      frac_ns += (s[p] - '0') * scale;
      ++p;
    }
    if (ndigits == 0) return fail_5424(kWhat, p);
  }
  int64_t offset_s = 0;
  if (at(s, p, 'Z')) {
    ++p;
  } else if (at(s, p, '+') || at(s, p, '-')) {
    int oh, om;
    if (!fixed_digits(s, p + 1, 2, &oh) || oh > 23 || !at(s, p + 3, ':') ||
        !fixed_digits(s, p + 4, 2, &om) || om > 59) {
      return fail_5424(kWhat, p);
    }
    offset_s = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
    p += 6;
  } else {
    return fail_5424(kWhat, p);
  }
  if (static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo))) {
    return fail_5424("timestamp: day out of range for the month", p);
  }
  if (!civil_to_ns(y, static_cast<unsigned>(mo), static_cast<unsigned>(d), h, mi, sec, frac_ns,
                   offset_s, ns)) {
    return fail_5424("timestamp outside the representable years 1678..2261", b);
  }
  *pos = p;
  return ParseStatus{};
}

// HOSTNAME / APP-NAME / PROCID / MSGID: NILVALUE or 1..max PRINTUSASCII, then SP.
ParseStatus header_field(std::string_view s, size_t* pos, size_t max_len, const char* what,
                         std::string_view* out) {
  const size_t b = *pos;
  size_t p = b;
  while (p < s.size() && is_printusascii(static_cast<unsigned char>(s[p])) && p - b <= max_len) ++p;
  const size_t len = p - b;
  if (len == 0) return fail_5424(what, b);
  if (len > max_len) return fail_5424(what, b + max_len);
  if (!at(s, p, ' ')) return fail_5424(what, p);
  *out = (len == 1 && s[b] == '-') ? std::string_view() : s.substr(b, len);
  *pos = p + 1;
  return ParseStatus{};
}

// Everything after PRI: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
// STRUCTURED-DATA [SP MSG]. Fills out as far as it gets (like go-syslog's best effort).
ParseStatus parse_5424_after_pri(std::string_view s, size_t pos, const SyslogParseOptions& options,
                                 Parsed& out) {
  const size_t n = s.size();
  out.syslog.format = SyslogFormat::kRfc5424;
  constexpr const char* kVersionWhat = "expecting a VERSION 1..999 followed by a space";
  if (pos >= n || s[pos] < '1' || s[pos] > '9') return fail_5424(kVersionWhat, pos);
  size_t p = pos;
  int version = 0;
  while (p < n && is_digit(static_cast<unsigned char>(s[p])) && p - pos < 3) {
    version = version * 10 + (s[p] - '0');
    ++p;
  }
  if (!at(s, p, ' ')) return fail_5424(kVersionWhat, p);
  out.syslog.version = version;
  ++p;

  if (at(s, p, '-')) {
    ++p;
  } else {
    ParseStatus st = parse_timestamp_5424(s, &p, &out.timestamp_ns);
    if (!st.ok()) return st;
    out.has_timestamp = true;
  }
  if (!at(s, p, ' ')) return fail_5424("expecting a space after TIMESTAMP", p);
  ++p;

  ParseStatus st =
      header_field(s, &p, kMaxHostname, "expecting a HOSTNAME (1..255 printable US-ASCII) or '-'",
                   &out.syslog.hostname);
  if (!st.ok()) return st;
  st = header_field(s, &p, kMaxAppName, "expecting an APP-NAME (1..48 printable US-ASCII) or '-'",
                    &out.syslog.appname);
  if (!st.ok()) return st;
  st = header_field(s, &p, kMaxProcId, "expecting a PROCID (1..128 printable US-ASCII) or '-'",
                    &out.syslog.procid);
  if (!st.ok()) return st;
  st = header_field(s, &p, kMaxMsgId, "expecting a MSGID (1..32 printable US-ASCII) or '-'",
                    &out.syslog.msgid);
  if (!st.ok()) return st;

  if (at(s, p, '-')) {
    ++p;
  } else if (at(s, p, '[')) {
    size_t end = p;
    st = validate_sd(s, p, &end);
    if (!st.ok()) return st;
    out.syslog.structured_data = s.substr(p, end - p);
    p = end;
  } else {
    return fail_5424("expecting STRUCTURED-DATA ('[id name=\"value\"...]') or '-'", p);
  }

  if (p == n) return ParseStatus{};  // MSG is optional
  if (s[p] != ' ') return fail_5424("expecting a space before MSG, or the end", p);
  ++p;
  std::string_view msg = s.substr(p);
  if (msg.size() >= 3 && msg.substr(0, 3) == "\xEF\xBB\xBF") {
    out.syslog.has_bom = true;
    msg.remove_prefix(3);
    size_t bad = 0;
    if (options.compliant_msg && !valid_utf8(msg, &bad)) {
      return ParseStatus::fail(RejectReason::kInvalidUtf8, "MSG starts with a BOM but is not UTF-8",
                               p + 3 + bad);
    }
  }
  out.message = msg;
  return ParseStatus{};
}

// ---------------------------------------------------------------------------------------------
// RFC 3164

constexpr std::string_view kMonths[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};

// English month abbreviation at s[p], any case; 1..12 or 0.
unsigned month_at(std::string_view s, size_t p) {
  if (p > s.size() || s.size() - p < 3) return 0;
  char lower[3];
  for (size_t i = 0; i < 3; ++i) {
    const auto c = static_cast<unsigned char>(s[p + i]);
    if (!is_alpha(c)) return 0;
    lower[i] = static_cast<char>(c | 0x20);
  }
  for (unsigned m = 0; m < 12; ++m) {
    if (std::string_view(lower, 3) == kMonths[m]) return m + 1;
  }
  return 0;
}

struct Stamp {
  bool found = false;
  size_t end = 0;
  int64_t ns = 0;
};

// After a timestamp: an optional ':' (Cisco, ASA, "Dec 28 16:49:07:"), then SP or the end.
// Returns the index after the ':' or npos when the text goes on with something else.
size_t stamp_end(std::string_view s, size_t p) {
  if (at(s, p, ':')) ++p;
  if (p == s.size() || at(s, p, ' ')) return p;
  return std::string_view::npos;
}

// Year for a year-less timestamp (the header's rule): this year in the default zone, or the
// previous one when the result would lie more than a day in the future (Dec 31 received on Jan 1)
// or the date does not exist this year (Feb 29 of last year's leap year). False when neither year
// gives a valid date: then the text is not taken as a timestamp.
bool infer_year(unsigned mo, unsigned d, int h, int mi, int sec, int64_t frac_ns,
                const SyslogParseOptions& o, int64_t* ns) {
  int64_t now_s, now_rem, day, sod;
  split_floor(o.now_ns, kNsPerSec, &now_s, &now_rem);
  split_floor(now_s + o.default_utc_offset_s, kSecPerDay, &day, &sod);
  int64_t year;
  unsigned now_month, now_day;
  civil_from_days(day, &year, &now_month, &now_day);
  const int64_t limit_s = now_s + kSecPerDay;
  for (const int64_t y : {year, year - 1}) {
    int64_t candidate;
    if (d > days_in_month(y, mo) ||
        !civil_to_ns(y, mo, d, h, mi, sec, frac_ns, o.default_utc_offset_s, &candidate)) {
      continue;
    }
    int64_t cand_s, cand_rem;
    split_floor(candidate, kNsPerSec, &cand_s, &cand_rem);
    if (cand_s <= limit_s || y != year) {
      *ns = candidate;
      return true;
    }
  }
  return false;
}

// BSD timestamp at s[p]: "Mmm dd hh:mm:ss" (day space- or zero-padded, or a single digit),
// optionally "Mmm dd yyyy hh:mm:ss", a ".fraction", a " UTC"/" GMT" zone before a ':'.
Stamp bsd_timestamp(std::string_view s, size_t p, const SyslogParseOptions& o) {
  Stamp st;
  const unsigned mo = month_at(s, p);
  if (mo == 0) return st;
  p += 3;
  const size_t spaces = skip_spaces(s, p) - p;
  if (spaces < 1 || spaces > 2) return st;
  p += spaces;
  int d = 0;
  if (fixed_digits(s, p, 2, &d)) {
    p += 2;
  } else if (fixed_digits(s, p, 1, &d)) {
    p += 1;
  } else {
    return st;
  }
  if (!at(s, p, ' ')) return st;
  ++p;
  int year = -1;
  if (fixed_digits(s, p, 4, &year) && at(s, p + 4, ' ')) {
    p += 5;
  } else {
    year = -1;
  }
  int h, mi, sec;
  if (!fixed_digits(s, p, 2, &h) || !at(s, p + 2, ':') || !fixed_digits(s, p + 3, 2, &mi) ||
      !at(s, p + 5, ':') || !fixed_digits(s, p + 6, 2, &sec)) {
    return st;
  }
  p += 8;
  if (d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return st;
  int64_t frac_ns = 0;
  if (at(s, p, '.') && p + 1 < s.size() && is_digit(static_cast<unsigned char>(s[p + 1]))) {
    ++p;
    int64_t scale = kNsPerSec;
    while (p < s.size() && is_digit(static_cast<unsigned char>(s[p]))) {
      if (scale > 1) {
        scale /= 10;
        frac_ns += (s[p] - '0') * scale;
      }
      ++p;
    }
  }
  SyslogParseOptions zone = o;
  if (p + 5 <= s.size() && s[p] == ' ' &&
      (s.substr(p + 1, 3) == "UTC" || s.substr(p + 1, 3) == "GMT") && at(s, p + 4, ':')) {
    zone.default_utc_offset_s = 0;  // Cisco "service timestamps ... show-timezone"
    p += 4;
  }
  const size_t end = stamp_end(s, p);
  if (end == std::string_view::npos) return st;
  const auto um = static_cast<unsigned>(mo);
  const auto ud = static_cast<unsigned>(d);
  if (year >= 0) {
    if (ud > days_in_month(year, um)) return st;
    if (!civil_to_ns(year, um, ud, h, mi, sec, frac_ns, zone.default_utc_offset_s, &st.ns)) {
      return st;
    }
  } else if (!infer_year(um, ud, h, mi, sec, frac_ns, zone, &st.ns)) {
    return st;
  }
  st.found = true;
  st.end = end;
  return st;
}

// A timestamp of any supported shape at s[p] (after an optional '*' / '.' clock marker).
Stamp timestamp_at(std::string_view s, size_t p, const SyslogParseOptions& o) {
  if ((at(s, p, '*') || at(s, p, '.')) && p + 1 < s.size() &&
      is_alpha(static_cast<unsigned char>(s[p + 1]))) {
    ++p;  // Cisco: '*' clock not authoritative, '.' was synchronized once
  }
  Stamp st;
  if (p < s.size() && is_digit(static_cast<unsigned char>(s[p]))) {
    int64_t ns = 0;
    size_t consumed = 0;
    if (!parse_rfc3339(s.substr(p), o.default_utc_offset_s, &ns, &consumed)) return st;
    const size_t end = stamp_end(s, p + consumed);
    if (end == std::string_view::npos) return st;
    st.found = true;
    st.end = end;
    st.ns = ns;
    return st;
  }
  return bsd_timestamp(s, p, o);
}

// The timestamp, preceded by an optional Cisco sequence number ("1234: ").
Stamp scan_timestamp(std::string_view s, size_t p, const SyslogParseOptions& o) {
  size_t q = p;
  while (q < s.size() && is_digit(static_cast<unsigned char>(s[q])) && q - p < 20) ++q;
  if (q > p && at(s, q, ':') && at(s, q + 1, ' ')) {
    Stamp st = timestamp_at(s, skip_spaces(s, q + 1), o);
    if (st.found) return st;
  }
  return timestamp_at(s, p, o);
}

// Payloads that carry their own "NAME:" prefix reach the message intact, never as a tag or a
// hostname ("CEF:0|" already fails the tag rule; "@cee: {" and "CEF: 0|" would not).
bool payload_marker_at(std::string_view s, size_t p) {
  const std::string_view rest = s.substr(p);
  return rest.substr(0, 4) == "CEF:" || rest.substr(0, 5) == "LEEF:" ||
         rest.substr(0, 5) == "@cee:";
}

// RFC 3164 wants alphanumerics only; real tags also carry these ("sshd(pam_unix)", "%ASA-6-1",
// "org.gnome.Shell") and UTF-8. Quotes, braces, '=' or ',' mean the token is text, not a tag.
bool is_tag_char(unsigned char c) {
  constexpr std::string_view kPunct = "-_./()@%+~#*&$";
  return is_digit(c) || is_alpha(c) || c >= 0x80 ||
         kPunct.find(static_cast<char>(c)) != std::string_view::npos;
}

struct TagMatch {
  bool ok = false;
  bool strong = false;  // ended by ':' or "[pid]"; a weak tag was ended by SP
  std::string_view tag, pid;
  size_t rest = 0;  // where the content starts
};

// TAG at s[p]: 1..32 tag characters (with at least one letter, digit or non-ASCII byte), then
// "[pid]" with an optional ':', or ':' before SP/end, or SP before more text. A lone ':' is an
// empty tag ("Oct 11 22:14:15 : text").
TagMatch match_tag(std::string_view s, size_t p) {
  TagMatch m;
  const size_t n = s.size();
  if (p >= n || payload_marker_at(s, p)) return m;
  if (s[p] == ':' && (p + 1 == n || s[p + 1] == ' ')) {
    m.ok = m.strong = true;
    m.rest = p + 1;
    return m;
  }
  size_t i = p;
  bool has_word_char = false;
  while (i < n && i - p <= kMaxTag && is_tag_char(static_cast<unsigned char>(s[i]))) {
    const auto c = static_cast<unsigned char>(s[i]);
    has_word_char |= is_digit(c) || is_alpha(c) || c >= 0x80;
    ++i;
  }
  const size_t len = i - p;
  if (len == 0 || len > kMaxTag || !has_word_char || i >= n) return m;
  const char c = s[i];
  if (c == '[') {
    size_t j = i + 1;
    while (j < n && s[j] != ']' && is_printusascii(static_cast<unsigned char>(s[j])) &&
           j - i <= kMaxProcId) {
      ++j;
    }
    if (!at(s, j, ']') || j == i + 1) return m;
    m.pid = s.substr(i + 1, j - i - 1);
    ++j;
    if (at(s, j, ':')) {
      ++j;
    } else if (j < n && s[j] != ' ') {
      return TagMatch{};  // "kernel[0]x" is text
    }
    m.rest = j;
    m.ok = m.strong = true;
  } else if (c == ':') {
    if (i + 1 < n && s[i + 1] != ' ') return m;  // "http://..." is text
    m.rest = i + 1;
    m.ok = m.strong = true;
  } else if (c == ' ') {
    // A weak tag needs text after it; a last lone word is the message.
    if (skip_spaces(s, i) >= n) return m;
    m.rest = i + 1;
    m.ok = true;
  } else {
    return m;
  }
  m.tag = s.substr(p, len);
  return m;
}

// Hostnames in the wild hold '/', '@', ':' (IPv6) and UTF-8; never these, which start JSON,
// key=value or bracketed text.
bool is_hostname_char(unsigned char c) {
  constexpr std::string_view kNot = "\"{}[]<>\\`|,=;";
  return c > 0x20 && c != 0x7F && kNot.find(static_cast<char>(c)) == std::string_view::npos;
}

// A HOSTNAME candidate at s[p]: 1..255 hostname characters followed by SP. Returns its end or p.
size_t hostname_end(std::string_view s, size_t p) {
  if (payload_marker_at(s, p)) return p;
  size_t e = p;
  while (e < s.size() && is_hostname_char(static_cast<unsigned char>(s[e])) &&
         e - p <= kMaxHostname) {
    ++e;
  }
  if (e == p || e - p > kMaxHostname || !at(s, e, ' ') || s[e - 1] == ':') return p;
  return e;
}

// Content after the header: an rsyslog-style SD block (e.g. "[origin software=...]" that rsyslog
// puts in its own messages) when it validates as RFC 5424 SD, has at least one parameter and is
// followed by SP or the end; otherwise everything is MSG. The parameter rule keeps kernel
// uptime stamps like "[123456.789012]" in the message.
void content(std::string_view s, size_t p, Parsed& out) {
  p = skip_spaces(s, p);
  if (at(s, p, '[')) {
    size_t end = p;
    if (validate_sd(s, p, &end).ok() && (end == s.size() || s[end] == ' ') &&
        s.substr(p, end - p).find('=') != std::string_view::npos) {
      out.syslog.structured_data = s.substr(p, end - p);
      p = skip_spaces(s, end);
    }
  }
  out.message = s.substr(p);
}

bool looks_like_version(std::string_view s, size_t p) {
  if (p >= s.size() || s[p] < '1' || s[p] > '9') return false;
  size_t q = p + 1;
  while (q < s.size() && is_digit(static_cast<unsigned char>(s[q])) && q - p < 3) ++q;
  return at(s, q, ' ');
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points

ParseStatus parse_rfc5424(std::string_view frame, const SyslogParseOptions& options, Alert& alert) {
  reset(alert);
  Parsed out;
  out.syslog.format = SyslogFormat::kRfc5424;
  if (frame.empty()) {
    alert.syslog.format = SyslogFormat::kRfc5424;
    return ParseStatus::fail(RejectReason::kEmpty, "empty frame", 0);
  }
  size_t pos = 0;
  int pri = 0;
  ParseStatus st = parse_pri_strict(frame, &pos, &pri);
  if (st.ok()) {
    set_pri(pri, out);
    st = parse_5424_after_pri(frame, pos, options, out);
  }
  commit(out, alert);
  return st;
}

ParseStatus parse_rfc3164(std::string_view frame, const SyslogParseOptions& options, Alert& alert) {
  reset(alert);
  alert.syslog.format = SyslogFormat::kRfc3164;
  // Lenient: surrounding whitespace (CR of CRLF framing, indentation) is not content.
  size_t base = 0;
  while (base < frame.size() && is_frame_space(static_cast<unsigned char>(frame[base]))) ++base;
  size_t stop = frame.size();
  while (stop > base && is_frame_space(static_cast<unsigned char>(frame[stop - 1]))) --stop;
  const std::string_view s = frame.substr(base, stop - base);
  if (s.empty()) return ParseStatus::fail(RejectReason::kEmpty, "empty frame", 0);

  Parsed out;
  out.syslog.format = SyslogFormat::kRfc3164;
  size_t p = 0;
  if (s[0] == '<') {
    int pri = 0;
    size_t bad_column = 0;
    switch (scan_pri_lenient(s, &p, &pri, &bad_column)) {
      case PriScan::kOk:
        set_pri(pri, out);
        break;
      case PriScan::kBad:
        return ParseStatus::fail(RejectReason::kBadPri,
                                 "expecting a priority value <0..191> (1 to 3 digits)",
                                 base + bad_column);
      case PriScan::kAbsent:
        break;
    }
  }

  // An RFC 5424 layout that parse_syslog's detection does not route to the strict parser (no
  // PRI, a multi-digit VERSION): taken when it parses strictly, else the text is RFC 3164.
  if (looks_like_version(s, p)) {
    Parsed p5424 = out;
    if (parse_5424_after_pri(s, p, options, p5424).ok()) {
      commit(p5424, alert);
      return ParseStatus{};
    }
  }

  p = skip_spaces(s, p);
  const Stamp stamp = scan_timestamp(s, p, options);
  if (stamp.found) {
    out.has_timestamp = true;
    out.timestamp_ns = stamp.ns;
    p = skip_spaces(s, stamp.end);
  }

  // HOSTNAME and TAG. After a timestamp RFC 3164 puts the HOSTNAME next, unless the token is
  // clearly a tag ("app:", "app[pid]:": the local /dev/log format has no hostname). Without a
  // timestamp a token is only taken as hostname when a clear tag follows it.
  TagMatch tag;
  const TagMatch first = match_tag(s, p);
  if (first.ok && first.strong) {
    tag = first;
  } else {
    const size_t host_end = hostname_end(s, p);
    if (host_end != p) {
      const TagMatch second = match_tag(s, host_end + 1);
      if (stamp.found || (second.ok && second.strong)) {
        out.syslog.hostname = s.substr(p, host_end - p);
        p = host_end + 1;
        if (second.ok) tag = second;
      }
    }
  }
  if (tag.ok) {
    out.syslog.appname = tag.tag;
    out.syslog.procid = tag.pid;
    p = tag.rest;
  }
  content(s, p, out);
  commit(out, alert);
  return ParseStatus{};
}

ParseStatus parse_syslog(std::string_view frame, const SyslogParseOptions& options, Alert& alert) {
  size_t base = 0;
  while (base < frame.size() && is_frame_space(static_cast<unsigned char>(frame[base]))) ++base;
  size_t stop = frame.size();
  while (stop > base && is_frame_space(static_cast<unsigned char>(frame[stop - 1]))) --stop;
  const std::string_view s = frame.substr(base, stop - base);
  if (s.empty()) {
    reset(alert);
    return ParseStatus::fail(RejectReason::kEmpty, "empty frame", 0);
  }
  // "<" digits ">" NONZERO-DIGIT SP: RFC 5424, strictly.
  size_t p = 1;
  while (p < s.size() && is_digit(static_cast<unsigned char>(s[p]))) ++p;
  const bool rfc5424 = s[0] == '<' && p > 1 && at(s, p, '>') && p + 2 < s.size() &&
                       s[p + 1] >= '1' && s[p + 1] <= '9' && s[p + 2] == ' ';
  ParseStatus st = rfc5424 ? parse_rfc5424(s, options, alert) : parse_rfc3164(s, options, alert);
  if (!st.ok()) st.column += static_cast<uint32_t>(base);
  return st;
}

// ---------------------------------------------------------------------------------------------
// Structured data reader

bool StructuredDataReader::next_element(std::string_view& id) {
  if (in_element_) {
    std::string_view name, value;
    while (next_param(name, value)) {
    }
  }
  const size_t n = sd_.size();
  if (pos_ >= n || sd_[pos_] != '[') {
    pos_ = n;
    return false;
  }
  const size_t start = ++pos_;
  while (pos_ < n && sd_[pos_] != ' ' && sd_[pos_] != ']') ++pos_;
  if (pos_ >= n) return false;
  id = sd_.substr(start, pos_ - start);
  in_element_ = true;
  return true;
}

bool StructuredDataReader::next_param(std::string_view& name, std::string_view& raw_value) {
  if (!in_element_) return false;
  const size_t n = sd_.size();
  auto malformed = [&] {
    pos_ = n;
    in_element_ = false;
    return false;
  };
  while (pos_ < n && sd_[pos_] == ' ') ++pos_;
  if (pos_ >= n) return malformed();
  if (sd_[pos_] == ']') {
    ++pos_;
    in_element_ = false;
    return false;
  }
  const size_t start = pos_;
  while (pos_ < n && sd_[pos_] != '=' && sd_[pos_] != ' ' && sd_[pos_] != ']' && sd_[pos_] != '"') {
    ++pos_;
  }
  if (pos_ == start || pos_ >= n || sd_[pos_] != '=') return malformed();
  name = sd_.substr(start, pos_ - start);
  ++pos_;
  if (pos_ >= n || sd_[pos_] != '"') return malformed();
  const size_t value_start = ++pos_;
  while (pos_ < n && sd_[pos_] != '"') {
    if (sd_[pos_] == '\\') ++pos_;  // the escaped byte, if any, is part of the value
    ++pos_;
  }
  if (pos_ >= n) return malformed();
  raw_value = sd_.substr(value_start, pos_ - value_start);
  ++pos_;
  return true;
}

void unescape_sd_value(std::string_view raw, std::string& out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() &&
        (raw[i + 1] == '"' || raw[i + 1] == '\\' || raw[i + 1] == ']')) {
      ++i;
    }
    out.push_back(raw[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// Timestamps

bool parse_rfc3339(std::string_view t, int32_t default_utc_offset_s, int64_t* ns,
                   size_t* consumed) {
  int y, mo, d, h, mi, sec;
  if (!fixed_digits(t, 0, 4, &y) || !at(t, 4, '-') || !fixed_digits(t, 5, 2, &mo) ||
      !at(t, 7, '-') || !fixed_digits(t, 8, 2, &d)) {
    return false;
  }
  if (!(at(t, 10, 'T') || at(t, 10, 't') || at(t, 10, ' '))) return false;
  if (!fixed_digits(t, 11, 2, &h) || !at(t, 13, ':') || !fixed_digits(t, 14, 2, &mi) ||
      !at(t, 16, ':') || !fixed_digits(t, 17, 2, &sec)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 ||
      static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 ||
      sec > 60) {
    return false;
  }
  size_t p = 19;
  int64_t frac_ns = 0;
  if (at(t, p, '.') && p + 1 < t.size() && is_digit(static_cast<unsigned char>(t[p + 1]))) {
    ++p;
    int64_t scale = kNsPerSec;
    while (p < t.size() && is_digit(static_cast<unsigned char>(t[p]))) {
      if (scale > 1) {  // digits past nanoseconds are dropped
        scale /= 10;
        frac_ns += (t[p] - '0') * scale;
      }
      ++p;
    }
  }
  int64_t offset_s = default_utc_offset_s;
  if (at(t, p, 'Z') || at(t, p, 'z')) {
    offset_s = 0;
    ++p;
  } else if (at(t, p, '+') || at(t, p, '-')) {
    const int sign = t[p] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (fixed_digits(t, p + 1, 2, &oh) && oh <= 23) {
      size_t q = p + 3;
      if (at(t, q, ':') && fixed_digits(t, q + 1, 2, &om)) {
        q += 3;
      } else if (fixed_digits(t, q, 2, &om)) {
        q += 2;
      } else {
        om = 0;
      }
      if (om <= 59) {
        offset_s = sign * (oh * 3600 + om * 60);
        p = q;
      }
    }
  }
  if (!civil_to_ns(y, static_cast<unsigned>(mo), static_cast<unsigned>(d), h, mi, sec, frac_ns,
                   offset_s, ns)) {
    return false;
  }
  *consumed = p;
  return true;
}

void append_rfc3339(int64_t ns, std::string& out) {
  int64_t secs, frac, days, sod;
  split_floor(ns, kNsPerSec, &secs, &frac);
  split_floor(secs, kSecPerDay, &days, &sod);
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  char buf[48];
  int len = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d",
                          static_cast<long long>(y), m, d, static_cast<int>(sod / 3600),
                          static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  if (frac != 0) {
    int digits = 9;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    len += std::snprintf(buf + len, sizeof buf - static_cast<size_t>(len), ".%0*lld", digits,
                         static_cast<long long>(frac));
  }
  out.append(buf, static_cast<size_t>(len));
  out.push_back('Z');
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace klaxon
