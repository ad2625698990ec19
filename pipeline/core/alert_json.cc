#include "pipeline/core/alert_json.h"

#include "pipeline/core/json_writer.h"
#include "pipeline/stages/syslog_parse.h"

namespace klaxon {
namespace {

void append_timestamp(std::string& out, int64_t ns) {
  out.push_back('"');
  append_rfc3339(ns, out);
  out.push_back('"');
}

void append_structured_data(std::string& out, std::string_view sd) {
  StructuredDataReader reader(sd);
  JsonObjectWriter elements(out);
  std::string_view id, name, raw;
  std::string value;
  while (reader.next_element(id)) {
    elements.key_escaped(id);
    JsonObjectWriter params(out);
    while (reader.next_param(name, raw)) {
      params.key_escaped(name);
      value.clear();
      unescape_sd_value(raw, value);
      append_json_string(out, value);
    }
    params.close();
  }
  elements.close();
}

}  // namespace

void append_alert_json(const Alert& a, std::string& out) {
  JsonObjectWriter root(out);
  root.key("@timestamp");
  append_timestamp(out, a.has_timestamp ? a.timestamp_ns : a.ingest.received_ns);

  root.key("event");
  {
    JsonObjectWriter ev(out);
    ev.str("kind", a.event_kind);
    ev.str_if("category", a.event_category);
    ev.str_if("module", a.event_module);
    ev.str_if("dataset", a.event_dataset);
    ev.str_if("action", a.event_action);
    if (a.event_severity >= 0) ev.num("severity", a.event_severity);
    ev.key("created");
    append_timestamp(out, a.ingest.received_ns);
    if (is_valid_utf8(a.raw)) {
      ev.str("original", a.raw);
    } else {
      // Not text: keep the exact bytes, so that the hash below can be checked.
      ev.key("original_base64");
      out.push_back('"');
      append_base64(out, a.raw);
      out.push_back('"');
    }
    ev.key("hash");
    out.append("\"sha256:");
    append_hex(out, a.raw_sha256.data(), a.raw_sha256.size());
    out.push_back('"');
    ev.close();
  }
  if (!a.message.empty()) root.str("message", a.message);

  const std::string_view host = !a.host_name.empty() ? a.host_name : a.syslog.hostname;
  if (!host.empty()) {
    root.key("host");
    JsonObjectWriter h(out);
    h.str("name", host);
    h.close();
  }
  if (!a.rule_id.empty() || !a.rule_name.empty() || !a.rule_category.empty()) {
    root.key("rule");
    JsonObjectWriter r(out);
    r.str_if("id", a.rule_id);
    r.str_if("name", a.rule_name);
    r.str_if("category", a.rule_category);
    r.close();
  }
  auto endpoint = [&](std::string_view name, std::string_view ip, int32_t port) {
    if (ip.empty() && port < 0) return;
    root.key(name);
    JsonObjectWriter e(out);
    e.str_if("ip", ip);
    if (port >= 0) e.num("port", port);
    e.close();
  };
  endpoint("source", a.source_ip, a.source_port);
  endpoint("destination", a.destination_ip, a.destination_port);
  if (!a.network_transport.empty() || !a.network_protocol.empty() ||
      !a.network_community_id.empty()) {
    root.key("network");
    JsonObjectWriter n(out);
    if (!a.network_transport.empty()) {
      n.key("transport");
      append_json_string_lower(out, a.network_transport);
    }
    if (!a.network_protocol.empty()) {
      n.key("protocol");
      append_json_string_lower(out, a.network_protocol);
    }
    n.str_if("community_id", a.network_community_id);
    n.close();
  }
  if (!a.user_name.empty()) {
    root.key("user");
    JsonObjectWriter u(out);
    u.str("name", a.user_name);
    u.close();
  }
  if (!a.file_name.empty() || !a.file_path.empty() || !a.file_hash_md5.empty() ||
      !a.file_hash_sha1.empty() || !a.file_hash_sha256.empty()) {
    root.key("file");
    JsonObjectWriter f(out);
    f.str_if("name", a.file_name);
    f.str_if("path", a.file_path);
    if (!a.file_hash_md5.empty() || !a.file_hash_sha1.empty() || !a.file_hash_sha256.empty()) {
      f.key("hash");
      JsonObjectWriter h(out);
      h.str_if("md5", a.file_hash_md5);
      h.str_if("sha1", a.file_hash_sha1);
      h.str_if("sha256", a.file_hash_sha256);
      h.close();
    }
    f.close();
  }
  if (!a.url_original.empty() || !a.url_domain.empty()) {
    root.key("url");
    JsonObjectWriter u(out);
    u.str_if("original", a.url_original);
    u.str_if("domain", a.url_domain);
    u.close();
  }
  if (!a.process_name.empty() || !a.process_command_line.empty()) {
    root.key("process");
    JsonObjectWriter p(out);
    p.str_if("name", a.process_name);
    p.str_if("command_line", a.process_command_line);
    p.close();
  }
  if (a.label_count > 0) {
    root.key("labels");
    JsonObjectWriter l(out);
    for (size_t i = 0; i < a.label_count; ++i) {
      l.key_escaped(a.labels[i].key);  // keys come from the message
      append_json_string(out, a.labels[i].value);
    }
    l.close();
  }
  if (!a.observer_product.empty() || !a.observer_name.empty()) {
    root.key("observer");
    JsonObjectWriter o(out);
    o.str_if("name", a.observer_name);
    o.str_if("product", a.observer_product);
    o.str_if("vendor", a.observer_vendor);
    o.str_if("type", a.observer_type);
    o.close();
  }
  if (a.syslog.format != SyslogFormat::kNone) {
    root.key("log");
    JsonObjectWriter log(out);
    log.key("syslog");
    JsonObjectWriter s(out);
    if (a.syslog.facility >= 0) {
      s.num("priority", a.syslog.facility * 8 + a.syslog.severity);
      s.key("facility");
      JsonObjectWriter f(out);
      f.num("code", a.syslog.facility);
      f.close();
      s.key("severity");
      JsonObjectWriter sv(out);
      sv.num("code", a.syslog.severity);
      sv.close();
    }
    if (a.syslog.version > 0) s.num("version", a.syslog.version);
    s.str_if("hostname", a.syslog.hostname);
    s.str_if("appname", a.syslog.appname);
    s.str_if("procid", a.syslog.procid);
    s.str_if("msgid", a.syslog.msgid);
    if (!a.syslog.structured_data.empty()) {
      s.key("structured_data");
      append_structured_data(out, a.syslog.structured_data);
    }
    s.close();
    log.close();
  }
  root.key("klaxon");
  {
    JsonObjectWriter k(out);
    k.str("severity", severity_name(a.severity));
    k.str("format", syslog_format_name(a.syslog.format));
    // The body's format when it was not free text: "json", "cef", "suricata", ...
    if (a.format != InputFormat::kSyslog && a.format != InputFormat::kAuto)
      k.str("body", input_format_name(a.format));
    if (a.labels_dropped > 0) k.num("labels_dropped", a.labels_dropped);
    if (!a.has_timestamp) k.str("timestamp_source", "received");
    k.key("ingest");
    JsonObjectWriter in(out);
    in.str("transport", transport_name(a.ingest.transport));
    in.str_if("peer", a.ingest.peer);
    in.str_if("listener", a.ingest.listener);
    in.str_if("tls_subject", a.ingest.tls_subject);
    in.str_if("tls_fingerprint", a.ingest.tls_fingerprint);
    append_kafka_position(in, out, a.ingest.kafka_topic, a.ingest.kafka_partition,
                          a.ingest.kafka_offset);
    in.close();
    k.close();
  }
  root.close();
}

}  // namespace klaxon
