// libFuzzer target for JsonMapper (pipeline/stages/json_map.h): the input is one JSON body in
// a padded buffer (the padding repeats the input, as the next frames of a batch would).
// Invariants, abort() on violation:
//   - no string_view in the Alert touches the padding or straddles the body's end: each one
//     is inside the body (unescaped strings) or outside it altogether (the parser's buffer);
//   - the mapper claims full validation, so what it accepts simdjson's DOM parser accepts
//     too, and as an object;
//   - map() on the same mapper twice gives the same verdict (no state leaks between calls).
#include "fuzz_support.h"
#include "pipeline/stages/json_map.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace klaxon;
  static JsonMapper mapper;  // one per worker thread in klaxond, reused across messages
  static simdjson::dom::parser dom;

  fuzz::PaddedInput in(data, size);
  Alert alert;
  const ParseStatus s = mapper.map(in.view(), alert);
  fuzz::for_each_view(alert, [&](const char* field, std::string_view v) {
    if (in.touches_padding(v)) {
      std::fprintf(stderr, "Alert::%s reaches past the end of the body\n", field);
      std::abort();
    }
  });
  if (s.ok()) {
    FUZZ_CHECK(alert.body_is_json);
    simdjson::dom::element root;
    const simdjson::padded_string copy(in.view());
    const auto error = dom.parse(copy).get(root);
    if (error) std::fprintf(stderr, "simdjson DOM: %s\n", simdjson::error_message(error));
    FUZZ_CHECK(!error);
    FUZZ_CHECK(root.is_object());
  }
  Alert again;
  FUZZ_CHECK(mapper.map(in.view(), again).ok() == s.ok());
  return 0;
}
