#include "pipeline/stages/sigma/regex.h"

#include <string>
#include <utility>

namespace klaxon::sigma {

namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Parses a pattern into a small syntax tree, then emits the Thompson program. Lives only
// inside Regex::compile().
class RegexCompiler {
 public:
  RegexCompiler(std::string_view pattern, RegexFlags flags) : p_(pattern), flags_(flags) {}

  // Grammar (recursive descent, lowest precedence first):
  //   alternation := concat ('|' concat)*
  //   concat      := (atom quantifier?)*
  //   atom        := group | class | escape | '.' | '^' | '$' | byte
  // The syntax tree is kept only until the program is emitted.
  Result<Regex> run() {
    const uint32_t root = parse_alternation();
    if (failed_) return error_;
    if (pos_ < p_.size()) return fail(") without a matching (");
    Regex re;
    re.classes_ = std::move(sets_);
    prog_ = &re.prog_;
    if (!emit(root)) return error_;
    prog_->push_back({Regex::kMatch, 0, 0, 0});
    re.anchored_ = starts_anchored(root);
    re.compute_first_bytes();
    return re;
  }

 private:
  struct Node {
    enum Kind : uint8_t { kEmpty, kSet, kConcat, kAlt, kRepeat, kAssert } kind = kEmpty;
    uint8_t assert_kind = 0;
    uint32_t set = 0;
    int min = 0, max = 0;  // kRepeat; max -1 = unbounded
    std::vector<uint32_t> kids;
  };
  using ByteSet = Regex::ByteSet;

  // Records the first error only: parsing unwinds by checking failed_, never by throwing.
  Error fail(const std::string& what) {
    if (!failed_) {
      failed_ = true;
      error_ = make_error(ErrorCode::kInvalidArgument,
                          "regular expression: " + what + " at offset " + std::to_string(pos_));
    }
    return error_;
  }

  uint32_t fail_node(const std::string& what) {
    fail(what);
    return kNoNode;
  }

  uint32_t add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  // Every byte-consuming atom becomes a 256-bit set, so the VM has one matching operation.
  uint32_t add_set(const ByteSet& s) {
    sets_.push_back(s);
    Node n;
    n.kind = Node::kSet;
    n.set = static_cast<uint32_t>(sets_.size() - 1);
    return add(std::move(n));
  }
  uint32_t add_assert(uint8_t kind) {
    Node n;
    n.kind = Node::kAssert;
    n.assert_kind = kind;
    return add(std::move(n));
  }

  static void set_bit(ByteSet& s, unsigned char c) { s[c >> 6] |= uint64_t{1} << (c & 63); }
  static bool has_bit(const ByteSet& s, unsigned char c) { return (s[c >> 6] >> (c & 63)) & 1; }
  // Under `i`, a set holding a letter in either case holds both.
  void fold_set(ByteSet& s) const {
    if (!flags_.icase) return;
    for (int c = 'a'; c <= 'z'; ++c) {
      const auto lo = static_cast<unsigned char>(c);
      const auto up = static_cast<unsigned char>(c - 'a' + 'A');
      if (has_bit(s, lo) || has_bit(s, up)) {
        set_bit(s, lo);
        set_bit(s, up);
      }
    }
  }
  uint32_t literal(unsigned char c) {
    ByteSet s{};
    set_bit(s, c);
    fold_set(s);
    return add_set(s);
  }
  static void add_range(ByteSet& s, int from, int to) {
    for (int c = from; c <= to; ++c) set_bit(s, static_cast<unsigned char>(c));
  }
  // \d \w \s and their negations; false when `c` is not one of them.
  static bool class_escape(char c, ByteSet* out) {
    ByteSet s{};
    switch (c) {
      case 'd':
      case 'D':
        add_range(s, '0', '9');
        break;
      case 'w':
      case 'W':
        add_range(s, 'a', 'z');
        add_range(s, 'A', 'Z');
        add_range(s, '0', '9');
        set_bit(s, '_');
        break;
      case 's':
      case 'S':
        for (char b : {' ', '\t', '\n', '\r', '\f', '\v'})
          set_bit(s, static_cast<unsigned char>(b));
        break;
      default:
        return false;
    }
    if (c >= 'A' && c <= 'Z') {
      for (auto& w : s) w = ~w;
    }
    *out = s;
    return true;
  }

  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return p_[pos_]; }

  // x|y|z: one kAlt node (emitted as a chain of splits).
  uint32_t parse_alternation() {
    std::vector<uint32_t> alts{parse_concat()};
    while (!failed_ && !at_end() && peek() == '|') {
      ++pos_;
      alts.push_back(parse_concat());
    }
    if (alts.size() == 1) return alts[0];
    Node n;
    n.kind = Node::kAlt;
    n.kids = std::move(alts);
    return add(std::move(n));
  }

  // Atoms up to '|' or ')' (which the callers consume).
  uint32_t parse_concat() {
    Node n;
    n.kind = Node::kConcat;
    while (!failed_ && !at_end() && peek() != '|' && peek() != ')') {
      const uint32_t atom = parse_atom();
      if (failed_) break;
      if (atom == kNoNode) continue;  // a flag group such as (?i) emits nothing
      n.kids.push_back(parse_quantifiers(atom));
    }
    if (n.kids.size() == 1) return n.kids[0];
    return add(std::move(n));
  }

  // Reads {n}, {n,} or {n,m} at pos_; false (pos_ unchanged) when it is not one, in which
  // case the brace is a literal (PCRE and Python do the same).
  bool parse_braces(int* min, int* max) {
    size_t i = pos_ + 1;
    auto number = [&](int* out) {
      const size_t start = i;
      long v = 0;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') {
        v = v * 10 + (p_[i] - '0');
        if (v > 100000) v = 100000;
        ++i;
      }
      *out = static_cast<int>(v);
      return i > start;
    };
    if (!number(min)) return false;
    *max = *min;
    if (i < p_.size() && p_[i] == ',') {
      ++i;
      if (!number(max)) *max = -1;
    }
    if (i >= p_.size() || p_[i] != '}') return false;
    pos_ = i + 1;
    return true;
  }

  // At most one quantifier per atom (plus a lazy '?'); counted repeats are expanded into
  // copies at emission, which kMaxRepeat and kMaxProgram bound.
  uint32_t parse_quantifiers(uint32_t atom) {
    if (at_end()) return atom;
    int min = 0, max = 0;
    const char c = peek();
    if (c == '*') {
      min = 0, max = -1, ++pos_;
    } else if (c == '+') {
      min = 1, max = -1, ++pos_;
    } else if (c == '?') {
      min = 0, max = 1, ++pos_;
    } else if (c == '{' && parse_braces(&min, &max)) {
      if (min > Regex::kMaxRepeat || max > Regex::kMaxRepeat) {
        return fail_node("repeat count over " + std::to_string(Regex::kMaxRepeat));
      }
      if (max != -1 && max < min) return fail_node("repeat range {n,m} with m < n");
    } else {
      return atom;
    }
    if (nodes_[atom].kind == Node::kAssert) return fail_node("quantifier after an anchor");
    // A lazy quantifier finds a match exactly when the greedy one does.
    if (!at_end() && peek() == '?') {
      ++pos_;
    } else if (!at_end() && peek() == '+') {
      return fail_node("possessive quantifiers are not supported");
    }
    // "a**" is an error in PCRE and Python; refusing it also bounds the nesting of repeats
    // (only groups nest them, and groups are bounded).
    if (!at_end() &&
        (peek() == '*' || peek() == '+' || peek() == '?' ||
         (peek() == '{' && pos_ + 1 < p_.size() && p_[pos_ + 1] >= '0' && p_[pos_ + 1] <= '9'))) {
      return fail_node("multiple repeat");
    }
    Node n;
    n.kind = Node::kRepeat;
    n.min = min;
    n.max = max;
    n.kids = {atom};
    return add(std::move(n));
  }

  // ( ), (?: ), named groups, and flag groups; the forms that need backtracking are refused.
  uint32_t parse_group() {
    ++pos_;  // '('
    // Parsing and emission recurse per nesting level: bound it so no pattern can exhaust
    // the stack.
    if (++depth_ > kMaxDepth) return fail_node("groups nested deeper than 100");
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    const RegexFlags saved = flags_;
    if (!at_end() && peek() == '?') {
      ++pos_;
      if (at_end()) return fail_node("unterminated group");
      const char c = peek();
      if (c == ':') {
        ++pos_;
      } else if (c == 'P' ||
                 (c == '<' && pos_ + 1 < p_.size() && p_[pos_ + 1] != '=' && p_[pos_ + 1] != '!')) {
        // A named group: (?P<name>...) or (?<name>...); the name is not used.
        if (c == 'P') ++pos_;
        if (at_end() || peek() != '<') return fail_node("named group needs <name>");
        const size_t close = p_.find('>', pos_);
        if (close == std::string_view::npos) return fail_node("unterminated group name");
        pos_ = close + 1;
      } else if (c == '=' || c == '!' || c == '<') {
        return fail_node("lookaround assertions are not supported");
      } else if (c == '>') {
        return fail_node("atomic groups are not supported");
      } else {
        // Inline flags: (?ims) for the rest of the enclosing group, (?ims:...) for this one.
        RegexFlags f = flags_;
        bool on = true;
        while (!at_end() && peek() != ')' && peek() != ':') {
          const char fl = peek();
          if (fl == '-') {
            on = false;
          } else if (fl == 'i') {
            f.icase = on;
          } else if (fl == 'm') {
            f.multiline = on;
          } else if (fl == 's') {
            f.dotall = on;
          } else {
            return fail_node(std::string("unsupported inline flag '") + fl + "'");
          }
          ++pos_;
        }
        if (at_end()) return fail_node("unterminated flag group");
        if (peek() == ')') {
          ++pos_;
          flags_ = f;  // stays in force until the enclosing group closes
          return kNoNode;
        }
        ++pos_;  // ':'
        flags_ = f;
      }
    }
    const uint32_t inner = parse_alternation();
    if (failed_) return kNoNode;
    if (at_end() || peek() != ')') return fail_node("missing )");
    ++pos_;
    flags_ = saved;
    return inner;
  }

  // One escaped byte inside or outside a class (after the backslash); -1 when it is not a
  // plain byte escape.
  int byte_escape(char c) {
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case '0':
        return 0;
      case 'x': {
        if (pos_ + 2 > p_.size()) return -2;
        const int h = hex_value(p_[pos_]);
        const int l = pos_ + 1 < p_.size() ? hex_value(p_[pos_ + 1]) : -1;
        if (h < 0 || l < 0) return -2;
        pos_ += 2;
        return h * 16 + l;
      }
      default:
        break;
    }
    if (!is_word_byte(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) {
      return static_cast<unsigned char>(c);  // escaped punctuation or space is itself
    }
    return -1;
  }

  // An escape outside a class: a set (\d), an assertion (\b), a byte (\x41) or UTF-8
  // bytes (\u00e9).
  uint32_t parse_escape() {
    ++pos_;  // the backslash
    if (at_end()) return fail_node("trailing backslash");
    const char c = p_[pos_++];
    ByteSet s;
    if (class_escape(c, &s)) {
      fold_set(s);
      return add_set(s);
    }
    switch (c) {
      case 'b':
        return add_assert(Regex::kWord);
      case 'B':
        return add_assert(Regex::kNotWord);
      case 'A':
        return add_assert(Regex::kBeginText);
      case 'z':
        return add_assert(Regex::kEndText);
      case 'Z':
        return add_assert(Regex::kEndTextOrNewline);
      case 'u': {
        // \uHHHH: the code point's UTF-8 bytes in sequence.
        if (pos_ + 4 > p_.size()) return fail_node("\\u needs four hex digits");
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          const int h = hex_value(p_[pos_ + k]);
          if (h < 0) return fail_node("\\u needs four hex digits");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        pos_ += 4;
        std::string bytes;
        if (cp < 0x80) {
          bytes += static_cast<char>(cp);
        } else if (cp < 0x800) {
          bytes += static_cast<char>(0xC0 | (cp >> 6));
          bytes += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          bytes += static_cast<char>(0xE0 | (cp >> 12));
          bytes += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          bytes += static_cast<char>(0x80 | (cp & 0x3F));
        }
        if (bytes.size() == 1) return literal(static_cast<unsigned char>(bytes[0]));
        Node n;
        n.kind = Node::kConcat;
        for (char b : bytes) n.kids.push_back(literal(static_cast<unsigned char>(b)));
        return add(std::move(n));
      }
      default:
        break;
    }
    if (c >= '1' && c <= '9') return fail_node("backreferences are not supported");
    const int b = byte_escape(c);
    if (b == -2) return fail_node("\\x needs two hex digits");
    if (b < 0) return fail_node(std::string("unsupported escape \\") + c);
    return literal(static_cast<unsigned char>(b));
  }

  // [:name:] inside a class (ASCII meanings, as in PCRE without UCP).
  bool posix_class(std::string_view name, ByteSet& s) {
    if (name == "alpha") {
      add_range(s, 'a', 'z'), add_range(s, 'A', 'Z');
    } else if (name == "digit") {
      add_range(s, '0', '9');
    } else if (name == "alnum") {
      add_range(s, 'a', 'z'), add_range(s, 'A', 'Z'), add_range(s, '0', '9');
    } else if (name == "upper") {
      add_range(s, 'A', 'Z');
    } else if (name == "lower") {
      add_range(s, 'a', 'z');
    } else if (name == "space") {
      for (char b : {' ', '\t', '\n', '\r', '\f', '\v'}) set_bit(s, static_cast<unsigned char>(b));
    } else if (name == "xdigit") {
      add_range(s, '0', '9'), add_range(s, 'a', 'f'), add_range(s, 'A', 'F');
    } else if (name == "punct") {
      for (int c = 0x21; c < 0x7F; ++c) {
        if (!is_word_byte(static_cast<unsigned char>(c)) || c == '_') {
          set_bit(s, static_cast<unsigned char>(c));
        }
      }
    } else {
      return false;
    }
    return true;
  }

  // [...] with ranges, escapes, [:name:]; a leading ']' and a '-' at either end are literal.
  uint32_t parse_class() {
    ++pos_;  // '['
    ByteSet s{};
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (at_end()) return fail_node("unterminated character class");
      char c = peek();
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == '[' && pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
        const size_t close = p_.find(":]", pos_ + 2);
        if (close == std::string_view::npos) return fail_node("unterminated [:class:]");
        if (!posix_class(p_.substr(pos_ + 2, close - pos_ - 2), s)) {
          return fail_node("unknown [:class:]");
        }
        pos_ = close + 2;
        continue;
      }
      int lo;
      if (c == '\\') {
        ++pos_;
        if (at_end()) return fail_node("trailing backslash");
        const char e = p_[pos_++];
        ByteSet esc;
        if (class_escape(e, &esc)) {
          for (int w = 0; w < 4; ++w) s[w] |= esc[w];
          continue;
        }
        if (e == 'b') {
          lo = '\b';
        } else {
          lo = byte_escape(e);
          if (lo == -2) return fail_node("\\x needs two hex digits");
          if (lo < 0) return fail_node(std::string("unsupported escape \\") + e);
        }
      } else {
        lo = static_cast<unsigned char>(c);
        ++pos_;
      }
      if (lo >= 0x80) return fail_node("non-ASCII byte in a character class");
      int hi = lo;
      // A range a-z; a '-' before ']' or at the start is a literal.
      if (pos_ + 1 < p_.size() && peek() == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        const char h = p_[pos_];
        if (h == '\\') {
          ++pos_;
          if (at_end()) return fail_node("trailing backslash");
          hi = byte_escape(p_[pos_++]);
          if (hi < 0) return fail_node("bad range end");
        } else {
          hi = static_cast<unsigned char>(h);
          ++pos_;
        }
        if (hi >= 0x80) return fail_node("non-ASCII byte in a character class");
        if (hi < lo) return fail_node("range out of order");
      }
      add_range(s, lo, hi);
    }
    fold_set(s);
    if (negate) {
      for (auto& w : s) w = ~w;
    }
    return add_set(s);
  }

  uint32_t parse_atom() {
    const char c = peek();
    switch (c) {
      case '(':
        return parse_group();
      case '[':
        return parse_class();
      case '\\':
        return parse_escape();
      case '.': {
        ++pos_;
        ByteSet s;
        for (auto& w : s) w = ~uint64_t{0};
        if (!flags_.dotall) s['\n' >> 6] &= ~(uint64_t{1} << ('\n' & 63));
        return add_set(s);
      }
      case '^':
        ++pos_;
        return add_assert(flags_.multiline ? Regex::kLineBegin : Regex::kBeginText);
      case '$':
        ++pos_;
        return add_assert(flags_.multiline ? Regex::kLineEnd : Regex::kEndTextOrNewline);
      case '*':
      case '+':
      case '?':
        return fail_node("quantifier without anything to repeat");
      default:
        ++pos_;
        return literal(static_cast<unsigned char>(c));
    }
  }

  // ---- code generation

  size_t pc() const { return prog_->size(); }
  // Every emitted instruction goes through here, so the size limit cannot be bypassed.
  bool push(Regex::Inst inst) {
    if (prog_->size() >= Regex::kMaxProgram) {
      fail("pattern too large (over " + std::to_string(Regex::kMaxProgram) + " instructions)");
      return false;
    }
    prog_->push_back(inst);
    return true;
  }

  // Thompson construction: each node becomes a fragment ending at the next pc.
  bool emit(uint32_t id) {
    // Copy what is needed: nodes_ does not change during emission, but stay index-based.
    const Node& n = nodes_[id];
    switch (n.kind) {
      case Node::kEmpty:
        return true;
      case Node::kSet:
        return push({Regex::kClass, 0, n.set, 0});
      case Node::kAssert:
        return push({Regex::kAssert, n.assert_kind, 0, 0});
      case Node::kConcat:
        for (uint32_t k : n.kids) {
          if (!emit(k)) return false;
        }
        return true;
      case Node::kAlt: {
        // split L1, next; L1: a; jmp end; next: split L2, next2; ... last: z; end:
        std::vector<size_t> jumps;
        for (size_t i = 0; i + 1 < n.kids.size(); ++i) {
          const size_t split = pc();
          if (!push({Regex::kSplit, 0, static_cast<uint32_t>(split + 1), 0})) return false;
          if (!emit(n.kids[i])) return false;
          jumps.push_back(pc());
          if (!push({Regex::kJmp, 0, 0, 0})) return false;
          (*prog_)[split].y = static_cast<uint32_t>(pc());
        }
        if (!emit(n.kids.back())) return false;
        for (size_t j : jumps) (*prog_)[j].x = static_cast<uint32_t>(pc());
        return true;
      }
      case Node::kRepeat: {
        const uint32_t kid = n.kids[0];
        const int min = n.min, max = n.max;
        for (int i = 0; i < min; ++i) {
          if (!emit(kid)) return false;
        }
        if (max == -1) {
          // loop: split body, out; body; jmp loop; out:
          const size_t loop = pc();
          if (!push({Regex::kSplit, 0, static_cast<uint32_t>(loop + 1), 0})) return false;
          if (!emit(kid)) return false;
          if (!push({Regex::kJmp, 0, static_cast<uint32_t>(loop), 0})) return false;
          (*prog_)[loop].y = static_cast<uint32_t>(pc());
          return true;
        }
        // Optional copies: split body, end; body; split body, end; body; ... end:
        std::vector<size_t> splits;
        for (int i = min; i < max; ++i) {
          splits.push_back(pc());
          if (!push({Regex::kSplit, 0, static_cast<uint32_t>(pc() + 1), 0})) return false;
          if (!emit(kid)) return false;
        }
        for (size_t s : splits) (*prog_)[s].y = static_cast<uint32_t>(pc());
        return true;
      }
    }
    return true;
  }

  // True when every match must start at offset 0 (the pattern begins with \A, or ^ without
  // `m`): the search then tries position 0 only.
  bool starts_anchored(uint32_t id) const {
    const Node& n = nodes_[id];
    if (n.kind == Node::kAssert) return n.assert_kind == Regex::kBeginText;
    if (n.kind == Node::kConcat && !n.kids.empty()) return starts_anchored(n.kids[0]);
    return false;
  }

  static constexpr uint32_t kNoNode = UINT32_MAX;
  static constexpr int kMaxDepth = 100;
  std::string_view p_;
  int depth_ = 0;
  size_t pos_ = 0;
  RegexFlags flags_;
  std::vector<Node> nodes_;
  std::vector<ByteSet> sets_;
  std::vector<Regex::Inst>* prog_ = nullptr;
  bool failed_ = false;
  Error error_;
};

Result<Regex> Regex::compile(std::string_view pattern, RegexFlags flags) {
  return RegexCompiler(pattern, flags).run();
}

// Sparse sets need arrays as large as the program; they grow once per thread and stay.
void RegexScratch::reserve(size_t program_size) {
  for (auto& l : lists_) {
    if (l.sparse.size() < program_size) {
      l.sparse.resize(program_size);
      l.dense.resize(program_size);
    }
  }
  if (stack_.size() < program_size * 2 + 2) stack_.resize(program_size * 2 + 2);
}

void Regex::compute_first_bytes() {
  // Walk the epsilon closure of the start, taking every assertion as passable (so the set
  // may be larger than needed, never smaller). Reaching kMatch means an empty match is
  // possible: then every position is a candidate and nothing can be skipped.
  std::vector<uint8_t> seen(prog_.size(), 0);
  std::vector<uint32_t> stack{0};
  first_bytes_ = ByteSet{};
  while (!stack.empty()) {
    const uint32_t pc = stack.back();
    stack.pop_back();
    if (seen[pc]) continue;
    seen[pc] = 1;
    const Inst& in = prog_[pc];
    switch (in.op) {
      case kMatch:
        can_skip_ = false;
        return;
      case kClass:
        for (int w = 0; w < 4; ++w) first_bytes_[w] |= classes_[in.x][w];
        break;
      case kJmp:
        stack.push_back(in.x);
        break;
      case kSplit:
        stack.push_back(in.x);
        stack.push_back(in.y);
        break;
      case kAssert:
        stack.push_back(pc + 1);
        break;
    }
  }
  can_skip_ = true;
}

// Zero-width checks at a position, from the bytes on either side of it.
bool Regex::assert_holds(uint8_t kind, std::string_view text, size_t pos) const {
  const size_t n = text.size();
  switch (kind) {
    case kBeginText:
      return pos == 0;
    case kEndText:
      return pos == n;
    case kEndTextOrNewline:
      return pos == n || (pos + 1 == n && text[pos] == '\n');
    case kLineBegin:
      return pos == 0 || text[pos - 1] == '\n';
    case kLineEnd:
      return pos == n || text[pos] == '\n';
    case kWord:
    case kNotWord: {
      const bool before = pos > 0 && is_word_byte(static_cast<unsigned char>(text[pos - 1]));
      const bool after = pos < n && is_word_byte(static_cast<unsigned char>(text[pos]));
      return (before != after) == (kind == kWord);
    }
    default:
      return false;
  }
}

// Adds pc and everything reachable from it without consuming a byte (the epsilon closure)
// to `list`, with an explicit stack: a program's closure is at most its size, and each pc
// enters a list once per position, which also makes empty loops such as (a*)* terminate.
void Regex::add_thread(RegexScratch::List& list, std::vector<uint32_t>& stack, uint32_t pc,
                       std::string_view text, size_t pos) const {
  size_t top = 0;
  stack[top++] = pc;
  while (top > 0) {
    const uint32_t p = stack[--top];
    const uint32_t idx = list.sparse[p];
    if (idx < list.size && list.dense[idx] == p) continue;
    list.sparse[p] = list.size;
    list.dense[list.size++] = p;
    const Inst& in = prog_[p];
    switch (in.op) {
      case kJmp:
        stack[top++] = in.x;
        break;
      case kSplit:
        stack[top++] = in.y;
        stack[top++] = in.x;
        break;
      case kAssert:
        if (assert_holds(in.assert_kind, text, pos)) stack[top++] = p + 1;
        break;
      default:
        break;
    }
  }
}

// The Pike VM: all threads advance together, one byte at a time; a thread is a pc, and a
// pc is in a list at most once, so each step costs at most the program size.
bool Regex::search(std::string_view text, RegexScratch& scratch) const {
  scratch.reserve(prog_.size());
  RegexScratch::List* cur = &scratch.lists_[0];
  RegexScratch::List* next = &scratch.lists_[1];
  cur->size = 0;
  next->size = 0;
  const size_t n = text.size();
  for (size_t i = 0; i <= n; ++i) {
    if (cur->size == 0 && can_skip_ && !anchored_) {
      // Nothing alive: jump to the next byte a match can start with.
      while (i < n && !((first_bytes_[static_cast<unsigned char>(text[i]) >> 6] >>
                         (static_cast<unsigned char>(text[i]) & 63)) &
                        1)) {
        ++i;
      }
      if (i == n) return false;  // a match needs at least one byte
    }
    // Unanchored search: a new thread starts at every position (lowest priority).
    if (!anchored_ || i == 0) add_thread(*cur, scratch.stack_, 0, text, i);
    if (cur->size == 0) return false;
    for (uint32_t k = 0; k < cur->size; ++k) {
      const Inst& in = prog_[cur->dense[k]];
      if (in.op == kMatch) return true;
      if (in.op != kClass || i == n) continue;
      const auto c = static_cast<unsigned char>(text[i]);
      if ((classes_[in.x][c >> 6] >> (c & 63)) & 1) {
        add_thread(*next, scratch.stack_, cur->dense[k] + 1, text, i + 1);
      }
    }
    std::swap(cur, next);
    next->size = 0;
  }
  return false;
}

}  // namespace klaxon::sigma
