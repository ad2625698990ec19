// Sigma detection and correlation in one object, for one thread: what the tests, the
// conformance suite and any single-threaded caller use. The daemon instead runs the two
// halves on different threads (Detector on parse workers, one Correlator per shard, with
// CorrelationUpdates routed by key_hash in between); Engine::process() shows the sequence.
//
// Owner and threads: an Engine belongs to one thread (its Correlator is stateful).
#pragma once

#include "pipeline/core/result.h"
#include "pipeline/stages/sigma/correlator.h"
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/rules.h"

#include <memory>
#include <optional>
#include <vector>

namespace klaxon::sigma {

struct EngineOptions {
  DetectorOptions detector;
  CorrelatorOptions correlator;
  // Correlations of correlations are followed this many levels per event (a loop is
  // rejected at load; this only bounds the work of one event).
  int max_chain_depth = 8;
};

class Engine {
 public:
  // kInvalidArgument when the options are out of range.
  static Result<std::unique_ptr<Engine>> create(std::shared_ptr<const RuleSet> rules,
                                                EngineOptions options = {});

  struct Output {
    std::vector<uint32_t> matched;     // every base rule the event matched
    std::vector<uint32_t> detections;  // those reported as detections (Detector::emitted)
    std::vector<Firing> firings;       // correlation firings, chained ones after their cause
  };

  // One event. time_ns nullopt: the time is read from LoadOptions::timestamp_fields, and
  // without one the correlator's TimestampFallback applies. `out` is cleared first.
  void process(const FieldSource& event, std::optional<int64_t> time_ns, Output& out);

  const RuleSet& rules() const { return detector_.rules(); }
  const Detector& detector() const { return detector_; }
  Correlator& correlator() { return correlator_; }
  const Correlator& correlator() const { return correlator_; }

 private:
  Engine(std::shared_ptr<const RuleSet> rules, const EngineOptions& options);

  EngineOptions options_;
  Detector detector_;
  Correlator correlator_;
  DetectScratch scratch_;
  UpdateBatch updates_;
  UpdateBatch chained_;
};

}  // namespace klaxon::sigma
