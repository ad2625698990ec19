// SyslogTcpSource: the syslog listener over TCP (RFC 6587 framing, see framing.h) and over
// TLS (RFC 5425; options.tls set: TLS 1.2/1.3, optional mutual TLS, see tls.h).
//
// Runs on the daemon's I/O thread (one io_context, one thread: sessions need no locks).
// Each connection reads into its own buffer, frames it, and hands every complete message of
// a read to the parse queue as one RawBatch. When the queue is full the connection stops
// reading until its batch fits (TCP flow control then slows the sender): nothing accepted is
// dropped and memory stays bounded (buffers are bounded by max_message_size and read_buffer).
// Connections over max_connections are closed at once; idle ones after idle_timeout; a TLS
// handshake that is refused or takes longer than handshake_timeout is counted by reason
// (klaxon_source_tls_handshake_failures_total) and does not disturb other connections.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
// clang-format on

#include "pipeline/core/batch.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/core/result.h"
#include "pipeline/sources/framing.h"
#include "pipeline/sources/tls.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

namespace klaxon {

struct SyslogTcpOptions {
  std::string name = "syslog_tcp";
  InputFormat format = InputFormat::kAuto;  // what the messages are (alert.h)
  std::string address = "0.0.0.0";
  uint16_t port = 5514;
  FramerOptions framer;
  size_t max_connections = 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  size_t read_buffer = 256 * 1024;  // the most one read takes
  bool tls = false;                 // RFC 5425: TLS on this listener
  TlsOptions tls_options;
};

class StreamSession;

class SyslogTcpSource {
 public:
  SyslogTcpSource(boost::asio::io_context& io, SyslogTcpOptions options,
                  BoundedQueue<RawBatch>& out, PipelineMetrics& metrics);
  ~SyslogTcpSource();

  // Binds and starts accepting. The error names the address.
  Status start();
  uint16_t port() const { return bound_port_; }
  // Stops accepting and closes every connection once its pending batch is queued.
  // I/O thread only (post() it from elsewhere).
  void stop();
  // Applies limits that can change without a restart (SIGHUP). I/O thread only.
  void update_limits(const SyslogTcpOptions& options);
  // SIGHUP: a new certificate, key, CA or allow-list for new connections; established ones
  // keep theirs. On error the old context stays and the error says why. I/O thread only.
  Status reload_tls(const TlsOptions& options);
  size_t connections() const { return sessions_.size(); }

 private:
  template <typename Stream>
  friend class SyslogStreamSession;
  void do_accept();
  void remove(StreamSession* s) { sessions_.erase(s); }

  boost::asio::io_context& io_;
  SyslogTcpOptions options_;
  BoundedQueue<RawBatch>& out_;
  PipelineMetrics& metrics_;
  TransportMetrics& tm_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unordered_set<StreamSession*> sessions_;
  SslContextPtr ssl_ctx_;  // TLS listeners only
  uint16_t bound_port_ = 0;
  bool stopping_ = false;
};

// Parses "host:port", "[v6]:port" or ":port"; the error names what was wrong.
Result<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& text);

}  // namespace klaxon
