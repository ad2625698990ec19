// The `|re` modifier's regular expressions, matched in time linear in the text.
//
// std::regex backtracks (a hostile field value can make it run for minutes, and it recurses
// per character, so long values overflow the stack), and Sigma's `re` only asks whether a
// pattern occurs, never for captures. So patterns compile into a Thompson NFA and are run
// as a Pike VM over bytes: at most (text bytes x program size) steps, no recursion, no
// allocation per match once the per-thread RegexScratch has grown to the largest program.
//
// Supported (the PCRE/Python subset Sigma rules use): literals and escapes (\n \r \t \f \v
// \0 \xHH \uHHHH, escaped punctuation), `.`, classes with ranges, negation, \d \w \s and
// their negations, POSIX [:alpha:]-style names inside classes; groups ( ), (?: ), named
// groups (?P<n> ) and (?<n> ) (no captures are reported); alternation; * + ? {n} {n,}
// {n,m} (m <= 1000) and their lazy forms (laziness cannot change whether a match exists);
// anchors ^ $ \A \z \Z, word boundaries \b \B; flags i, m, s as (?ims), (?i:...) or from
// the modifier (`|re|i`). Matching is by bytes: `.` is one byte and case folding is ASCII.
// Rejected at load with the reason: backreferences, lookaround, atomic groups, possessive
// quantifiers, \p{..}, \Q..\E, (?x), non-ASCII bytes inside a class, programs over
// kMaxProgram instructions.
//
// Threads: a compiled Regex is immutable and shared; each thread passes its own scratch.
#pragma once

#include "pipeline/core/result.h"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

struct RegexFlags {
  bool icase = false;      // `i`: ASCII case-insensitive
  bool multiline = false;  // `m`: ^ and $ also match at line breaks
  bool dotall = false;     // `s`: . also matches \n
};

// Per-thread state of the Pike VM; grows once to the largest program it has run.
class RegexScratch {
 public:
  RegexScratch() = default;

 private:
  friend class Regex;
  struct List {
    std::vector<uint32_t> dense;
    std::vector<uint32_t> sparse;
    uint32_t size = 0;
  };
  void reserve(size_t program_size);
  List lists_[2];
  std::vector<uint32_t> stack_;
};

class Regex {
 public:
  static constexpr size_t kMaxProgram = 20000;  // instructions, after expanding {n,m}
  static constexpr int kMaxRepeat = 1000;

  // kInvalidArgument with what is wrong and where (byte offset) in the pattern.
  static Result<Regex> compile(std::string_view pattern, RegexFlags flags);

  // Whether the pattern matches anywhere in `text` (Python re.search / PCRE unanchored).
  bool search(std::string_view text, RegexScratch& scratch) const;
  size_t program_size() const { return prog_.size(); }

 private:
  friend class RegexCompiler;
  enum Op : uint8_t { kClass, kSplit, kJmp, kMatch, kAssert };
  // ^ and $ compile to the line forms under `m`, else to the text forms ($ also before a final
  // \n, as in PCRE and Python).
  enum Assert : uint8_t {
    kBeginText,
    kEndText,
    kEndTextOrNewline,
    kLineBegin,
    kLineEnd,
    kWord,
    kNotWord
  };
  struct Inst {
    Op op;
    uint8_t assert_kind;
    uint32_t x;  // class index, jump target, or the first branch of a split
    uint32_t y;  // the second branch of a split
  };
  using ByteSet = std::array<uint64_t, 4>;

  void add_thread(RegexScratch::List& list, std::vector<uint32_t>& stack, uint32_t pc,
                  std::string_view text, size_t pos) const;
  bool assert_holds(uint8_t kind, std::string_view text, size_t pos) const;
  void compute_first_bytes();

  std::vector<Inst> prog_;
  std::vector<ByteSet> classes_;
  bool anchored_ = false;
  // The bytes a match can start with, when it cannot be empty: while no thread is alive the
  // search skips to the next such byte instead of stepping the VM over every position.
  bool can_skip_ = false;
  ByteSet first_bytes_{};  // the program starts with \A or ^ (without m): try position 0 only
};

}  // namespace klaxon::sigma
