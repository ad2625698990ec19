// SyslogUdpSource: syslog over UDP (RFC 5426): one message per datagram.
//
// Runs on the daemon's I/O thread. When the socket is readable it drains up to max_batch
// datagrams with non-blocking receives into one RawBatch and queues it. UDP has no flow
// control: when the parse queue is full the batch is dropped and every message in it counted
// (klaxon_source_dropped_messages_total{transport="udp",reason="queue_full"}); the kernel's
// own drops show in /proc/net/snmp (RcvbufErrors). One trailing LF/NUL (then CR) is
// stripped, as syslog-ng and rsyslog end datagrams with LF.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio.hpp>
// clang-format on

#include "pipeline/core/batch.h"
#include "pipeline/core/metrics.h"
#include "pipeline/core/queue.h"
#include "pipeline/core/result.h"

#include <string>

namespace klaxon {

struct SyslogUdpOptions {
  std::string name = "syslog_udp";
  InputFormat format = InputFormat::kAuto;  // what the messages are (alert.h)
  std::string address = "0.0.0.0";
  uint16_t port = 5514;
  size_t max_message_size = 64 * 1024;
  int receive_buffer_bytes = 8 * 1024 * 1024;  // SO_RCVBUF (the kernel may cap it)
  size_t max_batch = 1024;
};

class SyslogUdpSource {
 public:
  SyslogUdpSource(boost::asio::io_context& io, SyslogUdpOptions options,
                  BoundedQueue<RawBatch>& out, PipelineMetrics& metrics);
  Status start();
  uint16_t port() const { return bound_port_; }
  void stop();  // I/O thread only
  void update_limits(const SyslogUdpOptions& options) {
    options_.max_message_size = options.max_message_size;
  }

 private:
  void wait_readable();
  void drain();

  SyslogUdpOptions options_;
  BoundedQueue<RawBatch>& out_;
  TransportMetrics& tm_;
  boost::asio::ip::udp::socket socket_;
  std::string datagram_;
  uint16_t bound_port_ = 0;
  bool stopping_ = false;
};

}  // namespace klaxon
