// libFuzzer target for the whole per-message path and the stored forms it produces:
// MessageParser::parse (pipeline/stages/parse.h) on the input as one padded frame, then the
// alert record (pipeline/core/alert_record.h) and its JSON (alert_json.h); and, since stored
// bytes can be damaged on disk, read_alert_record() and decode_block() (block.h) on the raw
// input itself. Invariants, abort() on violation:
//   - a parsed alert's raw bytes are the frame;
//   - round trip: append_alert_record -> read_alert_record succeeds, encoding the result again
//     gives the same record bytes, and append_alert_json of both is the same bytes;
//   - that JSON is valid JSON (simdjson's DOM parser accepts it) and an object;
//   - any record that read_alert_record() accepts (from the input, or out of a block) round
//     trips the same way; nothing about malformed records or blocks may crash (blocks that
//     declare more than 1 MiB of records are skipped, see declares_huge_block()).
#include "fuzz_support.h"
#include "pipeline/core/alert_json.h"
#include "pipeline/core/alert_record.h"
#include "pipeline/core/block.h"
#include "pipeline/stages/parse.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon {
namespace {

constexpr int64_t kNow = 1'779'271'262'000'000'000LL;  // 2026-05-20, as the unit tests use

// decode_block() allocates and zero-fills a compressed block's declared raw size (up to 1 GiB)
// before it looks at the payload, which slows this target from ~14,000 inputs/s to ~150.
// Blocks that declare more than 1 MiB are left out (header layout in batch.h).
bool declares_huge_block(std::string_view b) {
  if (b.size() < 10 || b[1] != 1) return false;
  uint32_t raw_size = 0;
  for (int i = 0; i < 4; ++i) raw_size |= uint32_t{static_cast<uint8_t>(b[6 + i])} << (8 * i);
  return raw_size > (1u << 20);
}

void check_json(const std::string& json) {
  static simdjson::dom::parser dom;
  const simdjson::padded_string copy(json);
  simdjson::dom::element root;
  const auto error = dom.parse(copy).get(root);
  if (error) {
    std::fprintf(stderr, "alert JSON rejected by simdjson (%s): %s\n",
                 simdjson::error_message(error), json.c_str());
  }
  FUZZ_CHECK(!error);
  FUZZ_CHECK(root.is_object());
}

// Record round trip of an alert that is about to be stored (or was read from storage).
void check_round_trip(const Alert& alert) {
  std::string record;
  append_alert_record(alert, record);
  Alert back;
  FUZZ_CHECK(read_alert_record(record, back));
  std::string again;
  append_alert_record(back, again);
  FUZZ_CHECK(again == record);
  std::string json, json_back;
  append_alert_json(alert, json);
  append_alert_json(back, json_back);
  if (json != json_back) {
    std::fprintf(stderr, "JSON before the record: %s\nJSON after the record:  %s\n", json.c_str(),
                 json_back.c_str());
  }
  FUZZ_CHECK(json == json_back);
  check_json(json);
}

}  // namespace
}  // namespace klaxon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace klaxon;
  static MessageParser parser{ParseOptions{}};  // one per worker in klaxond, reused

  fuzz::PaddedInput in(data, size);
  IngestMeta meta;
  meta.transport = Transport::kTcp;
  meta.peer = "192.0.2.1:51514";
  meta.listener = "syslog_tcp";
  meta.received_ns = kNow;
  Alert alert;
  if (parser.parse(in.view(), meta, kNow, alert).ok()) {
    FUZZ_CHECK(alert.raw.data() == in.view().data() && alert.raw.size() == size);
    check_round_trip(alert);
  }

  // The input as stored bytes.
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  Alert stored;
  if (read_alert_record(raw, stored)) check_round_trip(stored);
  if (!declares_huge_block(raw)) {
    std::string scratch;
    decode_block(raw, scratch, [](std::string_view record) {
      Alert a;
      if (read_alert_record(record, a)) check_round_trip(a);
    });
  }
  return 0;
}
