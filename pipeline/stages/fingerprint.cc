#include "pipeline/stages/fingerprint.h"

#include "pipeline/core/json_writer.h"

#include <xxhash.h>

#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace klaxon {
namespace {

struct FieldName {
  FingerprintField field;
  const char* name;
};

// Indexed by the enum value (checked below).
constexpr std::array<FieldName, kFingerprintFieldCount> kFieldNames{{
    {FingerprintField::kEventModule, "event.module"},
    {FingerprintField::kObserverProduct, "observer.product"},
    {FingerprintField::kEventDataset, "event.dataset"},
    {FingerprintField::kEventAction, "event.action"},
    {FingerprintField::kRuleId, "rule.id"},
    {FingerprintField::kRuleName, "rule.name"},
    {FingerprintField::kRuleCategory, "rule.category"},
    {FingerprintField::kHostName, "host.name"},
    {FingerprintField::kSyslogHostname, "log.syslog.hostname"},
    {FingerprintField::kSyslogAppname, "log.syslog.appname"},
    {FingerprintField::kSourceIp, "source.ip"},
    {FingerprintField::kSourcePort, "source.port"},
    {FingerprintField::kDestinationIp, "destination.ip"},
    {FingerprintField::kDestinationPort, "destination.port"},
    {FingerprintField::kUserName, "user.name"},
    {FingerprintField::kNetworkCommunityId, "network.community_id"},
    {FingerprintField::kMessage, "message"},
}};

constexpr bool names_in_enum_order() {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (static_cast<size_t>(kFieldNames[i].field) != i) return false;
  }
  return true;
}
static_assert(names_in_enum_order());

// The streaming state for keys longer than the stack buffer: one per thread, created on first
// use, so compute() stays const, thread-safe and allocation-free after warm-up.
XXH3_state_t* thread_hash_state() {
  struct Holder {
    XXH3_state_t* state = XXH3_createState();
    ~Holder() { XXH3_freeState(state); }
  };
  thread_local Holder holder;
  KLAXON_CHECK(holder.state != nullptr);
  return holder.state;
}

// Collects the encoding in a stack buffer and hashes it in one call (XXH3's fast path for
// short inputs); switches to XXH3's streaming API, which yields the same hash for the same
// bytes, when the encoding outgrows the buffer.
class HashSink {
 public:
  explicit HashSink(uint64_t seed) : seed_(seed) {}

  void put(const void* data, size_t n) {
    if (state_ == nullptr) {
      if (n <= buf_.size() - used_) {
        std::memcpy(buf_.data() + used_, data, n);
        used_ += n;
        return;
      }
      state_ = thread_hash_state();
      KLAXON_CHECK(XXH3_128bits_reset_withSeed(state_, seed_) == XXH_OK);
      KLAXON_CHECK(XXH3_128bits_update(state_, buf_.data(), used_) == XXH_OK);
    }
    KLAXON_CHECK(XXH3_128bits_update(state_, data, n) == XXH_OK);
  }

  void absent(FingerprintField f) { header(f, false, 0); }

  // Present value: tag, 1, u32 LE length, bytes.
  void present(FingerprintField f, const void* data, size_t n) {
    KLAXON_CHECK(n <= std::numeric_limits<uint32_t>::max());  // frames are far smaller
    header(f, true, static_cast<uint32_t>(n));
    if (n != 0) put(data, n);
  }

  void text(FingerprintField f, std::string_view v) {
    if (v.data() == nullptr) {
      absent(f);
    } else {
      present(f, v.data(), v.size());
    }
  }

  void port(FingerprintField f, int32_t p) {
    if (p < 0) {
      absent(f);
      return;
    }
    const uint32_t u = static_cast<uint32_t>(p);
    const uint8_t b[4] = {static_cast<uint8_t>(u), static_cast<uint8_t>(u >> 8),
                          static_cast<uint8_t>(u >> 16), static_cast<uint8_t>(u >> 24)};
    header(f, true, sizeof b);
    if (state_ == nullptr && buf_.size() - used_ >= sizeof b) {
      for (uint8_t c : b) buf_[used_++] = c;  // direct, as in header()
    } else {
      put(b, sizeof b);
    }
  }

  Fingerprint finish() {
    const XXH128_hash_t h = state_ != nullptr ? XXH3_128bits_digest(state_)
                                              : XXH3_128bits_withSeed(buf_.data(), used_, seed_);
    return Fingerprint{h.low64, h.high64};
  }

 private:
  static uint8_t tag(FingerprintField f) { return static_cast<uint8_t>(static_cast<int>(f) + 1); }

  // Written byte by byte straight into the buffer: assembling it in a small array first and
  // copying that makes the copy's wide load wait for the narrow stores (a store-forwarding
  // stall that cost more than the hash itself).
  void header(FingerprintField f, bool present, uint32_t len) {
    if (state_ == nullptr && buf_.size() - used_ >= 6) {
      uint8_t* d = buf_.data() + used_;
      d[0] = tag(f);
      d[1] = present ? 1 : 0;
      if (!present) {
        used_ += 2;
        return;
      }
      d[2] = static_cast<uint8_t>(len);
      d[3] = static_cast<uint8_t>(len >> 8);
      d[4] = static_cast<uint8_t>(len >> 16);
      d[5] = static_cast<uint8_t>(len >> 24);
      used_ += 6;
      return;
    }
    const uint8_t h[6] = {tag(f),
                          static_cast<uint8_t>(present ? 1 : 0),
                          static_cast<uint8_t>(len),
                          static_cast<uint8_t>(len >> 8),
                          static_cast<uint8_t>(len >> 16),
                          static_cast<uint8_t>(len >> 24)};
    put(h, present ? 6 : 2);
  }

  uint64_t seed_;
  XXH3_state_t* state_ = nullptr;
  size_t used_ = 0;
  std::array<uint8_t, 1024> buf_;  // not zeroed: only [0, used_) is read
};

// A field with a fallback: the first non-empty of the two; when both are empty, a present ""
// (primary first) before an absent one, so that absent and "" stay apart.
std::string_view either(std::string_view primary, std::string_view fallback) {
  if (!primary.empty()) return primary;
  if (!fallback.empty()) return fallback;
  return primary.data() != nullptr ? primary : fallback;
}

}  // namespace

const char* fingerprint_field_name(FingerprintField f) {
  const auto i = static_cast<size_t>(f);
  return i < kFieldNames.size() ? kFieldNames[i].name : "?";
}

Result<FingerprintField> parse_fingerprint_field(std::string_view name) {
  for (const FieldName& f : kFieldNames) {
    if (name == f.name) return f.field;
  }
  std::string expected;
  for (const FieldName& f : kFieldNames) {
    if (!expected.empty()) expected += ", ";
    expected += f.name;
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown fingerprint field '" + std::string(name) +
                                                     "' (expected one of: " + expected + ")");
}

std::string to_hex(const Fingerprint& f) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kDigits[(f.hi >> (4 * i)) & 0xf];
    out[31 - i] = kDigits[(f.lo >> (4 * i)) & 0xf];
  }
  return out;
}

const std::vector<FingerprintField>& FingerprintKey::default_fields() {
  static const std::vector<FingerprintField> kDefault{
      FingerprintField::kEventModule, FingerprintField::kRuleId,        FingerprintField::kHostName,
      FingerprintField::kSourceIp,    FingerprintField::kDestinationIp, FingerprintField::kUserName,
  };
  return kDefault;
}

FingerprintKey::FingerprintKey() : fields_(default_fields()) {}

FingerprintKey::FingerprintKey(std::vector<FingerprintField> fields, uint64_t seed)
    : fields_(std::move(fields)), seed_(seed) {
  KLAXON_CHECK(!fields_.empty());
  uint32_t seen = 0;
  for (FingerprintField f : fields_) {
    const auto i = static_cast<uint32_t>(f);
    KLAXON_CHECK(i < kFingerprintFieldCount);
    KLAXON_CHECK((seen & (1u << i)) == 0);
    seen |= 1u << i;
  }
}

Result<FingerprintKey> FingerprintKey::parse(const std::vector<std::string>& names, uint64_t seed) {
  if (names.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the fingerprint key names no fields (expected at least one)");
  }
  std::vector<FingerprintField> fields;
  fields.reserve(names.size());
  for (const std::string& name : names) {
    Result<FingerprintField> f = parse_fingerprint_field(name);
    if (!f) return f.error();
    for (FingerprintField prev : fields) {
      if (prev == *f) {
        return make_error(ErrorCode::kInvalidArgument,
                          "fingerprint field '" + name + "' is listed twice");
      }
    }
    fields.push_back(*f);
  }
  return FingerprintKey(std::move(fields), seed);
}

namespace {
// The text of one field, as compute() sees it; ports set *port instead (-1 when absent).
std::string_view field_text(const Alert& a, FingerprintField f, int32_t* port) {
  *port = -1;
  switch (f) {
    case FingerprintField::kEventModule:
      return either(a.event_module, a.observer_product);
    case FingerprintField::kObserverProduct:
      return a.observer_product;
    case FingerprintField::kEventDataset:
      return a.event_dataset;
    case FingerprintField::kEventAction:
      return a.event_action;
    case FingerprintField::kRuleId:
      return a.rule_id;
    case FingerprintField::kRuleName:
      return a.rule_name;
    case FingerprintField::kRuleCategory:
      return a.rule_category;
    case FingerprintField::kHostName:
      return either(a.host_name, a.syslog.hostname);
    case FingerprintField::kSyslogHostname:
      return a.syslog.hostname;
    case FingerprintField::kSyslogAppname:
      return a.syslog.appname;
    case FingerprintField::kSourceIp:
      return a.source_ip;
    case FingerprintField::kSourcePort:
      *port = a.source_port;
      return {};
    case FingerprintField::kDestinationIp:
      return a.destination_ip;
    case FingerprintField::kDestinationPort:
      *port = a.destination_port;
      return {};
    case FingerprintField::kUserName:
      return a.user_name;
    case FingerprintField::kNetworkCommunityId:
      return a.network_community_id;
    case FingerprintField::kMessage:
      return a.message;
  }
  return {};
}
}  // namespace

void FingerprintKey::append_json(const Alert& a, std::string& out) const {
  JsonObjectWriter w(out);
  for (FingerprintField f : fields_) {
    int32_t port = -1;
    const std::string_view text = field_text(a, f, &port);
    if (port >= 0) {
      w.num(fingerprint_field_name(f), port);
    } else if (text.data() != nullptr) {
      w.str(fingerprint_field_name(f), text);
    }
  }
  w.close();
}

Fingerprint FingerprintKey::compute(const Alert& a) const {
  HashSink s(seed_);
  for (FingerprintField f : fields_) {
    switch (f) {
      case FingerprintField::kEventModule:
        s.text(f, either(a.event_module, a.observer_product));
        break;
      case FingerprintField::kObserverProduct:
        s.text(f, a.observer_product);
        break;
      case FingerprintField::kEventDataset:
        s.text(f, a.event_dataset);
        break;
      case FingerprintField::kEventAction:
        s.text(f, a.event_action);
        break;
      case FingerprintField::kRuleId:
        s.text(f, a.rule_id);
        break;
      case FingerprintField::kRuleName:
        s.text(f, a.rule_name);
        break;
      case FingerprintField::kRuleCategory:
        s.text(f, a.rule_category);
        break;
      case FingerprintField::kHostName:
        s.text(f, either(a.host_name, a.syslog.hostname));
        break;
      case FingerprintField::kSyslogHostname:
        s.text(f, a.syslog.hostname);
        break;
      case FingerprintField::kSyslogAppname:
        s.text(f, a.syslog.appname);
        break;
      case FingerprintField::kSourceIp:
        s.text(f, a.source_ip);
        break;
      case FingerprintField::kSourcePort:
        s.port(f, a.source_port);
        break;
      case FingerprintField::kDestinationIp:
        s.text(f, a.destination_ip);
        break;
      case FingerprintField::kDestinationPort:
        s.port(f, a.destination_port);
        break;
      case FingerprintField::kUserName:
        s.text(f, a.user_name);
        break;
      case FingerprintField::kNetworkCommunityId:
        s.text(f, a.network_community_id);
        break;
      case FingerprintField::kMessage:
        s.text(f, a.message);
        break;
    }
  }
  return s.finish();
}

}  // namespace klaxon
