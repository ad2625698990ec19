#include "pipeline/stages/sigma/rules.h"

#include "pipeline/stages/sigma/compiled.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

namespace klaxon::sigma {

using detail::Node;
using detail::Program;
using detail::Value;
using detail::ValueOp;

const char* correlation_type_name(CorrelationType t) {
  switch (t) {
    case CorrelationType::kEventCount:
      return "event_count";
    case CorrelationType::kValueCount:
      return "value_count";
    case CorrelationType::kTemporal:
      return "temporal";
    case CorrelationType::kTemporalOrdered:
      return "temporal_ordered";
    case CorrelationType::kValueSum:
      return "value_sum";
    case CorrelationType::kValueAvg:
      return "value_avg";
    case CorrelationType::kValuePercentile:
      return "value_percentile";
  }
  return "unknown";
}

// All given bounds must hold: a map of several is the spec's range ("gt: 100, lte: 200").
bool Threshold::check(double v) const {
  if (gt && !(v > *gt)) return false;
  if (gte && !(v >= *gte)) return false;
  if (lt && !(v < *lt)) return false;
  if (lte && !(v <= *lte)) return false;
  if (eq && !(v == *eq)) return false;
  if (neq && !(v != *neq)) return false;
  return true;
}

// The spec allows s, m, h, d; ms and w are accepted as well (rsigma does too).
std::optional<int64_t> parse_timespan(std::string_view text) {
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > 1'000'000'000) return std::nullopt;
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = text.substr(i);
  int64_t scale = 0;
  if (unit == "ms") {
    scale = 1'000'000;
  } else if (unit == "s") {
    scale = 1'000'000'000;
  } else if (unit == "m") {
    scale = 60LL * 1'000'000'000;
  } else if (unit == "h") {
    scale = 3600LL * 1'000'000'000;
  } else if (unit == "d") {
    scale = 86400LL * 1'000'000'000;
  } else if (unit == "w") {
    scale = 7 * 86400LL * 1'000'000'000;
  } else {
    return std::nullopt;
  }
  // Cap at 2^61 ns (~73 years) so that time arithmetic in the correlator never overflows.
  if (n > (int64_t{1} << 61) / scale) return std::nullopt;
  return n * scale;
}

RuleSet::RuleSet() : program_(std::make_unique<Program>()) {}
RuleSet::~RuleSet() = default;

// Linear: for callers resolving names once at start-up, never per event.
FieldId RuleSet::find_field(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<FieldId>(i);
  }
  return kNoField;
}

std::optional<uint32_t> RuleSet::find_base_rule(std::string_view id_or_name) const {
  for (size_t i = 0; i < base_.size(); ++i) {
    if ((!base_[i].meta.id.empty() && base_[i].meta.id == id_or_name) ||
        (!base_[i].meta.name.empty() && base_[i].meta.name == id_or_name)) {
      return static_cast<uint32_t>(i);
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> RuleSet::find_correlation(std::string_view id_or_name) const {
  for (size_t i = 0; i < correlations_.size(); ++i) {
    const RuleMeta& m = correlations_[i].meta;
    if ((!m.id.empty() && m.id == id_or_name) || (!m.name.empty() && m.name == id_or_name)) {
      return static_cast<uint32_t>(i);
    }
  }
  return std::nullopt;
}

namespace {

std::string lower(std::string_view s) { return fold_copy(s); }

// How a YAML node reads in an error message: the scalar itself, or its kind.
std::string describe(const YAML::Node& n) {
  if (!n.IsDefined()) return "nothing";
  if (n.IsNull()) return "null";
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "\"" + s + "\"";
  }
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "an unknown node";
}

// YAML 1.1 spellings too: rules written for pySigma use them.
std::optional<bool> parse_bool(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  const std::string s = lower(n.Scalar());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::optional<Severity> parse_level(std::string_view s) {
  const std::string l = lower(s);
  if (l == "informational" || l == "info") return Severity::kInfo;
  if (l == "low") return Severity::kLow;
  if (l == "medium") return Severity::kMedium;
  if (l == "high") return Severity::kHigh;
  if (l == "critical") return Severity::kCritical;
  return std::nullopt;
}

// Sigma's `1 of selection*` patterns: `*` matches any run of characters.
bool name_matches(std::string_view pattern, std::string_view name) {
  std::vector<GlobToken> tokens;
  for (char c : pattern) {
    tokens.push_back(c == '*' ? GlobToken{GlobToken::kAnyRun, 0} : GlobToken{GlobToken::kByte, c});
  }
  return Glob(tokens, /*cased=*/true).match(name);
}

// ---- value transformations of the encoding modifiers (load time only)

// Standard alphabet with padding, as pySigma's |base64 produces.
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// UTF-8 text -> UTF-16 code units in the given byte order (invalid UTF-8 bytes are taken as
// Latin-1, so every byte string has an encoding).
std::string utf16(std::string_view s, bool big_endian) {
  std::string out;
  auto unit = [&](uint16_t u) {
    const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xff);
    out += big_endian ? hi : lo;
    out += big_endian ? lo : hi;
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
           (s[i + 3] & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
      len = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      unit(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      unit(static_cast<uint16_t>(cp));
    }
    i += len;
  }
  return out;
}

using Tokens = std::vector<GlobToken>;

// Encoded bytes are literals: a '*' produced by an encoding is not a wildcard.
Tokens literal_tokens(std::string_view s) {
  Tokens t;
  t.reserve(s.size());
  for (char c : s) t.push_back({GlobToken::kByte, c});
  return t;
}

std::string token_bytes(const Tokens& t) {
  std::string s;
  for (const auto& k : t) s += k.byte;
  return s;
}

bool is_word(const GlobToken& t) {
  if (t.kind != GlobToken::kByte) return false;
  const auto c = static_cast<unsigned char>(t.byte);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Encodes the literal runs of `t` between wildcards (utf16 modifiers keep wildcards).
Tokens encode_runs(const Tokens& t, const std::function<std::string(std::string_view)>& f) {
  Tokens out;
  std::string run;
  auto flush = [&] {
    for (char c : f(run)) out.push_back({GlobToken::kByte, c});
    run.clear();
  };
  for (const auto& k : t) {
    if (k.kind == GlobToken::kByte) {
      run += k.byte;
    } else {
      flush();
      out.push_back(k);
    }
  }
  flush();
  return out;
}

// ---- the condition grammar (detection conditions and temporal correlation conditions)

struct CondToken {
  enum Kind : uint8_t { kWord, kOpen, kClose, kEnd } kind = kEnd;
  std::string text;
};

// Words are split at blanks and parentheses only: rule ids such as "recon-1" or names with
// dots stay one token.
std::vector<CondToken> tokenize_condition(std::string_view s) {
  std::vector<CondToken> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({CondToken::kOpen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({CondToken::kClose, ")"});
      ++i;
    } else {
      size_t j = i;
      while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' &&
             s[j] != '(' && s[j] != ')') {
        ++j;
      }
      out.push_back({CondToken::kWord, std::string(s.substr(i, j - i))});
      i = j;
    }
  }
  out.push_back({CondToken::kEnd, ""});
  return out;
}

// A recursive-descent parser over condition tokens, generic in how leaves are built:
// `leaf(name)` resolves an identifier, `quantified(n_or_all, pattern)` an "N of x" form.
// Precedence (rules spec): or < and < not < x of < ( ).
class ConditionParser {
 public:
  struct Hooks {
    std::function<Result<uint32_t>(const std::string&)> leaf;
    std::function<Result<uint32_t>(int64_t n, bool all, const std::string& pattern)> quantified;
    std::function<uint32_t(Node::Kind kind, std::vector<uint32_t> kids)> combine;
  };
  ConditionParser(std::vector<CondToken> tokens, Hooks hooks)
      : t_(std::move(tokens)), hooks_(std::move(hooks)) {}

  Result<uint32_t> parse() {
    auto r = parse_or(0);
    if (!r) return r;
    if (t_[pos_].kind != CondToken::kEnd) return syntax("unexpected \"" + t_[pos_].text + "\"");
    return r;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Error syntax(const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, what);
  }
  bool is_word(const char* w) const {
    return t_[pos_].kind == CondToken::kWord && lower(t_[pos_].text) == w;
  }

  Result<uint32_t> parse_or(int depth) {
    if (depth > kMaxDepth) return syntax("nested deeper than 64 levels");
    std::vector<uint32_t> kids;
    auto first = parse_and(depth);
    if (!first) return first;
    kids.push_back(*first);
    while (is_word("or")) {
      ++pos_;
      auto next = parse_and(depth);
      if (!next) return next;
      kids.push_back(*next);
    }
    return kids.size() == 1 ? kids[0] : hooks_.combine(Node::kOr, std::move(kids));
  }

  Result<uint32_t> parse_and(int depth) {
    std::vector<uint32_t> kids;
    auto first = parse_not(depth);
    if (!first) return first;
    kids.push_back(*first);
    while (is_word("and")) {
      ++pos_;
      auto next = parse_not(depth);
      if (!next) return next;
      kids.push_back(*next);
    }
    return kids.size() == 1 ? kids[0] : hooks_.combine(Node::kAnd, std::move(kids));
  }

  Result<uint32_t> parse_not(int depth) {
    if (is_word("not")) {
      ++pos_;
      if (depth > kMaxDepth) return syntax("nested deeper than 64 levels");
      auto inner = parse_not(depth + 1);
      if (!inner) return inner;
      return hooks_.combine(Node::kNot, {*inner});
    }
    return parse_primary(depth);
  }

  // ( expr ), "N of x", or an identifier.
  Result<uint32_t> parse_primary(int depth) {
    const CondToken& t = t_[pos_];
    if (t.kind == CondToken::kOpen) {
      ++pos_;
      auto inner = parse_or(depth + 1);
      if (!inner) return inner;
      if (t_[pos_].kind != CondToken::kClose) return syntax("missing )");
      ++pos_;
      return inner;
    }
    if (t.kind != CondToken::kWord) {
      return syntax(t.kind == CondToken::kEnd ? "the condition ends too early"
                                              : "unexpected \"" + t.text + "\"");
    }
    const std::string w = lower(t.text);
    if (w == "and" || w == "or" || w == "of" || w == "them") {
      return syntax("unexpected \"" + t.text + "\"");
    }
    // "all of x", "1 of x", "N of x"
    const CondToken& next = t_[pos_ + 1];
    if (next.kind == CondToken::kWord && lower(next.text) == "of") {
      int64_t n = 0;
      bool all = w == "all";
      if (!all && (w == "any")) {
        n = 1;
      } else if (!all) {
        const auto r = std::from_chars(w.data(), w.data() + w.size(), n);
        if (r.ec != std::errc() || r.ptr != w.data() + w.size() || n < 1) {
          return syntax("expected \"1 of\", \"all of\" or \"N of\", got \"" + t.text + " of\"");
        }
      }
      const CondToken& target = t_[pos_ + 2];
      if (target.kind != CondToken::kWord) return syntax("\"of\" needs a name pattern or them");
      pos_ += 3;
      return hooks_.quantified(n, all, target.text);
    }
    ++pos_;
    return hooks_.leaf(t.text);
  }

  std::vector<CondToken> t_;
  size_t pos_ = 0;
  Hooks hooks_;
};

// Where in the text a rule is, for error messages.
struct DocContext {
  std::string prefix;  // `rules.yml document 2 (rule "X", line 14)`

  Error error(std::string_view key, const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, prefix + ": " + std::string(key) + ": " + what);
  }
};

}  // namespace

// Builds a RuleSet from YAML. One instance per load_rules() call.
class RuleLoader {
 public:
  explicit RuleLoader(const LoadOptions& options)
      : options_(options), set_(new RuleSet()), prog_(*set_->program_) {}

  // yaml-cpp reports errors by throwing; both kinds are turned into values here.
  Result<std::shared_ptr<const RuleSet>> load(std::string_view text) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
      return make_error(ErrorCode::kParse, options_.source_name + ": YAML syntax error at line " +
                                               std::to_string(e.mark.line + 1) + ", column " +
                                               std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    try {
      return load_documents(docs);
    } catch (const std::exception& e) {
      // yaml-cpp throws on some malformed node accesses that the checks above should have
      // caught; never let that escape the API.
      return make_error(ErrorCode::kInvalidArgument,
                        options_.source_name + ": unexpected rule structure: " + e.what());
    }
  }

 private:
  struct Doc {
    YAML::Node node;
    uint32_t number = 0;
    DocContext ctx;
    bool correlation = false;
    uint32_t index = 0;  // into base_ or correlations_
  };

  Result<std::shared_ptr<const RuleSet>> load_documents(const std::vector<YAML::Node>& docs) {
    for (const auto& f : options_.timestamp_fields) {
      set_->timestamp_fields_.push_back(intern(f, kRoleTimestamp));
    }
    // Pass 1: the metadata of every document, so that references resolve in any order.
    std::vector<Doc> parsed;
    uint32_t number = 0;
    for (const YAML::Node& node : docs) {
      ++number;
      if (!node.IsDefined() || node.IsNull()) continue;  // an empty document (e.g. a leading ---)
      Doc d;
      d.node = node;
      d.number = number;
      d.ctx.prefix = options_.source_name + " document " + std::to_string(number);
      if (!node.IsMap()) return d.ctx.error("(document)", "expected a map, got " + describe(node));
      auto meta = read_meta(node, d);
      if (!meta) return meta.error();
      if (node["correlation"].IsDefined()) {
        d.correlation = true;
        d.index = static_cast<uint32_t>(set_->correlations_.size());
        set_->correlations_.emplace_back();
        set_->correlations_.back().meta = std::move(*meta);
      } else if (node["detection"].IsDefined()) {
        d.index = static_cast<uint32_t>(set_->base_.size());
        set_->base_.emplace_back();
        set_->base_.back().meta = std::move(*meta);
      } else if (node["filter"].IsDefined()) {
        return d.ctx.error("filter", "Sigma filter documents are not supported");
      } else {
        return d.ctx.error("(document)", "expected a `detection` or a `correlation` section");
      }
      parsed.push_back(std::move(d));
    }
    KLAXON_TRY(check_unique_names(parsed));
    // Pass 2: compile detections, then correlations (which need every rule's index).
    prog_.rules.resize(set_->base_.size());
    for (const Doc& d : parsed) {
      if (d.correlation) continue;
      KLAXON_TRY(compile_base(d));
    }
    set_->base_uses_.resize(set_->base_.size());
    set_->corr_uses_.resize(set_->correlations_.size());
    for (const Doc& d : parsed) {
      if (!d.correlation) continue;
      KLAXON_TRY(compile_correlation(d));
    }
    KLAXON_TRY(check_cycles(parsed));
    return std::shared_ptr<const RuleSet>(std::move(set_));
  }

  // One FieldId per distinct name, whatever reads it; roles accumulate.
  FieldId intern(const std::string& name, uint8_t role) {
    auto it = field_index_.find(name);
    if (it != field_index_.end()) {
      set_->fields_[it->second].roles |= role;
      return it->second;
    }
    const auto id = static_cast<FieldId>(set_->fields_.size());
    set_->fields_.push_back({name, role});
    field_index_.emplace(name, id);
    return id;
  }

  // title, id, name and level; also extends the document's error prefix with the title.
  Result<RuleMeta> read_meta(const YAML::Node& node, Doc& d) {
    RuleMeta m;
    m.document = d.number;
    const YAML::Node title = node["title"];
    if (!title.IsDefined() || !title.IsScalar() || title.Scalar().empty()) {
      return d.ctx.error(
          "title", "expected a non-empty string (title is mandatory), got " + describe(title));
    }
    m.title = title.Scalar();
    d.ctx.prefix +=
        " (rule \"" + m.title + "\", line " + std::to_string(node.Mark().line + 1) + ")";
    for (const char* key : {"id", "name"}) {
      const YAML::Node v = node[key];
      if (!v.IsDefined() || v.IsNull()) continue;
      if (!v.IsScalar()) return d.ctx.error(key, "expected a string, got " + describe(v));
      (std::string_view(key) == "id" ? m.id : m.name) = v.Scalar();
    }
    const YAML::Node level = node["level"];
    if (level.IsDefined() && !level.IsNull()) {
      const auto s = level.IsScalar() ? parse_level(level.Scalar()) : std::nullopt;
      if (!s) {
        return d.ctx.error("level", "expected informational, low, medium, high or critical, got " +
                                        describe(level));
      }
      m.level = *s;
      m.has_level = true;
    }
    return m;
  }

  // References resolve by id or name, so one string may identify one rule only.
  Status check_unique_names(const std::vector<Doc>& docs) {
    std::map<std::string, uint32_t> seen;  // id or name -> document
    for (const Doc& d : docs) {
      const RuleMeta& m =
          d.correlation ? set_->correlations_[d.index].meta : set_->base_[d.index].meta;
      for (const std::string* key : {&m.id, &m.name}) {
        if (key->empty()) continue;
        auto [it, fresh] = seen.emplace(*key, d.number);
        if (!fresh && it->second != d.number) {
          return d.ctx.error(
              key == &m.id ? "id" : "name",
              "\"" + *key + "\" is already used by document " + std::to_string(it->second));
        }
      }
    }
    return ok_status();
  }

  // ---- detection rules

  // A detection rule: every selection compiled, then the condition over their names.
  Status compile_base(const Doc& d) {
    BaseRule& rule = set_->base_[d.index];
    const YAML::Node tags = d.node["tags"];
    if (tags.IsDefined() && tags.IsSequence()) {
      for (const auto& t : tags) {
        if (t.IsScalar()) rule.tags.push_back(t.Scalar());
      }
    }
    const YAML::Node det = d.node["detection"];
    if (!det.IsMap()) {
      return d.ctx.error("detection",
                         "expected a map of selections and a condition, got " + describe(det));
    }
    selection_names_.clear();
    YAML::Node condition;
    for (const auto& kv : det) {
      if (!kv.first.IsScalar()) return d.ctx.error("detection", "expected string keys");
      const std::string name = kv.first.Scalar();
      if (name == "condition") {
        condition = kv.second;
        continue;
      }
      if (name == "timeframe") {
        return d.ctx.error("detection.timeframe",
                           "Sigma 1 aggregations are not supported; use a correlation rule");
      }
      auto sel = compile_selection(d, name, kv.second);
      if (!sel) return sel.error();
      selection_names_.emplace_back(name, *sel);
    }
    if (!condition.IsDefined() || condition.IsNull()) {
      return d.ctx.error("detection.condition", "expected a condition (it is mandatory)");
    }
    std::vector<std::string> conditions;
    if (condition.IsScalar()) {
      conditions.push_back(condition.Scalar());
    } else if (condition.IsSequence()) {
      for (const auto& c : condition) {
        if (!c.IsScalar()) {
          return d.ctx.error("detection.condition", "expected strings, got " + describe(c));
        }
        conditions.push_back(c.Scalar());
      }
    }
    if (conditions.empty()) {
      return d.ctx.error("detection.condition",
                         "expected a string or a list of strings, got " + describe(condition));
    }
    // A list of conditions is their OR (rules spec "Condition").
    std::vector<uint32_t> roots;
    for (const std::string& text : conditions) {
      auto root = parse_detection_condition(text);
      if (!root) {
        return d.ctx.error("detection.condition", root.error().message + " in \"" + text + "\"");
      }
      roots.push_back(*root);
    }
    prog_.rules[d.index].root =
        roots.size() == 1 ? roots[0] : add_node(Node::kOr, 0, std::move(roots));
    return ok_status();
  }

  // Children are stored contiguously in prog_.children, referenced by range.
  uint32_t add_node(Node::Kind kind, uint32_t arg, std::vector<uint32_t> kids) {
    Node n;
    n.kind = kind;
    n.arg = arg;
    n.first = static_cast<uint32_t>(prog_.children.size());
    n.count = static_cast<uint32_t>(kids.size());
    prog_.children.insert(prog_.children.end(), kids.begin(), kids.end());
    prog_.nodes.push_back(n);
    return static_cast<uint32_t>(prog_.nodes.size() - 1);
  }

  Result<uint32_t> parse_detection_condition(const std::string& text) {
    ConditionParser::Hooks hooks;
    // Identifiers are this rule's selection names; an unknown one is an error, not false.
    hooks.leaf = [this](const std::string& name) -> Result<uint32_t> {
      for (const auto& [n, sel] : selection_names_) {
        if (n == name) return add_node(Node::kSelection, sel, {});
      }
      return make_error(ErrorCode::kInvalidArgument, "unknown selection \"" + name + "\"");
    };
    hooks.quantified = [this](int64_t n, bool all, const std::string& pattern) -> Result<uint32_t> {
      std::vector<uint32_t> kids;
      for (const auto& [name, sel] : selection_names_) {
        // `them` means every selection not starting with an underscore (rules spec).
        const bool hit =
            pattern == "them" ? name.empty() || name[0] != '_' : name_matches(pattern, name);
        if (hit) kids.push_back(add_node(Node::kSelection, sel, {}));
      }
      if (kids.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "no selection matches \"" + pattern + "\"");
      }
      if (all) return add_node(Node::kAnd, 0, std::move(kids));
      if (n == 1) return add_node(Node::kOr, 0, std::move(kids));
      return add_node(Node::kAtLeast, static_cast<uint32_t>(n), std::move(kids));
    };
    hooks.combine = [this](Node::Kind kind, std::vector<uint32_t> kids) {
      return add_node(kind, 0, std::move(kids));
    };
    return ConditionParser(tokenize_condition(text), std::move(hooks)).parse();
  }

  Result<uint32_t> compile_selection(const Doc& d, const std::string& name,
                                     const YAML::Node& node) {
    const std::string key = "detection." + name;
    detail::Selection sel;
    sel.name = name;
    std::vector<detail::Group> groups;
    if (node.IsMap()) {
      auto g = compile_map(d, key, node);
      if (!g) return g.error();
      groups.push_back(*g);
    } else if (node.IsSequence() || node.IsScalar()) {
      // A list of maps is their OR; plain strings in it (or a lone string) are keywords.
      std::vector<YAML::Node> keywords;
      if (node.IsScalar()) keywords.push_back(node);
      if (node.IsSequence()) {
        if (node.size() == 0) return d.ctx.error(key, "expected a non-empty list");
        for (const auto& item : node) {
          if (item.IsMap()) {
            auto g = compile_map(d, key, item);
            if (!g) return g.error();
            groups.push_back(*g);
          } else if (item.IsScalar()) {
            keywords.push_back(item);
          } else {
            return d.ctx.error(
                key, "expected maps or keyword strings in the list, got " + describe(item));
          }
        }
      }
      if (!keywords.empty()) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const auto& k : keywords) list.push_back(k);
        auto test = compile_test(d, key, "", list);
        if (!test) return test.error();
        detail::Group g;
        g.first = *test;
        g.count = 1;
        groups.push_back(g);
      }
    } else {
      return d.ctx.error(key, "expected a map, a list of maps or keywords, got " + describe(node));
    }
    sel.first = static_cast<uint32_t>(prog_.groups.size());
    sel.count = static_cast<uint32_t>(groups.size());
    prog_.groups.insert(prog_.groups.end(), groups.begin(), groups.end());
    prog_.selections.push_back(std::move(sel));
    return static_cast<uint32_t>(prog_.selections.size() - 1);
  }

  // One map of `field|modifiers: values` entries: an AND of field tests.
  Result<detail::Group> compile_map(const Doc& d, const std::string& key, const YAML::Node& map) {
    if (map.size() == 0) return d.ctx.error(key, "expected a non-empty map");
    // Tests of one map are contiguous in prog_.tests: compile values first (they append to
    // other vectors), then append the tests together.
    std::vector<detail::FieldTest> tests;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) return d.ctx.error(key, "expected field names as keys");
      auto t = build_test(d, key, kv.first.Scalar(), kv.second);
      if (!t) return t.error();
      tests.push_back(*t);
    }
    detail::Group g;
    g.first = static_cast<uint32_t>(prog_.tests.size());
    g.count = static_cast<uint32_t>(tests.size());
    prog_.tests.insert(prog_.tests.end(), tests.begin(), tests.end());
    return g;
  }

  Result<uint32_t> compile_test(const Doc& d, const std::string& key, const std::string& field_key,
                                const YAML::Node& value) {
    auto t = build_test(d, key, field_key, value);
    if (!t) return t.error();
    prog_.tests.push_back(*t);
    return static_cast<uint32_t>(prog_.tests.size() - 1);
  }

  // One `field|mod|mod: value(s)` entry.
  Result<detail::FieldTest> build_test(const Doc& d, const std::string& parent,
                                       const std::string& field_key, const YAML::Node& value) {
    const std::string key = parent + (field_key.empty() ? "" : "." + field_key);
    // "Field|mod1|mod2": the field (empty for keywords) and its modifiers in order.
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      const size_t bar = field_key.find('|', start);
      parts.push_back(field_key.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    const std::string field = parts[0];
    const bool keyword = field.empty();

    // Modifiers: position (contains/startswith/endswith), type (re, cidr, comparisons,
    // exists, fieldref), encodings applied in the order written, and flags.
    enum class Pos { kNone, kContains, kStarts, kEnds } pos = Pos::kNone;
    enum class Kind { kString, kRe, kCidr, kCompare, kExists, kFieldRef } kind = Kind::kString;
    ValueOp compare = ValueOp::kGt;
    bool all = false, cased = false;
    RegexFlags re_flags;
    std::vector<std::string> encodings;
    auto set_kind = [&](Kind k, const std::string& m) -> Status {
      if (kind != Kind::kString) {
        return d.ctx.error(key, "modifier |" + m + " cannot be combined with another type");
      }
      kind = k;
      return ok_status();
    };
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string m = lower(parts[i]);
      if (m == "contains" || m == "startswith" || m == "endswith") {
        if (pos != Pos::kNone) {
          return d.ctx.error(key, "more than one of contains/startswith/endswith");
        }
        pos = m == "contains" ? Pos::kContains : m == "startswith" ? Pos::kStarts : Pos::kEnds;
      } else if (m == "all") {
        all = true;
      } else if (m == "cased") {
        cased = true;
      } else if (m == "re") {
        KLAXON_TRY(set_kind(Kind::kRe, m));
      } else if ((m == "i" || m == "m" || m == "s") && kind == Kind::kRe) {
        (m == "i" ? re_flags.icase : m == "m" ? re_flags.multiline : re_flags.dotall) = true;
      } else if (m == "cidr") {
        KLAXON_TRY(set_kind(Kind::kCidr, m));
      } else if (m == "lt" || m == "lte" || m == "gt" || m == "gte") {
        KLAXON_TRY(set_kind(Kind::kCompare, m));
        compare = m == "lt"    ? ValueOp::kLt
                  : m == "lte" ? ValueOp::kLte
                  : m == "gt"  ? ValueOp::kGt
                               : ValueOp::kGte;
      } else if (m == "exists") {
        KLAXON_TRY(set_kind(Kind::kExists, m));
      } else if (m == "fieldref") {
        KLAXON_TRY(set_kind(Kind::kFieldRef, m));
      } else if (m == "base64" || m == "base64offset" || m == "wide" || m == "utf16le" ||
                 m == "utf16be" || m == "utf16" || m == "windash") {
        encodings.push_back(m);
      } else if (m == "expand") {
        return d.ctx.error(key, "placeholders (|expand) are not supported");
      } else if (m == "minute" || m == "hour" || m == "day" || m == "week" || m == "month" ||
                 m == "year") {
        return d.ctx.error(key, "timestamp part modifiers (|" + m + ") are not supported");
      } else {
        return d.ctx.error(
            key, "unknown modifier |" + parts[i] +
                     " (supported: contains, startswith, endswith, all, cased, re with i/m/s, "
                     "cidr, lt, lte, gt, gte, exists, fieldref, base64, base64offset, wide, "
                     "utf16le, utf16be, utf16, windash)");
      }
    }
    if (kind != Kind::kString && (pos != Pos::kNone || !encodings.empty() || cased)) {
      return d.ctx.error(key,
                         "contains/startswith/endswith, cased and encoding modifiers only "
                         "apply to plain string values");
    }
    // Keywords search the keyword field for the text anywhere (like rsigma and most backends).
    if (keyword && kind == Kind::kString && pos == Pos::kNone) pos = Pos::kContains;

    // The values: a scalar, null or a list of them.
    std::vector<YAML::Node> values;
    if (value.IsSequence()) {
      if (value.size() == 0) return d.ctx.error(key, "expected a non-empty list of values");
      for (const auto& v : value) values.push_back(v);
    } else {
      values.push_back(value);
    }
    detail::FieldTest test;
    test.field = intern(keyword ? options_.keyword_field : field, kRoleDetection);
    test.all = all;
    std::vector<Value> out;
    for (const YAML::Node& v : values) {
      if (!v.IsNull() && !v.IsScalar()) {
        return d.ctx.error(
            key, "expected a string, a number, null or a list of those, got " + describe(v));
      }
      if (v.IsNull()) {
        // `field: null`: the field is absent. Only meaningful without modifiers.
        if (kind != Kind::kString || pos != Pos::kNone || !encodings.empty() || keyword) {
          return d.ctx.error(key, "null cannot be used with modifiers or keywords");
        }
        out.push_back({ValueOp::kNull, 0, 0});
        continue;
      }
      const std::string& text = v.Scalar();
      switch (kind) {
        case Kind::kRe: {
          // Compiled once here; the largest program sizes every thread's scratch.
          auto re = Regex::compile(text, re_flags);
          if (!re) return d.ctx.error(key, re.error().message + " in \"" + text + "\"");
          prog_.max_regex_program = std::max(prog_.max_regex_program, re->program_size());
          prog_.regexes.push_back(std::move(*re));
          out.push_back({ValueOp::kRegex, static_cast<uint32_t>(prog_.regexes.size() - 1), 0});
          break;
        }
        case Kind::kCidr: {
          auto c = Cidr::parse(text);
          if (!c) {
            return d.ctx.error(
                key, "expected an IPv4 or IPv6 network such as 10.0.0.0/8, got \"" + text + "\"");
          }
          prog_.cidrs.push_back(*c);
          out.push_back({ValueOp::kCidr, static_cast<uint32_t>(prog_.cidrs.size() - 1), 0});
          break;
        }
        case Kind::kCompare: {
          // The field is read as a number per event; the rule's side is fixed now.
          auto n = parse_number(text);
          if (!n) return d.ctx.error(key, "expected a number, got \"" + text + "\"");
          out.push_back({compare, 0, *n});
          break;
        }
        case Kind::kExists: {
          auto b = parse_bool(v);
          if (!b || values.size() != 1) {
            return d.ctx.error(key, "expected true or false, got " + describe(value));
          }
          out.push_back({*b ? ValueOp::kExists : ValueOp::kNotExists, 0, 0});
          break;
        }
        case Kind::kFieldRef:
          // The other field becomes a FieldId like any field the rules read.
          out.push_back({ValueOp::kFieldRef, intern(text, kRoleDetection), 0});
          break;
        case Kind::kString: {
          // Encodings may expand one value into several; each becomes an ORed value, with
          // the position modifier applied as leading/trailing wildcards.
          auto variants = string_variants(d, key, text, encodings, &cased);
          if (!variants) return variants.error();
          for (Tokens& t : *variants) {
            if (pos == Pos::kContains || pos == Pos::kEnds) {
              t.insert(t.begin(), GlobToken{GlobToken::kAnyRun, 0});
            }
            if (pos == Pos::kContains || pos == Pos::kStarts) {
              t.push_back(GlobToken{GlobToken::kAnyRun, 0});
            }
            prog_.globs.emplace_back(t, cased);
            out.push_back({ValueOp::kString, static_cast<uint32_t>(prog_.globs.size() - 1), 0});
          }
          break;
        }
      }
    }
    // With |all, an encoding that expands one value into variants (base64offset, windash)
    // must still mean "this value": keep the expansion ORed by giving each value its own
    // test... which a FieldTest cannot express. Refuse that rare combination instead.
    if (all && out.size() != values.size()) {
      return d.ctx.error(key, "|all cannot be combined with base64offset or windash");
    }
    test.first = static_cast<uint32_t>(prog_.values.size());
    test.count = static_cast<uint32_t>(out.size());
    prog_.values.insert(prog_.values.end(), out.begin(), out.end());
    return test;
  }

  // The wildcard tokens a string value stands for after the encoding modifiers (several for
  // base64offset and windash). Encoded bytes are matched case-sensitively: base64 is.
  Result<std::vector<Tokens>> string_variants(const Doc& d, const std::string& key,
                                              const std::string& text,
                                              const std::vector<std::string>& encodings,
                                              bool* cased) {
    std::vector<Tokens> variants{parse_sigma_string(text)};
    for (const std::string& enc : encodings) {
      std::vector<Tokens> next;
      for (const Tokens& t : variants) {
        if (enc == "windash") {
          // Every '-' or '/' that starts a word ("\B[-/]\b" in pySigma) may be written with
          // any of - / en dash, em dash, horizontal bar: all combinations.
          std::vector<size_t> spots;
          for (size_t i = 0; i < t.size(); ++i) {
            if (t[i].kind != GlobToken::kByte || (t[i].byte != '-' && t[i].byte != '/')) continue;
            const bool before_word = i > 0 && is_word(t[i - 1]);
            const bool after_word = i + 1 < t.size() && is_word(t[i + 1]);
            if (!before_word && after_word) spots.push_back(i);
          }
          if (spots.size() > 4) {
            return d.ctx.error(key, "|windash on a value with more than 4 dashes");
          }
          static const char* kDashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};
          size_t combos = 1;
          for (size_t k = 0; k < spots.size(); ++k) combos *= 5;
          for (size_t c = 0; c < combos; ++c) {
            Tokens v;
            size_t code = c, s = 0;
            for (size_t i = 0; i < t.size(); ++i) {
              if (s < spots.size() && spots[s] == i) {
                for (const char* p = kDashes[code % 5]; *p; ++p) {
                  v.push_back({GlobToken::kByte, *p});
                }
                code /= 5;
                ++s;
              } else {
                v.push_back(t[i]);
              }
            }
            next.push_back(std::move(v));
          }
        } else if (enc == "wide" || enc == "utf16le") {
          next.push_back(encode_runs(t, [](std::string_view s) { return utf16(s, false); }));
        } else if (enc == "utf16be") {
          next.push_back(encode_runs(t, [](std::string_view s) { return utf16(s, true); }));
        } else if (enc == "utf16") {
          // With a byte order mark, little-endian (as Windows writes it).
          Tokens v = encode_runs(t, [](std::string_view s) { return utf16(s, false); });
          v.insert(v.begin(),
                   {GlobToken{GlobToken::kByte, '\xFF'}, GlobToken{GlobToken::kByte, '\xFE'}});
          next.push_back(std::move(v));
        } else {
          if (has_wildcards(t)) {
            return d.ctx.error(key, "|" + enc + " cannot encode a value with wildcards");
          }
          const std::string bytes = token_bytes(t);
          *cased = true;
          if (enc == "base64") {
            next.push_back(literal_tokens(base64(bytes)));
          } else {
            // base64offset: the three encodings of the value at offsets 0, 1 and 2 of a
            // base64 quantum, trimmed to the characters that do not depend on the
            // neighbouring bytes (pySigma's start/end offsets).
            static constexpr int kStart[3] = {0, 2, 3};
            static constexpr int kEnd[3] = {0, -3, -2};
            for (int i = 0; i < 3; ++i) {
              const std::string enc64 = base64(std::string(static_cast<size_t>(i), ' ') + bytes);
              const int end_off = kEnd[(bytes.size() + static_cast<size_t>(i)) % 3];
              const int end = static_cast<int>(enc64.size()) + end_off;
              if (end <= kStart[i]) continue;
              next.push_back(literal_tokens(
                  std::string_view(enc64).substr(kStart[i], static_cast<size_t>(end - kStart[i]))));
            }
          }
        }
      }
      variants = std::move(next);
    }
    // Identical variants (e.g. windash on "-" when the value has no word after it) add nothing.
    std::sort(variants.begin(), variants.end(), [](const Tokens& a, const Tokens& b) {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(), [](const GlobToken& x, const GlobToken& y) {
            return std::make_pair(x.kind, x.byte) < std::make_pair(y.kind, y.byte);
          });
    });
    variants.erase(std::unique(variants.begin(), variants.end(),
                               [](const Tokens& a, const Tokens& b) {
                                 return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                                                   [](const GlobToken& x, const GlobToken& y) {
                                                     return x.kind == y.kind && x.byte == y.byte;
                                                   });
                               }),
                   variants.end());
    return variants;
  }

  // ---- correlation rules

  // A correlation rule: keys checked strictly (a typo such as group_by would otherwise
  // silently mean "no grouping"), references resolved, condition compiled.
  Status compile_correlation(const Doc& d) {
    CorrelationRule& c = set_->correlations_[d.index];
    const YAML::Node corr = d.node["correlation"];
    if (!corr.IsMap()) {
      return d.ctx.error("correlation", "expected a map, got " + describe(corr));
    }
    static const char* kKeys[] = {"type",      "rules",   "group-by", "timespan", "timeframe",
                                  "condition", "aliases", "generate", "window",   "gap"};
    for (const auto& kv : corr) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys)) {
        return d.ctx.error("correlation." + k,
                           "unknown key (expected type, rules, group-by, timespan, condition, "
                           "aliases, generate, window, gap)");
      }
    }
    // type
    const YAML::Node type = corr["type"];
    static const std::pair<const char*, CorrelationType> kTypes[] = {
        {"event_count", CorrelationType::kEventCount},
        {"value_count", CorrelationType::kValueCount},
        {"temporal", CorrelationType::kTemporal},
        {"temporal_ordered", CorrelationType::kTemporalOrdered},
        {"value_sum", CorrelationType::kValueSum},
        {"value_avg", CorrelationType::kValueAvg},
        {"value_percentile", CorrelationType::kValuePercentile}};
    bool type_ok = false;
    for (const auto& [name, t] : kTypes) {
      if (type.IsScalar() && type.Scalar() == name) {
        c.type = t;
        type_ok = true;
      }
    }
    if (!type_ok) {
      return d.ctx.error("correlation.type",
                         "expected event_count, value_count, temporal, temporal_ordered, "
                         "value_sum, value_avg or value_percentile, got " +
                             describe(type));
    }
    const bool temporal =
        c.type == CorrelationType::kTemporal || c.type == CorrelationType::kTemporalOrdered;
    const bool numeric = c.type == CorrelationType::kValueSum ||
                         c.type == CorrelationType::kValueAvg ||
                         c.type == CorrelationType::kValuePercentile;
    // rules
    auto rules = string_list(d, "correlation.rules", corr["rules"], /*required=*/true);
    if (!rules) return rules.error();
    c.rules = std::move(*rules);
    if (c.rules.size() > 64) return d.ctx.error("correlation.rules", "at most 64 rules");
    for (const std::string& r : c.rules) {
      CorrelationRule::Ref ref;
      if (auto b = set_->find_base_rule(r)) {
        ref.index = *b;
      } else if (auto cc = set_->find_correlation(r)) {
        ref.is_correlation = true;
        ref.index = *cc;
        if (*cc == d.index) {
          return d.ctx.error("correlation.rules", "the rule refers to itself");
        }
        if (c.type != CorrelationType::kEventCount && !temporal) {
          return d.ctx.error("correlation.rules",
                             "a " + std::string(correlation_type_name(c.type)) +
                                 " correlation cannot refer to another correlation (\"" + r +
                                 "\"): only event_count and temporal types chain");
        }
      } else {
        return d.ctx.error("correlation.rules",
                           "\"" + r + "\" is not the id or name of any rule in the set");
      }
      c.refs.push_back(ref);
    }
    // group-by (the spec marks it mandatory but also "optionally defines"; none = one group)
    auto group = string_list(d, "correlation.group-by", corr["group-by"], /*required=*/false);
    if (!group) return group.error();
    c.group_by = std::move(*group);
    KLAXON_TRY(resolve_aliases(d, c, corr["aliases"]));
    // timespan (older rules say timeframe)
    // (Assigning to an undefined yaml-cpp node throws, so pick the key first.)
    const bool has_timespan = corr["timespan"].IsDefined();
    const char* span_key = has_timespan ? "correlation.timespan" : "correlation.timeframe";
    const YAML::Node span = corr[has_timespan ? "timespan" : "timeframe"];
    auto ts = span.IsScalar() ? parse_timespan(span.Scalar()) : std::nullopt;
    if (!ts || *ts <= 0) {
      return d.ctx.error(span_key,
                         "expected a duration such as 30s, 5m, 1h or 2d, got " + describe(span));
    }
    c.timespan_ns = *ts;
    // window (rsigma extension) and gap
    const YAML::Node window = corr["window"];
    if (window.IsDefined()) {
      const std::string w = window.IsScalar() ? lower(window.Scalar()) : "";
      if (w == "sliding") {
        c.window = WindowMode::kSliding;
      } else if (w == "tumbling") {
        c.window = WindowMode::kTumbling;
      } else if (w == "session") {
        c.window = WindowMode::kSession;
      } else {
        return d.ctx.error("correlation.window",
                           "expected sliding, tumbling or session, got " + describe(window));
      }
    }
    const YAML::Node gap = corr["gap"];
    if (c.window == WindowMode::kSession) {
      auto g = gap.IsScalar() ? parse_timespan(gap.Scalar()) : std::nullopt;
      if (!g || *g <= 0) {
        return d.ctx.error("correlation.gap",
                           "a session window needs a gap such as 5m, got " + describe(gap));
      }
      c.gap_ns = *g;
    } else if (gap.IsDefined()) {
      return d.ctx.error("correlation.gap", "only a session window has a gap");
    }
    // generate
    const YAML::Node generate = corr["generate"];
    if (generate.IsDefined()) {
      auto b = parse_bool(generate);
      if (!b) return d.ctx.error("correlation.generate", "expected true or false");
      c.generate = *b;
    }
    KLAXON_TRY(compile_condition(d, c, corr["condition"], temporal, numeric));
    KLAXON_TRY(read_overrides(d, c));
    // The reverse index the Detector uses: which correlations a matched rule feeds.
    for (uint32_t pos = 0; pos < c.refs.size(); ++pos) {
      const auto& ref = c.refs[pos];
      auto& uses = ref.is_correlation ? set_->corr_uses_[ref.index] : set_->base_uses_[ref.index];
      uses.push_back({d.index, pos});
    }
    return ok_status();
  }

  Result<std::vector<std::string>> string_list(const Doc& d, const std::string& key,
                                               const YAML::Node& node, bool required) {
    std::vector<std::string> out;
    if (!node.IsDefined() || node.IsNull()) {
      if (required) return d.ctx.error(key, "expected a string or a list of strings (mandatory)");
      return out;
    }
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
    } else if (node.IsSequence()) {
      for (const auto& v : node) {
        if (!v.IsScalar()) return d.ctx.error(key, "expected strings, got " + describe(v));
        out.push_back(v.Scalar());
      }
    } else {
      return d.ctx.error(key, "expected a string or a list of strings, got " + describe(node));
    }
    if (required && out.empty()) return d.ctx.error(key, "expected at least one entry");
    return out;
  }

  // group_fields[r][g]: `aliases: {alias: {rule name: field}}` maps a group-by name to the
  // field it reads in events of each referenced rule (spec "Field Name Aliases").
  Status resolve_aliases(const Doc& d, CorrelationRule& c, const YAML::Node& aliases) {
    // alias -> (rule name or id -> field), checked against the correlated rules.
    std::map<std::string, std::map<std::string, std::string>> table;
    if (aliases.IsDefined() && !aliases.IsNull()) {
      if (!aliases.IsMap()) {
        return d.ctx.error(
            "correlation.aliases",
            "expected a map of alias -> {rule name: field}, got " + describe(aliases));
      }
      for (const auto& kv : aliases) {
        const std::string alias = kv.first.Scalar();
        if (!kv.second.IsMap()) {
          return d.ctx.error("correlation.aliases." + alias,
                             "expected a map of rule name -> field, got " + describe(kv.second));
        }
        for (const auto& m : kv.second) {
          if (!m.first.IsScalar() || !m.second.IsScalar()) {
            return d.ctx.error("correlation.aliases." + alias, "expected rule name: field");
          }
          if (std::find(c.rules.begin(), c.rules.end(), m.first.Scalar()) == c.rules.end()) {
            // The spec keys aliases by rule name; a rule listed by id may be named too.
            bool known = false;
            for (size_t r = 0; r < c.refs.size(); ++r) {
              if (meta_of(c.refs[r]).name == m.first.Scalar() ||
                  meta_of(c.refs[r]).id == m.first.Scalar()) {
                known = true;
              }
            }
            if (!known) {
              return d.ctx.error("correlation.aliases." + alias,
                                 "\"" + m.first.Scalar() + "\" is not one of the correlated rules");
            }
          }
          table[alias][m.first.Scalar()] = m.second.Scalar();
        }
      }
    }
    // Resolve every (rule, group-by) pair now, so key building never looks an alias up.
    c.group_fields.assign(c.refs.size(), {});
    for (size_t r = 0; r < c.refs.size(); ++r) {
      const RuleMeta& m = meta_of(c.refs[r]);
      for (const std::string& g : c.group_by) {
        std::string field = g;
        auto a = table.find(g);
        if (a != table.end()) {
          for (const std::string* key :
               std::initializer_list<const std::string*>{&c.rules[r], &m.name, &m.id}) {
            auto f = a->second.find(*key);
            if (!key->empty() && f != a->second.end()) {
              field = f->second;
              break;
            }
          }
        }
        // A chained correlation reads its group-by from the child's firing, not from events.
        c.group_fields[r].push_back(intern(field, c.refs[r].is_correlation ? 0 : kRoleGroupBy));
      }
      if (c.group_fields[r] != c.group_fields[0]) c.uniform_group_fields = false;
    }
    return ok_status();
  }

  // The metadata of a referenced rule, whichever kind it is.
  const RuleMeta& meta_of(const CorrelationRule::Ref& ref) const {
    return ref.is_correlation ? set_->correlations_[ref.index].meta : set_->base_[ref.index].meta;
  }

  Status compile_condition(const Doc& d, CorrelationRule& c, const YAML::Node& cond, bool temporal,
                           bool numeric) {
    const std::string key = "correlation.condition";
    if (!cond.IsDefined() || cond.IsNull()) {
      if (!temporal) return d.ctx.error(key, "expected a map such as {gte: 10} (mandatory)");
      // temporal: every referenced rule must be seen (spec "Temporal Proximity").
      c.threshold.gte = static_cast<double>(c.refs.size());
      return ok_status();
    }
    if (cond.IsScalar()) {
      if (!temporal) {
        return d.ctx.error(key, "a boolean condition over rules is only for temporal types");
      }
      return compile_ref_expression(d, c, cond.Scalar());
    }
    if (!cond.IsMap()) return d.ctx.error(key, "expected a map, got " + describe(cond));
    for (const auto& kv : cond) {
      const std::string op = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string sub = key + "." + op;
      if (op == "field") {
        auto fields = string_list(d, sub, kv.second, /*required=*/true);
        if (!fields) return fields.error();
        c.value_fields = std::move(*fields);
        continue;
      }
      // Not in the spec (value_percentile names no percentile); rsigma reads it from here.
      if (op == "percentile") {
        auto p = kv.second.IsScalar() ? parse_number(kv.second.Scalar()) : std::nullopt;
        if (!p || *p < 0 || *p > 100) {
          return d.ctx.error(sub, "expected a number from 0 to 100, got " + describe(kv.second));
        }
        c.percentile = *p;
        continue;
      }
      std::optional<double>* slot = op == "gt"    ? &c.threshold.gt
                                    : op == "gte" ? &c.threshold.gte
                                    : op == "lt"  ? &c.threshold.lt
                                    : op == "lte" ? &c.threshold.lte
                                    : op == "eq"  ? &c.threshold.eq
                                    : op == "neq" ? &c.threshold.neq
                                                  : nullptr;
      if (slot == nullptr) {
        return d.ctx.error(
            sub,
            "unknown condition (expected gt, gte, lt, lte, eq, neq, field" +
                std::string(c.type == CorrelationType::kValuePercentile ? ", percentile)" : ")"));
      }
      auto n = kv.second.IsScalar() ? parse_number(kv.second.Scalar()) : std::nullopt;
      if (!n) return d.ctx.error(sub, "expected a number, got " + describe(kv.second));
      *slot = *n;
    }
    if (c.threshold.empty()) {
      return d.ctx.error(key, "expected at least one of gt, gte, lt, lte, eq, neq");
    }
    // The spec's "Requires": value_* types need `field`, the counting types take none.
    const bool needs_field = c.type == CorrelationType::kValueCount || numeric;
    if (needs_field && c.value_fields.empty()) {
      return d.ctx.error(key + ".field", std::string("a ") + correlation_type_name(c.type) +
                                             " correlation needs the field it aggregates");
    }
    if (!needs_field && !c.value_fields.empty()) {
      return d.ctx.error(key + ".field", std::string("a ") + correlation_type_name(c.type) +
                                             " correlation takes no field");
    }
    if (numeric && c.value_fields.size() != 1) {
      return d.ctx.error(key + ".field", "expected exactly one numeric field");
    }
    for (const std::string& f : c.value_fields) c.value_field_ids.push_back(intern(f, kRoleValue));
    return ok_status();
  }

  // "a and not b" over the correlation's own rule references (rsigma's extended temporal).
  Status compile_ref_expression(const Doc& d, CorrelationRule& c, const std::string& text) {
    ConditionParser::Hooks hooks;
    hooks.leaf = [&c](const std::string& name) -> Result<uint32_t> {
      for (size_t r = 0; r < c.rules.size(); ++r) {
        if (c.rules[r] == name) {
          c.expression.push_back({RefExpr::kRef, static_cast<uint32_t>(r), {}});
          return static_cast<uint32_t>(c.expression.size() - 1);
        }
      }
      return make_error(ErrorCode::kInvalidArgument,
                        "\"" + name + "\" is not one of the correlation's rules");
    };
    hooks.quantified = [](int64_t, bool, const std::string&) -> Result<uint32_t> {
      return make_error(ErrorCode::kInvalidArgument, "\"N of\" is not allowed here");
    };
    hooks.combine = [&c](Node::Kind kind, std::vector<uint32_t> kids) {
      RefExpr e;
      e.kind = kind == Node::kAnd  ? RefExpr::kAnd
               : kind == Node::kOr ? RefExpr::kOr
                                   : RefExpr::kNot;
      e.children = std::move(kids);
      c.expression.push_back(std::move(e));
      return static_cast<uint32_t>(c.expression.size() - 1);
    };
    auto root = ConditionParser(tokenize_condition(text), std::move(hooks)).parse();
    if (!root) {
      return d.ctx.error("correlation.condition", root.error().message + " in \"" + text + "\"");
    }
    // Evaluation starts at the last node: make sure the root is it.
    if (*root + 1 != c.expression.size()) {
      c.expression.push_back({RefExpr::kAnd, 0, {*root}});
    }
    return ok_status();
  }

  // Per-rule engine settings as custom attributes; klaxon.* wins over rsigma.* when both
  // are given, so rules shared with rsigma keep working unchanged.
  Status read_overrides(const Doc& d, CorrelationRule& c) {
    for (const char* prefix : {"klaxon.", "rsigma."}) {
      const std::string p = prefix;
      const YAML::Node suppress = d.node[p + "suppress"];
      if (suppress.IsDefined() && !c.suppress_ns) {
        auto s = suppress.IsScalar() ? parse_timespan(suppress.Scalar()) : std::nullopt;
        if (!s) return d.ctx.error(p + "suppress", "expected a duration such as 5m");
        c.suppress_ns = *s;
      }
      const YAML::Node action = d.node[p + "action"];
      if (action.IsDefined() && !c.action) {
        const std::string a = action.IsScalar() ? lower(action.Scalar()) : "";
        if (a == "reset") {
          c.action = MatchAction::kReset;
        } else if (a == "continue" || a == "alert") {
          c.action = MatchAction::kContinue;
        } else {
          return d.ctx.error(p + "action", "expected continue or reset, got " + describe(action));
        }
      }
      const YAML::Node cap = d.node[p + "max_group_entries"];
      if (cap.IsDefined() && !c.max_group_entries) {
        auto n = cap.IsScalar() ? parse_number(cap.Scalar()) : std::nullopt;
        if (!n || *n < 1 || *n != std::floor(*n) || *n > 1e9) {
          return d.ctx.error(p + "max_group_entries",
                             "expected a whole number from 1, got " + describe(cap));
        }
        c.max_group_entries = static_cast<uint64_t>(*n);
      }
    }
    return ok_status();
  }

  // Chains must end: a correlation may not (indirectly) refer to itself.
  Status check_cycles(const std::vector<Doc>& docs) {
    const auto& corrs = set_->correlations_;
    std::vector<uint8_t> state(corrs.size(), 0);  // 0 new, 1 on the path, 2 done
    std::function<bool(uint32_t)> visit = [&](uint32_t i) {
      if (state[i] == 1) return false;
      if (state[i] == 2) return true;
      state[i] = 1;
      for (const auto& ref : corrs[i].refs) {
        if (ref.is_correlation && !visit(ref.index)) return false;
      }
      state[i] = 2;
      return true;
    };
    for (const Doc& d : docs) {
      if (d.correlation && !visit(d.index)) {
        return d.ctx.error("correlation.rules", "the correlation chain refers back to itself");
      }
    }
    return ok_status();
  }

  const LoadOptions& options_;
  std::unique_ptr<RuleSet> set_;
  Program& prog_;
  std::unordered_map<std::string, FieldId> field_index_;
  std::vector<std::pair<std::string, uint32_t>> selection_names_;  // of the rule being compiled
};

Result<std::shared_ptr<const RuleSet>> load_rules(std::string_view yaml,
                                                  const LoadOptions& options) {
  return RuleLoader(options).load(yaml);
}

}  // namespace klaxon::sigma
