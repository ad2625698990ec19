// Zeek notice.log as Zeek's JSON writer writes it (LogAscii::use_json=T): record fields
// flattened with dots ("id.orig_h"), `ts` as epoch seconds (JSON::TS_EPOCH, the default),
// integer milliseconds (TS_MILLIS) or an ISO 8601 string (TS_ISO8601); unset fields are left
// out. Notices carry no severity of their own: they are medium.
#include "pipeline/stages/json_walk.h"

namespace klaxon::json {
namespace {

class Zeek {
 public:
  enum class Ctx : uint8_t { kNone, kRoot, kId };

  explicit Zeek(Env& env) : a_(env.alert), scratch_(env.scratch) {}

  static Ctx child(Ctx ctx, std::string_view key) {
    return ctx == Ctx::kRoot && key == "id" ? Ctx::kId : Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    if (ctx == Ctx::kId) {  // the connection 4-tuple, "id.orig_h" or {"id":{"orig_h"}}
      if (key == "orig_h") return text(v, depth, orig_h_);
      if (key == "orig_p") return port(v, depth, orig_p_);
      if (key == "resp_h") return text(v, depth, resp_h_);
      if (key == "resp_p") return port(v, depth, resp_p_);
      return kUnmapped;
    }
    if (ctx != Ctx::kRoot) return kUnmapped;
    switch (key.size()) {
      case 1:
        if (key == "p") return port(v, depth, p_);
        if (key == "n") return label(v, depth, a_, "n");
        break;
      case 2:
        if (key == "ts") return timestamp(v, depth, a_);
        break;
      case 3:
        if (key == "uid") return label(v, depth, a_, "uid");
        if (key == "msg") return text(v, depth, a_.message);
        if (key == "sub") return label(v, depth, a_, "sub");
        if (key == "src") return text(v, depth, src_);
        if (key == "dst") return text(v, depth, dst_);
        break;
      case 4:
        if (key == "note") return text(v, depth, note_);
        if (key == "fuid") return label(v, depth, a_, "fuid");
        break;
      case 5:
        if (key == "proto") return text(v, depth, a_.network_transport);
        break;
      case 7:
        if (key == "actions") {
          std::string_view actions;
          if (auto e = join_strings(v, depth, scratch_, actions)) return e;
          if (!actions.empty()) a_.add_label("actions", actions);
          return kOk;
        }
        break;
      case 9:
        if (key == "file_desc") return label(v, depth, a_, "file_desc");
        break;
      case 10:
        if (key == "peer_descr") return text(v, depth, a_.observer_name);
        break;
      case 12:
        if (key == "community_id") return text(v, depth, a_.network_community_id);
        break;
      case 14:
        if (key == "file_mime_type") return label(v, depth, a_, "file_mime_type");
        break;
      default:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx, std::string_view, Val& v, int depth) { return skip(v, depth); }

  void finish() {
    a_.event_kind = "alert";
    a_.event_module = "zeek";
    a_.event_dataset = "zeek.notice";
    a_.observer_product = "Zeek";
    a_.observer_vendor = "Zeek";
    a_.observer_type = "ids";
    a_.severity = Severity::kMedium;
    // The notice type is the rule: its only identifier.
    a_.rule_name = note_;
    a_.rule_id = note_;
    // src/dst/p are what the notice is about; Zeek fills them from the connection when the
    // script did not, so the connection tuple is only the fallback.
    a_.source_ip = !src_.empty() ? src_ : orig_h_;
    if (src_.empty() || src_ == orig_h_) a_.source_port = orig_p_;
    a_.destination_ip = !dst_.empty() ? dst_ : resp_h_;
    if (p_ >= 0) {
      a_.destination_port = p_;
    } else if (dst_.empty() || dst_ == resp_h_) {
      a_.destination_port = resp_p_;
    }
  }

 private:
  Alert& a_;
  Scratch& scratch_;
  std::string_view note_, src_, dst_, orig_h_, resp_h_;
  int32_t p_ = -1, orig_p_ = -1, resp_p_ = -1;
};

}  // namespace

Err map_zeek(od::object root, Env& env) {
  Zeek d(env);
  if (auto e = walk(d, root, Zeek::Ctx::kRoot, 1)) return e;
  d.finish();
  return kOk;
}

}  // namespace klaxon::json
