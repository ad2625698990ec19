#include "pipeline/stages/sigma/engine.h"

namespace klaxon::sigma {

Result<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<const RuleSet> rules,
                                               EngineOptions options) {
  if (rules == nullptr) return make_error(ErrorCode::kInvalidArgument, "sigma: no rule set");
  KLAXON_TRY(options.correlator.validate());
  if (options.max_chain_depth < 0 || options.max_chain_depth > 64) {
    return make_error(ErrorCode::kInvalidArgument, "max_chain_depth: expected 0 to 64");
  }
  return std::unique_ptr<Engine>(new Engine(std::move(rules), options));
}

Engine::Engine(std::shared_ptr<const RuleSet> rules, const EngineOptions& options)
    : options_(options),
      detector_(rules, options.detector),
      correlator_(std::move(rules), options.correlator) {}

// The sequence the daemon splits across threads: detect and build updates (parse worker),
// apply them (the shard owning each key_hash), follow chains (firings become updates).
void Engine::process(const FieldSource& event, std::optional<int64_t> time_ns, Output& out) {
  out.detections.clear();
  out.firings.clear();
  detector_.detect(event, scratch_, out.matched);
  for (uint32_t r : out.matched) {
    if (detector_.emitted(r)) out.detections.push_back(r);
  }
  // Nothing to correlate: skip the time lookup and key building.
  if (out.matched.empty() || rules().correlations().empty()) return;
  if (!time_ns) time_ns = detector_.event_time(event, scratch_);
  updates_.clear();
  detector_.build_updates(event, scratch_, out.matched, time_ns, updates_);
  correlator_.apply(updates_, out.firings);
  // Chaining: firings feed the correlations that refer to their rule, level by level.
  size_t from = 0;
  for (int depth = 0; depth < options_.max_chain_depth && from < out.firings.size(); ++depth) {
    chained_.clear();
    const size_t end = out.firings.size();
    for (size_t i = from; i < end; ++i) build_chained_updates(rules(), out.firings[i], chained_);
    from = end;
    correlator_.apply(chained_, out.firings);
  }
}

}  // namespace klaxon::sigma
