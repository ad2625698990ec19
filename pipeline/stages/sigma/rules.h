// Sigma rules as klaxon runs them: base (detection) rules compiled into a flat matcher
// program, correlation rules resolved against them, and the table of event fields they read.
//
// load_rules() parses YAML text holding any number of documents (`---`): Sigma detection
// rules (sigma-rules-specification.md) and correlation rules
// (sigma-correlation-rules-specification.md v2.1.0, plus the rsigma window extensions
// `window: sliding|tumbling|session` and `gap`). Everything that can be decided at load time
// is: wildcards become literal segments, modifiers become one matcher operation per value,
// regular expressions become NFA programs, field names become dense FieldIds, and references
// between rules become indices. Errors are values naming the document, the rule, the key
// and what was expected; nothing throws across this API.
//
// Owner and threads: a RuleSet is immutable once loaded. Share it (std::shared_ptr<const
// RuleSet>) between the parse workers (Detector) and the shard threads (Correlator); a reload
// builds a new one.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/result.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

// Dense index of an event field name in RuleSet::fields().
using FieldId = uint32_t;
inline constexpr FieldId kNoField = UINT32_MAX;

// What a field is read for (bits of FieldInfo::roles).
enum FieldRole : uint8_t {
  kRoleDetection = 1,  // a detection rule tests it (the parse worker reads it)
  kRoleGroupBy = 2,    // a correlation groups by it (read by the parse worker, for the key)
  kRoleValue = 4,      // a value_* correlation aggregates it
  kRoleTimestamp = 8,  // one of LoadOptions::timestamp_fields
};

struct FieldInfo {
  std::string name;  // as written in the rules, e.g. "CommandLine", "source.ip"
  uint8_t roles = 0;
};

// Rule metadata shared by both kinds.
struct RuleMeta {
  std::string title;
  std::string id;    // may be empty
  std::string name;  // may be empty
  Severity level = Severity::kMedium;
  bool has_level = false;  // `level` was given
  uint32_t document = 0;   // 1-based position in the loaded text
};

enum class CorrelationType : uint8_t {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
  kValuePercentile,
};
const char* correlation_type_name(CorrelationType t);

enum class WindowMode : uint8_t {
  kSliding,   // default: the window ends at the group's latest event time
  kTumbling,  // buckets [k*timespan, (k+1)*timespan) of event time
  kSession,   // extends while events are at most `gap` apart, capped at `timespan` overall
};

enum class MatchAction : uint8_t {
  kContinue,  // default: keep the window; fire again on every event while the condition holds
  kReset,     // clear the group's window after a firing
};

// A correlation condition: every given bound must hold (a range is `gt` + `lte`).
struct Threshold {
  std::optional<double> gt, gte, lt, lte, eq, neq;
  bool check(double v) const;
  bool empty() const { return !gt && !gte && !lt && !lte && !eq && !neq; }
};

// A node of a temporal correlation's boolean condition ("rule-a and not rule-b"); leaves
// are positions in CorrelationRule::rules.
struct RefExpr {
  enum Kind : uint8_t { kRef, kAnd, kOr, kNot } kind = kRef;
  uint32_t ref = 0;                // kRef
  std::vector<uint32_t> children;  // indices into CorrelationRule::expression
};

struct CorrelationRule {
  RuleMeta meta;
  CorrelationType type = CorrelationType::kEventCount;
  // The referenced rules as written (ids or names), and what they resolved to.
  std::vector<std::string> rules;
  struct Ref {
    bool is_correlation = false;
    uint32_t index = 0;  // into RuleSet::base_rules() or RuleSet::correlations()
  };
  std::vector<Ref> refs;
  std::vector<std::string> group_by;
  // group_fields[r][g]: the event field read for group_by[g] when rules[r] matched (`aliases`
  // applied; without aliases every row is the group-by fields themselves).
  std::vector<std::vector<FieldId>> group_fields;
  bool uniform_group_fields = true;  // all rows equal (no alias changes anything)
  // value_count: the fields whose (tuple of) values are counted; value_*: one numeric field.
  std::vector<std::string> value_fields;
  std::vector<FieldId> value_field_ids;
  int64_t timespan_ns = 0;
  WindowMode window = WindowMode::kSliding;
  int64_t gap_ns = 0;  // session windows
  Threshold threshold;
  // value_percentile: which percentile is compared (condition key `percentile`, an rsigma
  // extension; the spec names the type but not its parameter). Default 50 (the median).
  double percentile = 50;
  // temporal / temporal_ordered: an optional boolean condition over the rule references
  // (rsigma "extended temporal"); root is expression.back().
  std::vector<RefExpr> expression;
  bool generate = false;
  // Per-rule overrides of CorrelatorOptions, from the custom attributes
  // `klaxon.suppress` / `rsigma.suppress` (a timespan), `klaxon.action` / `rsigma.action`
  // (continue|reset) and `klaxon.max_group_entries` / `rsigma.max_group_entries`.
  std::optional<int64_t> suppress_ns;
  std::optional<MatchAction> action;
  std::optional<uint64_t> max_group_entries;
};

struct BaseRule {
  RuleMeta meta;
  std::vector<std::string> tags;
};

namespace detail {
struct Program;  // the compiled detection program (compiled.h)
}

struct LoadOptions {
  // Names the text in error messages ("rules.yml").
  std::string source_name = "sigma rules";
  // The field keyword searches (a selection that is a list of plain strings) look into. ECS
  // puts the original text in `message`.
  std::string keyword_field = "message";
  // Fields the engine may read an event's time from, first present wins (Detector::
  // event_time()); klaxon's parse stage already knows the time, so none by default.
  std::vector<std::string> timestamp_fields;
};

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::vector<BaseRule>& base_rules() const { return base_; }
  const std::vector<CorrelationRule>& correlations() const { return correlations_; }
  // Every field any rule reads, with what it is read for. The caller resolves these names
  // to its event representation once (e.g. AlertFieldSource), not per event.
  const std::vector<FieldInfo>& fields() const { return fields_; }
  FieldId find_field(std::string_view name) const;
  const std::vector<FieldId>& timestamp_fields() const { return timestamp_fields_; }

  // For base rule i: the (correlation, position in its `rules`) pairs that reference it.
  struct Use {
    uint32_t correlation;
    uint32_t position;
  };
  const std::vector<Use>& uses_of_base(uint32_t rule) const { return base_uses_[rule]; }
  const std::vector<Use>& uses_of_correlation(uint32_t c) const { return corr_uses_[c]; }

  // Index of the rule with this id or name, if any.
  std::optional<uint32_t> find_base_rule(std::string_view id_or_name) const;
  std::optional<uint32_t> find_correlation(std::string_view id_or_name) const;

  const detail::Program& program() const { return *program_; }

 private:
  friend class RuleLoader;
  RuleSet();

  std::vector<BaseRule> base_;
  std::vector<CorrelationRule> correlations_;
  std::vector<FieldInfo> fields_;
  std::vector<FieldId> timestamp_fields_;
  std::vector<std::vector<Use>> base_uses_;
  std::vector<std::vector<Use>> corr_uses_;
  std::unique_ptr<detail::Program> program_;
};

// Parses and compiles every document of `yaml`. The first error stops the load and is
// returned as kInvalidArgument (or kParse for YAML syntax), e.g.
//   rules.yml document 2 (rule "Multiple Whoami"): correlation.timespan: expected a
//   duration such as 30s, 5m, 1h or 2d, got "soon"
Result<std::shared_ptr<const RuleSet>> load_rules(std::string_view yaml,
                                                  const LoadOptions& options = {});

// "30s", "5m", "1h", "2d" (also "1w", "500ms") -> nanoseconds; nullopt when malformed.
std::optional<int64_t> parse_timespan(std::string_view text);

}  // namespace klaxon::sigma
