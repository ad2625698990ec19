// Incident and IncidentEvent: what correlation turns alerts into, and the evidence trail an
// auditor reads (ARCHITECTURE.md "Main types", "Storage").
//
// An incident's history is an append-only list of IncidentEvents, numbered 0, 1, 2, ... Every
// event carries prev_hash (the hash of the event before it, zeros for event 0) and
//     hash = SHA-256( "klaxon.incident_event.v1" || incident id (16 bytes) || body )
// where body is the event's stored value up to and including prev_hash (layout below). The
// id is in the hash so that an event copied into another incident breaks that chain. The
// stored value *is* the canonical encoding: verification hashes the bytes it reads, so there
// is no second encoder that could disagree with the first.
//
// Stored event value, version 1 (little-endian):
//   u8 version (1) | u8 type | u64 seq | i64 time_ns | u32 len, actor | u32 len, data (JSON)
//   | 32 bytes prev_hash | 32 bytes hash
// key (column family incident_events) = incident id (16 bytes) || big-endian u64 seq, so one
// incident's events are adjacent and in order.
//
// Incident is the current state, derived from the events (the `incidents` family is a
// rebuildable index, not evidence). Its binary encoding is below encode_incident().
//
// Value types; no shared state. Encoding/decoding functions may run on any thread.
#pragma once

#include "pipeline/core/alert.h"
#include "pipeline/core/result.h"

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klaxon {

using Hash256 = std::array<uint8_t, 32>;

// A UUID (RFC 9562 layout). Ids made by correlation are version 4 in form: 122 bits derived
// from the instance secret and the alert that opened the incident (make_incident_id), so that
// replaying the alert log after a crash re-derives the same id instead of opening a twin.
struct IncidentId {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const IncidentId&, const IncidentId&) = default;
  friend auto operator<=>(const IncidentId&, const IncidentId&) = default;
  bool is_nil() const;
  std::string to_string() const;  // 8-4-4-4-12 lowercase hex
  static Result<IncidentId> parse(std::string_view text);
};

// The instance secret keeps ids unguessable from outside; `opener_seq` is the sequence of the
// alert that opened the incident; `origin` separates ids opened by grouping (0) from those
// raised by a correlation rule (1 + rule index) at the same alert.
IncidentId make_incident_id(const std::array<uint8_t, 16>& secret, uint64_t opener_seq,
                            uint32_t origin);

enum class IncidentStatus : uint8_t { kOpen = 0, kAcknowledged, kResolved, kClosed };
inline constexpr int kIncidentStatusCount = 4;
const char* incident_status_name(IncidentStatus s);
bool parse_incident_status(std::string_view name, IncidentStatus* out);

// Event types: values are stored, append only, never renumber.
enum class IncidentEventType : uint8_t {
  kCreated = 1,
  kAlertLinked = 2,
  kSeverityChanged = 3,
  kEnriched = 4,
  kNotificationQueued = 5,
  kNotificationDelivered = 6,
  kNotificationFailed = 7,
  kAcknowledged = 8,
  kEscalated = 9,
  kNoteAdded = 10,
  kResolved = 11,
  kClosed = 12,
  kReopened = 13,
  kAssigned = 14,
  kFlapping = 15,
  kNotificationSuppressed = 16,  // silenced or inhibited: recorded with the reason
};
const char* incident_event_type_name(IncidentEventType t);
bool known_incident_event_type(uint8_t v);

struct IncidentEvent {
  IncidentId incident;
  uint64_t seq = 0;
  IncidentEventType type = IncidentEventType::kCreated;
  int64_t time_ns = 0;
  std::string actor;  // "correlate", "user:alice", "sink:pagerduty"
  std::string data;   // a JSON object with the type's details
  Hash256 prev_hash{};
  Hash256 hash{};
};

inline constexpr std::string_view kIncidentEventDomain = "klaxon.incident_event.v1";
inline constexpr size_t kIncidentKeySize = 24;

std::string incident_event_key(const IncidentId& id, uint64_t seq);
// Splits a key; false when it is not 24 bytes.
bool parse_incident_event_key(std::string_view key, IncidentId* id, uint64_t* seq);

// Computes event.hash from the other fields and returns the stored value.
std::string seal_incident_event(IncidentEvent& event);
// Decodes a stored value (no hash check). kParse on a malformed value.
Result<IncidentEvent> decode_incident_event(const IncidentId& id, std::string_view value);
// The hash the value's bytes (up to prev_hash) imply for incident `id`; false when malformed.
bool compute_incident_event_hash(const IncidentId& id, std::string_view value, Hash256* out);

// Observables collected from linked alerts (they drive enrichment and routing later).
enum class ObservableKind : uint8_t { kSourceIp = 0, kDestinationIp, kHost, kUser, kRule };
inline constexpr int kObservableKindCount = 5;
const char* observable_kind_name(ObservableKind k);
struct Observable {
  ObservableKind kind;
  std::string value;
  friend bool operator==(const Observable&, const Observable&) = default;
};
// At most this many distinct values are kept per kind (the rest are counted, not stored).
inline constexpr size_t kMaxObservablesPerKind = 32;

struct Incident {
  IncidentId id;
  std::string title;
  std::string category;
  Severity severity = Severity::kInfo;
  IncidentStatus status = IncidentStatus::kOpen;
  bool flapping = false;
  uint64_t group_hash = 0;  // the correlation group it belongs to (shard routing uses it)
  std::string rule;         // the correlation rule that raised it, empty for grouping
  int64_t created_ns = 0;
  int64_t first_seen_ns = 0;  // event time of the earliest alert
  int64_t last_seen_ns = 0;   // event time of the latest alert
  uint64_t first_alert_seq = 0;
  uint64_t last_alert_seq = 0;  // the highest alert sequence linked (replay idempotency)
  uint64_t alert_count = 0;     // distinct alerts linked (dedupe misses)
  uint64_t occurrences = 0;     // every alert including duplicates
  uint32_t reopen_count = 0;
  int64_t status_changed_ns = 0;
  std::string assignee;
  std::vector<Observable> observables;
  uint64_t observables_dropped = 0;
  uint64_t next_event_seq = 0;  // events so far
  Hash256 head_hash{};          // hash of the last event

  // Adds `value` under `kind` unless present or that kind is full. True when added.
  bool add_observable(ObservableKind kind, std::string_view value);
};

std::string encode_incident(const Incident& incident);
Result<Incident> decode_incident(std::string_view value);

// What a correlation shard hands the incident writer: events and incident states, already
// encoded, and the alert sequence the shard has processed up to. Written as one WriteBatch,
// so that the covered sequence never runs ahead of the events it implies.
struct IncidentCommit {
  uint32_t shard = 0;
  uint64_t covered_seq = 0;  // every alert routed to this shard with seq <= this is reflected
  std::vector<std::pair<std::string, std::string>> events;     // key, sealed value
  std::vector<std::pair<std::string, std::string>> incidents;  // 16-byte id, encoded state
  std::vector<std::pair<std::string, std::string>> meta;       // checkpoints (meta family)
  int64_t oldest_enqueued_ns = 0;                              // monotonic, for latency
  // Run by the incident writer once this commit is durable (answers to API operations).
  std::vector<std::function<void()>> on_durable;
};

// JSON renderings for klaxonctl and the API.
std::string incident_json(const Incident& incident);
std::string incident_event_json(const IncidentEvent& event);
std::string hash_hex(const Hash256& h);

}  // namespace klaxon
