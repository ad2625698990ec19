// libFuzzer target for what the incident API and the outbox read (issue 7): matcher lists as
// silences and routes take them (notify::parse_matchers), silence JSON (silence_from_json),
// and stored outbox requests (sinks::decode_request). The first byte picks the parser.
// Invariants, abort() on violation:
//   - parsed matchers print (matchers_to_string) to text that parses to the same matchers;
//   - a silence that decodes encodes to JSON that decodes to the same silence;
//   - a request that decodes encodes to bytes that decode to the same request fields.
#include "fuzz_support.h"
#include "pipeline/notify/matcher.h"
#include "pipeline/notify/silence.h"
#include "pipeline/sinks/request.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace klaxon;

void check_matchers(std::string_view text) {
  auto m = notify::parse_matchers(text);
  if (!m) return;
  const std::string printed = notify::matchers_to_string(*m);
  auto again = notify::parse_matchers(printed);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *m);
}

void check_silence(std::string_view json) {
  auto s = notify::silence_from_json(json);
  if (!s) return;
  auto again = notify::silence_from_json(notify::silence_to_json(*s));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->id == s->id && again->matchers == s->matchers &&
             again->starts_ns == s->starts_ns && again->ends_ns == s->ends_ns &&
             again->created_by == s->created_by && again->comment == s->comment);
}

void check_request(std::string_view bytes) {
  auto r = sinks::decode_request(bytes);
  if (!r) return;
  auto again = sinks::decode_request(sinks::encode_request(*r));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->integration == r->integration && again->body == r->body &&
             again->idempotency_key == r->idempotency_key && again->path == r->path &&
             again->headers == r->headers && again->incident_ids == r->incident_ids &&
             again->rcpt_to == r->rcpt_to && again->kind == r->kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_matchers(input);
      break;
    case 1:
      check_silence(input);
      break;
    default:
      check_request(input);
      break;
  }
  return 0;
}
