#include "pipeline/sources/syslog_tcp.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <type_traits>

namespace klaxon {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
std::string endpoint_text(const tcp::endpoint& ep) {
  boost::system::error_code ec;
  const auto addr = ep.address();
  if (addr.is_v6()) return "[" + addr.to_string(ec) + "]:" + std::to_string(ep.port());
  return addr.to_string(ec) + ":" + std::to_string(ep.port());
}
constexpr size_t kInitialBuffer = 16 * 1024;
}  // namespace

// What the source needs from a session of either kind.
class StreamSession {
 public:
  virtual ~StreamSession() = default;
  virtual void close() = 0;
  virtual void set_framer_options(FramerOptions o) = 0;
};

namespace {
tcp::socket& lowest(tcp::socket& s) { return s; }
tcp::socket& lowest(asio::ssl::stream<tcp::socket>& s) { return s.next_layer(); }

// Why a handshake failed, as a bounded metric label.
std::string handshake_failure_reason(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) return "timeout";
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    switch (reason) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "protocol";
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_NO_SHARED_GROUPS:
        return "cipher";
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "no_certificate";
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "certificate";
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
      case SSL_R_UNEXPECTED_MESSAGE:
      case SSL_R_RECORD_LENGTH_MISMATCH:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_UNKNOWN_PROTOCOL:
        return "not_tls";
      default:
        return "other";
    }
  }
  return "other";
}
}  // namespace

// One connection, plain TCP or TLS. Owned by shared_ptrs held by its pending async
// operations; the source keeps a raw pointer to reach it on stop(). I/O thread only.
template <typename Stream>
class SyslogStreamSession : public StreamSession,
                            public std::enable_shared_from_this<SyslogStreamSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  template <typename... Args>
  SyslogStreamSession(SyslogTcpSource& source, tcp::socket socket, Args&&... stream_args)
      : source_(source),
        stream_(std::move(socket), std::forward<Args>(stream_args)...),
        idle_timer_(lowest(stream_).get_executor()),
        retry_timer_(lowest(stream_).get_executor()),
        framer_(source.options_.framer) {
    boost::system::error_code ec;
    peer_ = endpoint_text(lowest(stream_).remote_endpoint(ec));
    buffer_.resize(kInitialBuffer);
  }

  void start() {
    source_.sessions_.insert(this);
    source_.tm_.connections->Increment();
    if constexpr (kTls) {
      // The handshake gets its own deadline: a client that connects and says nothing (or
      // sends garbage slowly) must not hold a slot for the idle timeout.
      handshaking_ = true;
      idle_timer_.expires_after(source_.options_.tls_options.handshake_timeout);
      idle_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
        if (!ec && self->handshaking_) {
          self->timed_out_ = true;
          boost::system::error_code ignored;
          lowest(self->stream_).close(ignored);
        }
      });
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](boost::system::error_code ec) {
                                self->on_handshake(ec);
                              });
    } else {
      arm_idle_timer();
      do_read();
    }
  }

  void close() override {
    closing_ = true;
    boost::system::error_code ec;
    lowest(stream_).shutdown(tcp::socket::shutdown_both, ec);
    lowest(stream_).close(ec);
    idle_timer_.cancel();
    // retry_timer_ keeps running if a batch is pending: it must reach the queue first.
  }

  void set_framer_options(FramerOptions o) override { framer_.set_options(o); }
  // The TLS context must outlive the stream built from it (its verify callback lives there).
  void keep_alive(std::shared_ptr<void> p) { keep_alive_ = std::move(p); }

  ~SyslogStreamSession() override {
    source_.tm_.connections->Decrement();
    source_.remove(this);
  }

 private:
  void on_handshake(boost::system::error_code ec) {
    handshaking_ = false;
    idle_timer_.cancel();
    if (ec) {
      const std::string reason = timed_out_ ? "timeout" : handshake_failure_reason(ec);
      source_.metrics_.tls_handshake_failure(reason)->Increment();
      log_event(LogLevel::kInfo, "syslog_tls", "TLS handshake refused",
                {{"peer", peer_}, {"reason", reason}, {"error", ec.message()}});
      closing_ = true;
      boost::system::error_code ignored;
      lowest(stream_).close(ignored);
      return;
    }
    source_.metrics_.tls_handshakes->Increment();
    if constexpr (kTls) {
      // The client's identity goes on every alert it sends.
      if (X509* cert = SSL_get1_peer_certificate(stream_.native_handle())) {
        tls_subject_ = certificate_subject(cert);
        tls_fingerprint_ = certificate_fingerprint(cert);
        X509_free(cert);
      }
    }
    arm_idle_timer();
    do_read();
  }

  // Activity moves the deadline; one timer at a time checks it.
  void arm_idle_timer() {
    last_activity_ = std::chrono::steady_clock::now();
    if (!idle_armed_) wait_idle(source_.options_.idle_timeout);
  }

  void wait_idle(std::chrono::steady_clock::duration d) {
    idle_armed_ = true;
    idle_timer_.expires_after(d);
    idle_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      self->idle_armed_ = false;
      if (ec || self->closing_) return;
      const auto timeout = self->source_.options_.idle_timeout;
      const auto idle = std::chrono::steady_clock::now() - self->last_activity_;
      if (idle >= timeout) {
        self->source_.tm_.connections_idle_closed->Increment();
        log_event(LogLevel::kInfo, self->source_.options_.name, "closing idle connection",
                  {{"peer", self->peer_}});
        self->close();
      } else {
        self->wait_idle(timeout - idle);
      }
    });
  }

  void do_read() {
    if (closing_) return;
    // Room for one more read: grow when the last read filled what we had, and always keep
    // room for a whole frame of max_message_size plus its header.
    const size_t max_frame = source_.options_.framer.max_message_size + kMaxCountDigits + 2;
    const size_t want = std::max(source_.options_.read_buffer, max_frame);
    if (buffer_.size() - used_ < 4096 || (last_read_filled_ && buffer_.size() < want)) {
      buffer_.resize(
          std::min(std::max(buffer_.size() * 2, used_ + 4096), std::max(want, used_ + 4096)));
    }
    stream_.async_read_some(asio::buffer(buffer_.data() + used_, buffer_.size() - used_),
                            [self = this->shared_from_this()](boost::system::error_code ec,
                                                              size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, size_t n) {
    if (n > 0) {
      last_read_filled_ = (used_ + n == buffer_.size());
      used_ += n;
      source_.tm_.received_bytes->Increment(static_cast<double>(n));
      arm_idle_timer();
      frame(false);
    }
    if (ec) {
      // A TLS peer that closes without close_notify ends the stream the same way.
      const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      if (!eof && ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
        log_event(LogLevel::kWarn, source_.options_.name, "read failed",
                  {{"peer", peer_}, {"error", ec.message()}});
      }
      if (eof) frame(true);
      closing_ = true;
      idle_timer_.cancel();
      try_hand_over();
      return;
    }
    if (!try_hand_over()) return;  // paused: the retry timer resumes reading
    do_read();
  }

  // Frames [0, used_): complete frames go into pending_ (a copy), the incomplete tail moves
  // to the front of buffer_.
  void frame(bool eof) {
    const std::string_view data(buffer_.data(), used_);
    const Transport transport = kTls ? Transport::kTls : Transport::kTcp;
    if (!pending_) {
      pending_ = std::make_unique<RawBatch>();
      pending_->transport = transport;
      pending_->peer = peer_;
      pending_->listener = source_.options_.name;
      pending_->format = source_.options_.format;
      pending_->tls_subject = tls_subject_;
      pending_->tls_fingerprint = tls_fingerprint_;
    }
    RawBatch& b = *pending_;
    const size_t base = b.buffer.size();
    size_t frames = 0;
    auto on_frame = [&](size_t off, size_t len) {
      b.frames.push_back(FrameRef{static_cast<uint32_t>(base + off), static_cast<uint32_t>(len)});
      ++frames;
    };
    auto on_reject = [&](RejectReason reason, size_t off, size_t len, size_t full) {
      Rejection r;
      r.reason = reason;
      r.detail = reason == RejectReason::kTooLarge
                     ? "message over max_message_size (" +
                           std::to_string(source_.options_.framer.max_message_size) + " bytes)"
                     : std::string("RFC 6587 frame: octet count");
      r.sample.assign(data.substr(off, std::min(len, kRejectSampleBytes)));
      r.size = full;
      r.transport = transport;
      r.peer = peer_;
      r.listener = source_.options_.name;
      r.received_ns = wall_ns();
      b.rejected.push_back(std::move(r));
    };
    size_t consumed;
    if (eof) {
      framer_.finish(data, on_frame, on_reject);
      consumed = used_;
    } else {
      consumed = framer_.scan(data, on_frame, on_reject);
    }
    if (frames > 0) {
      // Copy what the frames span; frame offsets are relative to base.
      b.buffer.append(data.data(), consumed);
      source_.tm_.received_messages->Increment(static_cast<double>(frames));
    }
    if (consumed > 0) {
      std::memmove(buffer_.data(), buffer_.data() + consumed, used_ - consumed);
      used_ -= consumed;
    }
  }

  // Queues pending_ if it holds anything. False when the queue is full: then a timer
  // retries and reading stays paused.
  bool try_hand_over() {
    if (!pending_ || (pending_->frames.empty() && pending_->rejected.empty())) {
      if (closing_) pending_.reset();
      return true;
    }
    if (pending_->enqueued_ns == 0) {
      pending_->received_ns = wall_ns();
      pending_->enqueued_ns = monotonic_ns();
      pending_->buffer.append(kParsePadding, '\0');
    }
    if (source_.out_.try_push(pending_)) {
      paused_ = false;
      return true;
    }
    if (!paused_) {
      paused_ = true;
      source_.tm_.backpressure_pauses->Increment();
    }
    retry_timer_.expires_after(std::chrono::milliseconds(1));
    retry_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (self->try_hand_over() && !self->closing_) self->do_read();
    });
    return false;
  }

  SyslogTcpSource& source_;
  std::shared_ptr<void> keep_alive_;  // declared before stream_: destroyed after it
  Stream stream_;
  asio::steady_timer idle_timer_;
  asio::steady_timer retry_timer_;
  SyslogFramer framer_;
  std::string peer_;
  std::string tls_subject_, tls_fingerprint_;
  std::string buffer_;
  size_t used_ = 0;
  bool last_read_filled_ = false;
  std::unique_ptr<RawBatch> pending_;
  bool paused_ = false;
  bool closing_ = false;
  bool idle_armed_ = false;
  bool handshaking_ = false;
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point last_activity_;
};

Result<tcp::endpoint> parse_endpoint(const std::string& text) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(ErrorCode::kInvalidArgument, "expected [ipv6]:port, got \"" + text + "\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "expected host:port, got \"" + text + "\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "not an IP address: \"" + host + "\"");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    return make_error(ErrorCode::kInvalidArgument, "not a port (0-65535): \"" + port + "\"");
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(std::stoul(port)));
}

SyslogTcpSource::SyslogTcpSource(asio::io_context& io, SyslogTcpOptions options,
                                 BoundedQueue<RawBatch>& out, PipelineMetrics& metrics)
    : io_(io),
      options_(std::move(options)),
      out_(out),
      metrics_(metrics),
      tm_(metrics.transport(options_.tls ? Transport::kTls : Transport::kTcp)),
      acceptor_(io) {}

SyslogTcpSource::~SyslogTcpSource() = default;

Status SyslogTcpSource::start() {
  if (options_.tls) {
    auto ctx = make_server_context(options_.tls_options);
    if (!ctx) return make_error(ctx.error().code, options_.name + ": " + ctx.error().message);
    ssl_ctx_ = *ctx;
  }
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(options_.address, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "not an IP address: " + options_.address);
  const tcp::endpoint ep(addr, options_.port);
  const std::string where = options_.name + " on " + endpoint_text(ep);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot listen (" + where + "): " + ec.message());
  bound_port_ = acceptor_.local_endpoint(ec).port();
  log_event(
      LogLevel::kInfo, "syslog_tcp", "listening",
      {{"listener", options_.name}, {"address", endpoint_text(acceptor_.local_endpoint(ec))}});
  do_accept();
  return ok_status();
}

void SyslogTcpSource::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      // EMFILE and friends: log, back off a little, keep accepting.
      log_event(LogLevel::kWarn, options_.name, "accept failed", {{"error", ec.message()}});
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      t->async_wait([this, t](boost::system::error_code) {
        if (!stopping_) do_accept();
      });
      return;
    }
    if (sessions_.size() >= options_.max_connections) {
      tm_.connections_refused_limit->Increment();
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      tm_.connections_accepted->Increment();
      if (ssl_ctx_) {
        // The session holds the context it started with: a reload does not disturb it.
        auto ctx = ssl_ctx_;
        auto session = std::make_shared<SyslogStreamSession<asio::ssl::stream<tcp::socket>>>(
            *this, std::move(socket), *ctx);
        session->keep_alive(ctx);
        session->start();
      } else {
        std::make_shared<SyslogStreamSession<tcp::socket>>(*this, std::move(socket))->start();
      }
    }
    do_accept();
  });
}

void SyslogTcpSource::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  // close() may destroy nothing synchronously; copy first because handlers erase entries.
  std::vector<StreamSession*> all(sessions_.begin(), sessions_.end());
  for (auto* s : all) s->close();
}

Status SyslogTcpSource::reload_tls(const TlsOptions& options) {
  if (!options_.tls) return ok_status();
  auto ctx = make_server_context(options);
  if (!ctx) return make_error(ctx.error().code, options_.name + ": " + ctx.error().message);
  ssl_ctx_ = *ctx;
  options_.tls_options = options;
  return ok_status();
}

void SyslogTcpSource::update_limits(const SyslogTcpOptions& o) {
  options_.max_connections = o.max_connections;
  options_.idle_timeout = o.idle_timeout;
  options_.framer = o.framer;
  for (auto* s : sessions_) s->set_framer_options(o.framer);
}

}  // namespace klaxon
