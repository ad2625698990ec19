// Fixtures for the sinks tests:
//   sample_incident / sample_notification   fixed values (2026-05-20T10:01:02Z) so bytes are
//                                           comparable run to run
//   TestHttpServer   a threaded HTTP/1.1 server on 127.0.0.1:0 (plain or TLS via OpenSSL,
//                    one thread per connection) answering what a test scripts per request:
//                    a status, headers, a body, a delay, or no answer at all (held until the
//                    server is destroyed or release() is called)
//   make_test_pki    a CA and a server certificate for 127.0.0.1/localhost (openssl CLI)
// Servers stop and join their threads on destruction.
#pragma once

#include "pipeline/notify/notification.h"
#include "tests/support/test_support.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace klaxon::test {

inline constexpr int64_t kSampleTimeNs = 1779271262LL * 1'000'000'000;  // 2026-05-20 10:01:02Z

notify::IncidentView sample_incident(const std::string& id,
                                     const std::string& severity = "critical");
notify::Notification sample_notification(notify::NotifyKind kind,
                                         std::vector<notify::IncidentView> incidents);

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  int64_t received_mono_ns = 0;                             // when the whole request was read
  std::string header(const std::string& lower_name) const;  // "" when absent
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  bool hold = false;  // never answer (until release() or destruction), connection kept open
};

struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};
bool make_test_pki(const std::string& dir, TlsFiles* out, std::string* error);

class TestHttpServer {
 public:
  // handler(request, index): index counts requests from 0 in arrival order.
  using Handler = std::function<Reply(const ReceivedRequest&, size_t)>;
  explicit TestHttpServer(Handler handler, const TlsFiles* tls = nullptr);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;
  std::vector<ReceivedRequest> requests() const;
  size_t count() const;
  // Held replies answer 200 now.
  void release();

 private:
  void accept_loop();
  void serve(int fd);
  Handler handler_;
  void* ssl_ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> released_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace klaxon::test
