#include "pipeline/notify/matcher.h"

#include <algorithm>
#include <regex>
#include <string>
#include <utility>

namespace klaxon::notify {

namespace {

// One alternative of a regex that needs no regex engine: [.*]literal[.*].
struct Alternative {
  bool any_before = false;
  bool any_after = false;
  std::string literal;

  bool matches(std::string_view v) const {
    if (any_before && any_after) return v.find(literal) != std::string_view::npos;
    if (any_after) return v.substr(0, literal.size()) == literal;
    if (any_before) {
      return v.size() >= literal.size() && v.substr(v.size() - literal.size()) == literal;
    }
    return v == literal;
  }
};

}  // namespace

struct Matcher::Compiled {
  std::vector<std::string> literals;      // kLiteralSet, sorted
  std::vector<Alternative> alternatives;  // kPattern
  std::regex re;                          // kRegex
};

namespace {

bool is_regex_meta(char c) {
  switch (c) {
    case '\\':
    case '.':
    case '^':
    case '$':
    case '|':
    case '?':
    case '*':
    case '+':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
      return true;
    default:
      return false;
  }
}

bool is_name_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (!first && c >= '0' && c <= '9');
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Reads one alternative as [.*]literal[.*]; false when it has any other regex syntax.
bool parse_alternative(std::string_view a, Alternative* out) {
  if (a.substr(0, 2) == ".*") {
    out->any_before = true;
    a.remove_prefix(2);
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const char c = a[i];
    if (c == '\\') {
      // An escaped punctuation character is itself; \d, \w, \n... are classes or controls.
      if (i + 1 >= a.size() || is_alnum(a[i + 1])) return false;
      out->literal.push_back(a[++i]);
    } else if (c == '.' && i + 2 == a.size() && a[i + 1] == '*') {
      out->any_after = true;
      break;
    } else if (is_regex_meta(c)) {
      return false;
    } else {
      out->literal.push_back(c);
    }
  }
  return true;
}

// Splits a regex on its top-level '|' into simple alternatives; false if any is not simple
// (a '|' inside a group or a class makes its pieces fail parse_alternative()).
bool parse_alternatives(std::string_view re, std::vector<Alternative>* out) {
  size_t start = 0;
  for (size_t i = 0; i <= re.size(); ++i) {
    if (i < re.size() && re[i] == '\\') {
      if (i + 1 >= re.size()) return false;  // a trailing backslash: std::regex rejects it
      ++i;
      continue;
    }
    if (i < re.size() && re[i] != '|') continue;
    Alternative alt;
    if (!parse_alternative(re.substr(start, i - start), &alt)) return false;
    out->push_back(std::move(alt));
    start = i + 1;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

const char* match_op_text(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegex:
      return "=~";
    case MatchOp::kNotRegex:
      return "!~";
  }
  return "?";
}

bool is_classic_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0)) return false;
  }
  return true;
}

Result<Matcher> Matcher::make(std::string name, MatchOp op, std::string value) {
  if (name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "matcher with an empty label name");
  }
  Matcher m;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  m.op_ = op;
  m.kind_ = Kind::kLiteral;
  if (!m.is_regex()) return m;

  // Shapes that need no regex engine: most routing and silence regexes are one of these.
  const std::string& v = m.value_;
  std::vector<Alternative> alts;
  if (v == ".+") {
    m.kind_ = Kind::kNonEmpty;
  } else if (parse_alternatives(v, &alts)) {
    auto c = std::make_shared<Compiled>();
    const bool all_exact = std::all_of(alts.begin(), alts.end(), [](const Alternative& a) {
      return !a.any_before && !a.any_after;
    });
    if (all_exact) {
      for (auto& a : alts) c->literals.push_back(std::move(a.literal));
      std::sort(c->literals.begin(), c->literals.end());
      m.kind_ = Kind::kLiteralSet;
    } else {
      c->alternatives = std::move(alts);
      m.kind_ = Kind::kPattern;
    }
    m.compiled_ = std::move(c);
  } else {
    // Regexes come from the API (silences) too: bound what reaches std::regex. libstdc++
    // overflows a signed integer on repetition counts past LONG_MAX, and long patterns make
    // large automata.
    if (v.size() > 1024)
      return make_error(ErrorCode::kInvalidArgument,
                        "regex over 1024 bytes in matcher for " + m.name_);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\') {
        // \1..\9 are backreferences: not in RE2 (Alertmanager's engine), and libstdc++
        // overflows on long ones. Any other escaped character is a literal.
        if (i + 1 < v.size() && v[i + 1] >= '1' && v[i + 1] <= '9')
          return make_error(ErrorCode::kInvalidArgument,
                            "regex backreferences are not supported (matcher for " + m.name_ +
                                ")");
        ++i;
        continue;
      }
      if (v[i] != '{') continue;
      size_t digits = 0;
      for (size_t j = i + 1; j < v.size() && v[j] != '}'; ++j) {
        digits = (v[j] >= '0' && v[j] <= '9') ? digits + 1 : 0;
        if (digits > 4)
          return make_error(ErrorCode::kInvalidArgument,
                            "regex repetition count over 9999 in matcher for " + m.name_);
      }
    }
    auto c = std::make_shared<Compiled>();
    try {
      // __polynomial selects libstdc++'s breadth-first executor: its recursion depth is bounded
      // by the pattern, not by the input, so a long label value cannot overflow the stack.
      c->re = std::regex(v, std::regex::ECMAScript | std::regex_constants::__polynomial);
    } catch (const std::regex_error& e) {
      return make_error(ErrorCode::kInvalidArgument,
                        "bad regex in matcher " + m.to_string() + ": " + e.what());
    }
    m.kind_ = Kind::kRegex;
    m.compiled_ = std::move(c);
  }
  return m;
}

bool Matcher::matches_value(std::string_view v) const {
  bool hit = false;
  switch (kind_) {
    case Kind::kLiteral:
      hit = v == value_;
      break;
    case Kind::kNonEmpty:
      hit = !v.empty();
      break;
    case Kind::kPattern:
      hit = std::any_of(compiled_->alternatives.begin(), compiled_->alternatives.end(),
                        [&](const Alternative& a) { return a.matches(v); });
      break;
    case Kind::kLiteralSet:
      hit = std::binary_search(
          compiled_->literals.begin(), compiled_->literals.end(), v,
          [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
      break;
    case Kind::kRegex:
      hit = std::regex_match(v.begin(), v.end(), compiled_->re);
      break;
  }
  return is_negative() ? !hit : hit;
}

std::string Matcher::to_string() const {
  std::string out;
  if (is_classic_label_name(name_)) {
    out = name_;
  } else {
    append_quoted(out, name_);
  }
  out.append(match_op_text(op_));
  append_quoted(out, value_);
  return out;
}

bool operator<(const Matcher& a, const Matcher& b) {
  if (a.name_ != b.name_) return a.name_ < b.name_;
  if (a.op_ != b.op_) return a.op_ < b.op_;
  return a.value_ < b.value_;
}

bool matches_all(const Matchers& matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    if (!m.matches(labels)) return false;
  }
  return true;
}

bool matches_empty(const Matchers& matchers) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [](const Matcher& m) { return m.matches_value(""); });
}

std::string matchers_to_string(const Matchers& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(matchers[i].to_string());
  }
  out.push_back('}');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text form

namespace {

class MatcherParser {
 public:
  explicit MatcherParser(std::string_view text) : text_(text) {}

  Result<Matchers> parse_list() {
    Matchers out;
    skip_space();
    bool braced = false;
    if (peek() == '{') {
      braced = true;
      ++pos_;
    }
    while (true) {
      skip_space();
      if (braced && peek() == '}') break;
      if (at_end()) break;
      auto m = parse_one();
      if (!m) return m.error();
      out.push_back(std::move(*m));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      break;
    }
    skip_space();
    if (braced) {
      if (peek() != '}') return fail("expected '}'");
      ++pos_;
      skip_space();
    }
    if (!at_end()) return fail("unexpected text");
    if (out.empty()) return fail("no matcher");
    return out;
  }

 private:
  Result<Matcher> parse_one() {
    std::string name;
    if (peek() == '"') {
      auto q = quoted();
      if (!q) return q.error();
      name = std::move(*q);
    } else {
      const size_t start = pos_;
      while (!at_end() && is_name_char(text_[pos_], pos_ == start)) ++pos_;
      name = std::string(text_.substr(start, pos_ - start));
      if (name.empty()) return fail("expected a label name");
    }
    skip_space();
    MatchOp op;
    if (consume("=~")) {
      op = MatchOp::kRegex;
    } else if (consume("!~")) {
      op = MatchOp::kNotRegex;
    } else if (consume("!=")) {
      op = MatchOp::kNotEqual;
    } else if (consume("=")) {
      op = MatchOp::kEqual;
    } else {
      return fail("expected one of = != =~ !~ after label name \"" + name + "\"");
    }
    skip_space();
    std::string value;
    if (peek() == '"') {
      auto q = quoted();
      if (!q) return q.error();
      value = std::move(*q);
    } else {
      const size_t start = pos_;
      while (!at_end() && text_[pos_] != ',' && text_[pos_] != '}' && text_[pos_] != '"') ++pos_;
      std::string_view v = text_.substr(start, pos_ - start);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      value = std::string(v);
    }
    auto m = Matcher::make(std::move(name), op, std::move(value));
    if (!m) return fail(m.error().message);
    return m;
  }

  Result<std::string> quoted() {
    const size_t open = pos_;
    ++pos_;  // the opening quote
    std::string out;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) break;
      const char e = text_[pos_++];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case '"':
        case '\\':
          out.push_back(e);
          break;
        default:
          // Keep unknown escapes as written: regexes use \d, \. and friends.
          out.push_back('\\');
          out.push_back(e);
      }
    }
    pos_ = open;
    return fail("unterminated quoted string");
  }

  Error fail(const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, "bad matcher \"" + std::string(text_) + "\": " +
                                                       what + " at offset " + std::to_string(pos_));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }
  bool consume(std::string_view s) {
    if (text_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<Matchers> parse_matchers(std::string_view text) { return MatcherParser(text).parse_list(); }

Result<Matcher> parse_matcher(std::string_view text) {
  auto ms = parse_matchers(text);
  if (!ms) return ms.error();
  if (ms->size() != 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      "bad matcher \"" + std::string(text) + "\": expected exactly one matcher");
  }
  return std::move((*ms)[0]);
}

}  // namespace klaxon::notify
