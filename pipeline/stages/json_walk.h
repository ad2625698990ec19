// Internal to the JSON mapper (json_map.cc and the dialect files json_*.cc): one walk over a
// simdjson on-demand document that validates every value while a dialect picks fields out.
//
// Validation without the cost of simdjson's own accessors: stage 1 (parser.iterate) has
// already checked the structure, UTF-8 and raw control characters inside strings; what is
// left is done here on the raw token text: strings are scanned for a backslash (none: the
// view into the body is the value; some: simdjson unescapes and validates them), numbers are
// checked against the JSON grammar (simdjson parses the few it might refuse, those with an
// exponent or more than 18 digits), atoms are compared, and the character after a scalar
// must end a value (`,` `}` `]`: simdjson skips scalars it did not hand out, and its skip
// takes `"b":` for a key). Objects and arrays are walked; a value the dialect does not use is
// walked the same way (skip()), never left unread.
//
// A dialect D is a class with
//   enum class Ctx : uint8_t { kNone, ... };   the objects it knows (kNone: none)
//   static Ctx child(Ctx ctx, std::string_view key);  the context of an object under `key`
//   Err leaf(Ctx ctx, std::string_view key, Val& v, int depth);  maps a key, or
//       returns kUnmapped (objects with a child context never reach leaf())
//   Err other(Ctx ctx, std::string_view key, Val& v, int depth);  the rest (skip())
// walk() reads a flattened key ("source.ip") like the nested one it stands for.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/function_ref.h"
#include "pipeline/core/scratch.h"
#include "pipeline/stages/json_map.h"

#include <simdjson.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon {
namespace json {

// What a configured generic path fills (the order of json_field_names(), then labels).
enum class Target : uint8_t {
  kTimestamp,
  kSeverity,
  kMessage,
  kEventKind,
  kEventModule,
  kEventDataset,
  kEventAction,
  kEventCategory,
  kEventSeverity,
  kRuleId,
  kRuleName,
  kRuleCategory,
  kHostName,
  kSourceIp,
  kSourcePort,
  kDestinationIp,
  kDestinationPort,
  kNetworkTransport,
  kNetworkProtocol,
  kNetworkCommunityId,
  kUserName,
  kObserverVendor,
  kObserverProduct,
  kObserverName,
  kObserverType,
  kFileName,
  kFilePath,
  kFileHashMd5,
  kFileHashSha1,
  kFileHashSha256,
  kUrlOriginal,
  kUrlDomain,
  kProcessName,
  kProcessCommandLine,
  kLabel,
};

}  // namespace json

// JsonMapOptions prepared for the walk: paths as strings to compare the walk's dotted path
// with, and every proper prefix of them (the objects worth descending into).
struct JsonMapper::Compiled {
  struct Entry {
    std::string path;
    json::Target target = json::Target::kLabel;
    std::string label;  // the key, for kLabel
  };
  std::vector<Entry> entries;
  std::vector<std::string> prefixes;
  NumericSeverity numeric = NumericSeverity::kNone;
};

namespace json {

namespace od = simdjson::ondemand;
using Err = simdjson::error_code;
inline constexpr Err kOk = simdjson::SUCCESS;
// A dialect's leaf() did not map the key (never produced by the walk itself).
inline constexpr Err kUnmapped = simdjson::NO_SUCH_FIELD;
// A document that is valid JSON but not in the dialect's shape (an Alertmanager webhook
// without an alerts array...): rejected with RejectReason::kFormat.
inline constexpr Err kShape = simdjson::INCORRECT_TYPE;
inline constexpr int kMaxDepth = 64;

// ---- tokens

inline std::string_view rtrim(std::string_view t) {
  while (!t.empty()) {
    const char c = t.back();
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    t.remove_suffix(1);
  }
  return t;
}

// The value's raw text up to the next structural character (whitespace trimmed): the whole
// value for a scalar, "{" or "[" for a container. Never empty for a value stage 1 accepted.
inline std::string_view token(od::value& v) { return rtrim(v.raw_json_token()); }

// A value with its token, read once: what every helper below takes.
struct Val {
  explicit Val(od::value& value) : v(value) {
    const std::string_view raw = value.raw_json_token();
    tok = rtrim(raw);
    next = raw.data()[raw.size()];  // the structural character after it (never past the end)
  }
  od::value& v;
  std::string_view tok;
  char next;
  char first() const { return tok.empty() ? '\0' : tok[0]; }
  // A scalar left unconsumed is skipped by simdjson, whose skip takes a string followed by ':'
  // for a key: `{"a":"b":"c"}` would pass. So every scalar read from its token must be
  // followed by what ends a value.
  bool ends_scalar() const { return next == ',' || next == '}' || next == ']'; }
};

// No backslash in [p, p + n): the string has no escapes. Short strings (nearly all keys and
// most values) are checked with one 16-byte compare; the bytes after them are inside the
// document or its kParsePadding.
inline bool no_backslash(const char* p, size_t n) {
#if defined(__SSE2__)
  if (n <= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned hits =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))));
    return (hits & ((1u << n) - 1)) == 0;
  }
#endif
  return std::memchr(p, '\\', n) == nullptr;
}

// The first '.' in a key (npos when none), without a library call for short keys.
inline size_t find_dot(std::string_view k) {
#if defined(__SSE2__)
  if (k.size() <= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k.data()));
    const unsigned hits =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('.')))) &
        ((1u << k.size()) - 1);
    return hits ? static_cast<size_t>(__builtin_ctz(hits)) : std::string_view::npos;
  }
#endif
  return k.find('.');
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar. *library: simdjson's own parser must decide (an exponent or more
// than 18 digits, where range and precision rules apply), so verdicts match its DOM parser.
inline bool number_grammar(std::string_view t, bool* library) {
  size_t i = 0;
  const size_t n = t.size();
  size_t digits = 0;
  if (i < n && t[i] == '-') ++i;
  if (i >= n) return false;
  if (t[i] == '0') {
    ++i;
    ++digits;
  } else if (t[i] >= '1' && t[i] <= '9') {
    while (i < n && is_digit(t[i])) ++i, ++digits;
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    const size_t s = i;
    while (i < n && is_digit(t[i])) ++i, ++digits;
    if (i == s) return false;
  }
  bool exponent = false;
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    exponent = true;
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    const size_t s = i;
    while (i < n && is_digit(t[i])) ++i;
    if (i == s) return false;
  }
  *library = exponent || digits > 18;
  return i == n;
}

inline Err check_number(Val& x) {
  bool library = false;
  if (!number_grammar(x.tok, &library)) return simdjson::NUMBER_ERROR;
  if (!library) return kOk;
  od::number n;
  return x.v.get_number().get(n);
}

// A string value: a view into the body when it has no escapes, else unescaped (and its
// escapes validated) into the parser's string buffer.
inline Err string_value(Val& x, std::string_view& out) {
  const std::string_view tok = x.tok;
  if (tok.size() >= 2 && tok.back() == '"' && no_backslash(tok.data() + 1, tok.size() - 2)) {
    out = tok.substr(1, tok.size() - 2);
    return kOk;
  }
  return x.v.get_string().get(out);
}

// An object key, given where its value starts: the view into the body unless it has
// escapes. Between the key's closing quote and the value there is only ':' and whitespace.
inline Err key_of(od::field& f, const char* value_start, std::string_view& key) {
  const char* p = f.key().raw();  // just after the opening quote
  const char* q = value_start - 1;
  while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') --q;
  if (*q == ':') {
    --q;
    while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') --q;
    if (*q == '"' && q >= p && no_backslash(p, static_cast<size_t>(q - p))) {
      key = std::string_view(p, static_cast<size_t>(q - p));
      return kOk;
    }
  }
  return f.unescaped_key().get(key);
}

Err skip(Val& x, int depth);

// Validates any value, walking containers (depth-limited).
inline Err skip(Val& x, int depth) {
  switch (x.first()) {
    case '{': {
      if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
      od::object o;
      if (auto e = x.v.get_object().get(o)) return e;
      for (auto field : o) {
        if (auto e = field.error()) return e;
        od::field&& f = std::move(field).value_unsafe();
        Val inner(f.value());
        std::string_view k;
        if (auto e = key_of(f, inner.tok.data(), k)) return e;
        if (auto e = skip(inner, depth + 1)) return e;
      }
      return kOk;
    }
    case '[': {
      if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
      od::array a;
      if (auto e = x.v.get_array().get(a)) return e;
      for (auto el : a) {
        od::value value;
        if (auto e = std::move(el).get(value)) return e;
        Val inner(value);
        if (auto e = skip(inner, depth + 1)) return e;
      }
      return kOk;
    }
    case '"': {
      std::string_view s;
      if (!x.ends_scalar()) return simdjson::TAPE_ERROR;
      return string_value(x, s);
    }
    case 't':
      return x.tok == "true" && x.ends_scalar() ? kOk : simdjson::T_ATOM_ERROR;
    case 'f':
      return x.tok == "false" && x.ends_scalar() ? kOk : simdjson::F_ATOM_ERROR;
    case 'n':
      return x.tok == "null" && x.ends_scalar() ? kOk : simdjson::N_ATOM_ERROR;
    default:
      if (!x.ends_scalar()) return simdjson::TAPE_ERROR;
      return check_number(x);
  }
}

// ---- scalars

enum class Kind : uint8_t { kString, kNumber, kBool, kNull, kObject, kArray };

struct Scalar {
  std::string_view text;  // strings unescaped; numbers and booleans as spelled
  Kind kind = Kind::kNull;
  bool is_text() const { return kind == Kind::kString || kind == Kind::kNumber; }
};

// Any value, validated; containers are walked and give kind kObject/kArray with no text.
inline Err scalar(Val& x, int depth, Scalar& out) {
  switch (x.first()) {
    case '"':
      out.kind = Kind::kString;
      if (!x.ends_scalar()) return simdjson::TAPE_ERROR;
      return string_value(x, out.text);
    case '{':
      out.kind = Kind::kObject;
      return skip(x, depth);
    case '[':
      out.kind = Kind::kArray;
      return skip(x, depth);
    case 't':
    case 'f':
      out.kind = Kind::kBool;
      out.text = x.tok;
      return skip(x, depth);
    case 'n':
      out.kind = Kind::kNull;
      return skip(x, depth);
    default:
      out.kind = Kind::kNumber;
      out.text = x.tok;
      if (!x.ends_scalar()) return simdjson::TAPE_ERROR;
      return check_number(x);
  }
}

// A string or number as text into `dst`; other values are validated and leave dst alone.
inline Err text(Val& v, int depth, std::string_view& dst) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  if (s.is_text()) dst = s.text;
  return kOk;
}

// A string only (numbers and the rest are validated and ignored).
inline Err string_only(Val& v, int depth, std::string_view& dst) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  if (s.kind == Kind::kString) dst = s.text;
  return kOk;
}

// Decimal integer text (optionally signed, no fraction) -> value; false otherwise or when it
// does not fit.
inline bool parse_int(std::string_view t, int64_t* out) {
  bool neg = false;
  if (!t.empty() && t[0] == '-') {
    neg = true;
    t.remove_prefix(1);
  }
  if (t.empty() || t.size() > 19) return false;
  uint64_t n = 0;
  for (char c : t) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > static_cast<uint64_t>(INT64_MAX)) return false;  // 19 digits fit in 64 bits unsigned
  *out = neg ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  return true;
}

// A port: a number or a numeric string 0..65535. Anything else leaves out alone.
inline void port_from_text(std::string_view t, int32_t& out) {
  int64_t p = 0;
  if (t.size() <= 5 && parse_int(t, &p) && p >= 0 && p <= 65535) out = static_cast<int32_t>(p);
}
inline Err port(Val& v, int depth, int32_t& out) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  if (s.is_text()) port_from_text(s.text, out);
  return kOk;
}

// An integer number (or numeric string) -> out; other values are validated and ignored.
inline Err integer(Val& v, int depth, int64_t& out, bool* found = nullptr) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  int64_t n = 0;
  if (s.is_text() && parse_int(s.text, &n)) {
    out = n;
    if (found) *found = true;
  }
  return kOk;
}

// ---- timestamps (UTC nanoseconds)

// RFC 3339 as parse_rfc3339 reads it ('T' or ' ', Z, +hh:mm, +hhmm, +hh, up to 9 fraction
// digits kept, no offset = UTC); the whole text must be the timestamp.
bool time_from_rfc3339(std::string_view s, int64_t* ns);
// Epoch seconds written as a JSON number ("1700000000.123456"): exact to the nanosecond for
// plain decimals, through a double for exponent forms.
bool time_from_epoch_seconds(std::string_view number, int64_t* ns);
// A timestamp value: an RFC 3339 string, or a number of epoch seconds (integers above 1e11
// are taken as milliseconds, 1e14 as microseconds, 1e17 as nanoseconds).
bool time_from_scalar(const Scalar& s, int64_t* ns);

// Fills dst only when it is still empty (the first of several sources wins).
inline Err text_if_empty(Val& v, int depth, std::string_view& dst) {
  std::string_view t;
  if (auto e = text(v, depth, t)) return e;
  if (dst.empty()) dst = t;
  return kOk;
}

// An event time (time_from_scalar) into the alert; a value that is no time leaves it alone.
inline Err timestamp(Val& v, int depth, Alert& a, bool* found = nullptr) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  int64_t ns = 0;
  if (time_from_scalar(s, &ns)) {
    a.timestamp_ns = ns;
    a.has_timestamp = true;
    if (found) *found = true;
  }
  return kOk;
}

// A string, number or boolean as label `key`; null and containers give no label.
inline Err label(Val& v, int depth, Alert& a, std::string_view key) {
  Scalar s;
  if (auto e = scalar(v, depth, s)) return e;
  if (s.kind == Kind::kString || s.kind == Kind::kNumber || s.kind == Kind::kBool)
    a.add_label(key, s.text);
  return kOk;
}

// An array of strings joined with ',' into the scratch (a single string is taken as is).
// Elements that are not strings are validated and left out.
Err join_strings(Val& v, int depth, Scratch& scratch, std::string_view& out);

// A string that must outlive a doc.rewind() (which reuses the parser's string buffer): kept
// as a view into the body, or copied into the scratch when it had escapes.
Err stable_string(Val& v, int depth, std::string_view body, Scratch& scratch,
                  std::string_view& out);

// a + b in the scratch (label keys such as "annotation.summary"); empty when out of room.
std::string_view concat(Scratch& scratch, std::string_view a, std::string_view b);

// ---- small views

// "web-01:9100" -> "web-01", "[::1]:80" -> "::1", "::1" stays (an address, not host:port).
std::string_view strip_port(std::string_view host_port);
// The host of "scheme://user@host:port/path" ("" when there is no "://").
std::string_view url_host(std::string_view url);
// The last path segment: "/var/log/auth.log" -> "auth.log" (also after '\').
std::string_view basename_of(std::string_view path);

// ---- severities

// Wazuh rule.level: 0-3 info, 4-6 low, 7-11 medium, 12-14 high, 15-16 critical.
Severity severity_from_wazuh(int64_t level);
// Falco priority names -> 0 (Emergency) .. 7 (Debug), -1 when unknown.
int falco_priority(std::string_view word);
// A number on one of the NumericSeverity scales; false for kNone.
bool severity_from_number(NumericSeverity scale, int64_t n, Severity* out);

// ---- the walk

template <typename D>
Err walk(D& d, od::object obj, typename D::Ctx ctx, int depth);

// The context of a (possibly dotted) key's object: "source" or "threat.indicator".
template <typename D>
typename D::Ctx child_of(typename D::Ctx ctx, std::string_view key) {
  using Ctx = typename D::Ctx;
  Ctx c = D::child(ctx, key);
  if (c != Ctx::kNone) return c;
  for (size_t dot = find_dot(key); dot != std::string_view::npos && dot > 0; dot = find_dot(key)) {
    ctx = D::child(ctx, key.substr(0, dot));
    if (ctx == Ctx::kNone) return ctx;
    key.remove_prefix(dot + 1);
    c = D::child(ctx, key);
    if (c != Ctx::kNone) return c;
  }
  return Ctx::kNone;
}

// One key's value: an object with a context is walked in it; otherwise leaf(), a flattened
// key's last segment in its parent context, then other().
template <typename D>
Err dispatch(D& d, typename D::Ctx ctx, std::string_view key, Val& x, int depth) {
  using Ctx = typename D::Ctx;
  if (x.first() == '{') {
    const Ctx c = child_of<D>(ctx, key);
    if (c != Ctx::kNone) {
      od::object o;
      if (auto e = x.v.get_object().get(o)) return e;
      return walk(d, o, c, depth + 1);
    }
  }
  Err e = d.leaf(ctx, key, x, depth);
  if (e != kUnmapped) return e;
  for (size_t dot = find_dot(key); dot != std::string_view::npos && dot > 0; dot = find_dot(key)) {
    const Ctx c = D::child(ctx, key.substr(0, dot));
    if (c == Ctx::kNone) break;
    ctx = c;
    key.remove_prefix(dot + 1);
    e = d.leaf(ctx, key, x, depth);
    if (e != kUnmapped) return e;
  }
  return d.other(ctx, key, x, depth);
}

template <typename D>
Err walk(D& d, od::object obj, typename D::Ctx ctx, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  for (auto field : obj) {
    if (auto e = field.error()) return e;
    od::field&& f = std::move(field).value_unsafe();  // no copy of the field
    Val x(f.value());
    std::string_view key;
    if (auto e = key_of(f, x.tok.data(), key)) return e;
    if (auto e = dispatch(d, ctx, key, x, depth)) return e;
  }
  return kOk;
}

// Each object of an array (or a lone object) walked in ctx; other elements are validated.
template <typename D>
Err each_object(D& d, Val& x, typename D::Ctx ctx, int depth) {
  if (x.first() == '{') {
    od::object o;
    if (auto e = x.v.get_object().get(o)) return e;
    return walk(d, o, ctx, depth + 1);
  }
  if (x.first() != '[') return skip(x, depth);
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::array a;
  if (auto e = x.v.get_array().get(a)) return e;
  for (auto el : a) {
    od::value value;
    if (auto e = std::move(el).get(value)) return e;
    Val inner(value);
    if (inner.first() == '{') {
      od::object o;
      if (auto e = value.get_object().get(o)) return e;
      if (auto e = walk(d, o, ctx, depth + 2)) return e;
    } else if (auto e = skip(inner, depth + 1)) {
      return e;
    }
  }
  return kOk;
}

// ---- dialect entry points (json_<dialect>.cc). Each fills `alert` from the root object.

struct Env {
  Alert& alert;
  Scratch& scratch;
  std::string_view body;
  const JsonMapper::Compiled* compiled;  // generic options, or nullptr
};

Err map_suricata(od::object root, Env& env);
Err map_wazuh(od::object root, Env& env);
Err map_falco(od::object root, Env& env);
Err map_zeek(od::object root, Env& env);
Err map_beats(od::object root, Env& env);
Err map_generic(od::object root, Env& env);

// Dialect detection (InputFormat::kJson) by the root object's keys, fed one key at a time:
// the dialect the keys so far decide, or kJson while undecided; detect_at_end() for a
// document no key decided (kBeats or kGeneric).
InputFormat detect_by_key(uint32_t& flags, std::string_view key);
InputFormat detect_at_end(uint32_t flags);
// Returned by map_json_probe() when the document must be mapped again as *dialect.
inline constexpr Err kRestart = simdjson::OUT_OF_ORDER_ITERATION;
// The first pass for kJson: maps as ECS while detecting; kOk with *dialect kBeats or
// kGeneric when done, kRestart with the dialect to map with after doc.rewind().
Err map_json_probe(od::object root, Env& env, InputFormat* dialect);
// Several alerts: emits each (from a copy of env.alert) once the document is valid; pending
// holds kPendingAlerts + 1 alerts. Returns the count emitted through *emitted.
inline constexpr size_t kPendingAlerts = 8;
// root: doc's root object, already started (get_object() must not be called twice).
Err map_alertmanager(od::document& doc, od::object root, Env& env, Alert* pending,
                     FunctionRef<void(Alert&)> emit, size_t* emitted);

}  // namespace json
}  // namespace klaxon
