#include "enrich/dns_resolver.h"

#include <ares.h>

#include <mutex>

namespace klaxon::enrich {

namespace asio = boost::asio;

struct DnsResolver::Watch {
  Watch(asio::io_context& io, int fd) : fd(fd), descriptor(io, fd) {}
  int fd;
  asio::posix::stream_descriptor descriptor;  // not the owner: released before c-ares closes
  bool want_read = false;
  bool want_write = false;
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

DnsResolver::DnsResolver(asio::io_context& io) : io_(io), timer_(io) {}

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(asio::io_context& io,
                                                         const DnsResolverOptions& options) {
  static std::once_flag init_once;
  static int init_status = ARES_SUCCESS;
  std::call_once(init_once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS) {
    return make_error(ErrorCode::kInternal,
                      std::string("c-ares library init: ") + ares_strerror(init_status));
  }
  if (options.timeout.count() <= 0 || options.tries <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "dns: timeout and tries must be positive");
  }
  std::unique_ptr<DnsResolver> r(new DnsResolver(io));
  ares_options opts{};
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = options.tries;
  opts.sock_state_cb = &DnsResolver::on_sock_state;
  opts.sock_state_cb_data = r.get();
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  int st = ares_init_options(&r->channel_, &opts, mask);
  if (st != ARES_SUCCESS) {
    r->channel_ = nullptr;
    return make_error(ErrorCode::kInternal, std::string("c-ares init: ") + ares_strerror(st));
  }
  if (!options.servers.empty()) {
    st = ares_set_servers_ports_csv(r->channel_, options.servers.c_str());
    if (st != ARES_SUCCESS) {
      return make_error(ErrorCode::kInvalidArgument, "dns_servers \"" + options.servers +
                                                         "\": " + ares_strerror(st) +
                                                         " (expected \"ip[:port],[ip6]:port\")");
    }
  }
  return r;
}

DnsResolver::~DnsResolver() { shutdown(); }

void DnsResolver::shutdown() {
  if (channel_ != nullptr) {
    ares_channel ch = channel_;
    channel_ = nullptr;  // callbacks run inside ares_destroy must not start new queries
    ares_destroy(ch);
  }
  for (auto& [fd, w] : watches_) {
    w->closed = true;
    boost::system::error_code ec;
    w->descriptor.cancel(ec);
    w->descriptor.release();
  }
  watches_.clear();
  timer_.cancel();
}

void DnsResolver::query(const std::string& name, int type, Callback callback) {
  if (channel_ == nullptr) {
    callback(ARES_EDESTRUCTION, nullptr, 0);
    return;
  }
  auto* arg = new Callback(std::move(callback));
  ares_query(channel_, name.c_str(), 1 /* C_IN */, type, &DnsResolver::on_answer, arg);
  reschedule();
}

void DnsResolver::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                            int alen) {
  std::unique_ptr<Callback> cb(static_cast<Callback*>(arg));
  (*cb)(status, abuf, abuf ? alen : 0);
}

void DnsResolver::on_sock_state(void* data, int fd, int readable, int writable) {
  static_cast<DnsResolver*>(data)->update_watch(fd, readable != 0, writable != 0);
}

void DnsResolver::update_watch(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    // c-ares is about to close fd: stop watching and give it back without closing it.
    if (it != watches_.end()) {
      it->second->closed = true;
      boost::system::error_code ec;
      it->second->descriptor.cancel(ec);
      it->second->descriptor.release();
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<Watch>(io_, fd)).first;
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void DnsResolver::arm(const std::shared_ptr<Watch>& w) {
  if (w->closed) return;
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                             [this, w](const boost::system::error_code& ec) {
                               w->reading = false;
                               if (ec || w->closed || channel_ == nullptr) return;
                               ares_process_fd(channel_, w->fd, ARES_SOCKET_BAD);
                               arm(w);
                               reschedule();
                             });
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                             [this, w](const boost::system::error_code& ec) {
                               w->writing = false;
                               if (ec || w->closed || channel_ == nullptr) return;
                               ares_process_fd(channel_, ARES_SOCKET_BAD, w->fd);
                               arm(w);
                               reschedule();
                             });
  }
}

void DnsResolver::reschedule() {
  if (channel_ == nullptr) return;
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                       std::chrono::microseconds(next->tv_usec));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || channel_ == nullptr) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    reschedule();
  });
}

}  // namespace klaxon::enrich
