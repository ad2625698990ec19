// CEF tokenizer and mapper, and what CEF and LEEF share: header-field scanning, the severity
// crosswalk, time values, and KvMapper (pairs -> ECS fields and labels). LEEF's own part is in
// leef.cc. Rules and their reasons: cef.h, pipeline/README.md ("CEF and LEEF") and the
// conformance notes in tests/pipeline/cef_conformance_test.cc.
#include "pipeline/stages/cef.h"

#include "pipeline/stages/cef_internal.h"
#include "pipeline/stages/syslog_parse.h"

#include <simdjson.h>

#include <cstring>
#include <initializer_list>
#include <limits>

namespace klaxon {

namespace kv {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

size_t find_record_start(std::string_view body, std::string_view tag) {
  if (body.substr(0, tag.size()) == tag) return 0;
  for (size_t from = 1;;) {
    const size_t at = body.find(tag, from);
    if (at == std::string_view::npos || body[at - 1] == ' ') return at;
    from = at + 1;
  }
}

namespace {

// Offset of the first byte that is not part of valid UTF-8 (the failure path only).
size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    if (!simdjson::validate_utf8(s.data() + i, len)) return i;
    i += len;
  }
  return s.size();
}

}  // namespace

ParseStatus check_body(std::string_view& body, const char* lf_what) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (const void* lf = std::memchr(body.data(), '\n', body.size())) {
    return ParseStatus::fail(RejectReason::kFormat, lf_what,
                             static_cast<const char*>(lf) - body.data());
  }
  if (!simdjson::validate_utf8(body.data(), body.size())) {
    return ParseStatus::fail(RejectReason::kInvalidUtf8, "UTF-8", first_invalid_utf8(body));
  }
  return ParseStatus{};
}

RejectReason HeaderReader::next(std::string_view& out) {
  const size_t begin = pos_;
  size_t q = begin;
  for (size_t p = begin;; p = q + 1) {
    q = find_char(body_, p, '|');
    if (q == body_.size()) return RejectReason::kFormat;
    if (backslash_ >= q) break;
    // An odd run of backslashes before the '|' escapes it.
    size_t slashes = 0;
    while (q - slashes > begin && body_[q - slashes - 1] == '\\') ++slashes;
    if ((slashes & 1) == 0) break;
  }
  std::string_view raw = body_.substr(begin, q - begin);
  if (backslash_ < q) {
    char* w = scratch_.take(raw.size());
    if (w == nullptr) return RejectReason::kTooLarge;
    size_t n = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '|' || raw[i + 1] == '\\')) ++i;
      w[n++] = raw[i];
    }
    scratch_.give_back(raw.size() - n);
    raw = std::string_view(w, n);
  }
  pos_ = q + 1;
  if (backslash_ < pos_) backslash_ = find_char(body_, pos_, '\\');
  out = strip_quotes(trim_spaces(raw));
  return RejectReason::kNone;
}

}  // namespace kv

// ---------------------------------------------------------------------------------------------
// Severity

bool cef_severity(std::string_view text, Severity* level, int64_t* number) {
  text = kv::trim_spaces(text);
  if (text.empty()) return false;
  if (kv::is_digit(text[0])) {
    int64_t v = 0;
    for (char c : text) {
      if (!kv::is_digit(c) || v > 10) return false;
      v = v * 10 + (c - '0');
    }
    if (v > 10) return false;
    *number = v;
    *level = v <= 3   ? Severity::kLow
             : v <= 6 ? Severity::kMedium
             : v <= 8 ? Severity::kHigh
                      : Severity::kCritical;
    return true;
  }
  struct Word {
    std::string_view word;
    Severity level;
  };
  static constexpr Word kWords[] = {
      {"unknown", Severity::kInfo},       {"low", Severity::kLow},
      {"medium", Severity::kMedium},      {"high", Severity::kHigh},
      {"very-high", Severity::kCritical}, {"very high", Severity::kCritical},
      {"veryhigh", Severity::kCritical},
  };
  for (const Word& w : kWords) {
    if (kv::iequals(text, w.word)) {
      *level = w.level;
      *number = -1;
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Time values

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kSecPerDay = 86'400;

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Howard Hinnant's civil_from_days.
void civil_from_days(int64_t z, int64_t* y, int* m) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

struct Civil {
  int64_t year = -1;
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t frac_ns = 0;
};

// UTC nanoseconds of a wall-clock time at offset_s; false outside a calendar date or outside
// the int64 nanosecond range (years 1678..2261).
bool civil_ns(const Civil& c, int64_t year, int32_t offset_s, int64_t* out) {
  if (year < 1678 || year > 2261 || c.month < 1 || c.month > 12 || c.day < 1 ||
      c.day > days_in_month(year, c.month) || c.hour > 23 || c.minute > 59 || c.second > 60) {
    return false;
  }
  const int64_t secs =
      days_from_civil(year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) *
          kSecPerDay +
      c.hour * 3600 + c.minute * 60 + c.second - offset_s;
  if (secs > 9'200'000'000LL || secs < -9'200'000'000LL) return false;
  *out = secs * kNsPerSec + c.frac_ns;
  return true;
}

// The year rule of Logstash's CEF codec for year-less times (cef.h).
bool with_year(const Civil& c, int32_t offset_s, int64_t now_ns, int64_t* out) {
  if (c.year >= 0) return civil_ns(c, c.year, offset_s, out);
  int64_t year;
  int month;
  civil_from_days(floor_div(floor_div(now_ns, kNsPerSec) + offset_s, kSecPerDay), &year, &month);
  const int64_t limit = now_ns > std::numeric_limits<int64_t>::max() - 2 * kSecPerDay * kNsPerSec
                            ? std::numeric_limits<int64_t>::max()
                            : now_ns + 2 * kSecPerDay * kNsPerSec;
  int64_t candidate;
  if (!civil_ns(c, year, offset_s, &candidate) || candidate > limit) {
    return civil_ns(c, year - 1, offset_s, out);
  }
  int64_t next;
  if (month == 12 && civil_ns(c, year + 1, offset_s, &next) && next <= limit) {
    *out = next;
    return true;
  }
  *out = candidate;
  return true;
}

// Reads 1..max digits at t[p] (at least min).
bool digits(std::string_view t, size_t& p, size_t min, size_t max, int* out) {
  if (max > 9) max = 9;  // an int; longer fields are not dates
  if (min > max) return false;
  size_t n = 0;
  int v = 0;
  while (n < max && p + n < t.size() && kv::is_digit(t[p + n])) v = v * 10 + (t[p + n++] - '0');
  if (n < min) return false;
  p += n;
  *out = v;
  return true;
}

// ".fraction" of 1..9 digits at t[p], as nanoseconds; further digits are an error.
bool fraction(std::string_view t, size_t& p, int64_t* ns) {
  size_t n = 0;
  int64_t v = 0;
  while (p + n < t.size() && kv::is_digit(t[p + n])) {
    if (n == 9) return false;
    v = v * 10 + (t[p + n++] - '0');
  }
  if (n == 0) return false;
  for (size_t i = n; i < 9; ++i) v *= 10;
  p += n;
  *ns = v;
  return true;
}

constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};

// An English month name (three letters, or in full; any case) at t[p]; 0 when none.
int month_at(std::string_view t, size_t& p) {
  size_t n = 0;
  while (p + n < t.size() && kv::is_alpha(t[p + n])) ++n;
  if (n < 3) return 0;
  const std::string_view word = t.substr(p, n);
  for (int m = 0; m < 12; ++m) {
    const std::string_view full = kMonths[m];
    if (kv::iequals(word, full.substr(0, 3)) || kv::iequals(word, full) ||
        (m == 8 && kv::iequals(word, "sept"))) {
      p += n;
      return m + 1;
    }
  }
  return 0;
}

}  // namespace

bool parse_utc_offset(std::string_view z, int32_t* offset_s) {
  z = kv::trim_spaces(z);
  if (z.empty()) return false;
  if (z == "Z" || z == "z") {
    *offset_s = 0;
    return true;
  }
  std::string_view rest = z;
  for (std::string_view prefix : {"UTC", "GMT", "UT"}) {
    if (z.size() >= prefix.size() && kv::iequals(z.substr(0, prefix.size()), prefix)) {
      rest = z.substr(prefix.size());
      if (rest.empty()) {
        *offset_s = 0;
        return true;
      }
      break;
    }
  }
  if (rest[0] == '+' || rest[0] == '-') {
    size_t p = 1;
    int h = 0, m = 0;
    if (!digits(rest, p, 1, 2, &h)) return false;
    if (p < rest.size() && rest[p] == ':') ++p;
    if (p < rest.size() && !digits(rest, p, 2, 2, &m)) return false;
    if (p != rest.size() || h > 18 || m > 59) return false;
    const int32_t s = h * 3600 + m * 60;
    *offset_s = rest[0] == '-' ? -s : s;
    return true;
  }
  if (rest.size() != z.size()) return false;  // "GMTx"
  // Abbreviations that name one fixed offset (ambiguous ones such as IST are left out).
  struct Abbrev {
    std::string_view name;
    int32_t offset_s;
  };
  static constexpr Abbrev kAbbrevs[] = {
      {"EST", -5 * 3600},  {"EDT", -4 * 3600},  {"CST", -6 * 3600},  {"CDT", -5 * 3600},
      {"MST", -7 * 3600},  {"MDT", -6 * 3600},  {"PST", -8 * 3600},  {"PDT", -7 * 3600},
      {"AKST", -9 * 3600}, {"AKDT", -8 * 3600}, {"HST", -10 * 3600}, {"WET", 0},
      {"WEST", 3600},      {"CET", 3600},       {"CEST", 2 * 3600},  {"EET", 2 * 3600},
      {"EEST", 3 * 3600},  {"MSK", 3 * 3600},   {"JST", 9 * 3600},   {"KST", 9 * 3600},
      {"AEST", 10 * 3600}, {"AEDT", 11 * 3600}, {"NZST", 12 * 3600}, {"NZDT", 13 * 3600},
  };
  for (const Abbrev& a : kAbbrevs) {
    if (kv::iequals(z, a.name)) {
      *offset_s = a.offset_s;
      return true;
    }
  }
  return false;
}

bool parse_cef_timestamp(std::string_view t, int64_t now_ns, int32_t utc_offset_s, int64_t* ns) {
  t = kv::trim_spaces(t);
  if (t.empty()) return false;
  if (t[0] >= '1' && t[0] <= '9') {
    // Epoch milliseconds, optionally with a fraction of a millisecond.
    size_t p = 0;
    int64_t ms = 0;
    while (p < t.size() && kv::is_digit(t[p]) && ms <= 9'200'000'000'000LL) {
      ms = ms * 10 + (t[p++] - '0');
    }
    if (ms <= 9'200'000'000'000LL && (p == t.size() || t[p] == '.')) {
      int64_t sub = 0;
      if (p < t.size()) {
        ++p;
        size_t n = 0;
        while (p < t.size() && kv::is_digit(t[p])) {
          if (n < 6) sub = sub * 10 + (t[p] - '0');
          ++n;
          ++p;
        }
        for (size_t i = n; i < 6; ++i) sub *= 10;
        if (n == 0) p = 0;  // "123." is no number
      }
      if (p == t.size()) {
        *ns = ms * 1'000'000 + sub;
        return true;
      }
    }
  }
  if (kv::is_digit(t[0])) {
    size_t consumed = 0;
    int64_t v;
    if (!parse_rfc3339(t, utc_offset_s, &v, &consumed) || consumed != t.size()) return false;
    *ns = v;
    return true;
  }
  // MMM dd[ yyyy] HH:mm:ss[.fraction][ zone]
  size_t p = 0;
  Civil c;
  c.month = month_at(t, p);
  if (c.month == 0) return false;
  const size_t after_month = p;
  while (p < t.size() && t[p] == ' ') ++p;
  if (p == after_month || p - after_month > 2) return false;
  if (!digits(t, p, 1, 2, &c.day) || p >= t.size() || t[p] != ' ') return false;
  ++p;
  int year;
  size_t q = p;
  if (digits(t, q, 4, 4, &year) && q < t.size() && t[q] == ' ') {
    c.year = year;
    p = q + 1;
  }
  if (!digits(t, p, 1, 2, &c.hour) || p >= t.size() || t[p++] != ':' ||
      !digits(t, p, 2, 2, &c.minute) || p >= t.size() || t[p++] != ':' ||
      !digits(t, p, 2, 2, &c.second)) {
    return false;
  }
  if (p < t.size() && t[p] == '.') {
    ++p;
    if (!fraction(t, p, &c.frac_ns)) return false;
  }
  int32_t offset = utc_offset_s;
  if (p < t.size()) {
    if (t[p] != ' ' || !parse_utc_offset(t.substr(p + 1), &offset)) return false;
  }
  return with_year(c, offset, now_ns, ns);
}

bool parse_java_date(std::string_view text, std::string_view pattern, int64_t now_ns,
                     int32_t utc_offset_s, int64_t* ns) {
  auto numeric = [](char c) {
    return c == 'y' || c == 'M' || c == 'd' || c == 'H' || c == 'h' || c == 'k' || c == 'K' ||
           c == 'm' || c == 's' || c == 'S';
  };
  const std::string_view t = kv::trim_spaces(text);
  Civil c;
  int ampm = -1;    // 0 AM, 1 PM
  int hour12 = -1;  // from h (1-12) or K (0-11)
  bool has_zone = false;
  int32_t zone = 0;
  size_t p = 0;
  for (size_t i = 0; i < pattern.size();) {
    const char letter = pattern[i];
    if (kv::is_alpha(letter)) {
      size_t n = 1;
      while (i + n < pattern.size() && pattern[i + n] == letter) ++n;
      i += n;
      // Adjacent numeric fields ("yyyyMMdd") are read at their pattern width.
      const bool adjacent = i < pattern.size() && numeric(pattern[i]) && numeric(letter);
      const size_t width_max = adjacent ? n : letter == 'y' ? (n == 2 ? 2 : 4) : 2;
      const size_t width_min = adjacent || (letter == 'y' && n == 2) ? n : 1;
      int v = 0;
      switch (letter) {
        case 'y': {
          if (!digits(t, p, width_min, width_max, &v)) return false;
          if (n == 2) {
            // SimpleDateFormat: within 80 years before and 20 after now.
            int64_t now_year;
            int now_month;
            civil_from_days(floor_div(floor_div(now_ns, kNsPerSec), kSecPerDay), &now_year,
                            &now_month);
            int64_t y = now_year - now_year % 100 + v;
            if (y > now_year + 20) y -= 100;
            if (y <= now_year - 80) y += 100;
            c.year = y;
          } else {
            c.year = v;
          }
          break;
        }
        case 'M':
          if (n >= 3) {
            c.month = month_at(t, p);
            if (c.month == 0) return false;
          } else if (!digits(t, p, width_min, width_max, &c.month)) {
            return false;
          }
          break;
        case 'd':
          if (!digits(t, p, width_min, width_max, &c.day)) return false;
          break;
        case 'H':
          if (!digits(t, p, width_min, width_max, &c.hour)) return false;
          break;
        case 'k':  // 1-24
          if (!digits(t, p, width_min, width_max, &v) || v < 1 || v > 24) return false;
          c.hour = v % 24;
          break;
        case 'h':  // 1-12
          if (!digits(t, p, width_min, width_max, &v) || v < 1 || v > 12) return false;
          hour12 = v % 12;
          break;
        case 'K':  // 0-11
          if (!digits(t, p, width_min, width_max, &v) || v > 11) return false;
          hour12 = v;
          break;
        case 'm':
          if (!digits(t, p, width_min, width_max, &c.minute)) return false;
          break;
        case 's':
          if (!digits(t, p, width_min, width_max, &c.second)) return false;
          break;
        case 'S': {
          // A decimal fraction of the second (SSS: milliseconds).
          const size_t limit = adjacent ? n : 9;
          int64_t f = 0;
          size_t k = 0;
          while (k < limit && p < t.size() && kv::is_digit(t[p])) {
            if (k < 9) f = f * 10 + (t[p] - '0');  // further digits are below a nanosecond
            ++p;
            ++k;
          }
          if (k == 0 || (adjacent && k < n)) return false;
          for (size_t z = k; z < 9; ++z) f *= 10;
          c.frac_ns = f;
          break;
        }
        case 'a':
          if (p + 2 <= t.size() && kv::iequals(t.substr(p, 2), "AM")) {
            ampm = 0;
          } else if (p + 2 <= t.size() && kv::iequals(t.substr(p, 2), "PM")) {
            ampm = 1;
          } else {
            return false;
          }
          p += 2;
          break;
        case 'E': {
          const size_t before = p;
          while (p < t.size() && kv::is_alpha(t[p])) ++p;
          if (p == before) return false;
          break;
        }
        case 'z':
        case 'Z':
        case 'X': {
          // The zone runs to the next space (or the end).
          size_t e = p;
          while (e < t.size() && t[e] != ' ' && t[e] != ']' && t[e] != ')') ++e;
          if (!parse_utc_offset(t.substr(p, e - p), &zone)) return false;
          has_zone = true;
          p = e;
          break;
        }
        default:
          return false;  // G, u, D, w, W, F, ...: not supported
      }
    } else if (letter == '\'') {
      // Quoted literal; '' is a quote.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '\'') {
        if (p >= t.size() || t[p] != '\'') return false;
        ++p;
        i = j + 1;
        continue;
      }
      while (j < pattern.size() && pattern[j] != '\'') {
        if (p >= t.size() || t[p] != pattern[j]) return false;
        ++p;
        ++j;
      }
      i = j + 1;
    } else if (letter == ' ') {
      // One space in the pattern takes a run of spaces ("Jan  7").
      if (p >= t.size() || t[p] != ' ') return false;
      while (p < t.size() && t[p] == ' ') ++p;
      ++i;
    } else {
      if (p >= t.size() || t[p] != letter) return false;
      ++p;
      ++i;
    }
  }
  if (p != t.size() || c.month == 0 || c.day == 0) return false;
  if (hour12 >= 0) c.hour = hour12 + (ampm == 1 ? 12 : 0);
  return with_year(c, has_zone ? zone : utc_offset_s, now_ns, ns);
}

// ---------------------------------------------------------------------------------------------
// CEF custom fields

namespace {

struct CustomFamily {
  std::string_view prefix;
  uint8_t id;
};
// The long ArcSight names share the short names' numbering (deviceCustomString1 is cs1).
constexpr CustomFamily kCustomFamilies[] = {
    {"cs", 1},
    {"cn", 2},
    {"cfp", 3},
    {"c6a", 4},
    {"flexString", 5},
    {"flexNumber", 6},
    {"flexDate", 7},
    {"deviceCustomDate", 8},
    {"deviceCustomString", 1},
    {"deviceCustomNumber", 2},
    {"deviceCustomFloatingPoint", 3},
    {"deviceCustomIPv6Address", 4},
    {"deviceFlexNumber", 6},
};

bool custom_key(std::string_view key, uint8_t* family, uint8_t* number, bool* is_label) {
  // Most keys are not custom fields: reject them on their first bytes.
  if (key.size() < 3) return false;
  const char c0 = key[0], c1 = key[1];
  if (!((c0 == 'c' && (c1 == 's' || c1 == 'n' || c1 == 'f' || c1 == '6')) ||
        (c0 == 'f' && c1 == 'l') ||
        (c0 == 'd' && c1 == 'e' && key.size() > 8 && (key[6] == 'C' || key[6] == 'F')))) {
    return false;
  }
  for (const CustomFamily& f : kCustomFamilies) {
    if (key.size() <= f.prefix.size() || key[0] != f.prefix[0] ||
        key.substr(0, f.prefix.size()) != f.prefix) {
      continue;
    }
    size_t p = f.prefix.size();
    if (key[p] < '1' || key[p] > '9') continue;
    int n = key[p++] - '0';
    if (p < key.size() && kv::is_digit(key[p])) n = n * 10 + (key[p++] - '0');
    const std::string_view rest = key.substr(p);
    if (!rest.empty() && rest != "Label") continue;
    *family = f.id;
    *number = static_cast<uint8_t>(n);
    *is_label = !rest.empty();
    return true;
  }
  return false;
}

}  // namespace

bool is_cef_custom_field(std::string_view key) {
  uint8_t family, number;
  bool is_label;
  return custom_key(key, &family, &number, &is_label);
}

// ---------------------------------------------------------------------------------------------
// KvMapper

namespace kv {

void KvMapper::label(std::string_view key, std::string_view value) {
  if (value.empty()) return;
  if (pending_count_ == pending_.size()) {
    ++pending_dropped_;
    return;
  }
  pending_[pending_count_++] = Pair{Span::of(key), Span::of(value)};
}

void KvMapper::add(Field field, std::string_view key, std::string_view value) {
  if (value.empty()) return;  // "shost=": nothing to record
  if (field == Field::kLabel || has(field)) return label(key, value);
  set_ |= 1u << static_cast<unsigned>(field);
  fields_[static_cast<size_t>(field)] = Pair{Span::of(key), Span::of(value)};
}

bool KvMapper::add_custom(std::string_view key, std::string_view value) {
  uint8_t family, number;
  bool is_label;
  if (!custom_key(key, &family, &number, &is_label)) return false;
  Custom* c = nullptr;
  for (size_t i = 0; i < custom_count_ && c == nullptr; ++i) {
    if (custom_[i].family == family && custom_[i].number == number) c = &custom_[i];
  }
  if (c == nullptr) {
    if (custom_count_ == custom_.size()) return false;  // a plain label then
    c = &custom_[custom_count_++];
    *c = Custom{family, number, false, false, {}, {}, {}};
  }
  // A repeated value or label: the first wins, the repeat is a plain label.
  if (is_label) {
    if (c->has_label) return false;
    c->label = Span::of(value);
    c->has_label = true;
  } else {
    if (c->has_value) return false;
    c->value_key = Span::of(key);
    c->value = Span::of(value);
    c->has_value = true;
  }
  return true;
}

void KvMapper::add_header_label(std::string_view key, std::string_view value) {
  if (!value.empty() && header_label_count_ < header_labels_.size()) {
    header_labels_[header_label_count_++] = Pair{Span::of(key), Span::of(value)};
  }
}

void KvMapper::set_dataset(std::string_view module, std::string_view product) {
  alert_.event_module = module;
  char* w = scratch_.take(module.size() + 1 + product.size());
  if (w == nullptr) {
    alert_.event_dataset = module;
    return;
  }
  std::memcpy(w, module.data(), module.size());
  size_t n = module.size();
  w[n++] = '.';
  const size_t base = n;
  for (char ch : product) {
    if (is_alnum(ch)) {
      w[n++] = lower(ch);
    } else if (n > base && w[n - 1] != '_') {
      w[n++] = '_';
    }
  }
  while (n > base && w[n - 1] == '_') --n;
  if (n == base) --n;  // no product: just the module
  scratch_.give_back(module.size() + 1 + product.size() - n);
  alert_.event_dataset = std::string_view(w, n);
}

bool KvMapper::set_port(std::string_view v, int32_t& out) {
  v = trim_spaces(v);
  if (v.empty() || v.size() > 5) return false;
  int32_t port = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return false;
  out = port;
  return true;
}

std::string_view KvMapper::lower_copy(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !(s[i] >= 'A' && s[i] <= 'Z')) ++i;
  if (i == s.size()) return s;
  char* w = scratch_.take(s.size());
  if (w == nullptr) return s;
  for (size_t k = 0; k < s.size(); ++k) w[k] = lower(s[k]);
  return std::string_view(w, s.size());
}

namespace {

// ECS network.transport: IANA keyword, lower case; protocol numbers translated.
std::string_view transport_name(std::string_view v) {
  struct Proto {
    std::string_view name, number, alias;
  };
  static constexpr Proto kProtos[] = {
      {"tcp", "6", ""},    {"udp", "17", ""}, {"icmp", "1", ""}, {"ipv6-icmp", "58", "icmpv6"},
      {"sctp", "132", ""}, {"gre", "47", ""}, {"esp", "50", ""}, {"ah", "51", ""},
      {"igmp", "2", ""},
  };
  for (const Proto& p : kProtos) {
    if (iequals(v, p.name) || v == p.number || (!p.alias.empty() && iequals(v, p.alias))) {
      return p.name;
    }
  }
  return v;
}

// The host of "scheme://[user@]host[:port]/...": a view into the URL, empty when there is none.
std::string_view url_host(std::string_view url) {
  if (url.size() >= 2 && url.front() == '\'' && url.back() == '\'')
    url = url.substr(1, url.size() - 2);
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  for (size_t i = 0; i < scheme_end; ++i) {
    const char c = url[i];
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  std::string_view authority = url.substr(scheme_end + 3);
  const size_t end = authority.find_first_of("/?#");
  if (end != std::string_view::npos) authority = authority.substr(0, end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? std::string_view{} : authority.substr(1, close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool all_hex(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) return false;
  }
  return true;
}

}  // namespace

void KvMapper::finish() {
  // Labels in order of value: the header's, the custom fields (named by the sender), then
  // what the ECS mapping below leaves over, then the other extensions in input order.
  for (size_t i = 0; i < header_label_count_; ++i) {
    put_label(header_labels_[i].key.view(), header_labels_[i].value.view());
  }
  for (size_t i = 0; i < custom_count_; ++i) {
    const Custom& c = custom_[i];
    if (!c.has_value || c.value.size == 0) continue;  // a label without a value says nothing
    put_label(c.has_label && c.label.size != 0 ? c.label.view() : c.value_key.view(),
              c.value.view());
  }

  if (set_ != 0) map_fields();

  for (size_t i = 0; i < pending_count_; ++i) {
    put_label(pending_[i].key.view(), pending_[i].value.view());
  }
  const size_t dropped = alert_.labels_dropped + pending_dropped_;
  alert_.labels_dropped = static_cast<uint16_t>(dropped > 0xFFFF ? 0xFFFF : dropped);
}

void KvMapper::map_fields() {
  Field f;
  if ((f = pick({Field::kSourceIp})) != Field::kCount) alert_.source_ip = value(f);
  if ((f = pick({Field::kDestinationIp})) != Field::kCount) alert_.destination_ip = value(f);
  if ((f = pick({Field::kSourcePort})) != Field::kCount &&
      !set_port(value(f), alert_.source_port)) {
    put_label(key(f), value(f));
  }
  if ((f = pick({Field::kDestinationPort})) != Field::kCount &&
      !set_port(value(f), alert_.destination_port)) {
    put_label(key(f), value(f));
  }
  // The host and user the alert is about: the target (dhost, duser) before the source.
  if ((f = pick({Field::kHostName, Field::kDestinationHost, Field::kSourceHost})) !=
      Field::kCount) {
    alert_.host_name = value(f);
  }
  if ((f = pick({Field::kUserName, Field::kDestinationUser, Field::kSourceUser})) !=
      Field::kCount) {
    alert_.user_name = value(f);
  }
  if ((f = pick({Field::kObserverName})) != Field::kCount) alert_.observer_name = value(f);
  if ((f = pick({Field::kTransport})) != Field::kCount) {
    alert_.network_transport = transport_name(trim_spaces(value(f)));
  }
  if ((f = pick({Field::kProtocol})) != Field::kCount) {
    alert_.network_protocol = lower_copy(value(f));
  }
  if ((f = pick({Field::kAction})) != Field::kCount) alert_.event_action = value(f);
  if ((f = pick({Field::kCategory})) != Field::kCount) alert_.rule_category = value(f);
  if ((f = pick({Field::kMessage})) != Field::kCount) alert_.message = value(f);
  if ((f = pick({Field::kUrl})) != Field::kCount) {
    alert_.url_original = value(f);
    alert_.url_domain = url_host(value(f));
  }
  if ((f = pick({Field::kFileName})) != Field::kCount) alert_.file_name = value(f);
  if ((f = pick({Field::kFilePath})) != Field::kCount) alert_.file_path = value(f);
  if ((f = pick({Field::kFileHash})) != Field::kCount) {
    const std::string_view h = trim_spaces(value(f));
    std::string_view* slot = !all_hex(h)      ? nullptr
                             : h.size() == 32 ? &alert_.file_hash_md5
                             : h.size() == 40 ? &alert_.file_hash_sha1
                             : h.size() == 64 ? &alert_.file_hash_sha256
                                              : nullptr;
    if (slot != nullptr) {
      *slot = h;
    } else {
      put_label(key(f), value(f));
    }
  }
  if ((f = pick({Field::kDestinationProcess, Field::kSourceProcess})) != Field::kCount) {
    alert_.process_name = value(f);
  }
  if ((f = pick({Field::kSeverity})) != Field::kCount) {
    Severity level;
    int64_t number;
    if (cef_severity(value(f), &level, &number)) {
      alert_.severity = level;
      alert_.event_severity = number;
    } else {
      put_label(key(f), value(f));
    }
  }

  // Time: rt, then devTime, start, end; the first that reads as a time is @timestamp, the
  // others stay labels. dtz applies when it is a fixed offset, else it stays a label. The
  // body's time wins over the syslog header's (as its severity wins over the PRI).
  int32_t offset = options_.default_utc_offset_s;
  if (has(Field::kTimeZone) && !parse_utc_offset(value(Field::kTimeZone), &offset)) {
    put_label(key(Field::kTimeZone), value(Field::kTimeZone));
  }
  const bool has_format = has(Field::kDevTimeFormat);
  bool format_used = false, have_time = false;
  for (Field t : {Field::kReceiptTime, Field::kDevTime, Field::kStartTime, Field::kEndTime}) {
    if (!has(t)) continue;
    if (!have_time) {
      int64_t ns;
      const bool with_format = t == Field::kDevTime && has_format;
      const bool ok = with_format ? parse_java_date(value(t), value(Field::kDevTimeFormat),
                                                    options_.now_ns, offset, &ns)
                                  : parse_cef_timestamp(value(t), options_.now_ns, offset, &ns);
      if (ok) {
        alert_.timestamp_ns = ns;
        alert_.has_timestamp = true;
        have_time = true;
        format_used = with_format;
        continue;
      }
    }
    put_label(key(t), value(t));
  }
  if (has_format && !format_used) {
    put_label(key(Field::kDevTimeFormat), value(Field::kDevTimeFormat));
  }
}

}  // namespace kv

// ---------------------------------------------------------------------------------------------
// CEF tokenizer

namespace {

constexpr const char* kKeyless = "CEF extension: key=value pairs (text before the first key)";

// Bytes of a key's head: [A-Za-z0-9_-].
constexpr std::array<bool, 256> kKeyHead = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  }
  return t;
}();

// [A-Za-z0-9_][A-Za-z0-9_-]* (.sub)* ([n])? - the keys real senders use (cef.h).
bool valid_cef_key(std::string_view k) {
  const size_t n = k.size();
  if (n == 0 || !(kv::is_alnum(k[0]) || k[0] == '_')) return false;
  size_t i = 1;
  while (i < n && (kv::is_alnum(k[i]) || k[i] == '_' || k[i] == '-')) ++i;
  while (i < n && k[i] == '.') {
    size_t j = i + 1;
    while (j < n && k[j] != '.' && k[j] != '=' && k[j] != ' ' && k[j] != '|' && k[j] != '\\' &&
           k[j] != '[' && k[j] != ']') {
      ++j;
    }
    if (j == i + 1) return false;
    i = j;
  }
  if (i < n && k[i] == '[') {
    size_t j = i + 1;
    while (j < n && kv::is_digit(k[j])) ++j;
    if (j == i + 1 || j >= n || k[j] != ']') return false;
    i = j + 1;
  }
  return i == n;
}

// Undoes \= \\ \n \r (other backslashes stay) into the scratch.
bool unescape_value(std::string_view raw, Scratch& scratch, std::string_view& out) {
  char* w = scratch.take(raw.size());
  if (w == nullptr) return false;
  size_t n = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char e = raw[i + 1];
      if (e == '\\' || e == '=') {
        c = e;
        ++i;
      } else if (e == 'n') {
        c = '\n';
        ++i;
      } else if (e == 'r') {
        c = '\r';
        ++i;
      }
    }
    w[n++] = c;
  }
  scratch.give_back(raw.size() - n);
  out = std::string_view(w, n);
  return true;
}

}  // namespace

ParseStatus parse_cef_record(std::string_view body, Scratch& scratch, CefHeader& header,
                             KvCallback on_extension) {
  header = CefHeader{};
  if (ParseStatus s = kv::check_body(body, "CEF: one record per frame (unescaped line feed)");
      !s.ok()) {
    return s;
  }
  const size_t start = kv::find_record_start(body, "CEF:");
  if (start == std::string_view::npos) {
    return ParseStatus::fail(RejectReason::kFormat, "CEF: a record starting with \"CEF:\"", 0);
  }
  header.prefix = kv::trim_spaces(body.substr(0, start));
  kv::HeaderReader fields(body, start + 4, scratch);
  for (std::string_view* field :
       {&header.version, &header.device_vendor, &header.device_product, &header.device_version,
        &header.signature_id, &header.name, &header.severity}) {
    if (const RejectReason r = fields.next(*field); r != RejectReason::kNone) {
      return ParseStatus::fail(r,
                               r == RejectReason::kFormat
                                   ? "CEF header: 7 fields, each ended by '|'"
                                   : "CEF: scratch space for unescaping",
                               r == RejectReason::kFormat ? body.size() : fields.pos());
    }
  }
  size_t pos = fields.pos();

  // Extension: find each '=' whose left side is a key after a space; the value before it ends
  // at that space. Every byte is visited a bounded number of times (the backward walk stops at
  // the previous '=' or space), so hostile input stays linear.
  const char* b = body.data();
  const size_t n = body.size();
  while (pos < n && b[pos] == ' ') ++pos;
  if (pos == n) return ParseStatus{};
  const size_t first = pos;
  size_t key_start = std::string_view::npos, key_end = 0, value_start = 0;
  size_t next_backslash = first;  // first backslash at or after a value start, n when none
  bool backslash_known = false;
  auto emit = [&](size_t value_end) -> bool {
    std::string_view value = kv::strip_quotes(
        kv::trim_trailing_spaces(body.substr(value_start, value_end - value_start)));
    const size_t vb = static_cast<size_t>(value.data() - b);
    if (!backslash_known || next_backslash < vb) {
      next_backslash = kv::find_char(body, vb, '\\');
      backslash_known = true;
    }
    if (next_backslash < vb + value.size() && !unescape_value(value, scratch, value)) return false;
    on_extension(body.substr(key_start, key_end - key_start), value);
    return true;
  };
  for (size_t search = first;;) {
    const size_t e = kv::find_char(body, search, '=');
    if (e == n) break;
    search = e + 1;
    // Most keys are plain names: walk back over [A-Za-z0-9_-]; only when that stops at
    // something other than a space, '=' or the start is the whole token checked.
    size_t ks = e;
    while (ks > first && kKeyHead[static_cast<unsigned char>(b[ks - 1])]) --ks;
    bool is_key;
    if (ks == first || b[ks - 1] == ' ') {
      is_key = ks < e && b[ks] != '-';
    } else if (b[ks - 1] == '=') {
      is_key = false;
    } else {
      while (ks > first && b[ks - 1] != ' ' && b[ks - 1] != '=') --ks;
      is_key = ks < e && (ks == first || b[ks - 1] == ' ') &&
               valid_cef_key(std::string_view(b + ks, e - ks));
    }
    if (!is_key || (key_start == std::string_view::npos && ks != first)) {
      if (key_start == std::string_view::npos) {
        return ParseStatus::fail(RejectReason::kFormat, kKeyless, first);
      }
      continue;  // an '=' inside a value
    }
    if (key_start != std::string_view::npos && !emit(ks)) {
      return ParseStatus::fail(RejectReason::kTooLarge, "CEF: scratch space for unescaping", ks);
    }
    key_start = ks;
    key_end = e;
    value_start = e + 1;
  }
  if (key_start == std::string_view::npos) {
    return ParseStatus::fail(RejectReason::kFormat, kKeyless, first);
  }
  if (!emit(n)) {
    return ParseStatus::fail(RejectReason::kTooLarge, "CEF: scratch space for unescaping", n);
  }
  return ParseStatus{};
}

// ---------------------------------------------------------------------------------------------
// CEF -> Alert

namespace {

using kv::Field;

// Short names and the long names of ArcSight's dictionary; the rest are labels.
constexpr std::array<kv::KeyEntry, 46> kCefKeyList{{
    {"src", Field::kSourceIp},
    {"sourceAddress", Field::kSourceIp},
    {"dst", Field::kDestinationIp},
    {"destinationAddress", Field::kDestinationIp},
    {"spt", Field::kSourcePort},
    {"sourcePort", Field::kSourcePort},
    {"dpt", Field::kDestinationPort},
    {"destinationPort", Field::kDestinationPort},
    {"shost", Field::kSourceHost},
    {"sourceHostName", Field::kSourceHost},
    {"dhost", Field::kDestinationHost},
    {"destinationHostName", Field::kDestinationHost},
    {"dvchost", Field::kObserverName},
    {"deviceHostName", Field::kObserverName},
    {"suser", Field::kSourceUser},
    {"sourceUserName", Field::kSourceUser},
    {"duser", Field::kDestinationUser},
    {"destinationUserName", Field::kDestinationUser},
    {"proto", Field::kTransport},
    {"transportProtocol", Field::kTransport},
    {"app", Field::kProtocol},
    {"applicationProtocol", Field::kProtocol},
    {"act", Field::kAction},
    {"deviceAction", Field::kAction},
    {"cat", Field::kCategory},
    {"deviceEventCategory", Field::kCategory},
    {"msg", Field::kMessage},
    {"message", Field::kMessage},
    {"request", Field::kUrl},
    {"requestURL", Field::kUrl},
    {"fname", Field::kFileName},
    {"fileName", Field::kFileName},
    {"filePath", Field::kFilePath},
    {"fileHash", Field::kFileHash},
    {"sproc", Field::kSourceProcess},
    {"sourceProcessName", Field::kSourceProcess},
    {"dproc", Field::kDestinationProcess},
    {"destinationProcessName", Field::kDestinationProcess},
    {"rt", Field::kReceiptTime},
    {"deviceReceiptTime", Field::kReceiptTime},
    {"start", Field::kStartTime},
    {"startTime", Field::kStartTime},
    {"end", Field::kEndTime},
    {"endTime", Field::kEndTime},
    {"dtz", Field::kTimeZone},
    {"deviceTimeZone", Field::kTimeZone},
}};
constexpr kv::KeyTable<kCefKeyList.size()> kCefKeys{kCefKeyList};

}  // namespace

ParseStatus map_cef(std::string_view body, const KvFormatOptions& options, Scratch& scratch,
                    Alert& alert) {
  CefHeader h;
  kv::KvMapper mapper(alert, scratch, options);
  const ParseStatus s =
      parse_cef_record(body, scratch, h, [&](std::string_view key, std::string_view value) {
        const Field f = kCefKeys.find(key);
        if (f == Field::kLabel && mapper.add_custom(key, value)) return;
        mapper.add(f, key, value);
      });
  if (!s.ok()) return s;
  alert.observer_vendor = h.device_vendor;
  alert.observer_product = h.device_product;
  alert.rule_id = h.signature_id;
  alert.rule_name = h.name;
  alert.event_kind = "alert";
  mapper.set_dataset("cef", h.device_product);
  mapper.add_header_label("deviceVersion", h.device_version);
  Severity level;
  int64_t number;
  if (cef_severity(h.severity, &level, &number)) {
    alert.severity = level;
    alert.event_severity = number;
  }
  mapper.finish();
  return s;
}

}  // namespace klaxon
