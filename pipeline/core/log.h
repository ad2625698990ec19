// Structured logging to stderr, logfmt (default) or JSON lines, with levels.
// journald and `klaxond 2>file` both keep one event per line. Any thread; a mutex keeps lines
// whole (logging is off the hot path: per connection, per error, per reload).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace klaxon {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void log_configure(LogLevel min_level, bool json);
bool parse_log_level(std::string_view word, LogLevel* out);

using LogField = std::pair<std::string_view, std::string>;
void log_event(LogLevel level, std::string_view component, std::string_view msg,
               std::initializer_list<LogField> fields = {});

}  // namespace klaxon
