#include "pipeline/sources/syslog_udp.h"

#include "pipeline/core/clock.h"
#include "pipeline/core/log.h"

namespace klaxon {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
std::string endpoint_text(const udp::endpoint& ep) {
  boost::system::error_code ec;
  const auto addr = ep.address();
  if (addr.is_v6()) return "[" + addr.to_string(ec) + "]:" + std::to_string(ep.port());
  return addr.to_string(ec) + ":" + std::to_string(ep.port());
}
constexpr size_t kMaxDatagram = 65536;
}  // namespace

SyslogUdpSource::SyslogUdpSource(asio::io_context& io, SyslogUdpOptions options,
                                 BoundedQueue<RawBatch>& out, PipelineMetrics& metrics)
    : options_(std::move(options)),
      out_(out),
      tm_(metrics.transport(Transport::kUdp)),
      socket_(io) {
  datagram_.resize(kMaxDatagram);
}

Status SyslogUdpSource::start() {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(options_.address, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "not an IP address: " + options_.address);
  const udp::endpoint ep(addr, options_.port);
  const std::string where = options_.name + " on " + endpoint_text(ep);
  socket_.open(ep.protocol(), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot bind (" + where + "): " + ec.message());
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::receive_buffer_size(options_.receive_buffer_bytes),
                     ignored);
  socket_.non_blocking(true, ec);
  if (ec)
    return make_error(ErrorCode::kIo, "cannot set non-blocking (" + where + "): " + ec.message());
  bound_port_ = socket_.local_endpoint(ec).port();
  log_event(LogLevel::kInfo, "syslog_udp", "listening",
            {{"listener", options_.name}, {"address", endpoint_text(socket_.local_endpoint(ec))}});
  wait_readable();
  return ok_status();
}

void SyslogUdpSource::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
}

void SyslogUdpSource::wait_readable() {
  socket_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    drain();
    wait_readable();
  });
}

void SyslogUdpSource::drain() {
  auto batch = std::make_unique<RawBatch>();
  batch->transport = Transport::kUdp;
  batch->listener = options_.name;
  batch->format = options_.format;
  udp::endpoint from;
  std::string last_peer;
  size_t bytes = 0;
  auto flush = [&] {
    if (batch->frames.empty() && batch->rejected.empty()) return;
    batch->received_ns = wall_ns();
    batch->enqueued_ns = monotonic_ns();
    batch->buffer.append(kParsePadding, '\0');
    const size_t n = batch->frames.size() + batch->rejected.size();
    if (!out_.try_push(batch)) tm_.dropped_queue_full->Increment(static_cast<double>(n));
    batch = std::make_unique<RawBatch>();
    batch->transport = Transport::kUdp;
    batch->listener = options_.name;
    batch->format = options_.format;
  };
  for (size_t i = 0; i < options_.max_batch; ++i) {
    boost::system::error_code ec;
    const size_t n = socket_.receive_from(asio::buffer(datagram_), from, 0, ec);
    if (ec) {
      if (ec != asio::error::would_block && ec != asio::error::try_again) {
        log_event(LogLevel::kWarn, "syslog_udp", "receive failed", {{"error", ec.message()}});
      }
      break;
    }
    bytes += n;
    // A batch carries one peer: a datagram from another sender starts a new batch.
    std::string peer = endpoint_text(from);
    if (peer != last_peer) {
      flush();
      batch->peer = peer;
      last_peer = std::move(peer);
    }
    std::string_view d(datagram_.data(), n);
    if (!d.empty() && (d.back() == '\n' || d.back() == '\0')) d.remove_suffix(1);
    if (!d.empty() && d.back() == '\r') d.remove_suffix(1);
    tm_.received_messages->Increment();
    if (d.size() > options_.max_message_size) {
      Rejection r;
      r.reason = RejectReason::kTooLarge;
      r.detail = "datagram over max_message_size (" + std::to_string(options_.max_message_size) +
                 " bytes)";
      r.sample.assign(d.substr(0, kRejectSampleBytes));
      r.size = d.size();
      r.transport = Transport::kUdp;
      r.peer = batch->peer;
      r.listener = options_.name;
      r.received_ns = wall_ns();
      batch->rejected.push_back(std::move(r));
      continue;
    }
    if (d.empty()) continue;  // an empty datagram carries no message
    const auto off = static_cast<uint32_t>(batch->buffer.size());
    batch->buffer.append(d);
    batch->frames.push_back(FrameRef{off, static_cast<uint32_t>(d.size())});
  }
  tm_.received_bytes->Increment(static_cast<double>(bytes));
  flush();
}

}  // namespace klaxon
