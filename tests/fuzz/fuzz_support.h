// Helpers shared by the libFuzzer targets in this folder (README.md): the padded input copy
// every parser expects, an invariant check that aborts, and a walk over an Alert's views.
// Header-only, so each target stays one translation unit plus the library.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/batch.h"

#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

// An invariant broke: say which one and abort(), so that libFuzzer records the input as a
// crash (assert() would vanish under NDEBUG).
#define FUZZ_CHECK(cond)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace klaxon::fuzz {

// The fuzz input copied into its own heap block with exactly kParsePadding bytes after it, as
// a RawBatch buffer has. The padding repeats the input, as the next frames of a batch would:
// a parser must not care what is there. ASan reports any read past the padding.
class PaddedInput {
 public:
  PaddedInput(const uint8_t* data, size_t size)
      : size_(size), buf_(new char[size + kParsePadding]) {
    if (size > 0) std::memcpy(buf_.get(), data, size);
    for (size_t i = 0; i < kParsePadding; ++i) {
      buf_[size + i] = size > 0 ? static_cast<char>(data[i % size]) : '\0';
    }
  }
  ~PaddedInput() { ASAN_UNPOISON_MEMORY_REGION(buf_.get() + size_, kParsePadding); }
  PaddedInput(const PaddedInput&) = delete;
  PaddedInput& operator=(const PaddedInput&) = delete;

  std::string_view view() const { return std::string_view(buf_.get(), size_); }

  // For parsers that promise never to read past the frame (the syslog parsers): the padding
  // stays allocated but any read of it is reported.
  void poison_padding() { ASAN_POISON_MEMORY_REGION(buf_.get() + size_, kParsePadding); }

  // v lies within the input (not its padding). Empty views point anywhere.
  bool contains(std::string_view v) const {
    if (v.empty()) return true;
    const char* b = buf_.get();
    return v.data() >= b && v.data() <= b + size_ && v.size() <= size_ - (v.data() - b);
  }
  // v overlaps the padding, or straddles the input's end: a view no parser may produce.
  bool touches_padding(std::string_view v) const {
    if (v.empty()) return false;
    const char* end = buf_.get() + size_;
    const char* pad_end = end + kParsePadding;
    return v.data() < pad_end && v.data() + v.size() > end;
  }

 private:
  size_t size_;
  std::unique_ptr<char[]> buf_;
};

// Calls fn(name, view) for every string_view member of an Alert.
template <typename Fn>
void for_each_view(const Alert& a, Fn&& fn) {
  fn("message", a.message);
  fn("syslog.hostname", a.syslog.hostname);
  fn("syslog.appname", a.syslog.appname);
  fn("syslog.procid", a.syslog.procid);
  fn("syslog.msgid", a.syslog.msgid);
  fn("syslog.structured_data", a.syslog.structured_data);
  fn("event_kind", a.event_kind);
  fn("event_module", a.event_module);
  fn("event_dataset", a.event_dataset);
  fn("event_action", a.event_action);
  fn("event_category", a.event_category);
  fn("rule_id", a.rule_id);
  fn("rule_name", a.rule_name);
  fn("rule_category", a.rule_category);
  fn("host_name", a.host_name);
  fn("source_ip", a.source_ip);
  fn("destination_ip", a.destination_ip);
  fn("network_transport", a.network_transport);
  fn("network_protocol", a.network_protocol);
  fn("network_community_id", a.network_community_id);
  fn("user_name", a.user_name);
  fn("observer_vendor", a.observer_vendor);
  fn("observer_product", a.observer_product);
  fn("observer_name", a.observer_name);
  fn("observer_type", a.observer_type);
  fn("raw", a.raw);
  fn("ingest.peer", a.ingest.peer);
  fn("ingest.listener", a.ingest.listener);
  fn("ingest.tls_subject", a.ingest.tls_subject);
  fn("ingest.tls_fingerprint", a.ingest.tls_fingerprint);
  fn("ingest.kafka_topic", a.ingest.kafka_topic);
}

}  // namespace klaxon::fuzz
