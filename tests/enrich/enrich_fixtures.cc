#include "tests/enrich/enrich_fixtures.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>

namespace klaxon::test {

enrich::LookupCallback Collector::callback() {
  return [this](const enrich::LookupResult& r) {
    std::lock_guard<std::mutex> lock(mu_);
    results_.push_back(r);
    cv_.notify_all();
  };
}

bool Collector::wait_for(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
}

std::vector<enrich::LookupResult> Collector::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

size_t Collector::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_.size();
}

std::string metrics_text(prometheus::Registry& registry) {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry.Collect());
}

double metric(prometheus::Registry& registry, const std::string& series) {
  return metric_value(metrics_text(registry), series);
}

void sleep_unless(const std::atomic<bool>& stop, int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop.load() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

namespace {

int bind_loopback(int type, uint16_t* port) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  if (type == SOCK_STREAM) listen(fd, 64);
  return fd;
}

// Waits for fd to be readable; false on stop or after timeout_ms.
bool wait_readable(int fd, const std::atomic<bool>& stop, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!stop.load()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) > 0) return true;
    if (std::chrono::steady_clock::now() > end) return false;
  }
  return false;
}

void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Dnsmasq::Dnsmasq(const std::string& dir, const std::vector<std::string>& records) {
  // The free port may be taken by someone else before dnsmasq binds it: try a few.
  for (int attempt = 0; attempt < 3 && !started_; ++attempt) {
    if (process_) process_->wait(std::chrono::seconds(1));
    start(dir + "/dnsmasq" + std::to_string(attempt), records);
  }
}

void Dnsmasq::start(const std::string& prefix, const std::vector<std::string>& records) {
  port_ = free_udp_port();
  prefix_ = prefix;
  // --no-daemon: foreground, no pid file, no change of user, logs on stderr.
  std::vector<std::string> argv = {"dnsmasq",
                                   "--no-daemon",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--conf-file=/dev/null",
                                   "--port=" + std::to_string(port_),
                                   "--listen-address=127.0.0.1",
                                   "--bind-interfaces",
                                   "--log-queries",
                                   "--log-facility=-",
                                   "--cache-size=0"};
  argv.insert(argv.end(), records.begin(), records.end());
  process_ = std::make_unique<Process>(argv, prefix_);
  started_ = wait_until(
      [&] { return log().find("started, version") != std::string::npos || !process_->running(); },
      std::chrono::seconds(5));
  started_ = started_ && process_->running();
}

Dnsmasq::~Dnsmasq() {
  if (process_) {
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(5));
  }
}

std::string Dnsmasq::log() const {
  return read_file(prefix_ + ".err") + read_file(prefix_ + ".out");
}

int Dnsmasq::queries(const std::string& type, const std::string& name) const {
  const std::string needle = "query[" + type + "] " + name + " from";
  const std::string text = log();
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------

std::string dns_name(const std::string& dotted) {
  std::string out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(static_cast<char>(dot - start));
    out.append(dotted, start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
  return out;
}

std::string dns_label_name(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) {
    out.push_back(static_cast<char>(l.size()));
    out += l;
  }
  out.push_back('\0');
  return out;
}

std::string dns_rr(uint16_t type, uint32_t ttl, const std::string& rdata) {
  std::string rr = {'\xc0', '\x0c'};
  auto put16 = [&](uint16_t v) {
    rr.push_back(static_cast<char>(v >> 8));
    rr.push_back(static_cast<char>(v & 0xff));
  };
  put16(type);
  put16(1);
  put16(static_cast<uint16_t>(ttl >> 16));
  put16(static_cast<uint16_t>(ttl & 0xffff));
  put16(static_cast<uint16_t>(rdata.size()));
  rr += rdata;
  return rr;
}

ScriptedDns::ScriptedDns(DnsScript script) : script_(std::move(script)) {
  fd_ = bind_loopback(SOCK_DGRAM, &port_);
  thread_ = std::thread([this] { loop(); });
}

ScriptedDns::~ScriptedDns() {
  stop_ = true;
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : delayed_) t.join();
  close(fd_);
}

void ScriptedDns::loop() {
  uint8_t buf[1500];
  while (wait_readable(fd_, stop_, 1 << 30)) {
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 12) continue;
    ++queries_;
    // The question: name labels, then type and class.
    size_t pos = 12;
    std::string qname;
    while (pos < static_cast<size_t>(n) && buf[pos] != 0) {
      const size_t len = buf[pos];
      if (!qname.empty()) qname.push_back('.');
      qname.append(reinterpret_cast<const char*>(buf + pos + 1), len);
      pos += 1 + len;
    }
    pos += 1;
    if (pos + 4 > static_cast<size_t>(n)) continue;
    const uint16_t qtype = static_cast<uint16_t>((buf[pos] << 8) | buf[pos + 1]);
    const std::string question(reinterpret_cast<const char*>(buf + 12), pos + 4 - 12);
    DnsReply reply = script_(qname, qtype);
    if (reply.silent) continue;
    std::string msg;
    if (!reply.raw.empty()) {
      msg = reply.raw;
      msg[0] = static_cast<char>(buf[0]);
      msg[1] = static_cast<char>(buf[1]);
    } else {
      msg.assign(reinterpret_cast<const char*>(buf), 2);
      msg.push_back(static_cast<char>(0x81));                         // QR, RD
      msg.push_back(static_cast<char>(0x80 | (reply.rcode & 0x0f)));  // RA, RCODE
      msg += std::string("\x00\x01", 2);
      msg.push_back(static_cast<char>(reply.answers.size() >> 8));
      msg.push_back(static_cast<char>(reply.answers.size() & 0xff));
      msg += std::string("\x00\x00\x00\x00", 4);
      msg += question;
      for (const std::string& rr : reply.answers) msg += rr;
    }
    auto send_it = [this, msg, from] {
      sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
    };
    if (reply.delay_ms > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      delayed_.emplace_back([this, send_it, delay = reply.delay_ms] {
        sleep_unless(stop_, delay);
        if (!stop_) send_it();
      });
    } else {
      send_it();
    }
  }
}

Blackhole::Blackhole() { fd_ = bind_loopback(SOCK_DGRAM, &port_); }
Blackhole::~Blackhole() { close(fd_); }

// ---------------------------------------------------------------------------------------------

bool make_test_pki(const std::string& dir, TestPki* pki, std::string* error) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  write_file(dir + "/server.ext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
             "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  const std::string cmd =
      "cd '" + dir + "' && " + "openssl req -x509 " + ec +
      " -keyout ca.key -out ca.pem -days 2 -subj '/CN=klaxon enrich test CA' 2>&1 && " +
      "openssl req -x509 " + ec +
      " -keyout other.key -out other.pem -days 2 -subj '/CN=someone else' 2>&1 && " +
      "openssl req " + ec + " -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>&1 && " +
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 " +
      "-out server.pem -extfile server.ext 2>&1";
  std::string out;
  if (run_shell(cmd, &out) != 0) {
    *error = out;
    return false;
  }
  pki->ca_file = dir + "/ca.pem";
  pki->other_ca_file = dir + "/other.pem";
  pki->cert_file = dir + "/server.pem";
  pki->key_file = dir + "/server.key";
  return true;
}

HttpsServer::HttpsServer(const TestPki& pki, HttpScript script) : script_(std::move(script)) {
  ignore_sigpipe();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (SSL_CTX_use_certificate_chain_file(ctx, pki.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, pki.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::abort();
  }
  ctx_ = ctx;
  fd_ = bind_loopback(SOCK_STREAM, &port_);
  thread_ = std::thread([this] { accept_loop(); });
}

HttpsServer::~HttpsServer() {
  stop_ = true;
  thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : workers_) t.join();
  }
  close(fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void HttpsServer::accept_loop() {
  while (wait_readable(fd_, stop_, 1 << 30)) {
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void HttpsServer::serve(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  std::string request;
  if (SSL_accept(ssl) == 1) {
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
  }
  const size_t sp1 = request.find(' ');
  const size_t sp2 = request.find(' ', sp1 + 1);
  if (sp1 != std::string::npos && sp2 != std::string::npos) {
    ++requests_;
    HttpReply reply = script_(request.substr(sp1 + 1, sp2 - sp1 - 1));
    sleep_unless(stop_, reply.delay_ms);
    std::ostringstream head;
    head << "HTTP/1.1 " << reply.status << " X\r\nContent-Type: application/rdap+json\r\n"
         << "Connection: close\r\n";
    if (reply.chunked) {
      head << "Transfer-Encoding: chunked\r\n";
    } else {
      head << "Content-Length: " << reply.body.size() << "\r\n";
    }
    for (const auto& [k, v] : reply.headers) head << k << ": " << v << "\r\n";
    head << "\r\n";
    std::string out = head.str();
    if (reply.chunked) {
      for (size_t at = 0; at < reply.body.size(); at += 8192) {
        const std::string piece = reply.body.substr(at, 8192);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        out += size + piece + "\r\n";
      }
      out += "0\r\n\r\n";
    } else {
      out += reply.body;
    }
    size_t off = 0;
    while (!stop_ && off < out.size()) {
      const int n = SSL_write(ssl, out.data() + off,
                              static_cast<int>(std::min<size_t>(out.size() - off, 16384)));
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ERR_clear_error();
  close(fd);
}

// ---------------------------------------------------------------------------------------------

WhoisServer::WhoisServer(WhoisScript script) : script_(std::move(script)) {
  ignore_sigpipe();
  fd_ = bind_loopback(SOCK_STREAM, &port_);
  thread_ = std::thread([this] { accept_loop(); });
}

WhoisServer::~WhoisServer() {
  stop_ = true;
  thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : workers_) t.join();
  }
  close(fd_);
}

std::vector<std::string> WhoisServer::queries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queries_;
}

void WhoisServer::accept_loop() {
  while (wait_readable(fd_, stop_, 1 << 30)) {
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void WhoisServer::serve(int fd) {
  std::string query;
  char buf[1024];
  while (query.find("\r\n") == std::string::npos && query.size() < 1024 &&
         wait_readable(fd, stop_, 5000)) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    query.append(buf, static_cast<size_t>(n));
  }
  const size_t crlf = query.find("\r\n");
  if (crlf == std::string::npos) {
    close(fd);
    return;
  }
  query.resize(crlf);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queries_.push_back(query);
  }
  WhoisReply reply = script_(query);
  sleep_unless(stop_, reply.delay_ms);
  bool ok = !stop_ && send_all(fd, reply.text);
  const std::string filler(1000, 'x');
  for (size_t sent = 0; ok && !stop_ && sent < reply.filler_bytes; sent += filler.size() + 1) {
    ok = send_all(fd, "remarks: " + filler.substr(0, 990) + "\n");
  }
  if (reply.hold_open) {
    // Until the client gives up (recv returns 0 or an error) or the test ends.
    while (!stop_) {
      if (wait_readable(fd, stop_, 20)) {
        if (recv(fd, buf, sizeof buf, 0) <= 0) break;
      }
    }
  }
  close(fd);
}

}  // namespace klaxon::test
