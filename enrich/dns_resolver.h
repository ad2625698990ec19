// DnsResolver: c-ares driven by an Asio event loop.
//
// c-ares owns its sockets; it tells us which to watch through ARES_OPT_SOCK_STATE_CB. Each
// watched socket gets a non-owning posix::stream_descriptor whose async_wait(read/write)
// calls ares_process_fd() for that socket; one steady_timer follows ares_timeout() and calls
// ares_process_fd(ARES_SOCKET_BAD, ARES_SOCKET_BAD) so that retries and timeouts happen.
// Before c-ares closes a socket it reports it as neither readable nor writable; the descriptor
// is then released (never closed by Asio), its waits cancelled.
//
// c-ares 1.18 has no cache and retries slowly by default: timeout per try and tries are set
// explicitly (ARES_OPT_TIMEOUTMS, ARES_OPT_TRIES); caching is the Enricher's. Servers come
// from EnrichOptions::dns_servers (ares_set_servers_ports_csv) or /etc/resolv.conf.
//
// Threads: everything, callbacks included, runs on the io_context's one thread. The callback
// gets the raw response when there is one (also for NXDOMAIN and NODATA) and is called exactly
// once: with ARES_EDESTRUCTION when the resolver is destroyed first.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on

#include "pipeline/core/result.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

struct ares_channeldata;

namespace klaxon::enrich {

struct DnsResolverOptions {
  std::string servers;  // "127.0.0.1:5353,[::1]:53"; empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{800};
  int tries = 2;
};

class DnsResolver {
 public:
  // status is an ARES_* code; abuf/alen the response (may be null).
  using Callback = std::function<void(int status, const uint8_t* abuf, int alen)>;

  static Result<std::unique_ptr<DnsResolver>> create(boost::asio::io_context& io,
                                                     const DnsResolverOptions& options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // One question (class IN, the given type). I/O thread only.
  void query(const std::string& name, int type, Callback callback);
  // Ends every query (callbacks get ARES_EDESTRUCTION) and stops watching sockets.
  void shutdown();

 private:
  struct Watch;
  explicit DnsResolver(boost::asio::io_context& io);
  static void on_sock_state(void* data, int fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void update_watch(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<Watch>& watch);
  void reschedule();

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  ares_channeldata* channel_ = nullptr;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
};

}  // namespace klaxon::enrich
