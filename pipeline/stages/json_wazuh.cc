// Wazuh alerts.json (one alert object per line, as the manager writes it and as its
// syslog_output/integrations send it). Levels follow Wazuh's rules classification (0 ignored
// .. 15 severe attack; 16 is the documented maximum). Field table in pipeline/README.md.
#include "pipeline/stages/json_walk.h"

namespace klaxon::json {
namespace {

class Wazuh {
 public:
  enum class Ctx : uint8_t {
    kNone,
    kRoot,
    kRule,
    kMitre,
    kAgent,
    kManager,
    kData,
    kSyscheck,
    kPredecoder,
    kDecoder
  };

  explicit Wazuh(Env& env) : a_(env.alert), scratch_(env.scratch) {}

  static Ctx child(Ctx ctx, std::string_view key) {
    if (ctx == Ctx::kRule) return key == "mitre" ? Ctx::kMitre : Ctx::kNone;
    if (ctx != Ctx::kRoot) return Ctx::kNone;
    if (key == "rule") return Ctx::kRule;
    if (key == "agent") return Ctx::kAgent;
    if (key == "manager") return Ctx::kManager;
    if (key == "data") return Ctx::kData;
    if (key == "syscheck") return Ctx::kSyscheck;
    if (key == "predecoder") return Ctx::kPredecoder;
    if (key == "decoder") return Ctx::kDecoder;
    return Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    switch (ctx) {
      case Ctx::kRoot:
        if (key == "timestamp") return timestamp(v, depth, a_);
        if (key == "full_log") return text(v, depth, a_.message);
        if (key == "id") return label(v, depth, a_, "id");
        if (key == "location") return label(v, depth, a_, "location");
        return kUnmapped;
      case Ctx::kRule:
        if (key == "level") return integer(v, depth, level_, &has_level_);
        if (key == "id") return text(v, depth, a_.rule_id);
        if (key == "description") return text(v, depth, a_.rule_name);
        if (key == "groups") return join_strings(v, depth, scratch_, a_.rule_category);
        return kUnmapped;
      case Ctx::kMitre:
        if (key == "id") return joined_label(v, depth, "rule.mitre.id");
        if (key == "tactic") return joined_label(v, depth, "rule.mitre.tactic");
        if (key == "technique") return joined_label(v, depth, "rule.mitre.technique");
        return kUnmapped;
      case Ctx::kAgent:
        if (key == "name") return text(v, depth, agent_name_);
        if (key == "id") return label(v, depth, a_, "agent.id");
        if (key == "ip") return label(v, depth, a_, "agent.ip");
        return kUnmapped;
      case Ctx::kManager:
        if (key == "name") return text(v, depth, a_.observer_name);
        return kUnmapped;
      case Ctx::kData:  // the decoder's fields (static decoders; JSON-decoded logs nest more)
        if (key == "srcip" || key == "src_ip") return text(v, depth, a_.source_ip);
        if (key == "dstip" || key == "dest_ip") return text(v, depth, a_.destination_ip);
        if (key == "srcport" || key == "src_port") return port(v, depth, a_.source_port);
        if (key == "dstport" || key == "dest_port") return port(v, depth, a_.destination_port);
        if (key == "srcuser") return text(v, depth, srcuser_);
        if (key == "dstuser") return text(v, depth, dstuser_);
        if (key == "url") return text(v, depth, a_.url_original);
        return kUnmapped;
      case Ctx::kSyscheck:  // file integrity monitoring
        if (key == "path") return text(v, depth, a_.file_path);
        if (key == "md5_after") return text(v, depth, a_.file_hash_md5);
        if (key == "sha1_after") return text(v, depth, a_.file_hash_sha1);
        if (key == "sha256_after") return text(v, depth, a_.file_hash_sha256);
        if (key == "event") return text(v, depth, a_.event_action);
        return kUnmapped;
      case Ctx::kPredecoder:
        if (key == "program_name") return text(v, depth, a_.process_name);
        if (key == "hostname") return text(v, depth, log_host_);
        return kUnmapped;
      case Ctx::kDecoder:
        if (key == "name") return label(v, depth, a_, "decoder.name");
        return kUnmapped;
      case Ctx::kNone:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx, std::string_view, Val& v, int depth) { return skip(v, depth); }

  void finish() {
    a_.event_kind = "alert";
    a_.event_module = "wazuh";
    a_.event_dataset = "wazuh.alerts";
    a_.observer_product = "Wazuh";
    a_.observer_vendor = "Wazuh";
    a_.observer_type = "ids";
    // The agent is the monitored host; a log relayed by syslog names its own host.
    a_.host_name = !agent_name_.empty() ? agent_name_ : log_host_;
    // The account acted upon (sshd: the user logged in as); srcuser only when there is none.
    if (!dstuser_.empty()) {
      a_.user_name = dstuser_;
      if (!srcuser_.empty() && srcuser_ != dstuser_) a_.add_label("data.srcuser", srcuser_);
    } else {
      a_.user_name = srcuser_;
    }
    if (has_level_) {
      a_.event_severity = level_;
      a_.severity = severity_from_wazuh(level_);
    }
    if (!a_.file_path.empty()) a_.file_name = basename_of(a_.file_path);
    if (!a_.url_original.empty()) a_.url_domain = url_host(a_.url_original);
  }

 private:
  Err joined_label(Val& v, int depth, std::string_view key) {
    std::string_view joined;
    if (auto e = join_strings(v, depth, scratch_, joined)) return e;
    if (!joined.empty()) a_.add_label(key, joined);
    return kOk;
  }

  Alert& a_;
  Scratch& scratch_;
  int64_t level_ = 0;
  bool has_level_ = false;
  std::string_view agent_name_, log_host_, srcuser_, dstuser_;
};

}  // namespace

Err map_wazuh(od::object root, Env& env) {
  Wazuh d(env);
  if (auto e = walk(d, root, Wazuh::Ctx::kRoot, 1)) return e;
  d.finish();
  return kOk;
}

}  // namespace klaxon::json
