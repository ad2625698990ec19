#include "pipeline/core/incident.h"

#include "pipeline/core/json_writer.h"
#include "pipeline/core/sha256.h"
#include "pipeline/stages/syslog_parse.h"

#include <simdjson.h>

#include <cstring>

namespace klaxon {
namespace {

// Little-endian writer and bounds-checked reader for the binary encodings.
void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
void put_bytes(std::string& out, const uint8_t* p, size_t n) {
  out.append(reinterpret_cast<const char*>(p), n);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t* v) {
    if (pos_ + 1 > in_.size()) return false;
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool u32(uint32_t* v) {
    if (pos_ + 4 > in_.size()) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t* v) {
    if (pos_ + 8 > in_.size()) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return true;
  }
  bool i64(int64_t* v) {
    uint64_t u = 0;
    if (!u64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool str(std::string* s) {
    uint32_t n = 0;
    if (!u32(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool bytes(uint8_t* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

constexpr uint8_t kEventVersion = 1;
constexpr uint8_t kIncidentVersion = 1;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_time(JsonObjectWriter& w, std::string& out, std::string_view key, int64_t ns) {
  w.key(key);
  out.push_back('"');
  append_rfc3339(ns, out);
  out.push_back('"');
}

Sha256& thread_sha() {
  // One EVP context per thread, for the life of the thread.
  thread_local Sha256 sha;
  return sha;
}

// True when `s` is one well-formed JSON object (stored data may have been tampered with; an
// export must stay valid JSON whatever it holds).
bool is_json_object(std::string_view s) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return false;
  thread_local simdjson::dom::parser parser;
  return !parser.parse(s.data(), s.size()).error();
}

}  // namespace

bool IncidentId::is_nil() const {
  for (uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string IncidentId::to_string() const {
  std::string out;
  out.reserve(36);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

Result<IncidentId> IncidentId::parse(std::string_view text) {
  IncidentId id;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    const int v = hex_value(text[i]);
    if (v < 0 || n >= 32) break;
    id.bytes[n / 2] = static_cast<uint8_t>(id.bytes[n / 2] | (n % 2 == 0 ? v << 4 : v));
    ++n;
  }
  if (n != 32 || text.size() != 36) {
    return make_error(ErrorCode::kInvalidArgument,
                      "incident id: expected a UUID like 0f8e...-....-4...-....-............, "
                      "got '" +
                          std::string(text.substr(0, 64)) + "'");
  }
  return id;
}

IncidentId make_incident_id(const std::array<uint8_t, 16>& secret, uint64_t opener_seq,
                            uint32_t origin) {
  std::string in("klaxon.incident_id.v1");
  put_bytes(in, secret.data(), secret.size());
  put_u64(in, opener_seq);
  put_u32(in, origin);
  const Hash256 h = thread_sha().digest(in);
  IncidentId id;
  std::memcpy(id.bytes.data(), h.data(), 16);
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0F) | 0x40);  // version 4
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return id;
}

const char* incident_status_name(IncidentStatus s) {
  switch (s) {
    case IncidentStatus::kOpen:
      return "open";
    case IncidentStatus::kAcknowledged:
      return "acknowledged";
    case IncidentStatus::kResolved:
      return "resolved";
    case IncidentStatus::kClosed:
      return "closed";
  }
  return "unknown";
}

bool parse_incident_status(std::string_view name, IncidentStatus* out) {
  for (int i = 0; i < kIncidentStatusCount; ++i) {
    const auto s = static_cast<IncidentStatus>(i);
    if (name == incident_status_name(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

const char* incident_event_type_name(IncidentEventType t) {
  switch (t) {
    case IncidentEventType::kCreated:
      return "created";
    case IncidentEventType::kAlertLinked:
      return "alert_linked";
    case IncidentEventType::kSeverityChanged:
      return "severity_changed";
    case IncidentEventType::kEnriched:
      return "enriched";
    case IncidentEventType::kNotificationQueued:
      return "notification_queued";
    case IncidentEventType::kNotificationDelivered:
      return "notification_delivered";
    case IncidentEventType::kNotificationFailed:
      return "notification_failed";
    case IncidentEventType::kAcknowledged:
      return "acknowledged";
    case IncidentEventType::kEscalated:
      return "escalated";
    case IncidentEventType::kNoteAdded:
      return "note_added";
    case IncidentEventType::kResolved:
      return "resolved";
    case IncidentEventType::kClosed:
      return "closed";
    case IncidentEventType::kReopened:
      return "reopened";
    case IncidentEventType::kAssigned:
      return "assigned";
    case IncidentEventType::kFlapping:
      return "flapping";
    case IncidentEventType::kNotificationSuppressed:
      return "notification_suppressed";
  }
  return "unknown";
}

bool known_incident_event_type(uint8_t v) { return v >= 1 && v <= 16; }

const char* observable_kind_name(ObservableKind k) {
  switch (k) {
    case ObservableKind::kSourceIp:
      return "source.ip";
    case ObservableKind::kDestinationIp:
      return "destination.ip";
    case ObservableKind::kHost:
      return "host.name";
    case ObservableKind::kUser:
      return "user.name";
    case ObservableKind::kRule:
      return "rule.name";
  }
  return "unknown";
}

std::string incident_event_key(const IncidentId& id, uint64_t seq) {
  std::string k(reinterpret_cast<const char*>(id.bytes.data()), 16);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (8 * i)) & 0xFF));
  return k;
}

bool parse_incident_event_key(std::string_view key, IncidentId* id, uint64_t* seq) {
  if (key.size() != kIncidentKeySize) return false;
  std::memcpy(id->bytes.data(), key.data(), 16);
  *seq = 0;
  for (size_t i = 16; i < 24; ++i) *seq = (*seq << 8) | static_cast<uint8_t>(key[i]);
  return true;
}

namespace {
// The bytes before the hash: everything the hash covers except the domain and the id.
void encode_event_body(const IncidentEvent& e, std::string& out) {
  put_u8(out, kEventVersion);
  put_u8(out, static_cast<uint8_t>(e.type));
  put_u64(out, e.seq);
  put_u64(out, static_cast<uint64_t>(e.time_ns));
  put_str(out, e.actor);
  put_str(out, e.data);
  put_bytes(out, e.prev_hash.data(), e.prev_hash.size());
}

Hash256 hash_body(const IncidentId& id, std::string_view body) {
  std::string in;
  in.reserve(kIncidentEventDomain.size() + 16 + body.size());
  in.append(kIncidentEventDomain);
  put_bytes(in, id.bytes.data(), id.bytes.size());
  in.append(body);
  return thread_sha().digest(in);
}
}  // namespace

std::string seal_incident_event(IncidentEvent& event) {
  std::string value;
  value.reserve(64 + event.actor.size() + event.data.size() + 64);
  encode_event_body(event, value);
  event.hash = hash_body(event.incident, value);
  put_bytes(value, event.hash.data(), event.hash.size());
  return value;
}

bool compute_incident_event_hash(const IncidentId& id, std::string_view value, Hash256* out) {
  if (value.size() < 32) return false;
  *out = hash_body(id, value.substr(0, value.size() - 32));
  return true;
}

Result<IncidentEvent> decode_incident_event(const IncidentId& id, std::string_view value) {
  IncidentEvent e;
  e.incident = id;
  Reader r(value);
  uint8_t version = 0, type = 0;
  uint64_t seq = 0;
  if (!r.u8(&version) || version != kEventVersion || !r.u8(&type) ||
      !known_incident_event_type(type) || !r.u64(&seq) || !r.i64(&e.time_ns) || !r.str(&e.actor) ||
      !r.str(&e.data) || !r.bytes(e.prev_hash.data(), 32) || !r.bytes(e.hash.data(), 32) ||
      !r.done()) {
    return make_error(ErrorCode::kParse, "malformed incident event value at byte " +
                                             std::to_string(r.pos()) + " of " +
                                             std::to_string(value.size()));
  }
  e.type = static_cast<IncidentEventType>(type);
  e.seq = seq;
  return e;
}

bool Incident::add_observable(ObservableKind kind, std::string_view value) {
  if (value.empty()) return false;
  size_t of_kind = 0;
  for (const Observable& o : observables) {
    if (o.kind != kind) continue;
    if (o.value == value) return false;
    ++of_kind;
  }
  if (of_kind >= kMaxObservablesPerKind) {
    ++observables_dropped;
    return false;
  }
  observables.push_back(Observable{kind, std::string(value)});
  return true;
}

std::string encode_incident(const Incident& in) {
  std::string out;
  out.reserve(256 + in.title.size() + in.observables.size() * 24);
  put_u8(out, kIncidentVersion);
  put_u8(out, static_cast<uint8_t>(in.status));
  put_u8(out, static_cast<uint8_t>(in.severity));
  put_u8(out, in.flapping ? 1 : 0);
  put_bytes(out, in.id.bytes.data(), 16);
  put_u64(out, in.group_hash);
  put_u64(out, static_cast<uint64_t>(in.created_ns));
  put_u64(out, static_cast<uint64_t>(in.first_seen_ns));
  put_u64(out, static_cast<uint64_t>(in.last_seen_ns));
  put_u64(out, in.first_alert_seq);
  put_u64(out, in.last_alert_seq);
  put_u64(out, in.alert_count);
  put_u64(out, in.occurrences);
  put_u32(out, in.reopen_count);
  put_u64(out, static_cast<uint64_t>(in.status_changed_ns));
  put_u64(out, in.next_event_seq);
  put_bytes(out, in.head_hash.data(), 32);
  put_str(out, in.title);
  put_str(out, in.category);
  put_str(out, in.rule);
  put_str(out, in.assignee);
  put_u64(out, in.observables_dropped);
  put_u32(out, static_cast<uint32_t>(in.observables.size()));
  for (const Observable& o : in.observables) {
    put_u8(out, static_cast<uint8_t>(o.kind));
    put_str(out, o.value);
  }
  return out;
}

Result<Incident> decode_incident(std::string_view value) {
  Incident in;
  Reader r(value);
  uint8_t version = 0, status = 0, severity = 0, flapping = 0;
  uint64_t created = 0, first = 0, last = 0, changed = 0;
  uint32_t n_obs = 0;
  bool ok = r.u8(&version) && version == kIncidentVersion && r.u8(&status) &&
            status < kIncidentStatusCount && r.u8(&severity) && severity <= 4 && r.u8(&flapping) &&
            r.bytes(in.id.bytes.data(), 16) && r.u64(&in.group_hash) && r.u64(&created) &&
            r.u64(&first) && r.u64(&last) && r.u64(&in.first_alert_seq) &&
            r.u64(&in.last_alert_seq) && r.u64(&in.alert_count) && r.u64(&in.occurrences) &&
            r.u32(&in.reopen_count) && r.u64(&changed) && r.u64(&in.next_event_seq) &&
            r.bytes(in.head_hash.data(), 32) && r.str(&in.title) && r.str(&in.category) &&
            r.str(&in.rule) && r.str(&in.assignee) && r.u64(&in.observables_dropped) &&
            r.u32(&n_obs);
  for (uint32_t i = 0; ok && i < n_obs; ++i) {
    uint8_t kind = 0;
    Observable o{};
    ok = r.u8(&kind) && kind < kObservableKindCount && r.str(&o.value);
    o.kind = static_cast<ObservableKind>(kind);
    if (ok) in.observables.push_back(std::move(o));
  }
  if (!ok || !r.done()) {
    return make_error(ErrorCode::kParse,
                      "malformed incident record at byte " + std::to_string(r.pos()));
  }
  in.status = static_cast<IncidentStatus>(status);
  in.severity = static_cast<Severity>(severity);
  in.flapping = flapping != 0;
  in.created_ns = static_cast<int64_t>(created);
  in.first_seen_ns = static_cast<int64_t>(first);
  in.last_seen_ns = static_cast<int64_t>(last);
  in.status_changed_ns = static_cast<int64_t>(changed);
  return in;
}

std::string hash_hex(const Hash256& h) {
  std::string out;
  append_hex(out, h.data(), h.size());
  return out;
}

std::string incident_json(const Incident& in) {
  std::string out;
  JsonObjectWriter w(out);
  w.str("id", in.id.to_string());
  w.str("title", in.title);
  w.str("category", in.category);
  w.str("severity", severity_name(in.severity));
  w.str("status", incident_status_name(in.status));
  if (in.flapping) w.raw("flapping", "true");
  w.str_if("rule", in.rule);
  w.str_if("assignee", in.assignee);
  append_time(w, out, "created", in.created_ns);
  append_time(w, out, "first_seen", in.first_seen_ns);
  append_time(w, out, "last_seen", in.last_seen_ns);
  w.num("first_alert", static_cast<int64_t>(in.first_alert_seq));
  w.num("last_alert", static_cast<int64_t>(in.last_alert_seq));
  w.num("alert_count", static_cast<int64_t>(in.alert_count));
  w.num("occurrences", static_cast<int64_t>(in.occurrences));
  if (in.reopen_count) w.num("reopen_count", in.reopen_count);
  w.key("observables");
  {
    JsonObjectWriter obs(out);
    for (int k = 0; k < kObservableKindCount; ++k) {
      const auto kind = static_cast<ObservableKind>(k);
      bool any = false;
      for (const Observable& o : in.observables) {
        if (o.kind != kind) continue;
        if (!any) {
          obs.key(observable_kind_name(kind));
          out.push_back('[');
        } else {
          out.push_back(',');
        }
        any = true;
        append_json_string(out, o.value);
      }
      if (any) out.push_back(']');
    }
    obs.close();
  }
  if (in.observables_dropped)
    w.num("observables_dropped", static_cast<int64_t>(in.observables_dropped));
  w.num("events", static_cast<int64_t>(in.next_event_seq));
  w.str("head_hash", hash_hex(in.head_hash));
  w.close();
  return out;
}

std::string incident_event_json(const IncidentEvent& e) {
  std::string out;
  JsonObjectWriter w(out);
  w.str("incident", e.incident.to_string());
  w.num("seq", static_cast<int64_t>(e.seq));
  w.str("type", incident_event_type_name(e.type));
  append_time(w, out, "time", e.time_ns);
  w.str("actor", e.actor);
  // data is JSON this process wrote; a stored value that is not JSON is shown as a string.
  if (is_json_object(e.data))
    w.raw("data", e.data);
  else
    w.str("data", e.data);
  w.str("prev_hash", hash_hex(e.prev_hash));
  w.str("hash", hash_hex(e.hash));
  w.close();
  return out;
}

}  // namespace klaxon
