#include "daemon/http_server.h"

#include "pipeline/core/log.h"
#include "pipeline/sources/syslog_tcp.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>

namespace klaxon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpServer& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(server_.max_body_size_);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      respond_error(http::status::payload_too_large,
                    "request body over " + std::to_string(server_.max_body_size_) + " bytes");
      return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted) {
        // A malformed request gets a 400 and the connection closes.
        respond_error(http::status::bad_request, ec.message());
        return;
      }
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    auto req = parser_->release();
    std::string target(req.target());
    std::string query;
    const size_t q = target.find('?');
    if (q != std::string::npos) {
      query = target.substr(q + 1);
      target.resize(q);
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::server, "klaxond");
    if (const auto post = server_.post_routes_.find(target); post != server_.post_routes_.end()) {
      if (req.method() != http::verb::post) {
        res->result(http::status::method_not_allowed);
        res->set(http::field::allow, "POST");
        res->body() = "method not allowed\n";
        write(res);
        return;
      }
      dispatch(post->second, req, std::move(target), std::move(query), res);
      return;
    }
    const auto it = server_.routes_.find(target);
    if (it == server_.routes_.end()) {
      // The longest registered prefix of the path, if any.
      for (auto p = server_.prefix_routes_.rbegin(); p != server_.prefix_routes_.rend(); ++p) {
        if (target.compare(0, p->first.size(), p->first) == 0) {
          dispatch(p->second, req, std::move(target), std::move(query), res);
          return;
        }
      }
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain; charset=utf-8");
      res->body() = "not found\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET, HEAD");
      res->body() = "method not allowed\n";
    } else {
      HttpResponse r = it->second();
      res->result(static_cast<http::status>(r.status));
      res->set(http::field::content_type, r.content_type);
      if (req.method() != http::verb::head) res->body() = std::move(r.body);
    }
    write(res);
  }

  void dispatch(const HttpServer::PostHandler& handler, http::request<http::string_body>& req,
                std::string target, std::string query,
                const std::shared_ptr<http::response<http::string_body>>& res) {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::move(target);
    r.query = std::move(query);
    r.authorization = std::string(req[http::field::authorization]);
    r.content_type = std::string(req[http::field::content_type]);
    boost::system::error_code pec;
    const auto ep = stream_.socket().remote_endpoint(pec);
    if (!pec) r.peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    r.body = std::move(req.body());
    const bool head = req.method() == http::verb::head;
    // The answer may take a while (it waits for durability): no read deadline meanwhile.
    stream_.expires_never();
    handler(std::move(r), [self = shared_from_this(), res, head](HttpResponse out) {
      asio::post(self->stream_.get_executor(), [self, res, head, out = std::move(out)]() mutable {
        res->result(static_cast<http::status>(out.status));
        res->set(http::field::content_type, out.content_type);
        for (const auto& [name, value] : out.headers) res->set(name, value);
        if (!head) res->body() = std::move(out.body);
        self->write(res);
      });
    });
  }

  void write(const std::shared_ptr<http::response<http::string_body>>& res) {
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code wec, size_t) {
                        if (wec) return;
                        if (!res->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  void respond_error(http::status status, const std::string& why) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->keep_alive(false);
    res->body() = why + "\n";
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  HttpServer& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  std::optional<http::request_parser<http::string_body>> parser_;
};

HttpServer::HttpServer(asio::io_context& io, std::string listen, size_t max_body_size)
    : io_(io), listen_(std::move(listen)), acceptor_(io), max_body_size_(max_body_size) {}

Status HttpServer::start() {
  auto ep = parse_endpoint(listen_);
  if (!ep) return make_error(ErrorCode::kInvalidArgument, "http.listen: " + ep.error().message);
  boost::system::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::kIo, "cannot listen (http on " + listen_ + "): " + ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  log_event(LogLevel::kInfo, "http", "listening",
            {{"address",
              acceptor_.local_endpoint(ec).address().to_string() + ":" + std::to_string(port_)}});
  do_accept();
  return ok_status();
}

void HttpServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void HttpServer::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) return;
      log_event(LogLevel::kWarn, "http", "accept failed", {{"error", ec.message()}});
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      t->async_wait([this, t](boost::system::error_code) {
        if (!stopping_) do_accept();
      });
      return;
    }
    std::make_shared<HttpSession>(*this, std::move(socket))->start();
    do_accept();
  });
}

}  // namespace klaxon
