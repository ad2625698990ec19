// Label matchers in Alertmanager's syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.
//
// A Matcher is an immutable value. Its regex, when it has one, is compiled once when the
// matcher is made and shared by its copies; matching is a const call that any thread may make.
// Regexes are fully anchored (`team=~"db"` does not match "dbadmin") and use std::regex's
// ECMAScript grammar, which accepts what Alertmanager's RE2 accepts in practice (no `(?i)`
// flags, no `\pL` classes). Common shapes skip std::regex: `.+`, and alternations of literals
// (escapes like `\.` allowed), each optionally led and/or followed by `.*` (`db-.*`,
// `ransom.*|wiper.*`, `.*\.internal`, `.*`).
//
// A label an item does not have matches as the empty string, as in Alertmanager: `team=""`
// selects items without a team, `team!=""` those with one.
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/notify/notification.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::notify {

enum class MatchOp : uint8_t { kEqual, kNotEqual, kRegex, kNotRegex };
const char* match_op_text(MatchOp op);  // "=", "!=", "=~", "!~"

class Matcher {
 public:
  // Fails (kInvalidArgument) for an empty label name or a regex that does not compile; the
  // message names the matcher. `name` may be any UTF-8 text (Alertmanager 0.27+ allows it).
  static Result<Matcher> make(std::string name, MatchOp op, std::string value);

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }
  bool is_regex() const { return op_ == MatchOp::kRegex || op_ == MatchOp::kNotRegex; }
  bool is_negative() const { return op_ == MatchOp::kNotEqual || op_ == MatchOp::kNotRegex; }

  bool matches_value(std::string_view v) const;
  bool matches(const Labels& labels) const { return matches_value(label_value(labels, name_)); }

  // `name="value"` as Alertmanager prints it (the name quoted only when it is not a classic
  // Prometheus label name; the value quoted with \" \\ \n escaped).
  std::string to_string() const;

  friend bool operator==(const Matcher& a, const Matcher& b) {
    return a.op_ == b.op_ && a.name_ == b.name_ && a.value_ == b.value_;
  }
  // Alertmanager's order: by name, then operator, then value.
  friend bool operator<(const Matcher& a, const Matcher& b);

 private:
  // kLiteral: value_ itself (= and !=). kLiteralSet: regex `a|b|c`. kPattern: alternatives
  // of the shape [.*]literal[.*] (prefix, suffix, contains, `.*`). kRegex: std::regex.
  enum class Kind : uint8_t { kLiteral, kLiteralSet, kPattern, kNonEmpty, kRegex };
  struct Compiled;

  std::string name_;
  std::string value_;
  MatchOp op_ = MatchOp::kEqual;
  Kind kind_ = Kind::kLiteral;
  std::shared_ptr<const Compiled> compiled_;  // all but kLiteral and kNonEmpty
};

using Matchers = std::vector<Matcher>;

bool matches_all(const Matchers& matchers, const Labels& labels);
// `{a="b", c=~"d"}`, in the order given (sort first for a canonical form).
std::string matchers_to_string(const Matchers& matchers);
// Whether the matchers select an item with no labels at all (a silence must not).
bool matches_empty(const Matchers& matchers);

// A classic Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_classic_label_name(std::string_view name);

// One matcher or a comma-separated list, optionally in braces, as in Alertmanager's
// `matchers:` entries and amtool: `severity="critical"`, `{team=~"db|web", env!=prod}`.
// Names are bare classic names or double-quoted; values double-quoted (escapes \" \\ \n \t)
// or bare words up to the next ',' or '}'. Errors say what was expected and where.
Result<Matchers> parse_matchers(std::string_view text);
// Exactly one matcher.
Result<Matcher> parse_matcher(std::string_view text);

}  // namespace klaxon::notify
