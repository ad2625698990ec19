#include "pipeline/notify/notification.h"

#include <algorithm>

namespace klaxon::notify {

std::string_view label_value(const Labels& labels, std::string_view name) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const auto& l, std::string_view n) { return l.first < n; });
  return it != labels.end() && it->first == name ? std::string_view(it->second)
                                                 : std::string_view();
}

const char* notify_kind_name(NotifyKind k) {
  switch (k) {
    case NotifyKind::kTrigger:
      return "trigger";
    case NotifyKind::kUpdate:
      return "update";
    case NotifyKind::kRepeat:
      return "repeat";
    case NotifyKind::kEscalation:
      return "escalation";
    case NotifyKind::kAcknowledge:
      return "acknowledge";
    case NotifyKind::kResolve:
      return "resolve";
    case NotifyKind::kClose:
      return "close";
    case NotifyKind::kReportDeadline:
      return "report_deadline";
  }
  return "unknown";
}

}  // namespace klaxon::notify
