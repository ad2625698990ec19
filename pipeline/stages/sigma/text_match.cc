#include "pipeline/stages/sigma/text_match.h"

#include <arpa/inet.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <charconv>
#include <cmath>
#include <cstring>

namespace klaxon::sigma {

namespace {

constexpr std::array<unsigned char, 256> make_fold_table() {
  std::array<unsigned char, 256> t{};
  for (int i = 0; i < 256; ++i) {
    t[i] = static_cast<unsigned char>(i >= 'A' && i <= 'Z' ? i + ('a' - 'A') : i);
  }
  return t;
}

}  // namespace

const std::array<unsigned char, 256> kFoldTable = make_fold_table();
const std::string Glob::empty_;

std::string fold_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(fold(c));
  return out;
}

// The pattern side is folded once at load time; only the event side is folded per byte.
bool equals_text(std::string_view text, std::string_view pattern, bool cased) {
  if (text.size() != pattern.size()) return false;
  if (cased) return text == pattern;
  for (size_t i = 0; i < text.size(); ++i) {
    if (fold(text[i]) != static_cast<unsigned char>(pattern[i])) return false;
  }
  return true;
}

bool starts_with_text(std::string_view text, std::string_view pattern, bool cased) {
  return text.size() >= pattern.size() &&
         equals_text(text.substr(0, pattern.size()), pattern, cased);
}

bool ends_with_text(std::string_view text, std::string_view pattern, bool cased) {
  return text.size() >= pattern.size() &&
         equals_text(text.substr(text.size() - pattern.size()), pattern, cased);
}

size_t find_text(std::string_view text, std::string_view pattern, bool cased, size_t from) {
  if (cased) return text.find(pattern, from);
  if (pattern.empty()) return from <= text.size() ? from : std::string_view::npos;
  if (text.size() < pattern.size()) return std::string_view::npos;
  // Scan for the first byte, then compare the rest: the first byte rejects almost every
  // position, and a folded compare of a few bytes is cheaper than any setup (Horspool tables
  // would have to be built per rule value and would not pay off for short field values).
  const auto first = static_cast<unsigned char>(pattern[0]);
  const size_t last = text.size() - pattern.size();
  size_t i = from;
  auto rest_matches = [&](size_t pos) {
    size_t k = 1;
    while (k < pattern.size() && fold(text[pos + k]) == static_cast<unsigned char>(pattern[k])) {
      ++k;
    }
    return k == pattern.size();
  };
#if defined(__AVX2__)
  // 32 positions per step: compare against both cases of the first byte at once.
  const auto upper = static_cast<unsigned char>(first >= 'a' && first <= 'z' ? first - 32 : first);
  const __m256i lo_v = _mm256_set1_epi8(static_cast<char>(first));
  const __m256i up_v = _mm256_set1_epi8(static_cast<char>(upper));
  for (; i + 32 <= text.size() && i <= last; i += 32) {
    const __m256i block = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text.data() + i));
    auto mask = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_or_si256(_mm256_cmpeq_epi8(block, lo_v), _mm256_cmpeq_epi8(block, up_v))));
    while (mask != 0) {
      const size_t pos = i + static_cast<size_t>(__builtin_ctz(mask));
      if (pos > last) return std::string_view::npos;
      if (rest_matches(pos)) return pos;
      mask &= mask - 1;
    }
  }
#endif
  for (; i <= last; ++i) {
    if (fold(text[i]) == first && rest_matches(i)) return i;
  }
  return std::string_view::npos;
}

// Escapes are resolved here, once, so matching never sees a backslash rule again.
std::vector<GlobToken> parse_sigma_string(std::string_view value) {
  std::vector<GlobToken> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      const char n = value[i + 1];
      // Only a wildcard or a backslash is escaped; "\d" stays two bytes (rules spec).
      if (n == '*' || n == '?' || n == '\\') {
        out.push_back({GlobToken::kByte, n});
        ++i;
        continue;
      }
    }
    if (c == '*') {
      out.push_back({GlobToken::kAnyRun, 0});
    } else if (c == '?') {
      out.push_back({GlobToken::kAnyOne, 0});
    } else {
      out.push_back({GlobToken::kByte, c});
    }
  }
  return out;
}

bool has_wildcards(const std::vector<GlobToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.kind != GlobToken::kByte) return true;
  }
  return false;
}

Glob::Glob(const std::vector<GlobToken>& tokens, bool cased) : cased_(cased) {
  anchored_start_ = tokens.empty() || tokens.front().kind != GlobToken::kAnyRun;
  anchored_end_ = tokens.empty() || tokens.back().kind != GlobToken::kAnyRun;
  Segment cur;
  bool any_one = false;
  auto flush = [&] {
    if (!cur.text.empty()) segments_.push_back(std::move(cur));
    cur = Segment{};
  };
  for (const auto& t : tokens) {
    switch (t.kind) {
      case GlobToken::kAnyRun:
        flush();
        break;
      case GlobToken::kAnyOne:
        // A `?` is a position in the segment that matches any byte.
        if (cur.any.empty()) cur.any.assign(cur.text.size(), '\0');
        cur.text.push_back('\0');
        cur.any.push_back('\1');
        any_one = true;
        break;
      case GlobToken::kByte:
        cur.text.push_back(cased ? t.byte : static_cast<char>(fold(t.byte)));
        if (!cur.any.empty()) cur.any.push_back('\0');
        break;
    }
  }
  flush();
  // Classify: the shapes without `?` and with one segment have direct string operations.
  if (any_one || segments_.size() > 1) {
    shape_ = Shape::kGeneral;
  } else if (segments_.empty()) {
    shape_ = anchored_start_ && anchored_end_ ? Shape::kEquals : Shape::kAny;
  } else if (anchored_start_ && anchored_end_) {
    shape_ = Shape::kEquals;
  } else if (anchored_start_) {
    shape_ = Shape::kPrefix;
  } else if (anchored_end_) {
    shape_ = Shape::kSuffix;
  } else {
    shape_ = Shape::kContains;
  }
}

// Whether segment `s` (with its `?` positions) matches text at pos.
bool Glob::segment_at(const Segment& s, std::string_view text, size_t pos) const {
  if (pos + s.text.size() > text.size()) return false;
  if (s.any.empty()) return equals_text(text.substr(pos, s.text.size()), s.text, cased_);
  for (size_t k = 0; k < s.text.size(); ++k) {
    if (s.any[k] != '\0') continue;
    const unsigned char c =
        cased_ ? static_cast<unsigned char>(text[pos + k]) : fold(text[pos + k]);
    if (c != static_cast<unsigned char>(s.text[k])) return false;
  }
  return true;
}

size_t Glob::find_segment(const Segment& s, std::string_view text, size_t from, size_t end) const {
  if (from > end || end - from < s.text.size()) return std::string_view::npos;
  if (s.any.empty()) {
    const size_t p = find_text(text.substr(0, end), s.text, cased_, from);
    return p;
  }
  for (size_t p = from; p + s.text.size() <= end; ++p) {
    if (segment_at(s, text, p)) return p;
  }
  return std::string_view::npos;
}

bool Glob::match(std::string_view text) const {
  switch (shape_) {
    case Shape::kEquals:
      return equals_text(text, literal(), cased_);
    case Shape::kPrefix:
      return starts_with_text(text, literal(), cased_);
    case Shape::kSuffix:
      return ends_with_text(text, literal(), cased_);
    case Shape::kContains:
      return find_text(text, literal(), cased_) != std::string_view::npos;
    case Shape::kAny:
      return true;
    case Shape::kGeneral:
      break;
  }
  // Fixed-length segments between `*`s: the first is pinned to the start (unless the pattern
  // starts with `*`), the last to the end, and every middle one taken at its leftmost place,
  // which never loses a match because a later segment only needs more room to its right.
  size_t first = 0;
  size_t last = segments_.size();
  size_t pos = 0;
  size_t end = text.size();
  if (anchored_start_) {
    if (!segment_at(segments_[0], text, 0)) return false;
    pos = segments_[0].text.size();
    first = 1;
  }
  if (anchored_end_ && last > first) {
    const Segment& s = segments_[last - 1];
    if (text.size() < pos + s.text.size()) return false;
    if (!segment_at(s, text, text.size() - s.text.size())) return false;
    end = text.size() - s.text.size();
    --last;
  } else if (anchored_end_ && pos != text.size()) {
    // One segment, pinned at both ends: it must be the whole text.
    return false;
  }
  for (size_t i = first; i < last; ++i) {
    const size_t p = find_segment(segments_[i], text, pos, end);
    if (p == std::string_view::npos) return false;
    pos = p + segments_[i].text.size();
  }
  return true;
}

// inet_pton is strict (no leading zeros in IPv4, no zone ids), which is what a network
// match wants: "010.1.1.1" is not 10.1.1.1 to every tool, so it matches nothing.
bool parse_ip(std::string_view text, bool* v6, std::array<uint8_t, 16>* bytes) {
  // inet_pton needs a NUL-terminated string; addresses are short, so copy to the stack.
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  bytes->fill(0);
  if (text.find(':') == std::string_view::npos) {
    *v6 = false;
    return inet_pton(AF_INET, buf, bytes->data()) == 1;
  }
  *v6 = true;
  return inet_pton(AF_INET6, buf, bytes->data()) == 1;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (!parse_ip(addr, &c.v6, &c.net)) return std::nullopt;
  const int max = c.v6 ? 128 : 32;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    int v = -1;
    const auto r = std::from_chars(p.data(), p.data() + p.size(), v);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 0 || v > max) {
      return std::nullopt;
    }
    c.prefix = v;
  }
  // Clear the host bits so that "10.1.2.3/8" means 10.0.0.0/8.
  for (int bit = c.prefix; bit < max; ++bit) {
    c.net[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return c;
}

bool Cidr::contains(std::string_view address) const {
  bool is_v6 = false;
  std::array<uint8_t, 16> a;
  if (!parse_ip(address, &is_v6, &a)) return false;
  return contains_ip(is_v6, a);
}

bool Cidr::contains_ip(bool is_v6, std::array<uint8_t, 16> a) const {
  if (is_v6 && !v6) {
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.data(), kMapped, 12) != 0) return false;
    std::memmove(a.data(), a.data() + 12, 4);
  } else if (is_v6 != v6) {
    return false;
  }
  // Whole bytes first, then the masked partial byte (the network's host bits are zero).
  const int full = prefix / 8;
  if (std::memcmp(a.data(), net.data(), static_cast<size_t>(full)) != 0) return false;
  if (prefix % 8 == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff00u >> (prefix % 8));
  return (a[full] & mask) == net[full];
}

// from_chars: locale-independent and allocation-free; "inf" and "nan" are refused.
std::optional<double> parse_number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace klaxon::sigma
