// Peers for the enrichment tests, all on 127.0.0.1 with ports chosen by the kernel (dnsmasq:
// a free port found by binding):
//   Dnsmasq      Debian's dnsmasq in the foreground, the real DNS server (PTR, A, AAAA records
//                from its command line, queries logged to a file we can count).
//   ScriptedDns  a UDP DNS responder that answers what a test scripts, byte for byte: hostile
//                names, compression loops, delays (late answers), silence (a blackhole).
//   HttpsServer  a blocking OpenSSL server (one thread per connection) for the RDAP cases:
//                normal, slow, oversized, redirect, malformed.
//   WhoisServer  a TCP server for WHOIS: normal, referral, slow, never closing, huge.
//   TestPki      a CA and a server certificate for 127.0.0.1 made with the openssl CLI.
// Each server stops and joins its threads on destruction; delays end early then.
#pragma once

#include "enrich/lookup.h"
#include "tests/support/test_support.h"

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace klaxon::test {

class Dnsmasq {
 public:
  // Extra options: --host-record=..., --ptr-record=..., --local=/zone/ ...
  Dnsmasq(const std::string& dir, const std::vector<std::string>& records);
  ~Dnsmasq();
  bool started() const { return started_; }
  uint16_t port() const { return port_; }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
  // How many "query[TYPE] name" lines dnsmasq logged.
  int queries(const std::string& type, const std::string& name) const;
  std::string log() const;

 private:
  void start(const std::string& prefix, const std::vector<std::string>& records);
  std::string prefix_;
  uint16_t port_ = 0;
  bool started_ = false;
  std::unique_ptr<Process> process_;
};

// --- DNS wire helpers for scripted answers ---
std::string dns_name(const std::string& dotted);  // "a.b" -> \1a\1b\0 (no escapes)
std::string dns_label_name(const std::vector<std::string>& raw_labels);  // labels as raw bytes
// A resource record whose owner is a pointer to the question name (offset 12).
std::string dns_rr(uint16_t type, uint32_t ttl, const std::string& rdata);

struct DnsReply {
  int rcode = 0;
  std::vector<std::string> answers;  // records (dns_rr), ANCOUNT = their number
  int delay_ms = 0;
  bool silent = false;  // never answer
  std::string raw;      // when set: sent as is after the 12-byte header's id is patched in
};
using DnsScript = std::function<DnsReply(const std::string& qname, uint16_t qtype)>;

class ScriptedDns {
 public:
  explicit ScriptedDns(DnsScript script);
  ~ScriptedDns();
  uint16_t port() const { return port_; }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_.load(); }

 private:
  void loop();
  DnsScript script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> delayed_;
};

// A UDP socket that is bound and never answers: a blackholed resolver.
class Blackhole {
 public:
  Blackhole();
  ~Blackhole();
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct TestPki {
  std::string ca_file, cert_file, key_file;  // server cert: SAN IP:127.0.0.1, DNS:localhost
  std::string other_ca_file;                 // a CA that signed nothing we serve
};
// Runs the openssl CLI in dir; false (with the output in *error) when it fails.
bool make_test_pki(const std::string& dir, TestPki* pki, std::string* error);

struct HttpReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_ms = 0;
  bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
};
using HttpScript = std::function<HttpReply(const std::string& path)>;

class HttpsServer {
 public:
  HttpsServer(const TestPki& pki, HttpScript script);
  ~HttpsServer();
  uint16_t port() const { return port_; }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd);
  HttpScript script_;
  void* ctx_ = nullptr;  // SSL_CTX
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

struct WhoisReply {
  std::string text;
  int delay_ms = 0;
  bool hold_open = false;   // after the text, keep the connection open until the peer leaves
  size_t filler_bytes = 0;  // after the text, this many more bytes of filler lines
};
using WhoisScript = std::function<WhoisReply(const std::string& query)>;

class WhoisServer {
 public:
  explicit WhoisServer(WhoisScript script);
  ~WhoisServer();
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  std::vector<std::string> queries() const;

 private:
  void accept_loop();
  void serve(int fd);
  WhoisScript script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<std::string> queries_;
};

// Collects enrichment callbacks from any thread, in arrival order.
class Collector {
 public:
  enrich::LookupCallback callback();
  // Waits until at least n results arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout);
  std::vector<enrich::LookupResult> results() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<enrich::LookupResult> results_;
};

// The registry in Prometheus text format, and one series' value (-1 when absent).
std::string metrics_text(prometheus::Registry& registry);
double metric(prometheus::Registry& registry, const std::string& series);

// Sleeps up to ms, in slices, returning early when stop is set.
void sleep_unless(const std::atomic<bool>& stop, int ms);

}  // namespace klaxon::test
