// libFuzzer target for the syslog parsers (pipeline/stages/syslog_parse.h): the input is one
// frame, given to parse_syslog, parse_rfc5424 and parse_rfc3164 in turn, and to parse_rfc3339.
// The frame sits in a padded buffer as in a RawBatch, but the padding is poisoned: these
// parsers take a frame, not a padded one, and must not read past it.
// Invariants, abort() on violation, whatever the outcome:
//   - every string_view in the Alert points inside the frame (event_kind may keep its
//     default "event"); a failure's column is an offset into the frame;
//   - on success the PRI fields are in range (or both -1) and VERSION is 0 or 1..999;
//   - non-empty structured data is validated SD: StructuredDataReader walks all of it, and
//     the elements it yields, written back as `[id name="raw"...]`, are the SD text byte for
//     byte; every backslash in a raw value escapes '"', '\' or ']', and unescape_sd_value()
//     drops exactly those backslashes;
//   - a timestamp formats with append_rfc3339() and parses back to the same nanosecond.
// The options (UTC offset, compliant_msg) are picked from the input's length.
#include "fuzz_support.h"
#include "pipeline/stages/syslog_parse.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon {
namespace {

constexpr int64_t kNow = 1'779'271'262'000'000'000LL;  // 2026-05-20, as the unit tests use
constexpr int32_t kOffsets[4] = {0, 5 * 3600 + 1800, -8 * 3600, 14 * 3600};

void check_timestamp(int64_t ns) {
  std::string text;
  append_rfc3339(ns, text);
  int64_t back = 0;
  size_t consumed = 0;
  FUZZ_CHECK(parse_rfc3339(text, 0, &back, &consumed));
  FUZZ_CHECK(consumed == text.size());
  FUZZ_CHECK(back == ns);
}

void check_structured_data(std::string_view sd) {
  StructuredDataReader reader(sd);
  std::string rebuilt, value;
  std::string_view id, name, raw;
  while (reader.next_element(id)) {
    FUZZ_CHECK(!id.empty());
    rebuilt.append("[").append(id);
    while (reader.next_param(name, raw)) {
      FUZZ_CHECK(!name.empty());
      size_t escapes = 0;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\') continue;
        FUZZ_CHECK(i + 1 < raw.size());
        FUZZ_CHECK(raw[i + 1] == '"' || raw[i + 1] == '\\' || raw[i + 1] == ']');
        ++escapes;
        ++i;
      }
      value.clear();
      unescape_sd_value(raw, value);
      FUZZ_CHECK(value.size() == raw.size() - escapes);
      rebuilt.append(" ").append(name).append("=\"").append(raw).append("\"");
    }
    rebuilt.append("]");
  }
  FUZZ_CHECK(rebuilt == sd);
}

void check(const fuzz::PaddedInput& in, const ParseStatus& s, const Alert& a) {
  fuzz::for_each_view(a, [&](const char* field, std::string_view v) {
    if (std::string_view(field) == "event_kind" && v == "event") return;
    if (!in.contains(v)) {
      std::fprintf(stderr, "Alert::%s points outside the frame\n", field);
      std::abort();
    }
  });
  if (!s.ok()) {
    FUZZ_CHECK(s.column <= in.view().size());
  } else {
    FUZZ_CHECK((a.syslog.facility == -1 && a.syslog.severity == -1) ||
               (a.syslog.facility >= 0 && a.syslog.facility <= 23 && a.syslog.severity >= 0 &&
                a.syslog.severity <= 7));
    FUZZ_CHECK(a.syslog.version >= 0 && a.syslog.version <= 999);
    if (a.syslog.format == SyslogFormat::kRfc5424) FUZZ_CHECK(a.syslog.version >= 1);
  }
  if (!a.syslog.structured_data.empty()) check_structured_data(a.syslog.structured_data);
  if (a.has_timestamp) check_timestamp(a.timestamp_ns);
}

}  // namespace
}  // namespace klaxon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace klaxon;
  fuzz::PaddedInput in(data, size);
  in.poison_padding();
  const std::string_view frame = in.view();

  SyslogParseOptions options;
  options.now_ns = kNow;
  options.default_utc_offset_s = kOffsets[size % 4];
  options.compliant_msg = (size / 4) % 2 == 0;

  Alert alert;
  ParseStatus s = parse_syslog(frame, options, alert);
  check(in, s, alert);
  if (s.ok()) {
    FUZZ_CHECK(alert.syslog.format == SyslogFormat::kRfc5424 ||
               alert.syslog.format == SyslogFormat::kRfc3164);
  }

  alert = Alert{};
  s = parse_rfc5424(frame, options, alert);
  check(in, s, alert);
  if (s.ok()) FUZZ_CHECK(alert.syslog.format == SyslogFormat::kRfc5424);

  alert = Alert{};
  s = parse_rfc3164(frame, options, alert);
  check(in, s, alert);
  // RFC 3164 never rejects a non-empty message (after trimming; a bad "<PRI>" aside).
  if (!s.ok()) FUZZ_CHECK(s.reason == RejectReason::kEmpty || s.reason == RejectReason::kBadPri);

  int64_t ns = 0;
  size_t consumed = 0;
  if (parse_rfc3339(frame, options.default_utc_offset_s, &ns, &consumed)) {
    FUZZ_CHECK(consumed <= frame.size());
    check_timestamp(ns);
  }
  return 0;
}
