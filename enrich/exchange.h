// One network exchange each, capped in bytes and time: an HTTPS GET (Boost.Beast over
// OpenSSL) for RDAP, and a WHOIS query (RFC 3912: connect to TCP 43, send the query and CRLF,
// read until the server closes).
//
// Both try the given endpoints in order, stop at their own deadline (total, from start() to
// the last byte: a server that trickles or never closes is cut off), and hand back one
// Outcome through the callback, exactly once, on the io_context's thread. cancel() closes the
// socket; the callback then still runs (with an error). The HTTPS exchange verifies the
// server's certificate chain against the context's trust anchors and its name (SAN DNS name
// or IP address) against the URL's host; SNI is sent for names.
//
// Internal to klaxon::enrich; the I/O thread only. Owned through shared_ptr while in flight.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
// clang-format on

#include "enrich/rdap.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace klaxon::enrich {

using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

class HttpsExchange : public std::enable_shared_from_this<HttpsExchange> {
 public:
  struct Outcome {
    std::string error;  // empty: a response arrived; else "timeout", "connect", "tls", ...
    bool oversized = false;
    unsigned status = 0;
    std::string body;
    std::string location;  // Location header of a redirect
  };
  using Callback = std::function<void(Outcome)>;

  HttpsExchange(boost::asio::io_context& io, boost::asio::ssl::context& tls, HttpsUrl url,
                Endpoints endpoints, size_t max_body, std::chrono::milliseconds timeout,
                Callback done);
  void start();
  void cancel();

 private:
  void on_connect(const boost::system::error_code& ec);
  void on_handshake(const boost::system::error_code& ec);
  void on_write(const boost::system::error_code& ec);
  void on_header(const boost::system::error_code& ec);
  void on_read(const boost::system::error_code& ec);
  void finish(Outcome outcome);

  HttpsUrl url_;
  Endpoints endpoints_;
  std::chrono::milliseconds timeout_;
  Callback done_;
  size_t max_body_;
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::empty_body> request_;
  boost::beast::http::response_parser<boost::beast::http::string_body> parser_;
  bool finished_ = false;
};

class WhoisExchange : public std::enable_shared_from_this<WhoisExchange> {
 public:
  struct Outcome {
    std::string error;       // empty: the server closed; else "timeout", "connect", ...
    bool truncated = false;  // stopped at max_bytes
    std::string text;        // what arrived (also on timeout)
  };
  using Callback = std::function<void(Outcome)>;

  WhoisExchange(boost::asio::io_context& io, Endpoints endpoints, std::string query,
                size_t max_bytes, std::chrono::milliseconds timeout, Callback done);
  void start();
  void cancel();

 private:
  void read_more();
  void finish(std::string error);

  Endpoints endpoints_;
  std::string query_;
  size_t max_bytes_;
  std::chrono::milliseconds timeout_;
  Callback done_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string text_;
  std::array<char, 4096> chunk_{};
  bool timed_out_ = false;
  bool truncated_ = false;
  bool finished_ = false;
};

}  // namespace klaxon::enrich
