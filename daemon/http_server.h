// HttpServer: klaxond's one HTTP listener (Boost.Beast): /metrics, /healthz, /readyz.
//
// Runs on the daemon's I/O thread. Requests are small and bounded (8 KiB of headers, 1 MiB
// of body, 30 s to finish a request); keep-alive is honoured. Routes are registered as
// handlers before start(); later issues add the /api/v1 routes here.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
// clang-format on

#include "pipeline/core/result.h"

#include <functional>
#include <map>
#include <string>

namespace klaxon {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  HttpServer(boost::asio::io_context& io, std::string listen);
  void route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }
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
  uint16_t port_ = 0;
  bool stopping_ = false;
};

}  // namespace klaxon
