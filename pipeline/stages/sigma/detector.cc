#include "pipeline/stages/sigma/detector.h"

#include "pipeline/stages/sigma/compiled.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

namespace klaxon::sigma {

using detail::Node;
using detail::Program;
using detail::Value;
using detail::ValueOp;

// Keys go into one growing byte buffer; an update refers to its key by offset, so adding
// costs no allocation once the buffers have their working size.
void UpdateBatch::add(CorrelationUpdate u, std::string_view key) {
  u.key_offset = static_cast<uint32_t>(keys_.size());
  u.key_size = static_cast<uint32_t>(key.size());
  keys_.append(key);
  updates_.push_back(u);
}

void append_group_value(std::string& key, std::optional<std::string_view> value) {
  if (!value) {
    key.push_back('\0');
    return;
  }
  key.push_back('\1');
  const auto n = static_cast<uint32_t>(value->size());
  for (int i = 0; i < 4; ++i) key.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  key.append(*value);
}

bool decode_group_key(const CorrelationRule& c, std::string_view key,
                      std::vector<GroupValue>& out) {
  // Only firings decode keys (rare next to updates), so allocating the strings is fine.
  out.clear();
  size_t pos = 0;
  for (const std::string& field : c.group_by) {
    if (pos >= key.size()) return false;
    GroupValue g;
    g.field = field;
    if (key[pos++] == '\1') {
      if (pos + 4 > key.size()) return false;
      uint32_t n = 0;
      for (int i = 0; i < 4; ++i)
        n |= static_cast<uint32_t>(static_cast<uint8_t>(key[pos + i])) << (8 * i);
      pos += 4;
      if (pos + n > key.size()) return false;
      g.value.assign(key.substr(pos, n));
      g.present = true;
      pos += n;
    }
    out.push_back(std::move(g));
  }
  return pos == key.size();
}

// Seeded per correlation: the same user grouped by two rules lands on independent shards
// and slots instead of piling the same hot key onto one shard for every rule.
uint64_t group_key_hash(uint32_t correlation, std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(), 0x9e3779b97f4a7c15ULL + correlation);
}

Detector::Detector(std::shared_ptr<const RuleSet> rules, DetectorOptions options)
    : rules_(std::move(rules)), options_(options) {
  // A detection is reported unless emit_detections is off and every correlation using the
  // rule keeps it to itself (generate: false, the spec's default).
  const auto& base = rules_->base_rules();
  emitted_.assign(base.size(), 1);
  if (!options_.emit_detections) {
    for (uint32_t r = 0; r < base.size(); ++r) {
      const auto& uses = rules_->uses_of_base(r);
      if (uses.empty()) continue;
      bool generate = false;
      for (const auto& u : uses) generate |= rules_->correlations()[u.correlation].generate;
      emitted_[r] = generate ? 1 : 0;
    }
  }
}

// The evaluation of one event: field values are fetched from the source at most once per
// call and kept in the scratch cache, keyed by an epoch so the cache is never cleared.
struct Detector::Eval {
  const Program& prog;
  const RuleSet& rules;
  const FieldSource& source;
  DetectScratch& s;

  Eval(const Detector& d, const FieldSource& src, DetectScratch& scratch)
      : prog(d.rules_->program()), rules(*d.rules_), source(src), s(scratch) {
    if (s.fields_.size() < rules.fields().size()) s.fields_.resize(rules.fields().size());
    if (++s.epoch_ == 0) {
      // Wrapped after 2^32 calls: stale entries would look fresh, so forget them all.
      for (auto& f : s.fields_) f.epoch = 0;
      s.epoch_ = 1;
    }
  }

  DetectScratch::Cached& field(FieldId id) {
    DetectScratch::Cached& c = s.fields_[id];
    if (c.epoch != s.epoch_) {
      const auto v = source.get(id, rules.fields()[id].name);
      c.epoch = s.epoch_;
      c.present = v.has_value();
      c.parsed = 0;
      c.value = v.value_or(std::string_view());
    }
    return c;
  }

  static std::optional<double> number_of(DetectScratch::Cached& f) {
    if (!(f.parsed & DetectScratch::kTriedNumber)) {
      f.parsed |= DetectScratch::kTriedNumber;
      if (auto n = parse_number(f.value)) {
        f.number = *n;
        f.parsed |= DetectScratch::kIsNumber;
      }
    }
    if (!(f.parsed & DetectScratch::kIsNumber)) return std::nullopt;
    return f.number;
  }

  static bool ip_of(DetectScratch::Cached& f) {
    if (!(f.parsed & DetectScratch::kTriedIp)) {
      f.parsed |= DetectScratch::kTriedIp;
      bool v6 = false;
      if (parse_ip(f.value, &v6, &f.ip)) {
        f.parsed |= DetectScratch::kIsIp | (v6 ? DetectScratch::kIsV6 : 0);
      }
    }
    return f.parsed & DetectScratch::kIsIp;
  }

  // One value of a field test. Absent fields match only null / exists: false.
  bool value_matches(const Value& v, DetectScratch::Cached& f) {
    switch (v.op) {
      case ValueOp::kNull:
      case ValueOp::kNotExists:
        return !f.present;
      case ValueOp::kExists:
        return f.present;
      default:
        break;
    }
    if (!f.present) return false;
    switch (v.op) {
      case ValueOp::kString:
        return prog.globs[v.index].match(f.value);
      case ValueOp::kRegex:
        return prog.regexes[v.index].search(f.value, s.regex_);
      case ValueOp::kCidr:
        return ip_of(f) &&
               prog.cidrs[v.index].contains_ip((f.parsed & DetectScratch::kIsV6) != 0, f.ip);
      case ValueOp::kLt:
      case ValueOp::kLte:
      case ValueOp::kGt:
      case ValueOp::kGte: {
        const auto n = number_of(f);
        if (!n) return false;
        return v.op == ValueOp::kLt    ? *n < v.number
               : v.op == ValueOp::kLte ? *n <= v.number
               : v.op == ValueOp::kGt  ? *n > v.number
                                       : *n >= v.number;
      }
      case ValueOp::kFieldRef: {
        // Copy the view first: fetching the other field may not disturb it, but be plain.
        const std::string_view mine = f.value;
        const auto& other = field(v.index);
        return other.present && other.value == mine;
      }
      default:
        return false;
    }
  }

  // `field|mods: [values]`: any value (all with |all), short-circuit either way.
  bool test(const detail::FieldTest& t) {
    DetectScratch::Cached& f = field(t.field);
    for (uint32_t i = 0; i < t.count; ++i) {
      const bool m = value_matches(prog.values[t.first + i], f);
      if (t.all && !m) return false;
      if (!t.all && m) return true;
    }
    return t.all;
  }

  // A selection is an OR of maps, a map an AND of field tests.
  bool selection(uint32_t index) {
    const detail::Selection& sel = prog.selections[index];
    for (uint32_t g = 0; g < sel.count; ++g) {
      const detail::Group& group = prog.groups[sel.first + g];
      bool all = true;
      for (uint32_t k = 0; k < group.count && all; ++k) all = test(prog.tests[group.first + k]);
      if (all) return true;
    }
    return false;
  }

  // Short-circuit evaluation of the condition tree; depth is bounded by the loader.
  bool node(uint32_t id) {
    const Node& n = prog.nodes[id];
    switch (n.kind) {
      case Node::kSelection:
        return selection(n.arg);
      case Node::kAnd:
        for (uint32_t i = 0; i < n.count; ++i) {
          if (!node(prog.children[n.first + i])) return false;
        }
        return true;
      case Node::kOr:
        for (uint32_t i = 0; i < n.count; ++i) {
          if (node(prog.children[n.first + i])) return true;
        }
        return false;
      case Node::kNot:
        return !node(prog.children[n.first]);
      case Node::kAtLeast: {
        uint32_t hits = 0;
        for (uint32_t i = 0; i < n.count; ++i) {
          if (node(prog.children[n.first + i]) && ++hits >= n.arg) return true;
        }
        return false;
      }
    }
    return false;
  }
};

void Detector::detect(const FieldSource& event, DetectScratch& scratch,
                      std::vector<uint32_t>& out) const {
  // Every rule is evaluated: with tens of rules a prefilter index would cost more to
  // consult than the first failing test of each rule (bench/: ~35 ns per rule).
  out.clear();
  Eval e(*this, event, scratch);
  const auto& rules = rules_->program().rules;
  for (uint32_t r = 0; r < rules.size(); ++r) {
    if (e.node(rules[r].root)) out.push_back(r);
  }
}

void Detector::build_updates(const FieldSource& event, DetectScratch& scratch,
                             const std::vector<uint32_t>& matched, std::optional<int64_t> time_ns,
                             UpdateBatch& out) const {
  const auto& corrs = rules_->correlations();
  if (corrs.empty() || matched.empty()) return;
  Eval e(*this, event, scratch);
  DetectScratch& s = scratch;
  // Which rules of each correlation matched, as one bit mask per correlation.
  if (s.masks_.size() < corrs.size()) s.masks_.resize(corrs.size(), 0);
  s.touched_.clear();
  const size_t nbase = rules_->base_rules().size();
  for (uint32_t r : matched) {
    if (r >= nbase) continue;  // not an index of this rule set (a caller mix-up)
    for (const auto& use : rules_->uses_of_base(r)) {
      if (s.masks_[use.correlation] == 0) s.touched_.push_back(use.correlation);
      s.masks_[use.correlation] |= uint64_t{1} << use.position;
    }
  }
  // Correlation order, so that firings come out the same way whatever the rule order.
  std::sort(s.touched_.begin(), s.touched_.end());
  for (uint32_t ci : s.touched_) {
    const CorrelationRule& c = corrs[ci];
    uint64_t mask = s.masks_[ci];
    s.masks_[ci] = 0;

    CorrelationUpdate u;
    u.correlation = ci;
    u.has_time = time_ns.has_value();
    u.time_ns = time_ns.value_or(0);
    // The aggregated value(s) do not depend on which rule matched.
    if (c.type == CorrelationType::kValueCount) {
      s.tuple_.clear();
      bool all = true;
      for (FieldId f : c.value_field_ids) {
        const auto& v = e.field(f);
        all &= v.present;
        append_group_value(s.tuple_, v.present ? std::optional(v.value) : std::nullopt);
      }
      u.has_value = all;
      u.value_hash = XXH3_64bits(s.tuple_.data(), s.tuple_.size());
    } else if (!c.value_field_ids.empty()) {
      const auto& v = e.field(c.value_field_ids[0]);
      const auto n = v.present ? parse_number(v.value) : std::nullopt;
      u.has_value = n.has_value();
      u.number = n.value_or(0);
    }
    // One update per distinct group key: with aliases, rules of one correlation may read the
    // key from different fields (then usually only one of them matched this event).
    const size_t first_update = out.size();
    while (mask != 0) {
      const int r = __builtin_ctzll(mask);
      uint64_t same = uint64_t{1} << r;
      if (c.uniform_group_fields) same = mask;
      s.key_.clear();
      for (FieldId f : c.group_fields[static_cast<size_t>(r)]) {
        const auto& v = e.field(f);
        append_group_value(s.key_, v.present ? std::optional(v.value) : std::nullopt);
      }
      mask &= ~same;
      bool merged = false;
      for (size_t i = first_update; i < out.size() && !merged; ++i) {
        if (out.key(i) == s.key_) {
          out.at(i).refs |= same;
          merged = true;
        }
      }
      if (merged) continue;
      u.refs = same;
      u.key_hash = group_key_hash(ci, s.key_);
      out.add(u, s.key_);
    }
  }
}

// The first configured field that holds a time wins; an unparseable value falls through to
// the next field, like rsigma's timestamp extraction.
std::optional<int64_t> Detector::event_time(const FieldSource& event,
                                            DetectScratch& scratch) const {
  Eval e(*this, event, scratch);
  for (FieldId f : rules_->timestamp_fields()) {
    const auto& v = e.field(f);
    if (!v.present) continue;
    if (auto t = parse_time_value(v.value)) return t;
  }
  return std::nullopt;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parse_time_value(std::string_view text) {
  constexpr int64_t kSecond = 1'000'000'000;
  if (text.empty()) return std::nullopt;
  // Numbers: epoch seconds, or milliseconds when too large to be seconds (after 33658 AD).
  // Integers are read exactly (a double has no room for nanoseconds of today).
  // Times are kept within +-2^62 ns (years 1824..2116) so that adding a timespan can never
  // overflow; anything outside is not a time.
  constexpr int64_t kMaxNs = int64_t{1} << 62;
  int64_t whole = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), whole);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    if (whole < 0) return std::nullopt;
    if (whole > 100'000'000'000'000'000)
      return whole <= kMaxNs ? std::optional(whole) : std::nullopt;
    if (whole > 100'000'000'000'000) {
      if (whole > kMaxNs / 1'000) return std::nullopt;
      return whole * 1'000;
    }
    if (whole > 1'000'000'000'000) {
      if (whole > kMaxNs / 1'000'000) return std::nullopt;
      return whole * 1'000'000;
    }
    if (whole > kMaxNs / kSecond) return std::nullopt;
    return whole * kSecond;
  }
  if (auto n = parse_number(text)) {
    if (*n < 0) return std::nullopt;
    const double ns = *n > 1e12 ? *n * 1e6 : *n * 1e9;
    if (ns > static_cast<double>(kMaxNs)) return std::nullopt;
    return static_cast<int64_t>(ns);
  }
  // RFC 3339 with the relaxations rsigma accepts: a space for T, no offset (UTC).
  int y, mo, d, h, mi, sec;
  if (!digits(text, 0, 4, &y) || text.size() < 19 || text[4] != '-' || !digits(text, 5, 2, &mo) ||
      text[7] != '-' || !digits(text, 8, 2, &d) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, &h) ||
      text[13] != ':' || !digits(text, 14, 2, &mi) || text[16] != ':' ||
      !digits(text, 17, 2, &sec)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1825 || y > 2115 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int64_t ns = duration_cast<nanoseconds>(sys_days{ymd}.time_since_epoch()).count() +
               ((h * 60 + mi) * 60LL + sec) * kSecond;
  size_t p = 19;
  // A fraction is kept to the nanosecond (rsigma truncates to seconds; comparisons in
  // whole seconds agree).
  if (p < text.size() && (text[p] == '.' || text[p] == ',')) {
    int64_t scale = kSecond;
    for (++p; p < text.size() && text[p] >= '0' && text[p] <= '9'; ++p) {
      scale /= 10;
      ns += (text[p] - '0') * scale;
    }
  }
  if (p == text.size()) return ns;  // no offset: UTC
  if ((text[p] == 'Z' || text[p] == 'z') && p + 1 == text.size()) return ns;
  if (text[p] == '+' || text[p] == '-') {
    int oh, om;
    const bool colon = p + 3 < text.size() && text[p + 3] == ':';
    if (!digits(text, p + 1, 2, &oh) || !digits(text, p + (colon ? 4 : 3), 2, &om) ||
        p + (colon ? 6 : 5) != text.size()) {
      return std::nullopt;
    }
    const int64_t off = (oh * 60LL + om) * 60 * kSecond;
    return text[p] == '+' ? ns - off : ns + off;
  }
  return std::nullopt;
}

}  // namespace klaxon::sigma
