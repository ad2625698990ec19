// render(): the bytes per receiver kind, parsed back and checked field by field against
// /work/shared/reference/ecosystem.md §4; Standard Webhooks signing against an independent
// HMAC and the spec libraries' known-answer vector; the stored request form.
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/request.h"
#include "pipeline/sinks/signing.h"
#include "tests/sinks/sink_fixtures.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <set>

namespace klaxon::sinks {
namespace {

using notify::NotifyKind;
using test::sample_incident;
using test::sample_notification;

constexpr const char* kId1 = "0b6a7f2e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
constexpr const char* kId2 = "5d4c3b2a-1908-4f7e-9d6c-5b4a39281706";

IntegrationConfig config_for(SinkKind kind) {
  IntegrationConfig c;
  c.kind = kind;
  c.receiver = "soc";
  c.name = std::string("soc/") + sink_kind_name(kind) + "/0";
  switch (kind) {
    case SinkKind::kWebhook:
      c.url = "https://hooks.example.org/klaxon";
      c.signing_key = *decode_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
      break;
    case SinkKind::kSlack:
      c.url = "https://hooks.slack.com/services/T0/B0/XYZ";
      break;
    case SinkKind::kPagerDuty:
      c.url = "https://events.pagerduty.com/v2/enqueue";
      c.routing_key = "0123456789abcdef0123456789abcdef";
      break;
    case SinkKind::kOpsgenie:
      c.url = "https://api.opsgenie.com";
      c.api_key = "og-secret-key";
      c.responders = {{"", "soc-oncall", "", "team"}};
      c.tags = {"prod"};
      break;
    case SinkKind::kTeams:
      c.url = "https://prod.westeurope.logic.azure.com/workflows/x";
      break;
    case SinkKind::kTheHive:
      c.url = "https://thehive.example.org";
      c.api_key = "hive-secret-key";
      c.organisation = "SOC";
      break;
    case SinkKind::kEmail:
      c.url = "smtp://mail.example.org:587";
      c.from = "klaxon <klaxon@example.org>";
      c.to = {"soc@example.org", "Ana \xC3\x81lvarez <ana@example.org>"};
      break;
  }
  return c;
}

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& body) {
  simdjson::dom::element e;
  auto err = p.parse(body).get(e);
  EXPECT_EQ(err, simdjson::SUCCESS) << body;
  return e;
}

std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

std::string header(const OutboundRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  for (const auto& [k, v] : r.secret_headers) {
    if (k == name) return v;
  }
  return "";
}

// ---- webhook -----------------------------------------------------------------------------

TEST(SinkRender, WebhookIsOneVersionedDocumentWithFullViews) {
  auto n = sample_notification(NotifyKind::kTrigger,
                               {sample_incident(kId1), sample_incident(kId2, "high")});
  auto reqs = render(n, config_for(SinkKind::kWebhook));
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://hooks.example.org/klaxon");
  EXPECT_EQ(r.idempotency_key, n.idempotency_key);
  EXPECT_EQ(header(r, "Idempotency-Key"), n.idempotency_key);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.incident_ids, (std::vector<std::string>{kId1, kId2}));
  simdjson::dom::parser p;
  auto doc = parse(p, r.body);
  EXPECT_EQ(str(doc["version"]), "1");
  EXPECT_EQ(str(doc["kind"]), "trigger");
  EXPECT_EQ(str(doc["receiver"]), "soc");
  EXPECT_EQ(str(doc["group_key"]), n.group_key);
  EXPECT_EQ(str(doc["group_labels"]["host"]), "web-01.example.org");
  EXPECT_EQ(str(doc["created"]), "2026-05-20T10:01:02.000Z");
  simdjson::dom::array incidents = doc["incidents"];
  ASSERT_EQ(incidents.size(), 2u);
  auto first = incidents.at(0);
  EXPECT_EQ(str(first["id"]), kId1);
  EXPECT_EQ(str(first["url"]), std::string("https://klaxon.example.org/incidents/") + kId1);
  EXPECT_EQ(str(first["severity"]), "critical");
  EXPECT_EQ(str(first["labels"]["source_ip"]), "192.0.2.7");
  EXPECT_EQ(int64_t(first["alert_count"]), 42);
  EXPECT_EQ(int64_t(first["occurrences"]), 57);
  EXPECT_EQ(int64_t(first["version"]), 7);
  EXPECT_EQ(str(first["ack_deadline"]), "2026-05-20T10:16:02.000Z");
  EXPECT_TRUE(first["report_deadline"].is_null());
  simdjson::dom::array obs = first["observables"];
  EXPECT_EQ(obs.size(), 4u);  // the webhook carries the view as it is
  EXPECT_EQ(str(obs.at(0)["kind"]), "source.ip");
  EXPECT_EQ(str(incidents.at(1)["severity"]), "high");
}

TEST(SinkRender, RenderingIsDeterministic) {
  auto n = sample_notification(NotifyKind::kUpdate, {sample_incident(kId1)});
  for (int k = 0; k < kSinkKindCount; ++k) {
    const auto c = config_for(static_cast<SinkKind>(k));
    auto a = render(n, c);
    auto b = render(n, c);
    ASSERT_EQ(a.size(), b.size()) << sink_kind_name(c.kind);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].body, b[i].body);
  }
}

TEST(SinkRender, HostileTextStaysValidJson) {
  auto v = sample_incident(kId1);
  v.title = "quote \" backslash \\ newline \n tab \t bad \xFF\xFE utf8 <b>&";
  auto n = sample_notification(NotifyKind::kTrigger, {v});
  for (int k = 0; k < kSinkKindCount; ++k) {
    const auto c = config_for(static_cast<SinkKind>(k));
    if (c.kind == SinkKind::kEmail) continue;
    for (const auto& r : render(n, c)) {
      simdjson::dom::parser p;
      simdjson::dom::element e;
      EXPECT_EQ(p.parse(r.body).get(e), simdjson::SUCCESS) << sink_kind_name(c.kind) << r.body;
    }
  }
}

TEST(SinkRender, NoIncidentsNoRequests) {
  auto n = sample_notification(NotifyKind::kTrigger, {});
  for (int k = 0; k < kSinkKindCount; ++k) {
    EXPECT_TRUE(render(n, config_for(static_cast<SinkKind>(k))).empty());
  }
}

// ---- Standard Webhooks signing -------------------------------------------------------------

std::string independent_signature(const std::string& key, const std::string& signed_content) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
       &len);
  unsigned char b64[128];
  const int n = EVP_EncodeBlock(b64, mac, static_cast<int>(len));
  return "v1," + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

TEST(SinkSigning, KnownAnswerFromStandardWebhooksLibraries) {
  // standard-webhooks/standard-webhooks:libraries/javascript/src/webhook.test.ts,
  // "sign function works".
  auto key = decode_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(standard_webhooks_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                        "{\"test\": 2432232314}"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // The prefix is optional (same library: "verification works with and without prefix").
  EXPECT_EQ(*decode_webhook_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), *key);
}

TEST(SinkSigning, MatchesAnIndependentHmacOverIdTimestampBody) {
  const auto c = config_for(SinkKind::kWebhook);
  auto reqs = render(sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)}), c);
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  const std::string sig =
      standard_webhooks_signature(c.signing_key, r.idempotency_key, 1779271262, r.body);
  EXPECT_EQ(sig, independent_signature(c.signing_key, r.idempotency_key + ".1779271262." + r.body));
  // Any change to id, timestamp or body changes it.
  EXPECT_NE(sig, standard_webhooks_signature(c.signing_key, r.idempotency_key, 1779271263, r.body));
  EXPECT_NE(sig, standard_webhooks_signature(c.signing_key, "other", 1779271262, r.body));
  EXPECT_NE(
      sig, standard_webhooks_signature(c.signing_key, r.idempotency_key, 1779271262, r.body + " "));
}

TEST(SinkSigning, SecretsAreStrict) {
  EXPECT_FALSE(decode_webhook_secret("whsec_c2hvcnQ=").has_value());  // 5 bytes
  EXPECT_FALSE(decode_webhook_secret("whsec_not*base64").has_value());
  EXPECT_FALSE(base64_decode("A").has_value());
  EXPECT_EQ(*base64_decode("aGVsbG8"), "hello");
  EXPECT_EQ(*base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---- Slack -------------------------------------------------------------------------------

TEST(SinkRender, SlackTextAndBlocks) {
  auto v = sample_incident(kId1);
  v.title = "SSH <brute> & force";
  auto n = sample_notification(NotifyKind::kTrigger, {v});
  auto reqs = render(n, config_for(SinkKind::kSlack));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].url, "https://hooks.slack.com/services/T0/B0/XYZ");
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  EXPECT_EQ(str(doc["text"]), "[CRITICAL] SSH <brute> & force (42 alerts)");
  simdjson::dom::array blocks = doc["blocks"];
  ASSERT_GE(blocks.size(), 3u);
  EXPECT_EQ(str(blocks.at(0)["type"]), "header");
  EXPECT_EQ(str(blocks.at(0)["text"]["type"]), "plain_text");
  EXPECT_EQ(str(blocks.at(0)["text"]["text"]), "[CRITICAL] SSH <brute> & force");
  EXPECT_EQ(str(blocks.at(1)["type"]), "context");  // the reason
  auto section = blocks.at(2);
  EXPECT_EQ(str(section["type"]), "section");
  EXPECT_EQ(str(section["text"]["text"]), "*SSH &lt;brute&gt; &amp; force*");  // mrkdwn escaped
  simdjson::dom::array fields = section["fields"];
  EXPECT_LE(fields.size(), 10u);
  EXPECT_EQ(str(fields.at(0)["text"]), std::string("*Incident:*\n") + kId1);
  std::set<std::string> texts;
  for (auto f : fields) texts.insert(str(f["text"]));
  EXPECT_TRUE(texts.count("*Alerts:*\n42"));
  EXPECT_TRUE(texts.count("*Source:*\n192.0.2.7"));
  EXPECT_TRUE(texts.count("*Ack by:*\n2026-05-20 10:16 UTC"));
  EXPECT_EQ(str(blocks.at(3)["elements"].at(0)["text"]),
            std::string("<https://klaxon.example.org/incidents/") + kId1 + "|Open in klaxon>");
}

TEST(SinkRender, SlackListsAtMostMaxIncidents) {
  std::vector<notify::IncidentView> many;
  for (int i = 0; i < 30; ++i) {
    many.push_back(sample_incident("00000000-0000-4000-8000-0000000000" + std::to_string(10 + i)));
  }
  auto c = config_for(SinkKind::kSlack);
  c.max_incidents = 20;
  auto reqs = render(sample_notification(NotifyKind::kRepeat, many), c);
  ASSERT_EQ(reqs.size(), 1u);
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  simdjson::dom::array blocks = doc["blocks"];
  EXPECT_LE(blocks.size(), 50u);  // Slack's per-message limit
  size_t sections = 0;
  for (auto b : blocks) sections += str(b["type"]) == "section";
  EXPECT_EQ(sections, 20u);
  EXPECT_EQ(str(blocks.at(blocks.size() - 1)["elements"].at(0)["text"]), "and 10 more incidents");
  EXPECT_EQ(str(doc["text"]).substr(0, 43), "[CRITICAL] Still open: 30 incidents: SSH br");
  EXPECT_EQ(reqs[0].incident_ids.size(), 30u);
}

// ---- PagerDuty ---------------------------------------------------------------------------

TEST(SinkRender, PagerDutyOneEventPerIncidentWithMappedSeverity) {
  auto n = sample_notification(NotifyKind::kTrigger,
                               {sample_incident(kId1, "critical"), sample_incident(kId2, "high")});
  auto reqs = render(n, config_for(SinkKind::kPagerDuty));
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(reqs[0].idempotency_key, n.idempotency_key + ":" + kId1);
  EXPECT_EQ(reqs[1].incident_ids, std::vector<std::string>{kId2});
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  EXPECT_EQ(str(doc["routing_key"]), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(str(doc["event_action"]), "trigger");
  EXPECT_EQ(str(doc["dedup_key"]), std::string("klaxon:") + kId1);
  EXPECT_EQ(str(doc["payload"]["summary"]), "SSH brute force on web-01 (42 alerts)");
  EXPECT_EQ(str(doc["payload"]["source"]), "web-01.example.org");
  EXPECT_EQ(str(doc["payload"]["severity"]), "critical");
  EXPECT_EQ(str(doc["payload"]["timestamp"]), "2026-05-20T10:00:02.000Z");
  EXPECT_EQ(str(doc["payload"]["class"]), "intrusion_detection");
  EXPECT_EQ(str(doc["payload"]["custom_details"]["incident"]), kId1);
  EXPECT_EQ(str(doc["payload"]["custom_details"]["source_ip"]), "192.0.2.7");
  EXPECT_EQ(str(doc["links"].at(0)["href"]),
            std::string("https://klaxon.example.org/incidents/") + kId1);
  EXPECT_EQ(str(doc["client"]), "klaxon");
  simdjson::dom::parser p2;
  EXPECT_EQ(str(parse(p2, reqs[1].body)["payload"]["severity"]), "error");

  EXPECT_STREQ(pagerduty_severity("medium"), "warning");
  EXPECT_STREQ(pagerduty_severity("low"), "info");
  EXPECT_STREQ(pagerduty_severity("info"), "info");
}

TEST(SinkRender, PagerDutyActionsByKind) {
  const std::vector<std::pair<NotifyKind, std::string>> cases = {
      {NotifyKind::kTrigger, "trigger"},        {NotifyKind::kUpdate, "trigger"},
      {NotifyKind::kRepeat, "trigger"},         {NotifyKind::kEscalation, "trigger"},
      {NotifyKind::kReportDeadline, "trigger"}, {NotifyKind::kAcknowledge, "acknowledge"},
      {NotifyKind::kResolve, "resolve"},        {NotifyKind::kClose, "resolve"}};
  for (const auto& [kind, action] : cases) {
    auto reqs = render(sample_notification(kind, {sample_incident(kId1)}),
                       config_for(SinkKind::kPagerDuty));
    ASSERT_EQ(reqs.size(), 1u);
    simdjson::dom::parser p;
    auto doc = parse(p, reqs[0].body);
    EXPECT_EQ(str(doc["event_action"]), action) << notify::notify_kind_name(kind);
    EXPECT_EQ(str(doc["dedup_key"]), std::string("klaxon:") + kId1);
    // Acknowledge and resolve carry only routing_key, dedup_key and event_action.
    simdjson::dom::element payload;
    EXPECT_EQ(doc["payload"].get(payload) == simdjson::SUCCESS, action == "trigger");
  }
}

// ---- Opsgenie ----------------------------------------------------------------------------

TEST(SinkRender, OpsgenieCreateByAlias) {
  auto v = sample_incident(kId1, "high");
  v.title = std::string(200, 'x');
  auto n = sample_notification(NotifyKind::kTrigger, {v});
  auto reqs = render(n, config_for(SinkKind::kOpsgenie));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].url, "https://api.opsgenie.com/v2/alerts");
  EXPECT_EQ(header(reqs[0], "Authorization"), "GenieKey og-secret-key");
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  const std::string message = str(doc["message"]);
  size_t chars = 0;
  for (unsigned char ch : message) chars += (ch & 0xC0) != 0x80;
  EXPECT_EQ(chars, 130u);  // Opsgenie's limit, cut with an ellipsis
  EXPECT_EQ(str(doc["alias"]), std::string("klaxon:") + kId1);
  EXPECT_EQ(str(doc["priority"]), "P2");
  EXPECT_EQ(str(doc["responders"].at(0)["name"]), "soc-oncall");
  EXPECT_EQ(str(doc["responders"].at(0)["type"]), "team");
  EXPECT_EQ(str(doc["details"]["incident"]), kId1);
  EXPECT_EQ(str(doc["details"]["alert_count"]), "42");  // details are a map of strings
  EXPECT_EQ(str(doc["entity"]), "web-01.example.org");
  EXPECT_EQ(str(doc["source"]), "klaxon");
  std::set<std::string> tags;
  for (auto t : simdjson::dom::array(doc["tags"])) tags.insert(str(t));
  EXPECT_EQ(tags, (std::set<std::string>{"klaxon", "intrusion_detection", "high", "prod"}));

  EXPECT_STREQ(opsgenie_priority("critical"), "P1");
  EXPECT_STREQ(opsgenie_priority("medium"), "P3");
  EXPECT_STREQ(opsgenie_priority("low"), "P4");
  EXPECT_STREQ(opsgenie_priority("info"), "P5");
}

TEST(SinkRender, OpsgenieLaterKindsUseTheAliasEndpoints) {
  const std::string base = std::string("https://api.opsgenie.com/v2/alerts/klaxon:") + kId1 + "/";
  const std::vector<std::pair<NotifyKind, std::string>> cases = {
      {NotifyKind::kUpdate, base + "notes?identifierType=alias"},
      {NotifyKind::kAcknowledge, base + "acknowledge?identifierType=alias"},
      {NotifyKind::kResolve, base + "close?identifierType=alias"},
      {NotifyKind::kClose, base + "close?identifierType=alias"},
      {NotifyKind::kEscalation, "https://api.opsgenie.com/v2/alerts"},
      {NotifyKind::kRepeat, "https://api.opsgenie.com/v2/alerts"}};
  for (const auto& [kind, url] : cases) {
    auto reqs =
        render(sample_notification(kind, {sample_incident(kId1)}), config_for(SinkKind::kOpsgenie));
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].url, url) << notify::notify_kind_name(kind);
    EXPECT_EQ(reqs[0].method, "POST");
    simdjson::dom::parser p;
    auto doc = parse(p, reqs[0].body);
    if (url.find("identifierType") != std::string::npos) {
      EXPECT_EQ(str(doc["source"]), "klaxon");
      EXPECT_FALSE(str(doc["note"]).empty());
    }
  }
}

// ---- Teams -------------------------------------------------------------------------------

TEST(SinkRender, TeamsAdaptiveCard) {
  auto n = sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)});
  auto reqs = render(n, config_for(SinkKind::kTeams));
  ASSERT_EQ(reqs.size(), 1u);
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  EXPECT_EQ(str(doc["type"]), "message");
  auto att = doc["attachments"].at(0);
  EXPECT_EQ(str(att["contentType"]), "application/vnd.microsoft.card.adaptive");
  EXPECT_TRUE(att["contentUrl"].is_null());
  auto card = att["content"];
  EXPECT_EQ(str(card["$schema"]), "http://adaptivecards.io/schemas/adaptive-card.json");
  EXPECT_EQ(str(card["type"]), "AdaptiveCard");
  EXPECT_EQ(str(card["version"]), "1.2");
  EXPECT_EQ(str(card["msteams"]["width"]), "full");
  simdjson::dom::array body = card["body"];
  EXPECT_EQ(str(body.at(0)["type"]), "TextBlock");
  EXPECT_EQ(str(body.at(0)["text"]), "[CRITICAL] SSH brute force on web-01");
  EXPECT_EQ(str(body.at(0)["color"]), "Attention");
  bool facts = false, link = false;
  for (auto b : body) {
    if (str(b["type"]) == "FactSet") {
      facts = true;
      EXPECT_EQ(str(b["facts"].at(0)["title"]), "Incident");
      EXPECT_EQ(str(b["facts"].at(0)["value"]), kId1);
    }
    if (str(b["type"]) == "TextBlock" && str(b["text"]).rfind("[Open incident](", 0) == 0) {
      link = true;
    }
  }
  EXPECT_TRUE(facts);
  EXPECT_TRUE(link);
  auto resolved = render(sample_notification(NotifyKind::kResolve, {sample_incident(kId1)}),
                         config_for(SinkKind::kTeams));
  simdjson::dom::parser p2;
  EXPECT_EQ(str(parse(p2, resolved[0].body)["attachments"].at(0)["content"]["body"].at(0)["color"]),
            "Good");
}

// ---- TheHive -----------------------------------------------------------------------------

TEST(SinkRender, TheHiveAlertPerIncident) {
  auto n = sample_notification(NotifyKind::kTrigger,
                               {sample_incident(kId1, "critical"), sample_incident(kId2, "low")});
  auto reqs = render(n, config_for(SinkKind::kTheHive));
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].url, "https://thehive.example.org/api/v1/alert");
  EXPECT_EQ(header(reqs[0], "Authorization"), "Bearer hive-secret-key");
  EXPECT_EQ(header(reqs[0], "X-Organisation"), "SOC");
  simdjson::dom::parser p;
  auto doc = parse(p, reqs[0].body);
  EXPECT_EQ(str(doc["type"]), "klaxon-incident");
  EXPECT_EQ(str(doc["source"]), "klaxon");
  EXPECT_EQ(str(doc["sourceRef"]), kId1);
  EXPECT_EQ(str(doc["title"]), "SSH brute force on web-01");
  EXPECT_FALSE(str(doc["description"]).empty());
  EXPECT_EQ(int64_t(doc["severity"]), 4);
  EXPECT_EQ(int64_t(doc["tlp"]), 2);
  EXPECT_EQ(int64_t(doc["pap"]), 2);
  EXPECT_EQ(int64_t(doc["date"]), 1779271262000);  // ms, as in ecosystem.md §4.5
  EXPECT_EQ(str(doc["externalLink"]), std::string("https://klaxon.example.org/incidents/") + kId1);
  simdjson::dom::array obs = doc["observables"];
  ASSERT_EQ(obs.size(), 2u);  // the repeated source.ip once, the rule not an observable
  EXPECT_EQ(str(obs.at(0)["dataType"]), "ip");
  EXPECT_EQ(str(obs.at(0)["data"]), "192.0.2.7");
  EXPECT_EQ(str(obs.at(1)["dataType"]), "fqdn");
  EXPECT_EQ(str(obs.at(1)["data"]), "web-01.example.org");
  simdjson::dom::parser p2;
  EXPECT_EQ(int64_t(parse(p2, reqs[1].body)["severity"]), 1);
  EXPECT_EQ(thehive_severity("high"), 3);
  EXPECT_EQ(thehive_severity("medium"), 2);
  EXPECT_EQ(thehive_severity("info"), 1);
}

TEST(SinkRender, TheHiveOnlyForKindsThatAnnounce) {
  for (auto kind :
       {NotifyKind::kUpdate, NotifyKind::kAcknowledge, NotifyKind::kResolve, NotifyKind::kClose}) {
    EXPECT_TRUE(
        render(sample_notification(kind, {sample_incident(kId1)}), config_for(SinkKind::kTheHive))
            .empty());
  }
  for (auto kind : {NotifyKind::kTrigger, NotifyKind::kRepeat, NotifyKind::kEscalation,
                    NotifyKind::kReportDeadline}) {
    EXPECT_EQ(
        render(sample_notification(kind, {sample_incident(kId1)}), config_for(SinkKind::kTheHive))
            .size(),
        1u);
  }
}

// ---- email -------------------------------------------------------------------------------

std::string header_block(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

// Unfolds and returns one header's value.
std::string mail_header(const std::string& message, const std::string& name) {
  const std::string head = header_block(message);
  const size_t at = head.find("\r\n" + name + ": ") != std::string::npos
                        ? head.find("\r\n" + name + ": ") + 2
                        : (head.rfind(name + ": ", 0) == 0 ? 0 : std::string::npos);
  if (at == std::string::npos) return "";
  size_t end = at;
  while (true) {
    end = head.find("\r\n", end);
    if (end + 2 >= head.size() || (head[end + 2] != ' ' && head[end + 2] != '\t')) break;
    end += 2;
  }
  std::string v = head.substr(at + name.size() + 2, end - at - name.size() - 2);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    out.push_back(v[i]);
  }
  return out;
}

TEST(SinkRender, EmailIsAnRfc5322MessageWithCrlfAndThreading) {
  auto n = sample_notification(NotifyKind::kTrigger,
                               {sample_incident(kId1), sample_incident(kId2, "medium")});
  auto reqs = render(n, config_for(SinkKind::kEmail));
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.url, "smtp://mail.example.org:587");
  EXPECT_EQ(r.mail_from, "klaxon@example.org");
  EXPECT_EQ(r.rcpt_to, (std::vector<std::string>{"soc@example.org", "ana@example.org"}));
  const std::string& m = r.body;
  // Every line ends in CRLF, none longer than 998 (RFC 5322 §2.1.1); bodies are QP (≤ 76).
  size_t start = 0;
  while (start < m.size()) {
    const size_t e = m.find("\r\n", start);
    ASSERT_NE(e, std::string::npos) << "unterminated last line";
    EXPECT_EQ(m.substr(start, e - start).find('\n'), std::string::npos) << "bare LF";
    EXPECT_EQ(m.substr(start, e - start).find('\r'), std::string::npos) << "bare CR";
    EXPECT_LE(e - start, 998u);
    start = e + 2;
  }
  EXPECT_EQ(mail_header(m, "Date"), "Wed, 20 May 2026 10:01:02 +0000");
  EXPECT_EQ(mail_header(m, "From"), "klaxon <klaxon@example.org>");
  EXPECT_EQ(mail_header(m, "To"),
            "soc@example.org, =?UTF-8?B?QW5hIMOBbHZhcmV6?= <ana@example.org>");
  EXPECT_EQ(mail_header(m, "Subject"),
            "[klaxon] [CRITICAL] 2 incidents: SSH brute force on "
            "web-01, ...");
  const std::string mid = mail_header(m, "Message-ID");
  EXPECT_EQ(mid, "<" + sha256_hex(n.idempotency_key).substr(0, 32) + "@klaxon>");
  EXPECT_EQ(mail_header(m, "In-Reply-To"), std::string("<") + kId1 + "@klaxon>");
  EXPECT_EQ(mail_header(m, "References"),
            std::string("<") + kId1 + "@klaxon> <" + kId2 + "@klaxon>");
  EXPECT_EQ(mail_header(m, "MIME-Version"), "1.0");
  const std::string ct = mail_header(m, "Content-Type");
  ASSERT_EQ(ct.rfind("multipart/alternative; boundary=\"", 0), 0u) << ct;
  const std::string boundary = ct.substr(ct.find('"') + 1, ct.rfind('"') - ct.find('"') - 1);
  EXPECT_NE(m.find("\r\n--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\n--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\n--" + boundary + "--\r\n"), std::string::npos);
  EXPECT_NE(m.find("Incident: " + std::string(kId2)), std::string::npos);
  // A resend of the same notification is the same message.
  EXPECT_EQ(render(n, config_for(SinkKind::kEmail))[0].body, m);
}

TEST(SinkRender, EmailSubjectEncodedWordsAndNoHeaderInjection) {
  auto v = sample_incident(kId1);
  v.title =
      "Anmeldung fehlgeschlagen f\xC3\xBCr Benutzer \xE2\x80\x9Cm\xC3\xBCller\xE2\x80\x9D "
      "auf web-01 \xE2\x80\x94 viele Versuche\r\nBcc: victim@example.org";
  auto reqs = render(sample_notification(NotifyKind::kTrigger, {v}), config_for(SinkKind::kEmail));
  const std::string& m = reqs[0].body;
  const std::string head = header_block(m);
  EXPECT_EQ(head.find("\r\nBcc:"), std::string::npos);
  // Find the folded Subject lines: each ≤ 76 characters, each word a B encoded-word.
  const size_t s = head.find("\r\nSubject: ") + 2;
  size_t e = s;
  std::string decoded;
  while (true) {
    const size_t eol = head.find("\r\n", e);
    const std::string line = head.substr(e, eol - e);
    EXPECT_LE(line.size(), 76u) << line;
    const size_t w = line.find("=?UTF-8?B?");
    ASSERT_NE(w, std::string::npos) << line;
    const std::string b64 = line.substr(w + 10, line.size() - w - 12);
    EXPECT_EQ(line.substr(line.size() - 2), "?=");
    auto bytes = base64_decode(b64);
    ASSERT_TRUE(bytes.has_value());
    decoded += *bytes;
    e = eol + 2;
    if (head[e] != ' ') break;
  }
  EXPECT_EQ(decoded,
            "[klaxon] [CRITICAL] Anmeldung fehlgeschlagen f\xC3\xBCr Benutzer "
            "\xE2\x80\x9Cm\xC3\xBCller\xE2\x80\x9D auf web-01 \xE2\x80\x94 viele "
            "Versuche  Bcc: victim@example.org");
  // Each word decodes to whole UTF-8 characters (RFC 2047 §5 (3)).
  EXPECT_EQ(encode_header_text("plain ascii"), "plain ascii");
  EXPECT_EQ(encode_header_text("\xC3\xA9"), "=?UTF-8?B?w6k=?=");
}

TEST(SinkRender, QuotedPrintableKeepsLinesShortAndSevenBit) {
  const std::string long_line(300, 'a');
  const std::string qp = quoted_printable(long_line + "\n=\xC3\xBC end \n");
  size_t start = 0;
  while (start < qp.size()) {
    const size_t e = qp.find("\r\n", start);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LE(e - start, 76u);
    start = e + 2;
  }
  for (unsigned char c : qp) EXPECT_LT(c, 0x80);
  EXPECT_NE(qp.find("=3D=C3=BC end=20\r\n"), std::string::npos);  // '=', UTF-8, trailing space
  EXPECT_EQ(rfc5322_date(test::kSampleTimeNs), "Wed, 20 May 2026 10:01:02 +0000");
}

// ---- the stored form ---------------------------------------------------------------------

TEST(SinkRequest, EncodeDecodeRoundTripWithoutSecrets) {
  const auto c = config_for(SinkKind::kOpsgenie);
  auto reqs = render(sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)}), c);
  ASSERT_EQ(reqs.size(), 1u);
  const std::string bytes = encode_request(reqs[0]);
  EXPECT_EQ(bytes.find("og-secret-key"), std::string::npos);
  EXPECT_EQ(bytes.find("api.opsgenie.com"), std::string::npos);
  auto back = decode_request(bytes);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->integration, reqs[0].integration);
  EXPECT_EQ(back->type, SinkKind::kOpsgenie);
  EXPECT_EQ(back->receiver, "soc");
  EXPECT_EQ(back->kind, NotifyKind::kTrigger);
  EXPECT_EQ(back->idempotency_key, reqs[0].idempotency_key);
  EXPECT_EQ(back->method, "POST");
  EXPECT_EQ(back->path, "/v2/alerts");
  EXPECT_EQ(back->headers, reqs[0].headers);
  EXPECT_EQ(back->body, reqs[0].body);
  EXPECT_EQ(back->incident_ids, reqs[0].incident_ids);
  EXPECT_EQ(back->created_ns, test::kSampleTimeNs);
  EXPECT_TRUE(back->url.empty());
  EXPECT_TRUE(back->secret_headers.empty());
  ASSERT_TRUE(attach_secrets(*back, c).has_value());
  EXPECT_EQ(back->url, reqs[0].url);
  EXPECT_EQ(back->secret_headers, reqs[0].secret_headers);
  EXPECT_FALSE(attach_secrets(*back, config_for(SinkKind::kSlack)).has_value());

  // Email keeps its envelope; Slack's URL (a credential) is not stored.
  auto mail = render(sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)}),
                     config_for(SinkKind::kEmail))[0];
  auto mail_back = decode_request(encode_request(mail));
  ASSERT_TRUE(mail_back.has_value());
  EXPECT_EQ(mail_back->mail_from, mail.mail_from);
  EXPECT_EQ(mail_back->rcpt_to, mail.rcpt_to);
  auto slack = render(sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)}),
                      config_for(SinkKind::kSlack))[0];
  EXPECT_EQ(encode_request(slack).find("hooks.slack.com"), std::string::npos);
}

TEST(SinkRequest, DecodeRefusesDamagedBytes) {
  auto r = render(sample_notification(NotifyKind::kTrigger, {sample_incident(kId1)}),
                  config_for(SinkKind::kWebhook))[0];
  const std::string bytes = encode_request(r);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_FALSE(decode_request(bytes.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_FALSE(decode_request(bytes + "x").has_value());
  std::string bad_type = bytes;
  bad_type[4 + 1 + r.integration.size()] = 9;  // the SinkKind byte after the integration name
  EXPECT_FALSE(decode_request(bad_type).has_value());
}

}  // namespace
}  // namespace klaxon::sinks
