// Internals shared by cef.cc and leef.cc: text helpers, the compile-time key tables and
// KvMapper, which turns tokenized key/value pairs into Alert fields and labels. Not part of
// the stage's interface (cef.h is). One KvMapper per message, on the parsing thread's stack.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/scratch.h"
#include "pipeline/stages/cef.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace klaxon::kv {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
inline std::string_view trim_trailing_spaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
// "\"text\"" -> "text" (senders such as ArcSight FlexConnectors quote whole values).
inline std::string_view strip_quotes(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}
bool iequals(std::string_view a, std::string_view b);

// Position of the first `c` in s[from, size), or size. Inline and 32 bytes at a time: the
// tokenizers look for the next '|', '=' or delimiter a few dozen bytes ahead, many times per
// record, where a call to memchr costs more than the search. Never reads outside `s`.
inline size_t find_char(std::string_view s, size_t from, char c) {
  const char* b = s.data();
  const size_t n = s.size();
  size_t p = from;
#if defined(__AVX2__)
  const __m256i needle = _mm256_set1_epi8(c);
  for (; p + 32 <= n; p += 32) {
    const __m256i chunk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p));
    const auto m = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(chunk, needle)));
    if (m != 0) return p + static_cast<size_t>(__builtin_ctz(m));
  }
  if (p >= n) return n;
  if (n >= 32) {
    // The last 32 bytes of `s`, without those before p (n - 32 < p < n).
    const __m256i chunk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + n - 32));
    const auto m = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(chunk, needle))) >>
                   (p - (n - 32));
    return m != 0 ? p + static_cast<size_t>(__builtin_ctz(m)) : n;
  }
#endif
  if (p >= n) return n;
  const void* hit = std::memchr(b + p, c, n - p);
  return hit != nullptr ? static_cast<size_t>(static_cast<const char*>(hit) - b) : n;
}

// Where a record starts: `tag` ("CEF:"/"LEEF:") at 0, or after a space (a prefix the caller
// left in). npos when absent.
size_t find_record_start(std::string_view body, std::string_view tag);
// The body without a trailing CR/LF run; ParseStatus failure (kFormat) when another LF is
// left, or (kInvalidUtf8) when the bytes are not UTF-8. `what` names the format.
ParseStatus check_body(std::string_view& body, const char* lf_what);

// Header fields, one after the other. next() scans from `pos` to the next '|' not escaped by
// a backslash, undoes `\|` -> `|` and `\\` -> `\` (other backslashes kept) into the scratch
// when the field has a backslash, strips spaces and double quotes, and moves `pos` past the
// '|'. Returns kNone, or kFormat when there is no further '|' / kTooLarge when the scratch is
// spent (the caller words the error).
class HeaderReader {
 public:
  HeaderReader(std::string_view body, size_t pos, Scratch& scratch)
      : body_(body), pos_(pos), scratch_(scratch), backslash_(find_char(body, pos, '\\')) {}
  RejectReason next(std::string_view& out);
  size_t pos() const { return pos_; }

 private:
  std::string_view body_;
  size_t pos_;
  Scratch& scratch_;
  size_t backslash_;  // the first backslash at or after pos_ (body size when none)
};

// What a key means. kLabel: no field of its own (a label under the key).
enum class Field : uint8_t {
  kLabel = 0,
  kSourceIp,
  kDestinationIp,
  kSourcePort,
  kDestinationPort,
  kSourceHost,       // shost: host.name when there is no dhost
  kDestinationHost,  // dhost: host.name
  kHostName,         // LEEF identHostName: host.name before either
  kObserverName,     // dvchost
  kSourceUser,       // suser: user.name when there is no duser
  kDestinationUser,  // duser: user.name
  kUserName,         // LEEF usrName
  kTransport,
  kProtocol,
  kAction,
  kCategory,  // rule.category
  kMessage,
  kUrl,
  kFileName,
  kFilePath,
  kFileHash,  // md5/sha1/sha256 by length
  kSourceProcess,
  kDestinationProcess,
  kReceiptTime,  // rt: @timestamp, preferred
  kDevTime,      // LEEF devTime
  kDevTimeFormat,
  kStartTime,
  kEndTime,
  kTimeZone,  // dtz: zone of rt/start/end without one (fixed offsets only)
  kSeverity,  // LEEF sev
  kCount
};

struct KeyEntry {
  std::string_view key;
  Field field;
};

// Equality of short strings without a call to memcmp (keys are a few bytes long).
inline bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Length and three bytes: cheap (no loop over the key) and enough to spread the few dozen
// known keys; the table compares whole keys anyway.
constexpr uint32_t key_hash(std::string_view s) {
  if (s.empty()) return 0;
  const auto at = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  uint32_t h = static_cast<uint32_t>(s.size()) * 0x9E3779B1u ^ at(0) * 0x85EBCA6Bu ^
               at(s.size() - 1) * 0xC2B2AE35u ^ at(s.size() / 2) * 0x27D4EB2Fu;
  return h ^ (h >> 15);
}

// An open-addressing table built at compile time: one hash and (usually) one compare per key.
template <size_t N, size_t Slots = 256>
class KeyTable {
  static_assert((Slots & (Slots - 1)) == 0 && N < Slots / 2);

 public:
  constexpr explicit KeyTable(const std::array<KeyEntry, N>& entries) : entries_(entries) {
    for (size_t i = 0; i < N; ++i) {
      size_t s = key_hash(entries[i].key) & (Slots - 1);
      while (slots_[s] != 0) s = (s + 1) & (Slots - 1);
      slots_[s] = static_cast<uint8_t>(i + 1);
    }
  }
  Field find(std::string_view key) const {
    for (size_t s = key_hash(key) & (Slots - 1);; s = (s + 1) & (Slots - 1)) {
      const uint8_t e = slots_[s];
      if (e == 0) return Field::kLabel;
      if (same(entries_[e - 1].key, key)) return entries_[e - 1].field;
    }
  }

 private:
  std::array<KeyEntry, N> entries_;
  std::array<uint8_t, Slots> slots_{};
};

// Collects one message's pairs, then writes the Alert in finish(). Values are views that stay
// valid for the message (frame or scratch).
class KvMapper {
 public:
  KvMapper(Alert& alert, Scratch& scratch, const KvFormatOptions& options)
      : alert_(alert), scratch_(scratch), options_(options) {
    for (size_t i = 0; i < alert_.label_count; ++i) label_bloom_ |= bloom_bit(alert_.labels[i].key);
  }

  // A pair whose key means `field` (kLabel: kept as a label under `key`). The first pair of a
  // field wins; later ones become labels.
  void add(Field field, std::string_view key, std::string_view value);
  // CEF custom fields: true when `key` is one (then it is taken care of).
  bool add_custom(std::string_view key, std::string_view value);
  // A header value kept as a label (device version ...); goes before the extensions' labels.
  void add_header_label(std::string_view key, std::string_view value);
  // "cef." / "leef." + the product, lower case, other bytes as '_'.
  void set_dataset(std::string_view module, std::string_view product);
  // ECS fields, timestamp, labels.
  void finish();

 private:
  // Trivially constructible on purpose: a KvMapper lives on the stack once per message, and
  // zeroing string_views it may never use was a measurable share of the mapping's cost.
  struct Span {
    const char* data;
    size_t size;
    std::string_view view() const { return std::string_view(data, size); }
    static Span of(std::string_view v) { return Span{v.data(), v.size()}; }
  };
  struct Pair {
    Span key, value;
  };
  struct Custom {
    uint8_t family, number;
    bool has_value, has_label;
    Span value_key, value, label;
  };
  static constexpr size_t kFields = static_cast<size_t>(Field::kCount);
  static constexpr size_t kMaxCustom = 24;
  static constexpr size_t kMaxPending = kMaxAlertLabels;
  static_assert(kFields <= 32, "set_ is a 32-bit mask");

  void label(std::string_view key, std::string_view value);
  // Alert::add_label's rules (the first value of a key is kept; past kMaxAlertLabels it is
  // counted), with a cheaper comparison.
  void put_label(std::string_view key, std::string_view value) {
    // A 64-bit Bloom filter of the keys so far: a new key usually skips the scan.
    const uint64_t bit = bloom_bit(key);
    if (label_bloom_ & bit) {
      for (size_t i = 0; i < alert_.label_count; ++i) {
        if (same(alert_.labels[i].key, key)) return;
      }
    }
    if (alert_.label_count == kMaxAlertLabels) {
      if (alert_.labels_dropped < 0xFFFF) ++alert_.labels_dropped;
      return;
    }
    alert_.labels[alert_.label_count++] = AlertLabel{key, value};
    label_bloom_ |= bit;
  }
  static uint64_t bloom_bit(std::string_view key) { return uint64_t{1} << (key_hash(key) & 63); }
  void map_fields();
  bool has(Field f) const { return (set_ >> static_cast<unsigned>(f)) & 1u; }
  std::string_view key(Field f) const { return fields_[static_cast<size_t>(f)].key.view(); }
  std::string_view value(Field f) const { return fields_[static_cast<size_t>(f)].value.view(); }
  // First set of the candidates wins; the others become labels. Returns the winner or kCount.
  Field pick(std::initializer_list<Field> candidates) {
    Field winner = Field::kCount;
    for (Field f : candidates) {
      if (!has(f)) continue;
      if (winner == Field::kCount) {
        winner = f;
      } else {
        put_label(key(f), value(f));
      }
    }
    return winner;
  }
  bool set_port(std::string_view v, int32_t& out);
  std::string_view lower_copy(std::string_view s);

  Alert& alert_;
  Scratch& scratch_;
  const KvFormatOptions& options_;
  uint32_t set_ = 0;  // bit f: fields_[f] holds a pair
  uint64_t label_bloom_ = 0;
  std::array<Pair, kFields> fields_;
  std::array<Custom, kMaxCustom> custom_;
  size_t custom_count_ = 0;
  std::array<Pair, kMaxPending> pending_;
  size_t pending_count_ = 0;
  size_t pending_dropped_ = 0;
  std::array<Pair, 2> header_labels_;
  size_t header_label_count_ = 0;
};

}  // namespace klaxon::kv
