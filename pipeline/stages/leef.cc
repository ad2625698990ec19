// LEEF 1.0 / 2.0 tokenizer and mapper (IBM QRadar's Log Event Extended Format). The shared
// machinery (header fields, KvMapper, time values) is in cef.cc; the rules are in cef.h and
// pipeline/README.md ("CEF and LEEF").
#include "pipeline/stages/cef.h"
#include "pipeline/stages/cef_internal.h"

#include <cstring>

namespace klaxon {

namespace {

using kv::Field;

constexpr const char* kLeefHeader = "LEEF header: LEEF:Version|Vendor|Product|Version|EventID|";
constexpr const char* kKeyless = "LEEF attributes: key=value pairs (text before the first key)";

int hex_value(char c) {
  if (kv::is_digit(c)) return c - '0';
  const char l = kv::lower(c);
  return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

size_t utf8_length(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
}

// The LEEF 2.0 DelimiterCharacter field: one character, or its code point as `x` / `0x` and
// 1-4 hex digits (IBM: "x09", "0x5E", "xA6" for U+00A6). Writes the delimiter's UTF-8 bytes.
bool delimiter_spec(std::string_view f, char out[4], size_t* len) {
  if (f.empty()) return false;
  std::string_view hex;
  if (f.size() > 2 && f[0] == '0' && (f[1] == 'x' || f[1] == 'X')) {
    hex = f.substr(2);
  } else if (f.size() > 1 && (f[0] == 'x' || f[0] == 'X')) {
    hex = f.substr(1);
  }
  if (hex.empty()) {
    // One character (its UTF-8 bytes); the body was checked to be UTF-8.
    const size_t n = utf8_length(static_cast<unsigned char>(f[0]));
    if (n != f.size() || f == "=") return false;
    std::memcpy(out, f.data(), n);
    *len = n;
    return true;
  }
  if (hex.size() > 4) return false;
  uint32_t cp = 0;
  for (char c : hex) {
    const int v = hex_value(c);
    if (v < 0) return false;
    cp = cp * 16 + static_cast<uint32_t>(v);
  }
  if (cp == 0 || cp == '=' || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    *len = 1;
  } else if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    *len = 2;
  } else {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    *len = 3;
  }
  return true;
}

// Next occurrence of `delim` at or after `from`; npos when none.
size_t find_delimiter(std::string_view s, size_t from, std::string_view delim) {
  while (from < s.size()) {
    const size_t at = kv::find_char(s, from, delim[0]);
    if (at == s.size()) return std::string_view::npos;
    if (delim.size() == 1 || s.compare(at, delim.size(), delim) == 0) return at;
    from = at + 1;
  }
  return std::string_view::npos;
}

bool all_spaces(std::string_view s) {
  for (char c : s) {
    if (c != ' ') return false;
  }
  return true;
}

// A key: no backslash or double quote (which mark a value: "C:\a=b", "x=\"y\""); with the
// `\t` stand-in for TAB it must also be a plain name (letters, digits, _ . -).
bool leef_key(std::string_view key, bool strict) {
  if (key.empty()) return false;
  for (char c : key) {
    if (c == '\\' || c == '"') return false;
    if (strict && !(kv::is_alnum(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace

ParseStatus parse_leef_record(std::string_view body, Scratch& scratch, LeefHeader& header,
                              KvCallback on_attribute) {
  header = LeefHeader{};
  if (ParseStatus s = kv::check_body(body, "LEEF: one record per frame (unescaped line feed)");
      !s.ok()) {
    return s;
  }
  const size_t start = kv::find_record_start(body, "LEEF:");
  if (start == std::string_view::npos) {
    return ParseStatus::fail(RejectReason::kFormat, "LEEF: a record starting with \"LEEF:\"", 0);
  }
  header.prefix = kv::trim_spaces(body.substr(0, start));
  kv::HeaderReader fields(body, start + 5, scratch);
  for (std::string_view* field : {&header.version, &header.vendor, &header.product,
                                  &header.product_version, &header.event_id}) {
    if (const RejectReason r = fields.next(*field); r != RejectReason::kNone) {
      return ParseStatus::fail(
          r, r == RejectReason::kFormat ? kLeefHeader : "LEEF: scratch space for unescaping",
          r == RejectReason::kFormat ? body.size() : fields.pos());
    }
    if (field == &header.version && header.version != "1.0" && header.version != "2.0" &&
        header.version != "1" && header.version != "2") {
      return ParseStatus::fail(RejectReason::kFormat, "LEEF version 1.0 or 2.0", start + 5);
    }
  }
  const bool v2 = header.version[0] == '2';
  size_t pos = fields.pos();
  header.delimiter = "\t";
  const size_t n = body.size();
  if (v2) {
    // The DelimiterCharacter field, when the sixth field is one (else the attributes start).
    const size_t end = kv::find_char(body, pos, '|');
    const std::string_view spec = body.substr(pos, end - pos);
    char bytes[4];
    size_t len = 0;
    if (delimiter_spec(spec, bytes, &len)) {
      if (spec.size() == len) {
        header.delimiter = spec;  // written as itself: a view into the frame
      } else {
        char* w = scratch.take(len);
        if (w == nullptr) {
          return ParseStatus::fail(RejectReason::kTooLarge, "LEEF: scratch space", pos);
        }
        std::memcpy(w, bytes, len);
        header.delimiter = std::string_view(w, len);
      }
      header.has_delimiter_field = true;
      pos = end < n ? end + 1 : n;
    } else if (spec.empty() && end < n) {
      // An empty field: no delimiter named (TAB); "||" right after it names '|' itself.
      header.has_delimiter_field = true;
      pos = end + 1;
      if (pos < n && body[pos] == '|') {
        header.delimiter = body.substr(pos, 1);
        ++pos;
      }
    }
  }

  // Attributes: split at each delimiter; a piece that starts with `key=` opens a pair, any
  // other piece belongs to the value before it (a delimiter inside a value).
  std::string_view delim = header.delimiter;
  bool strict_keys = false;
  if (delim == "\t" && kv::find_char(body, pos, '\t') == n &&
      body.find("\\t", pos) != std::string_view::npos) {
    delim = "\\t";
    strict_keys = true;
  }
  std::string_view key;
  size_t value_start = 0, value_end = 0;
  bool open = false;
  auto emit = [&] {
    on_attribute(
        key, kv::strip_quotes(kv::trim_spaces(body.substr(value_start, value_end - value_start))));
  };
  size_t next_eq = pos;  // the first '=' at or after the current piece (n when none)
  bool eq_known = false;
  for (size_t piece = pos; piece <= n;) {
    const size_t d = find_delimiter(body, piece, delim);
    const size_t piece_end = d == std::string_view::npos ? n : d;
    const std::string_view text = body.substr(piece, piece_end - piece);
    // Each '=' is found once: the search only moves forward (linear on hostile input).
    if (!eq_known || next_eq < piece) {
      next_eq = kv::find_char(body, piece, '=');
      eq_known = true;
    }
    std::string_view k;
    const bool has_eq = next_eq < piece_end;
    if (has_eq) k = kv::trim_spaces(body.substr(piece, next_eq - piece));
    if (has_eq && leef_key(k, strict_keys)) {
      if (open) emit();
      key = k;
      value_start = next_eq + 1;
      value_end = piece_end;
      open = true;
    } else if (!all_spaces(text)) {
      if (!open) return ParseStatus::fail(RejectReason::kFormat, kKeyless, piece);
      value_end = piece_end;
    }
    if (d == std::string_view::npos) break;
    piece = d + delim.size();
  }
  if (open) emit();
  return ParseStatus{};
}

namespace {

// IBM's predefined attributes with a field of their own, and the de-facto `msg`; the rest are
// labels.
constexpr std::array<kv::KeyEntry, 18> kLeefKeyList{{
    {"src", Field::kSourceIp},
    {"dst", Field::kDestinationIp},
    {"srcPort", Field::kSourcePort},
    {"dstPort", Field::kDestinationPort},
    {"usrName", Field::kUserName},
    {"identHostName", Field::kHostName},
    {"proto", Field::kTransport},
    {"sev", Field::kSeverity},
    {"cat", Field::kCategory},
    {"devTime", Field::kDevTime},
    {"devTimeFormat", Field::kDevTimeFormat},
    {"url", Field::kUrl},
    {"msg", Field::kMessage},
    {"action", Field::kAction},
    {"fileHash", Field::kFileHash},
    {"fileName", Field::kFileName},
    {"filePath", Field::kFilePath},
    {"dvchost", Field::kObserverName},
}};
constexpr kv::KeyTable<kLeefKeyList.size()> kLeefKeys{kLeefKeyList};

}  // namespace

ParseStatus map_leef(std::string_view body, const KvFormatOptions& options, Scratch& scratch,
                     Alert& alert) {
  LeefHeader h;
  kv::KvMapper mapper(alert, scratch, options);
  const ParseStatus s =
      parse_leef_record(body, scratch, h, [&](std::string_view key, std::string_view value) {
        mapper.add(kLeefKeys.find(key), key, value);
      });
  if (!s.ok()) return s;
  alert.observer_vendor = h.vendor;
  alert.observer_product = h.product;
  alert.rule_id = h.event_id;
  alert.event_kind = "alert";
  mapper.set_dataset("leef", h.product);
  mapper.add_header_label("productVersion", h.product_version);
  mapper.finish();
  return s;
}

}  // namespace klaxon
