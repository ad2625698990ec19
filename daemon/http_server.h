// HttpServer: klaxond's one HTTP listener (Boost.Beast): /metrics, /healthz, /readyz and the
// alert intake (daemon/http_intake.h) and the incident API (daemon/incident_api.h).
//
// Runs on the daemon's I/O thread. Requests are bounded (8 KiB of headers, max_body_size of
// body, 30 s to arrive); keep-alive is honoured. GET routes answer at once; POST routes answer
// through a callback that may be called later from any thread (the intake answers once the
// alerts are durable). Routes are registered before start().
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
// clang-format on

#include "pipeline/core/result.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace klaxon {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // WWW-Authenticate, Retry-After
};

struct HttpRequest {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string target;  // path, without the query
  std::string query;   // after '?', undecoded; "" when none
  std::string authorization;
  std::string content_type;
  std::string peer;  // "192.0.2.1:51514"
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;
  // Must call respond exactly once, from any thread.
  using Respond = std::function<void(HttpResponse)>;
  using PostHandler = std::function<void(HttpRequest&&, Respond)>;

  HttpServer(boost::asio::io_context& io, std::string listen, size_t max_body_size = 1 << 20);
  void route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }
  void route_post(const std::string& path, PostHandler handler) {
    post_routes_[path] = std::move(handler);
  }
  // Any method, any path under `prefix` (the JSON API: /api/v1/incidents/<id>/ack). Exact
  // routes win; among prefixes the longest.
  void route_prefix(const std::string& prefix, PostHandler handler) {
    prefix_routes_[prefix] = std::move(handler);
  }
  Status start();
  void stop();
  uint16_t port() const { return port_; }

 private:
  void do_accept();
  friend class HttpSession;

  boost::asio::io_context& io_;
  std::string listen_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Handler> routes_;
  std::map<std::string, PostHandler> post_routes_;
  std::map<std::string, PostHandler> prefix_routes_;
  size_t max_body_size_;
  uint16_t port_ = 0;
  bool stopping_ = false;
};

}  // namespace klaxon
