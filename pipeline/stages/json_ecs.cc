// Elastic Common Schema documents: Beats / Elastic Agent events (kBeats) and the generic
// mapping (kGeneric). Both read the ECS names, nested or flattened ("source.ip"), and, ranked
// below them, common flat key names seen in other tools' JSON ("src_ip", "signature",
// "severity"...); the generic mapping adds the configured field paths (JsonMapOptions). Each
// Alert field can be named by several keys; the best-ranked key present wins whatever the key
// order (@timestamp over timestamp over time), and a configured path beats them all.
//
// map_json_probe() is the first pass for InputFormat::kJson. A document that starts like a
// Beats event (@timestamp or @metadata: no key decides it early) is mapped as ECS while the
// top-level keys are watched, so it is read once; other documents are only skipped through
// until a key decides their dialect. Either way a decided dialect gets a second pass.
#include "pipeline/stages/json_walk.h"

#include <algorithm>

namespace klaxon::json {
namespace {

constexpr size_t kTargets = static_cast<size_t>(Target::kLabel);
constexpr size_t kMaxPath = 255;

// The Alert member a string target names (nullptr for the others).
std::string_view* string_field(Alert& a, Target t) {
  switch (t) {
    case Target::kMessage:
      return &a.message;
    case Target::kEventKind:
      return &a.event_kind;
    case Target::kEventModule:
      return &a.event_module;
    case Target::kEventDataset:
      return &a.event_dataset;
    case Target::kEventAction:
      return &a.event_action;
    case Target::kEventCategory:
      return &a.event_category;
    case Target::kRuleId:
      return &a.rule_id;
    case Target::kRuleName:
      return &a.rule_name;
    case Target::kRuleCategory:
      return &a.rule_category;
    case Target::kHostName:
      return &a.host_name;
    case Target::kSourceIp:
      return &a.source_ip;
    case Target::kDestinationIp:
      return &a.destination_ip;
    case Target::kNetworkTransport:
      return &a.network_transport;
    case Target::kNetworkProtocol:
      return &a.network_protocol;
    case Target::kNetworkCommunityId:
      return &a.network_community_id;
    case Target::kUserName:
      return &a.user_name;
    case Target::kObserverVendor:
      return &a.observer_vendor;
    case Target::kObserverProduct:
      return &a.observer_product;
    case Target::kObserverName:
      return &a.observer_name;
    case Target::kObserverType:
      return &a.observer_type;
    case Target::kFileName:
      return &a.file_name;
    case Target::kFilePath:
      return &a.file_path;
    case Target::kFileHashMd5:
      return &a.file_hash_md5;
    case Target::kFileHashSha1:
      return &a.file_hash_sha1;
    case Target::kFileHashSha256:
      return &a.file_hash_sha256;
    case Target::kUrlOriginal:
      return &a.url_original;
    case Target::kUrlDomain:
      return &a.url_domain;
    case Target::kProcessName:
      return &a.process_name;
    case Target::kProcessCommandLine:
      return &a.process_command_line;
    default:
      return nullptr;
  }
}

// One value into its Alert field, converted as the field needs.
void apply(Alert& a, Target t, const Scalar& s, NumericSeverity numeric) {
  int64_t n = 0;
  switch (t) {
    case Target::kTimestamp: {
      int64_t ns = 0;
      if (time_from_scalar(s, &ns)) {
        a.timestamp_ns = ns;
        a.has_timestamp = true;
      }
      return;
    }
    case Target::kSeverity: {
      Severity level;
      if (s.kind == Kind::kString && severity_from_word(s.text, &level)) {
        a.severity = level;
      } else if (s.is_text() && parse_int(s.text, &n)) {
        a.event_severity = n;  // the source's own number; the level only on a known scale
        if (severity_from_number(numeric, n, &level)) a.severity = level;
      }
      return;
    }
    case Target::kEventSeverity:
      if (s.is_text() && parse_int(s.text, &n)) a.event_severity = n;
      return;
    case Target::kSourcePort:
      if (s.is_text()) port_from_text(s.text, a.source_port);
      return;
    case Target::kDestinationPort:
      if (s.is_text()) port_from_text(s.text, a.destination_port);
      return;
    default:
      if (std::string_view* f = string_field(a, t); f && s.kind != Kind::kNull) *f = s.text;
      return;
  }
}

class Ecs {
 public:
  enum class Ctx : uint8_t {
    kNone,
    kRoot,
    kEvent,
    kRule,
    kHost,
    kSource,
    kDestination,
    kUser,
    kFile,
    kHash,
    kUrl,
    kProcess,
    kNetwork,
    kObserver,
    kAgent,
    kLog,
    kLabels,
    kOther,  // an object only configured paths look into
  };

  // with_paths: the generic mapping, which applies the configured paths when there are some.
  Ecs(Env& env, bool with_paths) : a_(env.alert), scratch_(env.scratch) {
    std::fill(std::begin(rank_), std::end(rank_), kAbsent);
    if (with_paths && env.compiled != nullptr && !env.compiled->entries.empty()) {
      paths_ = env.compiled;
      for (size_t i = 0; i < paths_->entries.size(); ++i) found_[i].kind = Kind::kNull;
    }
  }

  static Ctx child(Ctx ctx, std::string_view key) {
    if (ctx == Ctx::kFile) return key == "hash" ? Ctx::kHash : Ctx::kNone;
    if (ctx != Ctx::kRoot) return Ctx::kNone;
    switch (key.size()) {
      case 3:
        if (key == "url") return Ctx::kUrl;
        if (key == "log") return Ctx::kLog;
        break;
      case 4:
        if (key == "rule") return Ctx::kRule;
        if (key == "host") return Ctx::kHost;
        if (key == "user") return Ctx::kUser;
        if (key == "file") return Ctx::kFile;
        break;
      case 5:
        if (key == "event") return Ctx::kEvent;
        if (key == "agent") return Ctx::kAgent;
        break;
      case 6:
        if (key == "source") return Ctx::kSource;
        if (key == "labels" || key == "fields") return Ctx::kLabels;
        break;
      case 7:
        if (key == "process") return Ctx::kProcess;
        if (key == "network") return Ctx::kNetwork;
        break;
      case 8:
        if (key == "observer") return Ctx::kObserver;
        break;
      case 11:
        if (key == "destination") return Ctx::kDestination;
        break;
      default:
        break;
    }
    return Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    switch (ctx) {
      case Ctx::kRoot:
        if (key == "@timestamp") return offer(v, depth, Target::kTimestamp, 0);
        if (key == "message") return offer(v, depth, Target::kMessage, 0);
        if (key == "tags") {
          std::string_view tags;
          if (auto e = join_strings(v, depth, scratch_, tags)) return e;
          if (!tags.empty()) a_.add_label("tags", tags);
          return kOk;
        }
        return flat_root(key, v, depth);
      case Ctx::kEvent:
        if (key == "kind") return offer(v, depth, Target::kEventKind, 0);
        if (key == "module") return offer(v, depth, Target::kEventModule, 0);
        if (key == "dataset") return offer(v, depth, Target::kEventDataset, 0);
        if (key == "action") return offer(v, depth, Target::kEventAction, 0);
        if (key == "category") return offer_joined(v, depth, Target::kEventCategory, 0);
        if (key == "severity") return offer(v, depth, Target::kEventSeverity, 0);
        return kUnmapped;
      case Ctx::kRule:
        if (key == "id") return offer(v, depth, Target::kRuleId, 0);
        if (key == "uuid") return offer(v, depth, Target::kRuleId, 1);
        if (key == "name") return offer(v, depth, Target::kRuleName, 0);
        if (key == "description") return offer(v, depth, Target::kRuleName, 3);
        if (key == "category") return offer(v, depth, Target::kRuleCategory, 0);
        return kUnmapped;
      case Ctx::kHost:
        if (key == "name") return offer(v, depth, Target::kHostName, 0);
        if (key == "hostname") return offer(v, depth, Target::kHostName, 1);
        return kUnmapped;
      case Ctx::kSource:
        if (key == "ip") return offer(v, depth, Target::kSourceIp, 0);
        if (key == "address") return offer(v, depth, Target::kSourceIp, 1);
        if (key == "port") return offer(v, depth, Target::kSourcePort, 0);
        return kUnmapped;
      case Ctx::kDestination:
        if (key == "ip") return offer(v, depth, Target::kDestinationIp, 0);
        if (key == "address") return offer(v, depth, Target::kDestinationIp, 1);
        if (key == "port") return offer(v, depth, Target::kDestinationPort, 0);
        return kUnmapped;
      case Ctx::kUser:
        if (key == "name") return offer(v, depth, Target::kUserName, 0);
        return kUnmapped;
      case Ctx::kFile:
        if (key == "name") return offer(v, depth, Target::kFileName, 0);
        if (key == "path") return offer(v, depth, Target::kFilePath, 0);
        return kUnmapped;
      case Ctx::kHash:
        if (key == "md5") return offer(v, depth, Target::kFileHashMd5, 0);
        if (key == "sha1") return offer(v, depth, Target::kFileHashSha1, 0);
        if (key == "sha256") return offer(v, depth, Target::kFileHashSha256, 0);
        return kUnmapped;
      case Ctx::kUrl:
        if (key == "original") return offer(v, depth, Target::kUrlOriginal, 0);
        if (key == "full") return offer(v, depth, Target::kUrlOriginal, 1);
        if (key == "domain") return offer(v, depth, Target::kUrlDomain, 0);
        return kUnmapped;
      case Ctx::kProcess:
        if (key == "name") return offer(v, depth, Target::kProcessName, 0);
        if (key == "command_line") return offer(v, depth, Target::kProcessCommandLine, 0);
        return kUnmapped;
      case Ctx::kNetwork:
        if (key == "transport") return offer(v, depth, Target::kNetworkTransport, 0);
        if (key == "protocol") return offer(v, depth, Target::kNetworkProtocol, 0);
        if (key == "community_id") return offer(v, depth, Target::kNetworkCommunityId, 0);
        return kUnmapped;
      case Ctx::kObserver:
        if (key == "name") return offer(v, depth, Target::kObserverName, 0);
        if (key == "hostname") return offer(v, depth, Target::kObserverName, 1);
        if (key == "product") return offer(v, depth, Target::kObserverProduct, 0);
        if (key == "vendor") return offer(v, depth, Target::kObserverVendor, 0);
        if (key == "type") return offer(v, depth, Target::kObserverType, 0);
        return kUnmapped;
      case Ctx::kAgent:  // the shipper, when no observer is named
        if (key == "type") return offer(v, depth, Target::kObserverProduct, 2);
        if (key == "name") return offer(v, depth, Target::kObserverName, 2);
        return kUnmapped;
      case Ctx::kLog:
        if (key == "level") return offer(v, depth, Target::kSeverity, 1);
        return kUnmapped;
      case Ctx::kLabels:
      case Ctx::kOther:
      case Ctx::kNone:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx ctx, std::string_view key, Val& v, int depth) {
    if (ctx == Ctx::kLabels) return label(v, depth, a_, key);
    return skip(v, depth);
  }

  // The walk with configured paths: the dotted path of every key is compared with them.
  // `prefix` bytes of path_ hold the path of this object (`fits`: it was not too long).
  Err walk_paths(od::object obj, Ctx ctx, int depth, size_t prefix, bool fits) {
    if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
    for (auto field : obj) {
      if (auto e = field.error()) return e;
      od::field&& f = std::move(field).value_unsafe();
      Val x(f.value());
      std::string_view key;
      if (auto e = key_of(f, x.tok.data(), key)) return e;
      if (auto e = path_field(ctx, key, x, depth, prefix, fits)) return e;
    }
    return kOk;
  }

  bool has_paths() const { return paths_ != nullptr; }

  void finish() {
    const NumericSeverity numeric = paths_ ? paths_->numeric : NumericSeverity::kNone;
    for (size_t t = 0; t < kTargets; ++t) {
      if (rank_[t] != kAbsent) apply(a_, static_cast<Target>(t), slot_[t], numeric);
    }
    if (paths_) {
      for (size_t i = 0; i < paths_->entries.size(); ++i) {
        const Scalar s = found_[i];
        if (s.kind == Kind::kNull || s.kind == Kind::kObject || s.kind == Kind::kArray) continue;
        const auto& entry = paths_->entries[i];
        if (entry.target == Target::kLabel) {
          a_.add_label(entry.label, s.text);
        } else {
          apply(a_, entry.target, s, numeric);
        }
      }
    }
    if (a_.file_name.empty() && !a_.file_path.empty()) a_.file_name = basename_of(a_.file_path);
    if (a_.url_domain.empty() && !a_.url_original.empty())
      a_.url_domain = url_host(a_.url_original);
  }

 private:
  static constexpr int8_t kAbsent = 127;
  // Storage without initialisation: only entries whose rank_ is set are read (the arrays are
  // about 2.6 kB, and zeroing them per document would cost more than filling them).
  struct RawScalar {
    std::string_view text;
    Kind kind;
    RawScalar& operator=(const Scalar& s) {
      text = s.text;
      kind = s.kind;
      return *this;
    }
    operator Scalar() const { return Scalar{text, kind}; }
  };

  // Common flat key names of other tools' JSON (pipeline/README.md), ranked below ECS names.
  Err flat_root(std::string_view key, Val& v, int depth) {
    switch (key.size()) {
      case 3:
        if (key == "msg") return offer(v, depth, Target::kMessage, 1);
        break;
      case 4:
        if (key == "time") return offer(v, depth, Target::kTimestamp, 2);
        if (key == "host") return offer(v, depth, Target::kHostName, 0);  // a string
        if (key == "user") return offer(v, depth, Target::kUserName, 0);
        if (key == "rule") return offer(v, depth, Target::kRuleName, 0);
        break;
      case 5:
        if (key == "title") return offer(v, depth, Target::kRuleName, 2);
        if (key == "level") return offer(v, depth, Target::kSeverity, 0);
        if (key == "proto") return offer(v, depth, Target::kNetworkTransport, 1);
        break;
      case 6:
        if (key == "src_ip") return offer(v, depth, Target::kSourceIp, 2);
        if (key == "dst_ip") return offer(v, depth, Target::kDestinationIp, 2);
        if (key == "action") return offer(v, depth, Target::kEventAction, 1);
        break;
      case 7:
        if (key == "dest_ip") return offer(v, depth, Target::kDestinationIp, 2);
        if (key == "rule_id") return offer(v, depth, Target::kRuleId, 0);
        break;
      case 8:
        if (key == "hostname") return offer(v, depth, Target::kHostName, 2);
        if (key == "src_port") return offer(v, depth, Target::kSourcePort, 1);
        if (key == "dst_port") return offer(v, depth, Target::kDestinationPort, 1);
        if (key == "username") return offer(v, depth, Target::kUserName, 1);
        if (key == "severity") return offer(v, depth, Target::kSeverity, 0);
        if (key == "priority") return offer(v, depth, Target::kSeverity, 0);
        if (key == "category") return offer(v, depth, Target::kRuleCategory, 1);
        break;
      case 9:
        if (key == "source_ip") return offer(v, depth, Target::kSourceIp, 2);
        if (key == "dest_port") return offer(v, depth, Target::kDestinationPort, 1);
        if (key == "rule_name") return offer(v, depth, Target::kRuleName, 0);
        if (key == "signature") return offer(v, depth, Target::kRuleName, 1);
        if (key == "timestamp") return offer(v, depth, Target::kTimestamp, 1);
        if (key == "alertname") return offer(v, depth, Target::kRuleName, 2);
        if (key == "app_proto") return offer(v, depth, Target::kNetworkProtocol, 1);
        break;
      case 11:
        if (key == "source_port") return offer(v, depth, Target::kSourcePort, 1);
        break;
      case 12:
        if (key == "signature_id") return offer(v, depth, Target::kRuleId, 1);
        if (key == "community_id") return offer(v, depth, Target::kNetworkCommunityId, 1);
        break;
      case 14:
        if (key == "destination_ip") return offer(v, depth, Target::kDestinationIp, 2);
        break;
      case 16:
        if (key == "destination_port") return offer(v, depth, Target::kDestinationPort, 1);
        break;
      default:
        break;
    }
    return kUnmapped;
  }

  // A value for field t from a key of rank r (0 best); empty strings do not count.
  Err offer(Val& v, int depth, Target t, int8_t r) {
    Scalar s;
    if (auto e = scalar(v, depth, s)) return e;
    keep(t, s, r);
    return kOk;
  }
  Err offer_joined(Val& v, int depth, Target t, int8_t r) {
    Scalar s;
    s.kind = Kind::kString;
    if (auto e = join_strings(v, depth, scratch_, s.text)) return e;
    keep(t, s, r);
    return kOk;
  }
  void keep(Target t, const Scalar& s, int8_t r) {
    const bool value = s.kind == Kind::kNumber || s.kind == Kind::kBool ||
                       (s.kind == Kind::kString && !s.text.empty());
    const size_t i = static_cast<size_t>(t);
    if (value && r <= rank_[i]) {  // a repeated key: the last one counts
      slot_[i] = s;
      rank_[i] = r;
    }
  }

  // The value at a configured path: a scalar, or an array of strings joined.
  Err configured_value(Val& v, int depth, Scalar& s) {
    if (v.first() == '[') {
      s.kind = Kind::kString;
      return join_strings(v, depth, scratch_, s.text);
    }
    return scalar(v, depth, s);
  }

  // A key a configured path names is read for that path only (not by the built-in names).
  Err path_field(Ctx ctx, std::string_view key, Val& v, int depth, size_t prefix, bool fits) {
    size_t len = prefix;
    const bool here = fits && prefix + (prefix ? 1 : 0) + key.size() <= kMaxPath;
    if (here) {
      if (prefix) path_[len++] = '.';
      std::memcpy(path_ + len, key.data(), key.size());
      len += key.size();
      const std::string_view full(path_, len);
      for (size_t i = 0; i < paths_->entries.size(); ++i) {
        if (paths_->entries[i].path == full) {
          Scalar value;
          if (auto e = configured_value(v, depth, value)) return e;
          found_[i] = value;
          return kOk;
        }
      }
    }
    if (v.first() == '{') {
      Ctx c = child_of<Ecs>(ctx, key);
      if (c == Ctx::kNone && here && is_prefix(std::string_view(path_, len))) c = Ctx::kOther;
      if (c != Ctx::kNone) {
        od::object o;
        if (auto e = v.v.get_object().get(o)) return e;
        return walk_paths(o, c, depth + 1, len, here);
      }
    }
    return dispatch(*this, ctx, key, v, depth);
  }

  bool is_prefix(std::string_view p) const {
    for (const std::string& x : paths_->prefixes) {
      if (x == p) return true;
    }
    return false;
  }

  Alert& a_;
  Scratch& scratch_;
  const JsonMapper::Compiled* paths_ = nullptr;
  int8_t rank_[kTargets];
  RawScalar slot_[kTargets];
  RawScalar found_[64];  // per configured entry (JsonMapOptions::validate: at most 64)
  char path_[kMaxPath + 1];
};

}  // namespace

Err map_beats(od::object root, Env& env) {
  Ecs d(env, false);
  if (auto e = walk(d, root, Ecs::Ctx::kRoot, 1)) return e;
  d.finish();
  return kOk;
}

Err map_generic(od::object root, Env& env) {
  Ecs d(env, true);
  if (d.has_paths()) {
    if (auto e = d.walk_paths(root, Ecs::Ctx::kRoot, 1, 0, true)) return e;
  } else if (auto e = walk(d, root, Ecs::Ctx::kRoot, 1)) {
    return e;
  }
  d.finish();
  return kOk;
}

Err map_json_probe(od::object root, Env& env, InputFormat* dialect) {
  // Only labels are written to the Alert before finish(): they are what a restart undoes.
  const uint8_t labels = env.alert.label_count;
  const uint16_t dropped = env.alert.labels_dropped;
  auto restart = [&](InputFormat d) {
    env.alert.label_count = labels;
    env.alert.labels_dropped = dropped;
    *dialect = d;
    return kRestart;
  };
  Ecs d(env, false);
  uint32_t flags = 0;
  bool first = true, mapping = false;
  for (auto field : root) {
    if (auto e = field.error()) return e;
    od::field&& f = std::move(field).value_unsafe();
    Val x(f.value());
    std::string_view key;
    if (auto e = key_of(f, x.tok.data(), key)) return e;
    if (first) {
      // Beats events (and ECS documents generally) start with @timestamp or @metadata, and
      // no key decides them early: map while detecting. Otherwise values are only skipped
      // (simdjson's skip, no validation) until a key decides.
      mapping = key == "@timestamp" || key == "@metadata";
      first = false;
    }
    const InputFormat decided = detect_by_key(flags, key);
    if (decided != InputFormat::kJson) return restart(decided);
    if (mapping) {
      if (auto e = dispatch(d, Ecs::Ctx::kRoot, key, x, 1)) return e;
    }
  }
  const InputFormat found = detect_at_end(flags);
  if (!mapping || (found == InputFormat::kGeneric && env.compiled != nullptr &&
                   !env.compiled->entries.empty())) {
    return restart(found);  // not read yet, or the configured paths need their own walk
  }
  d.finish();
  *dialect = found;
  return kOk;
}

}  // namespace klaxon::json
