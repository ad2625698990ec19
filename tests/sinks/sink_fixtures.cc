#include "tests/sinks/sink_fixtures.h"

#include "pipeline/core/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace klaxon::test {

notify::IncidentView sample_incident(const std::string& id, const std::string& severity) {
  notify::IncidentView v;
  v.id = id;
  v.title = "SSH brute force on web-01";
  v.category = "intrusion_detection";
  v.severity = severity;
  v.status = "open";
  v.rule = "ET SCAN Potential SSH Scan";
  v.labels = {{"category", v.category}, {"host", "web-01.example.org"},
              {"incident", id},         {"rule", v.rule},
              {"severity", severity},   {"source_ip", "192.0.2.7"},
              {"status", "open"},       {"title", v.title}};
  v.observables = {{"source.ip", "192.0.2.7"},
                   {"host.name", "web-01.example.org"},
                   {"source.ip", "192.0.2.7"},  // a repeat: TheHive must get it once
                   {"rule.name", v.rule}};
  v.created_ns = kSampleTimeNs;
  v.first_seen_ns = kSampleTimeNs - 60'000'000'000;
  v.last_seen_ns = kSampleTimeNs;
  v.status_changed_ns = kSampleTimeNs;
  v.alert_count = 42;
  v.occurrences = 57;
  v.ack_deadline_ns = kSampleTimeNs + 15 * 60'000'000'000LL;
  v.version = 7;
  return v;
}

notify::Notification sample_notification(notify::NotifyKind kind,
                                         std::vector<notify::IncidentView> incidents) {
  notify::Notification n;
  n.receiver = "soc";
  n.kind = kind;
  n.idempotency_key = std::string("n-") + notify::notify_kind_name(kind) + "-0001";
  n.incidents = std::move(incidents);
  n.group_key = "{}:{host=\"web-01\"}";
  n.group_labels = {{"host", "web-01.example.org"}};
  n.reason = "new incident";
  n.created_ns = kSampleTimeNs;
  n.external_url = "https://klaxon.example.org";
  return n;
}

std::string ReceivedRequest::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

bool make_test_pki(const std::string& dir, TlsFiles* out, std::string* error) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  write_file(dir + "/server.ext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
             "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  const std::string cmd = "cd '" + dir + "' && openssl req -x509 " + ec +
                          " -keyout ca.key -out ca.pem -days 2 -subj '/CN=klaxon sinks test CA' "
                          "2>&1 && openssl req " +
                          ec +
                          " -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>&1 && "
                          "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
                          "-CAcreateserial -days 2 -out server.pem -extfile server.ext 2>&1";
  std::string text;
  if (run_shell(cmd, &text) != 0) {
    *error = text;
    return false;
  }
  out->ca_file = dir + "/ca.pem";
  out->cert_file = dir + "/server.pem";
  out->key_file = dir + "/server.key";
  return true;
}

namespace {

int bind_loopback(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  listen(fd, 64);
  return fd;
}

// Reads and writes over a plain socket or an SSL session.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  int read(char* buf, int n) {
    return ssl ? SSL_read(ssl, buf, n) : static_cast<int>(::recv(fd, buf, n, 0));
  }
  bool write_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const int n =
          ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
              : static_cast<int>(::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
};

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace

TestHttpServer::TestHttpServer(Handler handler, const TlsFiles* tls)
    : handler_(std::move(handler)) {
  signal(SIGPIPE, SIG_IGN);
  if (tls != nullptr) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::abort();
    }
    ssl_ctx_ = ctx;
  }
  fd_ = bind_loopback(&port_);
  thread_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  stop_ = true;
  cv_.notify_all();
  thread_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  close(fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string TestHttpServer::url(const std::string& path) const {
  return std::string(ssl_ctx_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t TestHttpServer::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

void TestHttpServer::release() {
  released_ = true;
  cv_.notify_all();
}

void TestHttpServer::accept_loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void TestHttpServer::serve(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Conn conn{fd, nullptr};
  if (ssl_ctx_ != nullptr) {
    conn.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(conn.ssl, fd);
    if (SSL_accept(conn.ssl) != 1) {  // e.g. a client that does not trust our CA
      SSL_free(conn.ssl);
      close(fd);
      return;
    }
  }
  // One request per connection ("Connection: close" in every answer).
  std::string data;
  char buf[16384];
  size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos && data.size() < (1 << 20)) {
    const int n = conn.read(buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  if (header_end != std::string::npos) {
    ReceivedRequest req;
    const std::string head = data.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.find(' ', sp1 + 1);
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t content_length = 0;
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (name == "content-length") content_length = std::stoul(value);
        req.headers.emplace_back(std::move(name), std::move(value));
      }
      pos = e + 2;
    }
    req.body = data.substr(header_end + 4);
    while (req.body.size() < content_length) {
      const int n = conn.read(buf, sizeof buf);
      if (n <= 0) break;
      req.body.append(buf, static_cast<size_t>(n));
    }
    req.received_mono_ns = monotonic_ns();
    size_t index = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      index = requests_.size();
      requests_.push_back(req);
    }
    Reply reply = handler_(req, index);
    if (reply.hold) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_.load() || released_.load(); });
      reply = Reply{};
    }
    if (!stop_) {
      std::string out =
          "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
      for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      out += "Connection: close\r\n\r\n" + reply.body;
      conn.write_all(out);
    }
  }
  if (conn.ssl != nullptr) {
    SSL_shutdown(conn.ssl);
    SSL_free(conn.ssl);
  }
  close(fd);
}

}  // namespace klaxon::test
