#include "pipeline/core/alert_record.h"

#include <cstring>

namespace klaxon {
namespace {

// Version 2 added the TLS client identity (two string fields); version 3 the Kafka topic
// (one string field) and, after the strings, i32 partition and i64 offset.
// Version 4 widened the syslog VERSION to u16 (RFC 5424 allows up to 999; found by fuzzing).
// Version 5 added nine observable fields (file, URL, process) and, at the end, u8 input format,
// varint labels_dropped, varint label count and the labels (key and value as string fields).
constexpr uint8_t kRecordVersion = 5;
constexpr size_t kFieldsAddedInV2 = 2;
constexpr size_t kFieldsAddedInV3 = 1;
constexpr size_t kFieldsAddedInV5 = 9;
enum : uint8_t { kHasTimestamp = 1, kBodyJson = 2, kHasBom = 4 };

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

namespace {

// Writes into memory sized beforehand: one resize per record instead of a capacity check per
// field (80-odd varints a record).
struct Out {
  char* p;
  template <typename T>
  void put(T v) {
    std::memcpy(p, &v, sizeof(T));  // little-endian; see the layout note
    p += sizeof(T);
  }
  void byte(uint8_t b) { *p++ = static_cast<char>(b); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
  }
  void bytes(std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

}  // namespace

void append_alert_record(const Alert& a, std::string& out) {
  const char* raw_begin = a.raw.data();
  const char* raw_end = raw_begin + a.raw.size();
  auto in_raw = [&](std::string_view f) {
    return !f.empty() && f.data() >= raw_begin && f.data() + f.size() <= raw_end;
  };
  // The most the record can take: fixed part, raw, and per string 20 bytes of varints plus
  // its bytes when it is stored inline.
  const auto fields = alert_string_fields(a);
  size_t bound = 128 + a.raw.size() + 20 * (fields.size() + 2 * a.label_count);
  for (const std::string_view* f : fields)
    if (!in_raw(*f)) bound += f->size();
  for (size_t i = 0; i < a.label_count; ++i) {
    if (!in_raw(a.labels[i].key)) bound += a.labels[i].key.size();
    if (!in_raw(a.labels[i].value)) bound += a.labels[i].value.size();
  }
  const size_t start = out.size();
  out.resize(start + bound);
  Out o{out.data() + start};
  o.byte(kRecordVersion);
  o.byte((a.has_timestamp ? kHasTimestamp : 0) | (a.body_is_json ? kBodyJson : 0) |
         (a.syslog.has_bom ? kHasBom : 0));
  o.byte(static_cast<uint8_t>(a.severity));
  o.byte(static_cast<uint8_t>(a.ingest.transport));
  o.byte(static_cast<uint8_t>(a.syslog.format));
  o.put<int64_t>(a.timestamp_ns);
  o.put<int64_t>(a.ingest.received_ns);
  o.put<int64_t>(a.event_severity);
  o.put<int16_t>(static_cast<int16_t>(a.syslog.facility));
  o.put<int16_t>(static_cast<int16_t>(a.syslog.severity));
  o.put<uint16_t>(static_cast<uint16_t>(a.syslog.version));
  o.put<int32_t>(a.source_port);
  o.put<int32_t>(a.destination_port);
  o.bytes(std::string_view(reinterpret_cast<const char*>(a.raw_sha256.data()), 32));
  o.varint(a.raw.size());
  o.bytes(a.raw);
  auto put_string = [&](std::string_view f) {
    if (in_raw(f)) {
      o.varint((static_cast<uint64_t>(f.size()) << 1) | 1);
      o.varint(static_cast<uint64_t>(f.data() - raw_begin));
    } else {
      o.varint(static_cast<uint64_t>(f.size()) << 1);
      o.bytes(f);
    }
  };
  for (const std::string_view* f : fields) put_string(*f);
  o.put<int32_t>(a.ingest.kafka_partition);
  o.put<int64_t>(a.ingest.kafka_offset);
  o.byte(static_cast<uint8_t>(a.format));
  o.varint(a.labels_dropped);
  o.varint(a.label_count);
  for (size_t i = 0; i < a.label_count; ++i) {
    put_string(a.labels[i].key);
    put_string(a.labels[i].value);
  }
  out.resize(static_cast<size_t>(o.p - out.data()));
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
  auto get_string = [&](std::string_view& f) {
    const uint64_t head = r.varint();
    const uint64_t len = head >> 1;
    if (head & 1) {
      const uint64_t off = r.varint();
      if (off > a.raw.size() || len > a.raw.size() - off) return false;
      f = a.raw.substr(static_cast<size_t>(off), static_cast<size_t>(len));
    } else {
      f = r.bytes(len);
    }
    return r.ok;
  };
  auto fields = alert_string_fields(a);
  size_t present = fields.size();
  if (version < 5) present -= kFieldsAddedInV5;
  if (version < 3) present -= kFieldsAddedInV3;
  if (version < 2) present -= kFieldsAddedInV2;
  for (size_t i = 0; i < present; ++i) {
    if (!get_string(*fields[i])) return false;
  }
  if (version >= 3) {
    a.ingest.kafka_partition = r.get<int32_t>();
    a.ingest.kafka_offset = r.get<int64_t>();
  }
  if (version >= 5) {
    const auto input_format = r.get<uint8_t>();
    if (input_format >= kInputFormatCount) return false;
    a.format = static_cast<InputFormat>(input_format);
    const uint64_t dropped = r.varint();
    const uint64_t count = r.varint();
    if (!r.ok || count > kMaxAlertLabels || dropped > UINT16_MAX) return false;
    a.labels_dropped = static_cast<uint16_t>(dropped);
    for (uint64_t i = 0; i < count; ++i) {
      AlertLabel& l = a.labels[a.label_count++];
      if (!get_string(l.key) || !get_string(l.value)) return false;
    }
  } else {
    a.format = a.body_is_json ? InputFormat::kJson : InputFormat::kSyslog;
  }
  return r.ok && r.pos == record.size();
}

}  // namespace klaxon
