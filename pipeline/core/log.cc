#include "pipeline/core/log.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/stages/syslog_parse.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace klaxon {
namespace {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mu;

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void append_logfmt_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) plain = false;
  }
  if (plain) {
    out.append(v);
  } else {
    append_json_string(out, v);  // quoted, escaped: logfmt readers accept JSON-style quoting
  }
}
}  // namespace

void log_configure(LogLevel min_level, bool json) {
  g_min_level.store(static_cast<int>(min_level));
  g_json.store(json);
}

bool parse_log_level(std::string_view w, LogLevel* out) {
  if (w == "debug")
    *out = LogLevel::kDebug;
  else if (w == "info")
    *out = LogLevel::kInfo;
  else if (w == "warn" || w == "warning")
    *out = LogLevel::kWarn;
  else if (w == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

void log_event(LogLevel level, std::string_view component, std::string_view msg,
               std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(256);
  std::string ts;
  append_rfc3339(wall_ns(), ts);
  if (g_json.load(std::memory_order_relaxed)) {
    JsonObjectWriter w(line);
    w.str("ts", ts);
    w.str("level", level_name(level));
    w.str("component", component);
    w.str("msg", msg);
    for (const auto& [k, v] : fields) w.str(k, v);
    w.close();
  } else {
    line.append("ts=").append(ts).append(" level=").append(level_name(level));
    line.append(" component=").append(component).append(" msg=");
    append_logfmt_value(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line.append(k).push_back('=');
      append_logfmt_value(line, v);
    }
  }
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace klaxon
