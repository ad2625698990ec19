// Suricata EVE JSON (OISF/suricata doc/userguide/output/eve/eve-json-format.rst): every
// event_type is mapped; `alert` events become event.kind "alert". Field table in
// pipeline/README.md ("JSON dialects").
#include "pipeline/stages/json_walk.h"

namespace klaxon::json {
namespace {

class Suricata {
 public:
  enum class Ctx : uint8_t { kNone, kRoot, kAlert, kHttp, kTls, kDns, kFileinfo };

  explicit Suricata(Env& env) : a_(env.alert) {}

  static Ctx child(Ctx ctx, std::string_view key) {
    if (ctx != Ctx::kRoot) return Ctx::kNone;
    if (key == "alert") return Ctx::kAlert;
    if (key == "http") return Ctx::kHttp;
    if (key == "tls") return Ctx::kTls;
    if (key == "dns") return Ctx::kDns;
    if (key == "fileinfo") return Ctx::kFileinfo;
    return Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    switch (ctx) {
      case Ctx::kRoot:
        if (key == "timestamp") return timestamp(v, depth, a_);
        if (key == "event_type") return string_only(v, depth, event_type_);
        if (key == "src_ip") return text(v, depth, a_.source_ip);
        if (key == "src_port") return port(v, depth, a_.source_port);
        if (key == "dest_ip") return text(v, depth, a_.destination_ip);
        if (key == "dest_port") return port(v, depth, a_.destination_port);
        if (key == "proto") return text(v, depth, a_.network_transport);
        if (key == "app_proto") return text(v, depth, a_.network_protocol);
        if (key == "community_id") return text(v, depth, a_.network_community_id);
        // The sensor's name (eve-log `sensor-name`): the observer, not the host involved.
        if (key == "host") return text(v, depth, a_.observer_name);
        if (key == "flow_id") return label(v, depth, a_, "flow_id");
        if (key == "files") return each_object(*this, v, Ctx::kFileinfo, depth);
        return kUnmapped;
      case Ctx::kAlert:
        if (key == "signature_id") return text(v, depth, a_.rule_id);
        if (key == "signature") return text(v, depth, a_.rule_name);
        if (key == "category") return text(v, depth, a_.rule_category);
        if (key == "action") return text(v, depth, a_.event_action);
        if (key == "severity") return integer(v, depth, severity_, &has_severity_);
        return kUnmapped;
      case Ctx::kHttp:
        if (key == "hostname") return domain(v, depth, 0);
        if (key == "url") return text(v, depth, a_.url_original);
        return kUnmapped;
      case Ctx::kTls:
        if (key == "sni") return domain(v, depth, 1);
        return kUnmapped;
      case Ctx::kDns:
        if (key == "rrname") return domain(v, depth, 2);
        // EVE dns v3 (Suricata 8) lists the queries; v2 has rrname at this level.
        if (key == "queries" || key == "query") return each_object(*this, v, Ctx::kDns, depth);
        return kUnmapped;
      case Ctx::kFileinfo:  // `fileinfo`, or each element of an alert's `files`
        if (key == "filename") return text_if_empty(v, depth, a_.file_path);
        if (key == "md5") return text_if_empty(v, depth, a_.file_hash_md5);
        if (key == "sha1") return text_if_empty(v, depth, a_.file_hash_sha1);
        if (key == "sha256") return text_if_empty(v, depth, a_.file_hash_sha256);
        return kUnmapped;
      case Ctx::kNone:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx, std::string_view, Val& v, int depth) { return skip(v, depth); }

  void finish() {
    a_.event_module = "suricata";
    a_.event_dataset = "suricata.eve";
    a_.observer_product = "Suricata";
    a_.observer_vendor = "OISF";
    a_.observer_type = "ids";
    if (event_type_ == "alert") {
      a_.event_kind = "alert";
      a_.event_category = "intrusion_detection";
    }
    if (has_severity_) {
      a_.event_severity = severity_;
      a_.severity = severity_from_suricata(severity_);
    }
    if (!a_.file_path.empty()) a_.file_name = basename_of(a_.file_path);
    if (domain_rank_ < 3) a_.url_domain = domain_;
  }

 private:
  // The domain observable: http.hostname, else tls.sni, else the DNS query name.
  Err domain(Val& v, int depth, int rank) {
    std::string_view d;
    if (auto e = text(v, depth, d)) return e;
    if (!d.empty() && rank < domain_rank_) {
      domain_ = d;
      domain_rank_ = rank;
    }
    return kOk;
  }

  Alert& a_;
  std::string_view event_type_;
  int64_t severity_ = 0;
  bool has_severity_ = false;
  std::string_view domain_;
  int domain_rank_ = 3;
};

}  // namespace

Err map_suricata(od::object root, Env& env) {
  Suricata d(env);
  if (auto e = walk(d, root, Suricata::Ctx::kRoot, 1)) return e;
  d.finish();
  return kOk;
}

}  // namespace klaxon::json
