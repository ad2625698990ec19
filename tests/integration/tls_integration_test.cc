// Syslog over TLS (RFC 5425) end to end: a real klaxond with certificates made by the test,
// real syslog-ng and openssl s_client as senders, and a test TLS client that can hold a
// connection open across a reload.
#include "pipeline/sources/tls.h"
#include "tests/support/daemon_harness.h"
#include "tests/support/test_support.h"
#include "tests/support/tls_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <thread>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using test::Daemon;
using test::fields_of;
using test::stored_alerts;
using test::TempDir;
using test::TlsClient;
using test::TlsClientOptions;

// A CA, a server certificate for 127.0.0.1, good/rogue/expired/self-signed client
// certificates, all under one directory.
struct Pki {
  explicit Pki(const std::string& dir) : dir(dir) {
    auto make = [&](const std::string& name, CertificateSpec spec) {
      const Status s =
          write_certificate(spec, dir + "/" + name + ".crt", dir + "/" + name + ".key");
      EXPECT_TRUE(s.has_value()) << name << ": " << (s ? "" : s.error().message);
    };
    CertificateSpec ca;
    ca.common_name = "klaxon test CA";
    ca.is_ca = true;
    make("ca", ca);
    CertificateSpec rogue = ca;
    rogue.common_name = "rogue CA";
    make("rogue", rogue);
    CertificateSpec server;
    server.common_name = "klaxon.example.org";
    server.dns_names = {"klaxon.example.org", "localhost"};
    server.ip_addresses = {"127.0.0.1"};
    server.issuer_cert_file = dir + "/ca.crt";
    server.issuer_key_file = dir + "/ca.key";
    make("server", server);
    server.common_name = "klaxon-renewed.example.org";
    make("server2", server);
    CertificateSpec client;
    client.common_name = "sender01.example.org";
    client.dns_names = {"sender01.example.org"};
    client.issuer_cert_file = dir + "/ca.crt";
    client.issuer_key_file = dir + "/ca.key";
    make("client", client);
    CertificateSpec other = client;
    other.common_name = "intruder.example.net";
    other.dns_names = {"intruder.example.net"};
    make("othername", other);
    CertificateSpec expired = client;
    expired.not_before = -std::chrono::hours(48);
    expired.not_after = -std::chrono::hours(24);
    make("expired", expired);
    CertificateSpec untrusted = client;
    untrusted.issuer_cert_file = dir + "/rogue.crt";
    untrusted.issuer_key_file = dir + "/rogue.key";
    make("untrusted", untrusted);
    CertificateSpec self;
    self.common_name = "pinned-sender";
    make("selfsigned", self);
    make("selfsigned2", self);
  }
  std::string crt(const std::string& n) const { return dir + "/" + n + ".crt"; }
  std::string key(const std::string& n) const { return dir + "/" + n + ".key"; }
  std::string dir;
};

TlsClientOptions ca_only(const Pki& pki) {
  TlsClientOptions o;
  o.ca_file = pki.crt("ca");
  return o;
}

TlsClientOptions with_cert(const Pki& pki, const std::string& name) {
  TlsClientOptions o = ca_only(pki);
  o.cert_file = pki.crt(name);
  o.key_file = pki.key(name);
  return o;
}

std::string tls_source(uint16_t port, const Pki& pki, const std::string& auth,
                       const std::string& allow = "") {
  std::string s =
      "  syslog_tls:\n    type: syslog_tls\n    listen: 127.0.0.1:" + std::to_string(port) +
      "\n    cert_file: " + pki.crt("server") + "\n    key_file: " + pki.key("server") +
      "\n    client_auth: " + auth + "\n    handshake_timeout: 2s\n";
  if (auth != "none") s += "    ca_file: " + pki.crt("ca") + "\n";
  if (!allow.empty()) s += "    allow: " + allow + "\n";
  return s;
}

double failures(const Daemon& d, const std::string& reason) {
  return d.metric("klaxon_source_tls_handshake_failures_total{reason=\"" + reason + "\"}");
}

std::string rfc5424(const std::string& msg) {
  const std::string m = "<13>1 2026-11-23T08:00:00Z sender01 app - - - " + msg;
  return std::to_string(m.size()) + " " + m;
}

// The configuration is the documented recipe, deploy/recipes/syslog-ng-tls.conf, with only
// the host, port, certificate paths, disk-buffer directory and source swapped for the test's:
// what the recipe says is what runs.
void run_syslog_ng(const TempDir& dir, uint16_t port, const Pki& pki, bool client_cert, int n) {
  std::string lines;
  for (int i = 0; i < n; ++i) lines += "tls-message " + std::to_string(i) + "\n";
  test::write_file(dir.path() + "/in.log", lines);
  const std::string recipe = std::string(KLAXON_SOURCE_DIR) + "/deploy/recipes/syslog-ng-tls.conf";
  std::string conf = test::read_file(recipe);
  auto swap = [&](const std::string& from, const std::string& to) {
    const size_t at = conf.find(from);
    if (at == std::string::npos) {
      ADD_FAILURE() << recipe << " no longer contains " << from;
      return;
    }
    conf.replace(at, from.size(), to);
  };
  swap("\"klaxon.example.org\"", "\"127.0.0.1\"");
  swap("port(6514)", "port(" + std::to_string(port) + ")");
  swap("/etc/syslog-ng/klaxon/ca.pem", pki.crt("ca"));
  if (client_cert) {
    swap("/etc/syslog-ng/klaxon/client.pem", pki.crt("client"));
    swap("/etc/syslog-ng/klaxon/client.key", pki.key("client"));
  } else {
    for (const std::string option : {"cert-file(", "key-file("}) {
      const size_t at = conf.find(option);
      if (at == std::string::npos) continue;
      const size_t begin = conf.rfind('\n', at) + 1;
      conf.erase(begin, conf.find('\n', at) + 1 - begin);
    }
  }
  swap("dir(\"/var/lib/syslog-ng\")", "dir(\"" + dir.path() + "\")");
  swap("source s_local { system(); internal(); };",
       "source s_local { file(\"" + dir.path() +
           "/in.log\" follow-freq(0.1) flags(no-parse) program-override(\"tlsapp\")); };");
  test::write_file(dir.path() + "/syslog-ng.conf", conf);
}

TEST(TlsIntegration, SyslogNgWithClientCertificateUnderMutualTls) {
  if (test::run_shell("command -v syslog-ng >/dev/null") != 0)
    GTEST_SKIP() << "syslog-ng not installed";
  TempDir dir;
  Pki pki(dir.path());
  const uint16_t port = test::free_tcp_port();
  Daemon d(dir, tls_source(port, pki, "required", "[\"*.example.org\"]"));
  d.start();
  constexpr int kN = 100;
  run_syslog_ng(dir, port, pki, /*client_cert=*/true, kN);
  test::Process sng(
      {"syslog-ng", "-F", "--no-caps", "-f", dir.path() + "/syslog-ng.conf",
       "--persist-file=" + dir.path() + "/sng.persist", "--pidfile=" + dir.path() + "/sng.pid",
       "--control=" + dir.path() + "/sng.ctl"},
      dir.path() + "/syslog-ng");
  ASSERT_TRUE(d.wait_persisted(kN, 30s)) << d.persisted() << "\n" << sng.stderr_text() << d.log();
  const auto fp = file_fingerprint(pki.crt("client"));
  ASSERT_TRUE(fp.has_value());
  std::set<std::string> msgs;
  for (const auto& a : stored_alerts(d.data_dir())) {
    const auto f = fields_of(a);
    EXPECT_EQ(f.transport, "tls");
    EXPECT_EQ(f.tls_subject, "CN=sender01.example.org");  // the client identity, on every alert
    EXPECT_EQ(f.tls_fingerprint, *fp);
    EXPECT_EQ(f.appname, "tlsapp");
    msgs.insert(f.message);
  }
  EXPECT_EQ(msgs.size(), static_cast<size_t>(kN));
  EXPECT_TRUE(msgs.count("tls-message 7"));
}

TEST(TlsIntegration, SyslogNgWithoutClientCertificate) {
  if (test::run_shell("command -v syslog-ng >/dev/null") != 0)
    GTEST_SKIP() << "syslog-ng not installed";
  TempDir dir;
  Pki pki(dir.path());
  const uint16_t port = test::free_tcp_port();
  Daemon d(dir, tls_source(port, pki, "none"));
  d.start();
  run_syslog_ng(dir, port, pki, /*client_cert=*/false, 50);
  test::Process sng(
      {"syslog-ng", "-F", "--no-caps", "-f", dir.path() + "/syslog-ng.conf",
       "--persist-file=" + dir.path() + "/sng.persist", "--pidfile=" + dir.path() + "/sng.pid",
       "--control=" + dir.path() + "/sng.ctl"},
      dir.path() + "/syslog-ng");
  ASSERT_TRUE(d.wait_persisted(50, 30s)) << sng.stderr_text();
  for (const auto& a : stored_alerts(d.data_dir())) {
    const auto f = fields_of(a);
    EXPECT_EQ(f.transport, "tls");
    EXPECT_EQ(f.tls_subject, "");
  }
}

TEST(TlsIntegration, RefusedHandshakesAreCountedAndGoodClientsAreUndisturbed) {
  TempDir dir;
  Pki pki(dir.path());
  const uint16_t port = test::free_tcp_port();
  Daemon d(dir, tls_source(port, pki, "required", "[\"*.example.org\"]"));
  d.start();
  // A good client holds its connection open through everything below.
  TlsClient good;
  ASSERT_TRUE(good.connect(port, with_cert(pki, "client"))) << good.error();
  ASSERT_TRUE(good.send(rfc5424("before")));

  // openssl s_client as an independent client: old protocols and a weak cipher.
  const std::string sclient =
      "timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " +
      pki.crt("ca") + " -cert " + pki.crt("client") + " -key " + pki.key("client") +
      " </dev/null >/dev/null 2>&1";
  EXPECT_NE(test::run_shell(sclient + " -tls1 -cipher DEFAULT@SECLEVEL=0"), -1);
  EXPECT_NE(test::run_shell(sclient + " -tls1_1 -cipher DEFAULT@SECLEVEL=0"), -1);
  EXPECT_NE(test::run_shell(sclient + " -tls1_2 -cipher AES128-SHA"), -1);
  EXPECT_TRUE(test::wait_until(
      [&] { return failures(d, "protocol") >= 2 && failures(d, "cipher") >= 1; }, 10s))
      << d.metrics();

  // Client certificates: none, from an untrusted CA, expired, valid but not on the allow-list.
  {
    TlsClient c;
    if (c.connect(port, ca_only(pki))) {
      EXPECT_TRUE(c.closed_by_peer(5000));
    }
  }
  for (const std::string bad : {"untrusted", "expired", "othername"}) {
    TlsClient c;
    if (c.connect(port, with_cert(pki, bad))) {
      EXPECT_TRUE(c.closed_by_peer(5000)) << bad;
    }
  }
  // Garbage instead of a handshake, and a client that never says anything.
  {
    const int fd = test::connect_tcp(port);
    test::send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    close(fd);
  }
  const int silent = test::connect_tcp(port);
  EXPECT_TRUE(test::wait_until(
      [&] {
        return failures(d, "no_certificate") >= 1 && failures(d, "certificate") >= 3 &&
               failures(d, "not_tls") >= 1 && failures(d, "timeout") >= 1;
      },
      15s))
      << d.metrics();
  close(silent);
  EXPECT_EQ(failures(d, "protocol"), 2);
  EXPECT_EQ(failures(d, "cipher"), 1);
  EXPECT_EQ(failures(d, "certificate"), 3);
  // The good connection never noticed.
  ASSERT_TRUE(good.send(rfc5424("after")));
  ASSERT_TRUE(d.wait_persisted(2));
  std::set<std::string> msgs;
  for (const auto& a : stored_alerts(d.data_dir())) msgs.insert(fields_of(a).message);
  EXPECT_EQ(msgs, (std::set<std::string>{"before", "after"}));
}

TEST(TlsIntegration, PinnedFingerprintAdmitsASelfSignedClientAndNoOther) {
  TempDir dir;
  Pki pki(dir.path());
  const auto fp = file_fingerprint(pki.crt("selfsigned"));
  ASSERT_TRUE(fp.has_value());
  const uint16_t port = test::free_tcp_port();
  std::string src = tls_source(port, pki, "required", "[\"" + *fp + "\"]");
  Daemon d(dir, src);
  d.start();
  TlsClient pinned;
  ASSERT_TRUE(pinned.connect(port, with_cert(pki, "selfsigned"))) << pinned.error();
  ASSERT_TRUE(pinned.send(rfc5424("pinned")));
  ASSERT_TRUE(d.wait_persisted(1));
  EXPECT_EQ(fields_of(stored_alerts(d.data_dir()).front()).tls_fingerprint, *fp);
  // Same name, different key: not pinned. A CA-signed client is not pinned either.
  for (const std::string other : {"selfsigned2", "client"}) {
    TlsClient c;
    if (c.connect(port, with_cert(pki, other))) {
      EXPECT_TRUE(c.closed_by_peer(5000)) << other;
    }
  }
  EXPECT_TRUE(test::wait_until([&] { return failures(d, "certificate") >= 2; }, 5s));
}

TEST(TlsIntegration, SighupReloadsCertificatesAndABadKeyKeepsTheOldOne) {
  TempDir dir;
  Pki pki(dir.path());
  const uint16_t port = test::free_tcp_port();
  // The listener reads its certificate from fixed paths that the test rewrites.
  test::run_shell("cp " + pki.crt("server") + " " + dir.path() + "/live.crt && cp " +
                  pki.key("server") + " " + dir.path() + "/live.key");
  std::string src =
      "  syslog_tls:\n    type: syslog_tls\n    listen: 127.0.0.1:" + std::to_string(port) +
      "\n    cert_file: " + dir.path() + "/live.crt\n    key_file: " + dir.path() + "/live.key\n";
  Daemon d(dir, src);
  d.start();
  const auto fp1 = file_fingerprint(pki.crt("server")), fp2 = file_fingerprint(pki.crt("server2"));
  TlsClient established;
  ASSERT_TRUE(established.connect(port, ca_only(pki))) << established.error();
  EXPECT_EQ(established.server_fingerprint(), *fp1);

  // A broken key: the reload fails, says why, and the old certificate is still served.
  test::write_file(dir.path() + "/live.key",
                   "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  d.process().signal(SIGHUP);
  EXPECT_TRUE(
      test::wait_until([&] { return d.metric("klaxon_config_last_reload_successful") == 0; }, 5s));
  EXPECT_NE(d.log().find("TLS reload failed"), std::string::npos) << d.log();
  {
    TlsClient c;
    ASSERT_TRUE(c.connect(port, ca_only(pki))) << c.error();
    EXPECT_EQ(c.server_fingerprint(), *fp1);
  }
  // A good new pair: new connections get it; the established one goes on.
  test::run_shell("cp " + pki.crt("server2") + " " + dir.path() + "/live.crt && cp " +
                  pki.key("server2") + " " + dir.path() + "/live.key");
  d.process().signal(SIGHUP);
  EXPECT_TRUE(
      test::wait_until([&] { return d.metric("klaxon_config_last_reload_successful") == 1; }, 5s));
  {
    TlsClient c;
    ASSERT_TRUE(c.connect(port, ca_only(pki))) << c.error();
    EXPECT_EQ(c.server_fingerprint(), *fp2);
  }
  ASSERT_TRUE(established.send(rfc5424("still here")));
  ASSERT_TRUE(d.wait_persisted(1));
  EXPECT_EQ(fields_of(stored_alerts(d.data_dir()).front()).message, "still here");
}

TEST(TlsIntegration, EmbeddedDefaultGeneratesASelfSignedCertificateWith127001) {
  TempDir dir;
  const uint16_t port = test::free_tcp_port();
  Daemon d(dir, "  syslog_tls:\n    type: syslog_tls\n    listen: 127.0.0.1:" +
                    std::to_string(port) + "\n");
  d.start();
  const std::string crt = d.data_dir() + "/tls/klaxond.crt";
  std::string out;
  ASSERT_EQ(test::run_shell("openssl x509 -in " + crt + " -noout -ext subjectAltName 2>&1", &out),
            0)
      << out;
  EXPECT_NE(out.find("IP Address:127.0.0.1"), std::string::npos) << out;
  const auto fp = file_fingerprint(crt);
  ASSERT_TRUE(fp.has_value());
  EXPECT_NE(d.log().find(*fp), std::string::npos);  // the fingerprint is logged
  TlsClient c;
  TlsClientOptions trust_it;
  trust_it.ca_file = crt;
  ASSERT_TRUE(c.connect(port, trust_it)) << c.error();  // verifies against itself for 127.0.0.1
  EXPECT_EQ(c.server_fingerprint(), *fp);
}

}  // namespace
}  // namespace klaxon
