// parse_integrations(): one receiver's *_configs lists -> IntegrationConfigs, with defaults,
// secrets from files, and errors that name the key.
#include "pipeline/sinks/config.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

namespace klaxon::sinks {
namespace {

Result<std::vector<IntegrationConfig>> parse(const std::string& yaml) {
  return parse_integrations(YAML::Load(yaml));
}

std::string error_of(const std::string& yaml) {
  auto r = parse(yaml);
  EXPECT_FALSE(r.has_value()) << yaml;
  return r.has_value() ? "" : r.error().message;
}

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(SinkConfig, EveryKindWithDefaults) {
  test::TempDir dir;
  test::write_file(dir.path() + "/pd", "0123456789abcdef0123456789abcdef\n");
  test::write_file(dir.path() + "/pw", "s3cret\n");
  auto r = parse(std::string(R"(
name: soc
send_resolved: true
webhook_configs:
  - url: https://hooks.example.org/klaxon
    secret: )") + kSecret +
                 R"(
slack_configs:
  - url: https://hooks.slack.com/services/T0/B0/XYZ
pagerduty_configs:
  - routing_key_file: )" +
                 dir.path() + R"(/pd
opsgenie_configs:
  - api_key: og
    responders: [{name: soc-oncall, type: team}]
teams_configs:
  - url: https://prod.westeurope.logic.azure.com/workflows/x
thehive_configs:
  - url: https://thehive.example.org/
    api_key: hive
    organisation: SOC
email_configs:
  - smarthost: mail.example.org:587
    from: klaxon <klaxon@example.org>
    to: [soc@example.org, oncall@example.org]
    auth_username: klaxon
    auth_password_file: )" +
                 dir.path() + "/pw\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 7u);
  const auto& v = *r;
  EXPECT_EQ(v[0].name, "soc/webhook/0");
  EXPECT_EQ(v[0].kind, SinkKind::kWebhook);
  EXPECT_EQ(v[0].signing_key.size(), 24u);
  EXPECT_EQ(v[0].timeout_ns, 15'000'000'000);
  EXPECT_EQ(v[0].queue_capacity, 1000u);
  EXPECT_EQ(v[0].overflow, Overflow::kDropOldest);
  EXPECT_EQ(v[0].max_attempts, 10u);
  EXPECT_EQ(v[0].max_retry_duration_ns, 24LL * 3600 * 1'000'000'000);
  EXPECT_EQ(v[0].rate_limit_per_minute, 0);
  EXPECT_EQ(v[1].name, "soc/slack/0");
  EXPECT_EQ(v[1].rate_limit_per_minute, 60);
  EXPECT_EQ(v[2].name, "soc/pagerduty/0");
  EXPECT_EQ(v[2].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(v[2].routing_key, "0123456789abcdef0123456789abcdef");  // newline trimmed
  EXPECT_EQ(v[2].rate_limit_per_minute, 120);
  EXPECT_EQ(v[2].burst, 10u);
  EXPECT_EQ(v[3].url, "https://api.opsgenie.com");
  EXPECT_EQ(v[3].api_key, "og");
  ASSERT_EQ(v[3].responders.size(), 1u);
  EXPECT_EQ(v[3].responders[0].name, "soc-oncall");
  EXPECT_EQ(v[4].kind, SinkKind::kTeams);
  EXPECT_EQ(v[5].url, "https://thehive.example.org");  // trailing '/' dropped: an API base
  EXPECT_EQ(v[5].organisation, "SOC");
  EXPECT_EQ(v[6].name, "soc/email/0");
  EXPECT_EQ(v[6].url, "smtp://mail.example.org:587");
  EXPECT_EQ(v[6].smtp_tls, SmtpTls::kStartTls);
  EXPECT_EQ(v[6].to.size(), 2u);
  EXPECT_EQ(v[6].auth_password, "s3cret");
  for (const auto& c : v) EXPECT_EQ(c.receiver, "soc");
}

TEST(SinkConfig, PolicyKeys) {
  auto r = parse(std::string(R"(
name: ops
webhook_configs:
  - url: http://127.0.0.1:8080/hook
    secret: )") + kSecret +
                 R"(
    timeout: 500ms
    rate_limit: 30
    burst: 3
    queue_capacity: 5
    overflow: drop_newest
    max_attempts: 3
    max_retry_duration: 2h
    max_in_flight: 1
  - url: https://b.example.org/
    secret: )" + kSecret +
                 R"(
email_configs:
  - smarthost: 127.0.0.1:2525
    tls: none
    from: k@example.org
    to: soc@example.org
  - smarthost: "[::1]:465"
    tls: implicit
    from: k@example.org
    to: soc@example.org
)");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& w = (*r)[0];
  EXPECT_EQ(w.timeout_ns, 500'000'000);
  EXPECT_EQ(w.rate_limit_per_minute, 30);
  EXPECT_EQ(w.burst, 3u);
  EXPECT_EQ(w.queue_capacity, 5u);
  EXPECT_EQ(w.overflow, Overflow::kDropNewest);
  EXPECT_EQ(w.max_attempts, 3u);
  EXPECT_EQ(w.max_retry_duration_ns, 7200LL * 1'000'000'000);
  EXPECT_EQ(w.max_in_flight, 1u);
  EXPECT_EQ((*r)[1].name, "ops/webhook/1");
  EXPECT_EQ((*r)[2].url, "smtp://127.0.0.1:2525");
  EXPECT_EQ((*r)[2].smtp_tls, SmtpTls::kNone);
  EXPECT_EQ((*r)[3].url, "smtps://[::1]:465");
}

TEST(SinkConfig, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("name: soc\nslack_configs:\n  - url: https://x.example.org\n    colour: red\n")
                .rfind("notify.receivers[soc].slack_configs[0].colour: unknown key for slack", 0),
            0u);
  EXPECT_NE(error_of("name: soc\nvictorops_configs: []\n").find("victorops_configs: unknown"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nwebhook_configs:\n  - url: https://x.example.org\n")
                .find("webhook_configs[0].secret: required"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("name: soc\nwebhook_configs:\n  - url: https://x.example.org\n"
                                 "    secret: whsec_c2hvcnQ=\n"))
                .find("webhook_configs[0].secret: a Standard Webhooks secret"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nslack_configs:\n  - url: http://hooks.example.org/x\n")
                .find("slack_configs[0].url: plain http:// is only allowed"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\npagerduty_configs:\n  - routing_key: a\n    routing_key_file: b\n")
                .find("routing_key: give routing_key or routing_key_file, not both"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\npagerduty_configs:\n  - routing_key_file: /nonexistent/k\n")
                .find("routing_key_file: cannot read"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nopsgenie_configs:\n  - api_key: k\n    timeout: soon\n")
                .find("opsgenie_configs[0].timeout: expected a duration"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nteams_configs:\n  - url: https://t.example.org\n"
                     "    overflow: block\n")
                .find("teams_configs[0].overflow: expected drop_oldest or drop_newest"),
            std::string::npos);
  EXPECT_NE(
      error_of("name: soc\nemail_configs:\n  - smarthost: mail.example.org:25\n    tls: none\n"
               "    from: k@example.org\n    to: s@example.org\n")
          .find("email_configs[0].tls: none is only allowed to 127.0.0.1"),
      std::string::npos);
  EXPECT_NE(error_of("name: soc\nemail_configs:\n  - smarthost: mail.example.org:587\n"
                     "    from: k@example.org\n    to: [not-an-address]\n")
                .find("email_configs[0].to[0]: expected an ASCII address"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nemail_configs:\n  - smarthost: mail.example.org:587\n"
                     "    from: k@example.org\n    to: s@example.org\n    url: x\n")
                .find("email_configs[0].url: unknown key for email"),
            std::string::npos);
  EXPECT_NE(error_of("name: soc\nthehive_configs:\n  - url: https://h.example.org\n"
                     "    api_key: k\n    tlp: 5\n")
                .find("thehive_configs[0].tlp: expected a whole number from 0 to 4"),
            std::string::npos);
  EXPECT_NE(error_of("send_resolved: true\n").find("each receiver needs a name"),
            std::string::npos);
}

TEST(SinkConfig, ReceiverKeysOfTheNotifierAreIgnored) {
  auto r = parse("name: quiet\nsend_resolved: false\ncontinue: true\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->empty());
}

TEST(SinkConfig, HelpersDurationLoopbackMailbox) {
  EXPECT_EQ(*parse_duration_ns("250ms"), 250'000'000);
  EXPECT_EQ(*parse_duration_ns("2d"), 172'800'000'000'000);
  EXPECT_EQ(*parse_duration_ns("30"), 30'000'000'000);
  EXPECT_FALSE(parse_duration_ns("0s").has_value());
  EXPECT_FALSE(parse_duration_ns("1w").has_value());
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.org"));
  EXPECT_EQ(*mailbox_address("klaxon <k@example.org>"), "k@example.org");
  EXPECT_EQ(*mailbox_address("k@example.org"), "k@example.org");
  EXPECT_FALSE(mailbox_address("k@example.org\r\nBcc: x@example.org").has_value());
  EXPECT_FALSE(mailbox_address("a@b@c").has_value());
}

}  // namespace
}  // namespace klaxon::sinks
