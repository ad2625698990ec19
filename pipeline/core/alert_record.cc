#include "pipeline/core/alert_record.h"

#include <cstring>

namespace klaxon {
namespace {

// Version 2 added the TLS client identity (two string fields); version 3 the Kafka topic
// (one string field) and, after the strings, i32 partition and i64 offset.
// Version 4 widened the syslog VERSION to u16 (RFC 5424 allows up to 999; found by fuzzing).
constexpr uint8_t kRecordVersion = 4;
constexpr size_t kFieldsAddedInV2 = 2;
constexpr size_t kFieldsAddedInV3 = 1;
enum : uint8_t { kHasTimestamp = 1, kBodyJson = 2, kHasBom = 4 };

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 are little-endian; see the layout note
  out.append(b, sizeof(T));
}

void put_varint(std::string& out, uint64_t v) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out.append(b, static_cast<size_t>(n));
}

struct Reader {
  std::string_view in;
  size_t pos = 0;
  bool ok = true;

  template <typename T>
  T get() {
    T v{};
    if (in.size() - pos < sizeof(T)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, in.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) break;
      const auto b = static_cast<uint8_t>(in[pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string_view bytes(uint64_t n) {
    if (n > in.size() - pos) {
      ok = false;
      return {};
    }
    const std::string_view s = in.substr(pos, static_cast<size_t>(n));
    pos += static_cast<size_t>(n);
    return s;
  }
};

}  // namespace

void append_alert_record(const Alert& a, std::string& out) {
  out.push_back(static_cast<char>(kRecordVersion));
  out.push_back(static_cast<char>((a.has_timestamp ? kHasTimestamp : 0) |
                                  (a.body_is_json ? kBodyJson : 0) |
                                  (a.syslog.has_bom ? kHasBom : 0)));
  out.push_back(static_cast<char>(a.severity));
  out.push_back(static_cast<char>(a.ingest.transport));
  out.push_back(static_cast<char>(a.syslog.format));
  put<int64_t>(out, a.timestamp_ns);
  put<int64_t>(out, a.ingest.received_ns);
  put<int64_t>(out, a.event_severity);
  put<int16_t>(out, static_cast<int16_t>(a.syslog.facility));
  put<int16_t>(out, static_cast<int16_t>(a.syslog.severity));
  put<uint16_t>(out, static_cast<uint16_t>(a.syslog.version));
  put<int32_t>(out, a.source_port);
  put<int32_t>(out, a.destination_port);
  out.append(reinterpret_cast<const char*>(a.raw_sha256.data()), a.raw_sha256.size());
  put_varint(out, a.raw.size());
  out.append(a.raw);
  const char* raw_begin = a.raw.data();
  const char* raw_end = raw_begin + a.raw.size();
  for (const std::string_view* f : alert_string_fields(a)) {
    const char* p = f->data();
    if (!f->empty() && p >= raw_begin && p + f->size() <= raw_end) {
      put_varint(out, (static_cast<uint64_t>(f->size()) << 1) | 1);
      put_varint(out, static_cast<uint64_t>(p - raw_begin));
    } else {
      put_varint(out, static_cast<uint64_t>(f->size()) << 1);
      out.append(*f);
    }
  }
  put<int32_t>(out, a.ingest.kafka_partition);
  put<int64_t>(out, a.ingest.kafka_offset);
}

bool read_alert_record(std::string_view record, Alert& a) {
  a = Alert{};
  Reader r{record};
  const auto version = r.get<uint8_t>();
  if (version < 1 || version > kRecordVersion) return false;
  const auto flags = r.get<uint8_t>();
  const auto severity = r.get<uint8_t>();
  const auto transport = r.get<uint8_t>();
  const auto format = r.get<uint8_t>();
  if (severity > static_cast<uint8_t>(Severity::kCritical) ||
      transport > static_cast<uint8_t>(Transport::kStdin) ||
      format > static_cast<uint8_t>(SyslogFormat::kRfc3164)) {
    return false;
  }
  a.has_timestamp = flags & kHasTimestamp;
  a.body_is_json = flags & kBodyJson;
  a.syslog.has_bom = flags & kHasBom;
  a.severity = static_cast<Severity>(severity);
  a.ingest.transport = static_cast<Transport>(transport);
  a.syslog.format = static_cast<SyslogFormat>(format);
  a.timestamp_ns = r.get<int64_t>();
  a.ingest.received_ns = r.get<int64_t>();
  a.event_severity = r.get<int64_t>();
  a.syslog.facility = r.get<int16_t>();
  a.syslog.severity = r.get<int16_t>();
  a.syslog.version = version >= 4 ? r.get<uint16_t>() : r.get<uint8_t>();
  a.source_port = r.get<int32_t>();
  a.destination_port = r.get<int32_t>();
  const std::string_view sha = r.bytes(32);
  if (!r.ok) return false;
  std::memcpy(a.raw_sha256.data(), sha.data(), 32);
  a.raw = r.bytes(r.varint());
  auto fields = alert_string_fields(a);
  size_t present = fields.size();
  if (version < 3) present -= kFieldsAddedInV3;
  if (version < 2) present -= kFieldsAddedInV2;
  for (size_t i = 0; i < present; ++i) {
    std::string_view* f = fields[i];
    const uint64_t head = r.varint();
    const uint64_t len = head >> 1;
    if (head & 1) {
      const uint64_t off = r.varint();
      if (off > a.raw.size() || len > a.raw.size() - off) return false;
      *f = a.raw.substr(static_cast<size_t>(off), static_cast<size_t>(len));
    } else {
      *f = r.bytes(len);
    }
    if (!r.ok) return false;
  }
  if (version >= 3) {
    a.ingest.kafka_partition = r.get<int32_t>();
    a.ingest.kafka_offset = r.get<int64_t>();
  }
  return r.ok && r.pos == record.size();
}

}  // namespace klaxon
