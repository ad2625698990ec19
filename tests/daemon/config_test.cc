#include "daemon/config.h"

#include "daemon/notifier.h"
#include "pipeline/sources/tls.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

namespace klaxon {
namespace {

TEST(Config, EmbeddedDefaultIsValidAndHasTheDocumentedListeners) {
  auto c = parse_config(default_config_yaml(), "<default>");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->tcp[0].port, 5514);
  ASSERT_EQ(c->udp.size(), 1u);
  EXPECT_EQ(c->udp[0].port, 5514);
  EXPECT_EQ(c->http_listen, "127.0.0.1:9780");
  ASSERT_EQ(c->tcp.size(), 2u);
  EXPECT_TRUE(c->tcp[1].tls);
  EXPECT_EQ(c->tcp[1].port, 6514);
  EXPECT_EQ(c->tcp[1].tls_options.self_signed_dir, "data/tls");
  EXPECT_TRUE(c->sync);
}

struct Bad {
  const char* yaml;
  const char* expect;  // substring of the message: the key and what was expected
};

TEST(Config, ErrorsNameTheFileTheKeyAndWhatWasExpected) {
  const Bad cases[] = {
      {"data_dir: x\nhttp:\n  listen: nope\n", "f.yaml: http.listen: expected host:port"},
      {"sources:\n  s:\n    type: syslog_tcp\n    max_conections: 3\n",
       "sources.s.max_conections: unknown key"},
      {"sources:\n  s:\n    type: syslog_tcp\n    max_message_size: 10GiB\n",
       "sources.s.max_message_size: expected a size from"},
      {"sources:\n  s:\n    type: syslog_tcp\n    idle_timeout: soon\n",
       "sources.s.idle_timeout: expected a duration"},
      {"sources:\n  s:\n    type: carrier_pigeon\n",
       "sources.s.type: expected syslog_tcp, syslog_tls, syslog_udp or kafka"},
      {"sources:\n  k:\n    type: kafka\n    topics: [a]\n",
       "sources.k.brokers: expected host:port"},
      {"sources:\n  k:\n    type: kafka\n    brokers: b:9092\n",
       "sources.k.topics: expected a list"},
      {"sources:\n  k:\n    type: kafka\n    brokers: b:9092\n    topics: [a]\n    properties:\n   "
       "   enable.auto.offset.store: true\n",
       "sources.k.properties.enable.auto.offset.store: set by klaxon"},
      {"sources:\n  s:\n    type: syslog_tls\n    cert_file: /nonexistent.pem\n",
       "sources.s.cert_file: cannot read \"/nonexistent.pem\""},
      {"sources:\n  s:\n    type: syslog_tls\n    client_auth: required\n",
       "sources.s.ca_file: client_auth required needs ca_file"},
      {"sources:\n  s:\n    type: syslog_tls\n    client_auth: sometimes\n",
       "sources.s.client_auth: expected none, optional or required"},
      {"sources:\n  s:\n    type: syslog_tls\n    allow: [a.example.org]\n",
       "sources.s.allow: an allow-list needs client_auth"},
      {"sources:\n  s:\n    type: syslog_tcp\n    cert_file: x\n",
       "sources.s.cert_file: unknown key"},
      {"storage:\n  sync: sometimes\n", "storage.sync: expected commit"},
      {"parse:\n  timezone: CET\n", "parse.timezone: expected a UTC offset"},
      {"log:\n  level: loud\n", "log.level: expected debug"},
      {"colour: blue\n", "f.yaml: colour: unknown key"},
      {"a: [\n", "f.yaml:"},
      {"sources:\n  a:\n    type: syslog_tcp\n    listen: 127.0.0.1:1\n  b:\n    type: "
       "syslog_tcp\n    listen: 127.0.0.1:1\n",
       "already listens"},
      {"sources:\n  s:\n    type: syslog_udp\n    listen: 1.2.3.4:70000\n", "not a port"},
      {"correlate:\n  min_severity: loud\n", "correlate.min_severity: expected info, low"},
      {"correlate:\n  group_by: [host.name, hostname]\n",
       "correlate.group_by: unknown fingerprint field 'hostname'"},
      {"correlate:\n  group_by: []\n", "correlate.group_by: expected a non-empty list"},
      {"correlate:\n  shards: 0\n", "correlate.shards: expected"},
      {"correlate:\n  group_window: soon\n", "correlate.group_window: expected a duration"},
      {"correlate:\n  grouping: x\n", "correlate.grouping: unknown key"},
      {"dedupe:\n  key: [rule.id, rule.id]\n",
       "dedupe.key: fingerprint field 'rule.id' is listed twice"},
      {"dedupe:\n  max_entries: 5\n", "dedupe.max_entries: expected"},
      {"data_dir: /tmp/d\naudit:\n  signing_key: /tmp/d/k.key\n  checkpoint_file: /tmp/c\n  "
       "generate_key: true\n",
       "audit.signing_key: must lie outside data_dir"},
      {"data_dir: /tmp/d\naudit:\n  signing_key: /tmp/k.key\n  checkpoint_file: /tmp/d/c\n  "
       "generate_key: true\n",
       "audit.checkpoint_file: must lie outside data_dir"},
      {"audit:\n  signing_key: /nonexistent/k.key\n  checkpoint_file: /tmp/c\n",
       "audit.signing_key: cannot read"},
      {"audit:\n  signing_key: /tmp/k.pem\n  checkpoint_file: /tmp/c\n  generate_key: true\n",
       "audit.signing_key: with generate_key the file name must end in .key"},
      {"correlate:\n  rules: /nonexistent/rules.yml\n", "correlate.rules: cannot read"},
      {"audit:\n  signing_key: /tmp/k.key\n  generate_key: true\n",
       "audit.checkpoint_file: a signing_key needs a checkpoint_file"},
      {"sources:\n  s:\n    type: syslog_udp\n    format: xml\n",
       "sources.s.format: expected one of auto, syslog, json, cef, leef"},
      {"sources:\n  k:\n    type: kafka\n    brokers: b:9092\n    topics: [a]\n    "
       "topic_formats:\n      a: csv\n",
       "sources.k.topic_formats.a: expected one of auto"},
  };
  for (const auto& b : cases) {
    auto c = parse_config(b.yaml, "f.yaml");
    ASSERT_FALSE(c.has_value()) << b.yaml;
    EXPECT_NE(c.error().message.find(b.expect), std::string::npos)
        << "got: " << c.error().message << "\nwant: " << b.expect;
  }
}

TEST(Config, TheDocumentedExampleConfigIsValid) {
  // The example names files under /etc/klaxon/tls: make them in a temp dir and point there.
  test::TempDir dir;
  std::string text =
      test::read_file(std::string(KLAXON_SOURCE_DIR) + "/deploy/klaxon.example.yaml");
  ASSERT_FALSE(text.empty());
  for (size_t p; (p = text.find("/etc/klaxon/tls/")) != std::string::npos;) {
    text.replace(p, 16, dir.path() + "/");
  }
  // The Sigma rules example is the one in deploy/: it must load.
  const std::string rules_at = "/etc/klaxon/rules.yml";
  text.replace(text.find(rules_at), rules_at.size(),
               std::string(KLAXON_SOURCE_DIR) + "/deploy/rules.example.yml");
  CertificateSpec spec;
  spec.common_name = "klaxond";
  ASSERT_TRUE(write_certificate(spec, dir.path() + "/klaxond.crt", dir.path() + "/klaxond.key")
                  .has_value());
  test::write_file(dir.path() + "/senders-ca.pem", test::read_file(dir.path() + "/klaxond.crt"));
  test::write_file(dir.path() + "/kafka-ca.pem", test::read_file(dir.path() + "/klaxond.crt"));
  const std::string bootstrap_at = "/etc/klaxon/rdap/ipv4.json";
  text.replace(text.find(bootstrap_at), bootstrap_at.size(), dir.path() + "/ipv4.json");
  test::write_file(
      dir.path() + "/ipv4.json",
      R"({"version":"1.0","services":[[["41.0.0.0/8"],["https://rdap.afrinic.net/rdap/"]]]})");
  const std::string tokens_at = "/etc/klaxon/http.tokens";
  text.replace(text.find(tokens_at), tokens_at.size(), dir.path() + "/http.tokens");
  test::write_file(dir.path() + "/http.tokens", "# rotated monthly\nsecond-token-0123456789\n");
  auto c = parse_config(text, "klaxon.example.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_TRUE(c->correlate.rules);
  EXPECT_EQ(c->correlate.rules->correlations().size(), 2u);
  ASSERT_EQ(c->kafka.size(), 1u);
  EXPECT_EQ(c->kafka[0].properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c->data_dir, "/var/lib/klaxon");
  EXPECT_EQ(c->http_tokens.size(), 2u);  // the list and the file's
  EXPECT_EQ(c->enrich.options.rdap_bootstrap_files.size(), 1u);
  EXPECT_EQ(c->enrich.options.dns_timeout.count(), 800);
  EXPECT_EQ(c->kafka[0].topic_formats.at("alerts"), InputFormat::kJson);
  EXPECT_EQ(c->tcp.size(), 2u);
  EXPECT_EQ(c->udp.size(), 1u);
}

TEST(Config, SizesDurationsAndRestartOnlyKeys) {
  auto a = parse_config(
      "sources:\n  t:\n    type: syslog_tcp\n    listen: 127.0.0.1:0\n    max_message_size: 1MiB\n"
      "    idle_timeout: 250ms\n",
      "a.yaml");
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->tcp[0].framer.max_message_size, 1u << 20);
  EXPECT_EQ(a->tcp[0].idle_timeout.count(), 250);
  auto b =
      parse_config("sources:\n  t:\n    type: syslog_tcp\n    listen: 127.0.0.1:1\n", "b.yaml");
  ASSERT_TRUE(b.has_value());
  const auto changes = restart_required_changes(*a, *b);
  ASSERT_EQ(changes.size(), 1u);
}

TEST(Config, GenericJsonFieldPathsReachTheParser) {
  auto c = parse_config(
      "parse:\n  json_fields:\n    rule.name: detection.title\n    source.ip: net.src.addr\n"
      "  json_numeric_severity: risk_score\n",
      "f.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_TRUE(c->parse.parse.json);
  MessageParser parser(c->parse.parse);
  const std::string body =
      R"({"detection":{"title":"Impossible travel"},"net":{"src":{"addr":"203.0.113.9"}}})";
  const std::string padded = body + std::string(kParsePadding, '\0');
  IngestMeta meta;
  meta.format = InputFormat::kGeneric;
  Alert a;
  ASSERT_TRUE(parser.parse(std::string_view(padded.data(), body.size()), meta, 0, a).ok());
  EXPECT_EQ(a.rule_name, "Impossible travel");
  EXPECT_EQ(a.source_ip, "203.0.113.9");
  auto bad = parse_config("parse:\n  json_fields:\n    rule.nmae: x\n", "f.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("parse.json_fields"), std::string::npos)
      << bad.error().message;
  bad = parse_config("parse:\n  json_numeric_severity: loud\n", "f.yaml");
  ASSERT_FALSE(bad.has_value());
}

TEST(Config, FormatPerListenerAndPerKafkaTopic) {
  auto c = parse_config(
      "sources:\n  cef_in:\n    type: syslog_tcp\n    listen: 127.0.0.1:1\n    format: cef\n"
      "  u:\n    type: syslog_udp\n    listen: 127.0.0.1:2\n    format: falco\n"
      "  k:\n    type: kafka\n    brokers: b:9092\n    topics: [eve, am]\n    format: json\n"
      "    topic_formats:\n      am: alertmanager\n",
      "f.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->tcp[0].format, InputFormat::kCef);
  EXPECT_EQ(c->udp[0].format, InputFormat::kFalco);
  EXPECT_EQ(c->kafka[0].format, InputFormat::kJson);
  EXPECT_EQ(c->kafka[0].topic_formats.at("am"), InputFormat::kAlertmanager);
  // The embedded default detects per message.
  auto d = parse_config(default_config_yaml(), "default");
  ASSERT_TRUE(d.has_value());
  for (const auto& t : d->tcp) EXPECT_EQ(t.format, InputFormat::kAuto);
  // A listener's format is bound to its socket: changing it needs a restart.
  auto e = parse_config(
      "sources:\n  cef_in:\n    type: syslog_tcp\n    listen: 127.0.0.1:1\n    format: leef\n"
      "  u:\n    type: syslog_udp\n    listen: 127.0.0.1:2\n    format: falco\n",
      "e.yaml");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(restart_required_changes(*c, *e).size(), 1u);
}

}  // namespace
}  // namespace klaxon

namespace klaxon {
namespace {

TEST(Config, ApiTokensAndTheNotifySectionAreCheckedAtLoad) {
  const std::string hash(64, 'a');
  auto good = parse_config(
      "api:\n  tokens:\n    - {name: alice, role: responder, sha256: " + hash +
          "}\n"
          "notify:\n  route:\n    receiver: soc\n  receivers:\n    - name: soc\n"
          "      slack_configs:\n        - url: https://hooks.slack.com/services/T/B/x\n"
          "  policies:\n    - match: {severity: [critical]}\n"
          "      escalation:\n        - {after: 15m, receivers: [soc]}\n"
          "      report: {deadline: 72h, warn_before: 12h}\n",
      "f.yaml");
  ASSERT_TRUE(good.has_value()) << good.error().message;
  ASSERT_EQ(good->api_tokens.size(), 1u);
  EXPECT_EQ(good->api_tokens[0].role, "responder");
  EXPECT_EQ(good->api_tokens[0].sha256[0], 0xaa);
  auto nc = parse_notifier_config(good->notify_yaml);
  ASSERT_TRUE(nc.has_value()) << nc.error().message;
  ASSERT_EQ(nc->policies.size(), 1u);
  EXPECT_EQ(nc->policies[0].ack_deadline_ns, 15LL * 60 * 1'000'000'000);
  EXPECT_EQ(nc->policies[0].report_deadline_ns, 72LL * 3600 * 1'000'000'000);

  struct Bad {
    std::string yaml, needle;
  };
  const std::vector<Bad> bad = {
      {"api:\n  tokens:\n    - {name: a, role: root, sha256: " + hash + "}\n",
       "api.tokens[0].role"},
      {"api:\n  tokens:\n    - {name: a, role: admin, sha256: abc}\n", "api.tokens[0].sha256"},
      {"notify:\n  route:\n    receiver: nobody\n  receivers:\n    - name: soc\n", "nobody"},
      {"notify:\n  route:\n    receiver: soc\n  receivers:\n    - name: soc\n  policies:\n"
       "    - escalation:\n        - {after: 5m, receivers: [ghost]}\n",
       "ghost"},
      {"notify:\n  route:\n    receiver: soc\n  receivers:\n    - name: soc\n  polices: []\n",
       "polices"},
      {"notify:\n  route:\n    receiver: soc\n  receivers:\n    - name: soc\n"
       "      webhook_configs:\n        - url: http://192.0.2.1/x\n",
       "webhook_configs"},
  };
  for (const Bad& b : bad) {
    auto c = parse_config(b.yaml, "f.yaml");
    ASSERT_FALSE(c.has_value()) << b.yaml;
    EXPECT_NE(c.error().message.find(b.needle), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("f.yaml"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace klaxon
