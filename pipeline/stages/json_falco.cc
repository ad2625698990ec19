// Falco's JSON output (json_output: true; falcosecurity/falco userspace/engine/formats.cpp),
// also as Falcosidekick forwards it (plus `uuid`). output_fields that have an ECS field are
// mapped; the others become labels under their Falco names ("container.id", "k8s.ns.name").
#include "pipeline/stages/json_walk.h"

namespace klaxon::json {
namespace {

class Falco {
 public:
  enum class Ctx : uint8_t { kNone, kRoot, kFields };

  explicit Falco(Env& env) : a_(env.alert), scratch_(env.scratch) {}

  static Ctx child(Ctx ctx, std::string_view key) {
    return ctx == Ctx::kRoot && key == "output_fields" ? Ctx::kFields : Ctx::kNone;
  }

  Err leaf(Ctx ctx, std::string_view key, Val& v, int depth) {
    if (ctx == Ctx::kRoot) {
      if (key == "time") return timestamp(v, depth, a_, &has_time_);
      if (key == "rule") return text(v, depth, a_.rule_name);
      if (key == "priority") return text(v, depth, priority_);
      if (key == "output") return text(v, depth, output_);
      if (key == "message") return text(v, depth, message_);
      if (key == "hostname") return text(v, depth, hostname_);
      if (key == "source") return text(v, depth, source_);
      if (key == "tags") {
        std::string_view tags;
        if (auto e = join_strings(v, depth, scratch_, tags)) return e;
        if (!tags.empty()) a_.add_label("tags", tags);
        return kOk;
      }
      if (key == "uuid") return label(v, depth, a_, "uuid");
      return kUnmapped;
    }
    if (ctx != Ctx::kFields) return kUnmapped;
    // Output field names keep their dots: match the whole key before any descent.
    switch (key.size()) {
      case 6:
        if (key == "fd.cip") return text(v, depth, a_.source_ip);
        if (key == "fd.sip") return text(v, depth, a_.destination_ip);
        break;
      case 7:
        if (key == "fd.name") return fd_name(v, depth);
        break;
      case 8:
        if (key == "evt.time") return scalar(v, depth, evt_time_);
        if (key == "fd.cport") return port(v, depth, a_.source_port);
        if (key == "fd.sport") return port(v, depth, a_.destination_port);
        break;
      case 9:
        if (key == "proc.name") return text(v, depth, a_.process_name);
        if (key == "user.name") return text(v, depth, user_);
        break;
      case 10:
        if (key == "fd.l4proto") return text(v, depth, a_.network_transport);
        break;
      case 12:
        if (key == "proc.cmdline") return text(v, depth, a_.process_command_line);
        if (key == "ka.user.name") return text(v, depth, ka_user_);
        if (key == "evt.hostname") return text(v, depth, evt_hostname_);
        break;
      default:
        break;
    }
    return kUnmapped;
  }

  Err other(Ctx ctx, std::string_view key, Val& v, int depth) {
    if (ctx == Ctx::kFields) return label(v, depth, a_, key);
    return skip(v, depth);
  }

  void finish() {
    a_.event_kind = "alert";
    a_.event_module = "falco";
    a_.event_dataset = "falco";
    if (!source_.empty()) {
      if (std::string_view d = concat(scratch_, "falco.", source_); !d.empty())
        a_.event_dataset = d;
    }
    a_.observer_product = "Falco";
    a_.observer_vendor = "Falcosecurity";
    a_.observer_type = "ids";
    // A Falco rule is known by its name alone.
    a_.rule_id = a_.rule_name;
    a_.message = !output_.empty() ? output_ : message_;
    a_.host_name = !hostname_.empty() ? hostname_ : evt_hostname_;
    a_.user_name = !user_.empty() ? user_ : ka_user_;
    if (!has_time_) {
      int64_t ns = 0;
      if (time_from_scalar(evt_time_, &ns)) {
        a_.timestamp_ns = ns;
        a_.has_timestamp = true;
      }
    }
    if (const int p = falco_priority(priority_); p >= 0) {
      a_.event_severity = p;
      a_.severity = severity_from_syslog(p);  // the same 0-7 scale as syslog
    }
  }

 private:
  // fd.name is a path for files, "ip:port->ip:port" for sockets (then a label, in place).
  Err fd_name(Val& v, int depth) {
    std::string_view name;
    if (auto e = text(v, depth, name)) return e;
    if (!name.empty() && name[0] == '/') {
      a_.file_path = name;
      a_.file_name = basename_of(name);
    } else if (!name.empty()) {
      a_.add_label("fd.name", name);
    }
    return kOk;
  }

  Alert& a_;
  Scratch& scratch_;
  bool has_time_ = false;
  std::string_view priority_, output_, message_, hostname_, source_;
  std::string_view user_, ka_user_, evt_hostname_;
  Scalar evt_time_;
};

}  // namespace

Err map_falco(od::object root, Env& env) {
  Falco d(env);
  if (auto e = walk(d, root, Falco::Ctx::kRoot, 1)) return e;
  d.finish();
  return kOk;
}

}  // namespace klaxon::json
