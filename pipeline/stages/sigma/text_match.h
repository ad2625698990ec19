// Text primitives of the Sigma matcher: ASCII case folding, Sigma wildcard patterns compiled
// into literal segments, CIDR networks and numbers read from field text.
//
// Owner and threads: everything here is immutable after construction (Glob, Cidr) or a pure
// function, so any number of threads may use it at once. Nothing allocates while matching.
//
// Case-insensitivity is ASCII only (Sigma says "case-insensitive"; pySigma backends differ on
// non-ASCII letters): bytes >= 0x80 compare exactly, so UTF-8 text still matches itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

// ASCII lower-case of one byte, from a table (the matcher's innermost operation).
extern const std::array<unsigned char, 256> kFoldTable;
inline unsigned char fold(char c) { return kFoldTable[static_cast<unsigned char>(c)]; }
std::string fold_copy(std::string_view s);

// `text` equals / starts with / ends with / contains `pattern`; `pattern` must already be
// folded when `cased` is false.
bool equals_text(std::string_view text, std::string_view pattern, bool cased);
bool starts_with_text(std::string_view text, std::string_view pattern, bool cased);
bool ends_with_text(std::string_view text, std::string_view pattern, bool cased);
// Position of the first occurrence at or after `from`, or npos.
size_t find_text(std::string_view text, std::string_view pattern, bool cased, size_t from = 0);

// One token of a Sigma string value after escape processing: a literal byte, `?` (exactly one
// byte) or `*` (any run of bytes).
struct GlobToken {
  enum Kind : uint8_t { kByte, kAnyOne, kAnyRun } kind = kByte;
  char byte = 0;
};
// Sigma escaping (rules spec "Escape Character"): `\*`, `\?` and `\\` are literals, a backslash
// before anything else is itself a literal, unescaped `*` and `?` are wildcards.
std::vector<GlobToken> parse_sigma_string(std::string_view value);
// True when any token is a wildcard.
bool has_wildcards(const std::vector<GlobToken>& tokens);

// A wildcard pattern compiled into the literal segments between `*`s. Each segment has a
// fixed length (a `?` is one byte of it), so matching places the first segment at the start,
// the last at the end and each middle one at its leftmost possible position: linear in the
// text for the common shapes, never backtracking. `?` stands for one byte, so a non-ASCII
// character (several UTF-8 bytes) needs as many `?`s (documented in pipeline/README.md).
class Glob {
 public:
  Glob() = default;
  Glob(const std::vector<GlobToken>& tokens, bool cased);
  bool match(std::string_view text) const;

  // The simple shapes the caller can match faster: no `?`, at most two `*` at the ends.
  enum class Shape : uint8_t { kEquals, kPrefix, kSuffix, kContains, kAny, kGeneral };
  Shape shape() const { return shape_; }
  // The single literal of the simple shapes (folded unless cased).
  const std::string& literal() const { return segments_.empty() ? empty_ : segments_[0].text; }

 private:
  struct Segment {
    std::string text;  // folded unless cased_; a `?` position holds '\0'
    std::string any;   // empty, or per byte '\1' where the pattern had `?`
  };
  bool segment_at(const Segment& s, std::string_view text, size_t pos) const;
  size_t find_segment(const Segment& s, std::string_view text, size_t from, size_t end) const;

  std::vector<Segment> segments_;
  bool anchored_start_ = true;  // no leading `*`
  bool anchored_end_ = true;    // no trailing `*`
  bool cased_ = false;
  Shape shape_ = Shape::kEquals;
  static const std::string empty_;
};

// An IPv4 or IPv6 network ("10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128).
struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> net{};
  int prefix = 0;

  static std::optional<Cidr> parse(std::string_view text);
  // `address` is the field's text; anything that is not an address of the same family (or
  // an IPv4-mapped IPv6 address for a v4 network) does not match.
  bool contains(std::string_view address) const;
  // The same for an address already parsed by parse_ip().
  bool contains_ip(bool is_v6, std::array<uint8_t, 16> address) const;
};

// Parses an IP address without allocating; false when it is not one.
bool parse_ip(std::string_view text, bool* v6, std::array<uint8_t, 16>* bytes);

// A field's text as a number: decimal integer or float (std::from_chars syntax, an optional
// leading '+', surrounding blanks ignored). nullopt for anything else.
std::optional<double> parse_number(std::string_view text);

}  // namespace klaxon::sigma
