// Small helpers to write JSON text into a std::string without intermediate allocations.
// append_json_string() always produces valid JSON: control characters are escaped and bytes
// that are not valid UTF-8 become U+FFFD (the exact bytes are kept elsewhere, base64).
// Free functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace klaxon {

bool is_valid_utf8(std::string_view s);
// Appends "s" quoted and escaped. Invalid UTF-8 sequences become \ufffd.
void append_json_string(std::string& out, std::string_view s);
// Appends "s" quoted, lower-casing ASCII letters (protocol names: ECS wants "tcp").
void append_json_string_lower(std::string& out, std::string_view s);
void append_base64(std::string& out, std::string_view bytes);
void append_hex(std::string& out, const uint8_t* bytes, size_t n);
void append_int(std::string& out, int64_t v);

// Writes one JSON object's members with the commas in the right places.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  void key(std::string_view k) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_.append(k);
    out_.append("\":");
  }
  // A key that may hold any bytes (syslog SD-IDs): escaped like a value.
  void key_escaped(std::string_view k) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_string(out_, k);
    out_.push_back(':');
  }
  void str(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(out_, v);
  }
  void str_if(std::string_view k, std::string_view v) {
    if (!v.empty()) str(k, v);
  }
  void num(std::string_view k, int64_t v) {
    key(k);
    append_int(out_, v);
  }
  void raw(std::string_view k, std::string_view json) {
    key(k);
    out_.append(json);
  }
  void close() { out_.push_back('}'); }

 private:
  std::string& out_;
  bool first_ = true;
};

// Writes `"kafka":{"topic":...,"partition":N,"offset":N}` into w when partition >= 0: where a
// Kafka message was, in alerts and dead letters alike.
void append_kafka_position(JsonObjectWriter& w, std::string& out, std::string_view topic,
                           int32_t partition, int64_t offset);

}  // namespace klaxon
