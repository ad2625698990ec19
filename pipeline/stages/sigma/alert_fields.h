// AlertFieldSource: Sigma rules reading klaxon's normalized Alert by ECS field names.
//
// The field names of a RuleSet are resolved once, at construction, to Alert members (a
// switch per read, no string comparison per event). Names an Alert does not carry are
// reported by unresolved() so that a rule load can warn about rules that can never see their
// fields; reading them yields "absent". Absent follows the parsers: a default-constructed
// string_view (data() == nullptr), a negative port or severity; "" is present and empty.
//
// Owner and threads: one per parse worker (it holds the current alert and number buffers).
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/stages/sigma/detector.h"
#include "pipeline/stages/sigma/rules.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace klaxon::sigma {

class AlertFieldSource final : public FieldSource {
 public:
  explicit AlertFieldSource(const RuleSet& rules);

  // The alert the next Detector calls read; it must outlive them.
  void set(const Alert& alert) { alert_ = &alert; }
  std::optional<std::string_view> get(FieldId id, std::string_view name) const override;

  // Rule field names with no Alert counterpart.
  const std::vector<std::string>& unresolved() const { return unresolved_; }
  // The names this source understands ("source.ip", ...), for documentation and errors.
  static std::vector<std::string_view> known_fields();

 private:
  enum class Accessor : uint8_t;
  std::vector<Accessor> accessors_;
  std::vector<std::string> unresolved_;
  const Alert* alert_ = nullptr;
  // Numbers are formatted on demand into one buffer per numeric field, so views stay valid
  // for the whole Detector call.
  mutable std::array<std::array<char, 24>, 6> numbers_{};
};

}  // namespace klaxon::sigma
