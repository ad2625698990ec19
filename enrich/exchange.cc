#include "enrich/exchange.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace klaxon::enrich {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr size_t kHeaderLimit = 16 * 1024;
}

HttpsExchange::HttpsExchange(asio::io_context& io, asio::ssl::context& tls, HttpsUrl url,
                             Endpoints endpoints, size_t max_body,
                             std::chrono::milliseconds timeout, Callback done)
    : url_(std::move(url)),
      endpoints_(std::move(endpoints)),
      timeout_(timeout),
      done_(std::move(done)),
      max_body_(max_body),
      stream_(io, tls),
      buffer_(kHeaderLimit + 64 * 1024) {
  parser_.body_limit(max_body);
  parser_.header_limit(kHeaderLimit);
  request_.method(http::verb::get);
  request_.target(url_.target);
  request_.version(11);
  std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
  if (url_.port != 443) host += ":" + std::to_string(url_.port);
  request_.set(http::field::host, host);
  request_.set(http::field::user_agent, "klaxon-enrich/1");
  request_.set(http::field::accept, "application/rdap+json, application/json");
  request_.set(http::field::connection, "close");
}

void HttpsExchange::start() {
  SSL* ssl = stream_.native_handle();
  // Name checks happen inside OpenSSL's chain verification: a wrong name fails the handshake.
  if (url_.host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, url_.host.c_str());
    SSL_set1_host(ssl, url_.host.c_str());
  }
  beast::get_lowest_layer(stream_).expires_after(timeout_);  // one deadline for everything
  beast::get_lowest_layer(stream_).async_connect(
      endpoints_,
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  const asio::ip::tcp::endpoint&) { self->on_connect(ec); });
}

void HttpsExchange::cancel() { beast::get_lowest_layer(stream_).close(); }

namespace {
HttpsExchange::Outcome failure(const boost::system::error_code& ec, const char* step) {
  HttpsExchange::Outcome out;
  out.error = ec == beast::error::timeout ? std::string("timeout")
                                          : std::string(step) + ": " + ec.message();
  return out;
}
}  // namespace

void HttpsExchange::on_connect(const boost::system::error_code& ec) {
  if (ec) return finish(failure(ec, "connect"));
  stream_.async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this()](const boost::system::error_code& e) { self->on_handshake(e); });
}

void HttpsExchange::on_handshake(const boost::system::error_code& ec) {
  if (ec) return finish(failure(ec, "tls"));
  http::async_write(stream_, request_,
                    [self = shared_from_this()](const boost::system::error_code& e, size_t) {
                      self->on_write(e);
                    });
}

namespace {
bool is_size_error(const boost::system::error_code& ec) {
  return ec == http::error::body_limit || ec == http::error::buffer_overflow ||
         ec == http::error::header_limit;
}
HttpsExchange::Outcome oversized() {
  HttpsExchange::Outcome out;
  out.error = "oversized";
  out.oversized = true;
  return out;
}
}  // namespace

// The header first, then the body: Boost 1.74's parser drops the body_limit error it raises
// for a Content-Length over the limit when it runs eagerly, which http::async_read makes it
// do; reading the header alone (not eager) keeps that error.
void HttpsExchange::on_write(const boost::system::error_code& ec) {
  if (ec) return finish(failure(ec, "write"));
  http::async_read_header(stream_, buffer_, parser_,
                          [self = shared_from_this()](const boost::system::error_code& e, size_t) {
                            self->on_header(e);
                          });
}

void HttpsExchange::on_header(const boost::system::error_code& ec) {
  if (is_size_error(ec)) return finish(oversized());
  if (ec) return finish(failure(ec, "read"));
  if (parser_.is_done()) return on_read(ec);  // no body (204, 304, Content-Length: 0)
  http::async_read(stream_, buffer_, parser_,
                   [self = shared_from_this()](const boost::system::error_code& e, size_t) {
                     self->on_read(e);
                   });
}

void HttpsExchange::on_read(const boost::system::error_code& ec) {
  Outcome out;
  if (is_size_error(ec) || parser_.get().body().size() > max_body_) return finish(oversized());
  // A server that closes without close_notify after a complete message is fine.
  if (ec && !(ec == asio::ssl::error::stream_truncated && parser_.is_done())) {
    return finish(failure(ec, "read"));
  }
  auto& res = parser_.get();
  out.status = res.result_int();
  out.location = std::string(res[http::field::location]);
  out.body = std::move(res.body());
  finish(std::move(out));
}

void HttpsExchange::finish(Outcome outcome) {
  if (finished_) return;
  finished_ = true;
  beast::get_lowest_layer(stream_).close();  // no close_notify: we are done
  Callback done = std::move(done_);
  done(std::move(outcome));
}

WhoisExchange::WhoisExchange(asio::io_context& io, Endpoints endpoints, std::string query,
                             size_t max_bytes, std::chrono::milliseconds timeout, Callback done)
    : endpoints_(std::move(endpoints)),
      query_(std::move(query)),
      max_bytes_(max_bytes),
      timeout_(timeout),
      done_(std::move(done)),
      socket_(io),
      timer_(io) {}

void WhoisExchange::start() {
  timer_.expires_after(timeout_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->finished_) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
  asio::async_connect(
      socket_, endpoints_,
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  const asio::ip::tcp::endpoint&) {
        if (ec) {
          return self->finish(self->timed_out_ ? "timeout" : "connect: " + ec.message());
        }
        asio::async_write(
            self->socket_, asio::buffer(self->query_),
            [self](const boost::system::error_code& e, size_t) {
              if (e) {
                return self->finish(self->timed_out_ ? "timeout" : "write: " + e.message());
              }
              self->read_more();
            });
      });
}

void WhoisExchange::read_more() {
  socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                    const boost::system::error_code& ec, size_t n) {
    const size_t room = self->max_bytes_ - self->text_.size();
    self->text_.append(self->chunk_.data(), std::min(n, room));
    if (self->text_.size() >= self->max_bytes_) {
      self->truncated_ = true;  // enough: what a registry says fits in far less
      return self->finish("");
    }
    if (ec == asio::error::eof) return self->finish("");
    if (ec) return self->finish(self->timed_out_ ? "timeout" : "read: " + ec.message());
    self->read_more();
  });
}

void WhoisExchange::cancel() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void WhoisExchange::finish(std::string error) {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  Callback done = std::move(done_);
  done(Outcome{std::move(error), truncated_, std::move(text_)});
}

}  // namespace klaxon::enrich
