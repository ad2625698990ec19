// Email through libcurl's SMTP client to a real SMTP server: aiosmtpd (python3-aiosmtpd)
// run by tests/sinks/smtp_sink.py on 127.0.0.1, plain, STARTTLS with AUTH, and implicit TLS,
// each with a test CA. The stored message must be byte for byte what the attempt hashed.
#include "pipeline/sinks/deliverer.h"
#include "pipeline/sinks/render.h"
#include "pipeline/sinks/signing.h"
#include "tests/sinks/sink_fixtures.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

namespace klaxon::sinks {
namespace {

using namespace std::chrono_literals;
using notify::NotifyKind;

class SmtpSink {
 public:
  SmtpSink(const std::string& dir, const std::vector<std::string>& extra) : dir_(dir) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(KLAXON_SOURCE_DIR) + "/tests/sinks/smtp_sink.py",
                                     "--dir", dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<test::Process>(argv, dir + "/smtp_sink");
    test::wait_until([&] { return std::filesystem::exists(dir + "/port") || !process_->running(); },
                     10s);
    if (std::filesystem::exists(dir + "/port")) port_ = std::stoi(test::read_file(dir + "/port"));
  }
  ~SmtpSink() {
    process_->signal(SIGTERM);
    process_->wait(5s);
  }
  uint16_t port() const { return static_cast<uint16_t>(port_); }
  std::string log() const { return process_->stderr_text(); }
  bool has_message(int n) const {
    return std::filesystem::exists(dir_ + "/" + std::to_string(n) + ".eml");
  }
  std::string message(int n) const {
    return test::read_file(dir_ + "/" + std::to_string(n) + ".eml");
  }
  std::string envelope(int n) const {
    return test::read_file(dir_ + "/" + std::to_string(n) + ".json");
  }

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<test::Process> process_;
};

class Collector {
 public:
  Deliverer::Callback callback() {
    return [this](const AttemptResult& a) {
      std::lock_guard<std::mutex> lock(mu_);
      all_.push_back(a);
      cv_.notify_all();
    };
  }
  std::optional<AttemptResult> final(uint64_t id) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<AttemptResult> found;
    cv_.wait_for(lock, 15s, [&] {
      for (const auto& a : all_) {
        if (a.id == id && a.outcome != AttemptResult::kRetrying) found = a;
      }
      return found.has_value();
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AttemptResult> all_;
};

IntegrationConfig email_config(const std::string& url, SmtpTls tls) {
  IntegrationConfig c;
  c.kind = SinkKind::kEmail;
  c.receiver = "soc";
  c.name = "soc/email/0";
  c.url = url;
  c.smtp_tls = tls;
  c.from = "klaxon <klaxon@example.org>";
  c.to = {"soc@example.org", "Ana \xC3\x81lvarez <ana@example.org>"};
  c.timeout_ns = 10'000'000'000;
  c.max_attempts = 1;
  return c;
}

OutboundRequest email_request(const IntegrationConfig& c) {
  auto v = test::sample_incident("0b6a7f2e-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
  v.title = "Anmeldung fehlgeschlagen f\xC3\xBCr m\xC3\xBCller auf web-01";
  auto n = test::sample_notification(NotifyKind::kTrigger, {v});
  n.reason = "first line\n.a line that starts with a dot must survive dot-stuffing";
  return render(n, c).at(0);
}

// Sends one message and returns its final result; the server stored it as 0.eml.
AttemptResult send_one(const IntegrationConfig& c, const OutboundRequest& req) {
  prometheus::Registry registry;
  Collector got;
  DelivererOptions o;
  o.backoff_base_ns = 20'000'000;
  auto d = Deliverer::start({c}, got.callback(), registry, o);
  EXPECT_TRUE(d.has_value());
  EXPECT_TRUE((*d)->submit(1, req));
  auto fin = got.final(1);
  EXPECT_TRUE(fin.has_value());
  return fin.value_or(AttemptResult{});
}

void expect_received(const SmtpSink& sink, const OutboundRequest& req, const AttemptResult& fin,
                     bool tls, const std::string& auth) {
  ASSERT_TRUE(test::wait_until([&] { return sink.has_message(0); }, 5s)) << sink.log();
  const std::string eml = sink.message(0);
  EXPECT_EQ(eml, req.body);  // the exact bytes, dot-stuffing undone by the server
  EXPECT_EQ(sha256_hex(eml), fin.body_sha256);
  simdjson::dom::parser p;
  simdjson::dom::element env;
  ASSERT_EQ(p.parse(sink.envelope(0)).get(env), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(env["mail_from"]), "klaxon@example.org");
  simdjson::dom::array rcpt = env["rcpt_tos"];
  ASSERT_EQ(rcpt.size(), 2u);
  EXPECT_EQ(std::string_view(rcpt.at(0)), "soc@example.org");
  EXPECT_EQ(std::string_view(rcpt.at(1)), "ana@example.org");
  EXPECT_EQ(bool(env["tls"]), tls);
  if (!auth.empty()) {
    EXPECT_EQ(std::string_view(env["auth"]), auth);
  }
  EXPECT_NE(eml.find("\r\nSubject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(eml.find("\r\nMessage-ID: <"), std::string::npos);
  // A line that starts with '.' went through SMTP dot-stuffing and came back unchanged.
  EXPECT_NE(req.body.find("\r\n.a line that starts with a dot"), std::string::npos);
  EXPECT_NE(eml.find("\r\n.a line that starts with a dot"), std::string::npos);
}

TEST(SinkSmtp, PlainToLoopbackAiosmtpd) {
  test::TempDir dir;
  SmtpSink sink(dir.path(), {});
  ASSERT_GT(sink.port(), 0) << sink.log();
  const auto c = email_config("smtp://127.0.0.1:" + std::to_string(sink.port()), SmtpTls::kNone);
  const auto req = email_request(c);
  const auto fin = send_one(c, req);
  EXPECT_EQ(fin.outcome, AttemptResult::kDelivered) << fin.error << "\n" << sink.log();
  EXPECT_EQ(fin.http_status, 250);  // the SMTP reply to the end of DATA
  expect_received(sink, req, fin, false, "");
}

class SmtpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(test::make_test_pki(dir_.path(), &pki_, &error)) << error;
  }
  test::TempDir dir_;
  test::TlsFiles pki_;
};

TEST_F(SmtpTlsTest, StartTlsWithAuth) {
  SmtpSink sink(dir_.path(),
                {"--starttls", pki_.cert_file, pki_.key_file, "--auth", "klaxon", "s3cret"});
  ASSERT_GT(sink.port(), 0) << sink.log();
  auto c = email_config("smtp://127.0.0.1:" + std::to_string(sink.port()), SmtpTls::kStartTls);
  c.ca_file = pki_.ca_file;
  c.auth_username = "klaxon";
  c.auth_password = "s3cret";
  const auto req = email_request(c);
  const auto fin = send_one(c, req);
  EXPECT_EQ(fin.outcome, AttemptResult::kDelivered) << fin.error << "\n" << sink.log();
  expect_received(sink, req, fin, true, "klaxon");

  // A wrong password is a permanent failure (535), not retried.
  c.auth_password = "wrong";
  const auto denied = send_one(c, email_request(c));
  EXPECT_EQ(denied.outcome, AttemptResult::kFailed);
  EXPECT_EQ(denied.http_status, 535) << denied.error;
}

TEST_F(SmtpTlsTest, ImplicitTls) {
  SmtpSink sink(dir_.path(), {"--smtps", pki_.cert_file, pki_.key_file});
  ASSERT_GT(sink.port(), 0) << sink.log();
  auto c = email_config("smtps://127.0.0.1:" + std::to_string(sink.port()), SmtpTls::kImplicit);
  c.ca_file = pki_.ca_file;
  const auto req = email_request(c);
  const auto fin = send_one(c, req);
  EXPECT_EQ(fin.outcome, AttemptResult::kDelivered) << fin.error << "\n" << sink.log();
  expect_received(sink, req, fin, true, "");
}

TEST_F(SmtpTlsTest, StartTlsRequiredButNotOfferedFails) {
  SmtpSink sink(dir_.path(), {});  // plain server, no STARTTLS
  ASSERT_GT(sink.port(), 0) << sink.log();
  auto c = email_config("smtp://127.0.0.1:" + std::to_string(sink.port()), SmtpTls::kStartTls);
  c.ca_file = pki_.ca_file;
  c.max_attempts = 5;
  const auto fin = send_one(c, email_request(c));
  EXPECT_EQ(fin.outcome, AttemptResult::kFailed);
  EXPECT_EQ(fin.attempt, 1);  // permanent: not retried
  EXPECT_FALSE(sink.has_message(0));
}

}  // namespace
}  // namespace klaxon::sinks
