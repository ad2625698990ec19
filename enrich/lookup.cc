#include "enrich/lookup.h"

#include "pipeline/core/json_writer.h"

namespace klaxon::enrich {

const char* lookup_kind_name(LookupKind kind) {
  switch (kind) {
    case LookupKind::kPtr:
      return "ptr";
    case LookupKind::kA:
      return "a";
    case LookupKind::kAaaa:
      return "aaaa";
    case LookupKind::kRdap:
      return "rdap";
    case LookupKind::kWhois:
      return "whois";
  }
  return "unknown";
}

const char* lookup_status_name(LookupStatus status) {
  switch (status) {
    case LookupStatus::kOk:
      return "ok";
    case LookupStatus::kNotFound:
      return "not_found";
    case LookupStatus::kTimeout:
      return "timeout";
    case LookupStatus::kError:
      return "error";
    case LookupStatus::kRefusedPrivate:
      return "refused_private";
    case LookupStatus::kDropped:
      return "dropped";
  }
  return "unknown";
}

const char* answer_source_name(AnswerSource source) {
  switch (source) {
    case AnswerSource::kNone:
      return "none";
    case AnswerSource::kDns:
      return "dns";
    case AnswerSource::kRdap:
      return "rdap";
    case AnswerSource::kWhois:
      return "whois";
  }
  return "unknown";
}

namespace {

void append_string_array(JsonObjectWriter& w, std::string& out, std::string_view key,
                         const std::vector<std::string>& items) {
  w.key(key);
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, items[i]);
  }
  out.push_back(']');
}

void append_registry(std::string& out, const RegistrySummary& r) {
  JsonObjectWriter w(out);
  w.str_if("url", r.url);
  w.str_if("handle", r.handle);
  w.str_if("name", r.name);
  w.str_if("country", r.country);
  w.str_if("registrant", r.registrant);
  w.str_if("abuse_email", r.abuse_email);
  w.str_if("start_address", r.start_address);
  w.str_if("end_address", r.end_address);
  w.str_if("cidr", r.cidr);
  w.str_if("referral", r.referral);
  if (r.truncated) w.raw("truncated", "true");
  w.close();
}

}  // namespace

void append_json(std::string& out, const LookupResult& result) {
  const Answer& a = *result.answer;
  JsonObjectWriter w(out);
  w.str("kind", lookup_kind_name(a.kind));
  w.str("value", a.value);
  w.str("status", lookup_status_name(a.status));
  w.str("source", answer_source_name(a.source));
  w.raw("cached", result.from_cache ? "true" : "false");
  w.raw("late", result.late ? "true" : "false");
  w.num("latency_us", result.latency_ns / 1000);
  w.str_if("detail", a.detail);
  if (a.ttl_seconds > 0) w.num("ttl", a.ttl_seconds);
  if (!a.names.empty()) append_string_array(w, out, "names", a.names);
  if (a.escaped_names > 0) w.num("escaped_names", a.escaped_names);
  if (!a.addresses.empty()) append_string_array(w, out, "addresses", a.addresses);
  if (a.source == AnswerSource::kRdap || a.source == AnswerSource::kWhois) {
    w.key("registry");
    append_registry(out, a.registry);
  }
  w.close();
}

std::string to_json(const LookupResult& result) {
  std::string out;
  out.reserve(256);
  append_json(out, result);
  return out;
}

}  // namespace klaxon::enrich
