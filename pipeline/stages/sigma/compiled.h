// The flat form detection rules are compiled into at load time (internal to the sigma
// folder: rules.cc writes it, detector.cc reads it).
//
// A rule's condition is a tree of Nodes whose leaves are Selections; a Selection is an OR of
// Groups (a list of maps), a Group an AND of FieldTests (one map), a FieldTest an OR (or, with
// `|all`, an AND) of Values on one field. Everything lives in a few vectors indexed by
// uint32, so evaluating a rule walks contiguous memory and allocates nothing.
//
// Threads: written once by the loader, then only read (shared by every parse worker).
#pragma once

#include "pipeline/stages/sigma/regex.h"
#include "pipeline/stages/sigma/rules.h"
#include "pipeline/stages/sigma/text_match.h"

#include <cstdint>
#include <string>
#include <vector>

namespace klaxon::sigma::detail {

// What one value of a field test checks.
enum class ValueOp : uint8_t {
  kString,     // Glob (wildcards, contains/startswith/endswith, cased or not)
  kRegex,      // `|re`
  kCidr,       // `|cidr`
  kLt,         // `|lt` and friends: the field read as a number
  kLte,        //
  kGt,         //
  kGte,        //
  kNull,       // `field: null`: the field is absent (or JSON null)
  kExists,     // `|exists: true`
  kNotExists,  // `|exists: false`
  kFieldRef,   // `|fieldref`: equal to another field of the same event
};

struct Value {
  ValueOp op = ValueOp::kString;
  uint32_t index = 0;  // into Program::globs / regexes / cidrs, or the FieldId of kFieldRef
  double number = 0;   // kLt..kGte
};

struct FieldTest {
  FieldId field = kNoField;
  bool all = false;               // `|all`: every value must match, else any
  uint32_t first = 0, count = 0;  // Program::values
};

struct Group {
  uint32_t first = 0, count = 0;  // Program::tests, ANDed
};

struct Selection {
  std::string name;
  uint32_t first = 0, count = 0;  // Program::groups, ORed
};

struct Node {
  enum Kind : uint8_t { kSelection, kAnd, kOr, kNot, kAtLeast } kind = kSelection;
  uint32_t arg = 0;               // kSelection: selection index; kAtLeast: N of "N of x*"
  uint32_t first = 0, count = 0;  // Program::children
};

struct RuleCode {
  uint32_t root = 0;  // Program::nodes
};

struct Program {
  std::vector<Value> values;
  std::vector<FieldTest> tests;
  std::vector<Group> groups;
  std::vector<Selection> selections;
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<Glob> globs;
  std::vector<Regex> regexes;
  std::vector<Cidr> cidrs;
  std::vector<RuleCode> rules;  // one per base rule, same index
  size_t max_regex_program = 0;
};

}  // namespace klaxon::sigma::detail
