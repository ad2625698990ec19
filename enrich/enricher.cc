#include "enrich/enricher.h"

// clang-format off
#include <utility>  // before Asio: Boost 1.74 headers need it with g++ 12
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on

#include "enrich/address.h"
#include "enrich/cache.h"
#include "enrich/dns_message.h"
#include "enrich/dns_resolver.h"
#include "enrich/exchange.h"
#include "enrich/metrics.h"
#include "enrich/rdap.h"
#include "enrich/whois.h"
#include "pipeline/core/clock.h"

#include <ares.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <unordered_map>

namespace klaxon::enrich {

namespace asio = boost::asio;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

std::chrono::steady_clock::time_point time_point_of(int64_t ns) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}

int64_t ns_of(std::chrono::nanoseconds d) { return d.count(); }

uint32_t seconds_of(std::chrono::seconds s) {
  return static_cast<uint32_t>(std::clamp<int64_t>(s.count(), 0, UINT32_MAX));
}

// A value after normalization: canonical address text or lower-case name.
struct Normalized {
  std::string value;
  bool is_ip = false;
  IpAddress ip;
  std::string error;  // non-empty: not a valid value for the kind
};

Normalized normalize(LookupKind kind, std::string_view raw) {
  Normalized n;
  if (auto ip = parse_ip(raw)) {
    n.is_ip = true;
    n.ip = *ip;
    n.value = format_ip(*ip);
  } else if (auto name = normalize_hostname(raw)) {
    n.value = std::move(*name);
  } else {
    n.error = "invalid value";
    return n;
  }
  if (kind == LookupKind::kPtr && !n.is_ip) n.error = "invalid value: ptr needs an address";
  if ((kind == LookupKind::kA || kind == LookupKind::kAaaa) && n.is_ip) {
    n.error = "invalid value: a/aaaa need a name";
  }
  return n;
}

std::string capped(std::string_view s) {
  std::string out;
  assign_capped(out, s);
  return out;
}

std::string format_url(const HttpsUrl& u) {
  std::string s = "https://";
  s += u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.port != 443) s += ":" + std::to_string(u.port);
  s += u.target;
  return s;
}

std::string format_server(const std::string& host, uint16_t port) {
  std::string s = "whois://";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ":" + std::to_string(port);
  return s;
}

}  // namespace

class Enricher::Impl {
 public:
  Impl(const EnrichOptions& options, prometheus::Registry& registry)
      : options_(options),
        metrics_(registry),
        cache_(options.cache_entries),
        io_(1),
        work_(asio::make_work_guard(io_)) {}

  ~Impl() {
    if (thread_.joinable()) stop();
  }

  Status init();
  void start() {
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop();

  bool request(LookupKind kind, std::string_view value, LookupCallback cb);
  std::optional<LookupResult> lookup_cached(LookupKind kind, std::string_view value) const;
  EnrichStats stats() const;

  const EnrichOptions options_;

 private:
  struct Waiter {
    LookupCallback cb;
    int64_t requested_ns;
    int64_t deadline_ns;  // kNever for internal lookups (names of RDAP/WHOIS servers)
    bool answered = false;
  };

  struct Flight {
    explicit Flight(asio::io_context& io) : deadline_timer(io), cap_timer(io) {}
    uint64_t id = 0;
    LookupKind kind = LookupKind::kPtr;
    std::string key;
    Normalized n;
    int64_t started_ns = 0;
    std::vector<Waiter> waiters;
    asio::steady_timer deadline_timer;  // the earliest deadline among unanswered waiters
    int64_t armed_ns = kNever;
    asio::steady_timer cap_timer;  // network_timeout: the flight ends here at the latest
    std::function<void()> cancel;  // closes the current exchange, if any
    int redirects = 0;
    std::optional<WhoisParse> first_whois;  // the answer that named the referral
    std::string first_server;
  };

  using EndpointsCallback = std::function<void(Endpoints, std::string error)>;

  void lookup_on_io(LookupKind kind, std::string_view value, LookupCallback cb,
                    int64_t requested_ns, int64_t deadline_ns);
  std::optional<std::string> refusal(LookupKind kind, const Normalized& n) const;
  void join_or_start(LookupKind kind, Normalized n, std::string key, Waiter waiter);
  void deliver(LookupKind kind, Waiter& w, const std::shared_ptr<const Answer>& a, bool cached,
               bool late);
  void deliver_now(LookupKind kind, LookupCallback& cb, int64_t requested_ns,
                   std::shared_ptr<Answer> a);
  void drop(LookupKind kind, std::string_view value, LookupCallback& cb, int64_t requested_ns,
            DropReason reason);
  void arm_deadline(Flight& f);
  void on_deadline(uint64_t id);
  void complete(uint64_t id, std::shared_ptr<Answer> a);
  std::shared_ptr<Answer> new_answer(const Flight& f, LookupStatus status, AnswerSource source,
                                     std::string detail) const;
  Flight* find(uint64_t id) {
    auto it = flights_.find(id);
    return it == flights_.end() ? nullptr : it->second.get();
  }
  std::chrono::milliseconds remaining(const Flight& f) const;
  void count(Hostile h, uint64_t n = 1) {
    if (n) metrics_.hostile[static_cast<size_t>(h)]->Increment(static_cast<double>(n));
  }

  // TTL policy (EnrichOptions).
  uint32_t positive_ttl(uint32_t record_ttl) const {
    return std::clamp(record_ttl, seconds_of(options_.min_ttl),
                      std::max(seconds_of(options_.min_ttl), seconds_of(options_.max_ttl)));
  }
  uint32_t negative_ttl_of(std::optional<uint32_t> soa) const {
    const uint32_t cap = seconds_of(options_.negative_ttl);
    return std::min(soa.value_or(cap), cap);
  }

  void start_dns(Flight& f);
  void on_dns(uint64_t id, int status, const uint8_t* abuf, int alen);
  void start_rdap(Flight& f);
  void fetch_rdap(uint64_t id, HttpsUrl url, bool trusted);
  void on_rdap(uint64_t id, const HttpsUrl& url, HttpsExchange::Outcome o);
  void start_whois(Flight& f);
  void query_whois(uint64_t id, WhoisServer server, int hop, bool trusted);
  void on_whois(uint64_t id, const std::string& server, int hop, WhoisExchange::Outcome o);
  void resolve_server(const std::string& host, uint16_t port, bool trusted, EndpointsCallback cb);
  void resolve_family(const std::string& host, uint16_t port, bool trusted, LookupKind kind,
                      EndpointsCallback cb);
  void shutdown_io();

  EnrichMetrics metrics_;
  mutable LookupCache cache_;
  RdapBootstrap bootstrap_;
  std::optional<WhoisServer> whois_server_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::unique_ptr<DnsResolver> resolver_;
  std::thread thread_;
  std::atomic<size_t> pending_{0};
  std::atomic<bool> stopping_{false};

  // I/O thread only.
  simdjson::dom::parser json_;
  std::unordered_map<uint64_t, std::unique_ptr<Flight>> flights_;
  std::unordered_map<std::string, uint64_t> by_key_;
  uint64_t next_id_ = 1;
  bool io_stopping_ = false;
};

// ---------------------------------------------------------------------------------------------
// Set-up and shutdown

Status Enricher::Impl::init() {
  const EnrichOptions& o = options_;
  if (o.deadline.count() <= 0) return make_error(ErrorCode::kInvalidArgument, "deadline: > 0");
  if (o.network_timeout.count() <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "network_timeout: > 0");
  }
  if (o.max_in_flight == 0 || o.max_pending == 0 || o.max_waiters == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "max_in_flight, max_pending, max_waiters: at least 1");
  }
  for (const std::string& file : o.rdap_bootstrap_files) {
    KLAXON_TRY(bootstrap_.load_file(file));
  }
  if (!o.rdap_fallback_url.empty() && !parse_https_url(o.rdap_fallback_url)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "rdap_fallback_url \"" + o.rdap_fallback_url + "\": expected https://host/");
  }
  if (!o.whois_server.empty()) {
    whois_server_ = parse_whois_server(o.whois_server);
    if (!whois_server_) {
      return make_error(ErrorCode::kInvalidArgument,
                        "whois_server \"" + o.whois_server + "\": expected host[:port]");
    }
  }
  tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
  tls_->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (o.tls_ca_file.empty()) {
    tls_->set_default_verify_paths(ec);
  } else {
    tls_->load_verify_file(o.tls_ca_file, ec);
  }
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tls_ca_file \"" + o.tls_ca_file + "\": " + ec.message());
  }
  auto resolver =
      DnsResolver::create(io_, DnsResolverOptions{o.dns_servers, o.dns_timeout, o.dns_tries});
  if (!resolver) return resolver.error();
  resolver_ = std::move(*resolver);
  return ok_status();
}

void Enricher::Impl::stop() {
  stopping_.store(true);
  asio::post(io_, [this] { shutdown_io(); });
  work_.reset();
  thread_.join();
}

void Enricher::Impl::shutdown_io() {
  io_stopping_ = true;
  // Completing a flight can complete others (an RDAP flight waiting for its server's name).
  while (!flights_.empty()) {
    Flight& f = *flights_.begin()->second;
    if (f.cancel) f.cancel();
    complete(f.id, new_answer(f, LookupStatus::kDropped, AnswerSource::kNone, "shutdown"));
  }
  resolver_->shutdown();
}

// ---------------------------------------------------------------------------------------------
// Requests

bool Enricher::Impl::request(LookupKind kind, std::string_view value, LookupCallback cb) {
  const int64_t now = monotonic_ns();
  if (stopping_.load(std::memory_order_relaxed)) {
    drop(kind, value, cb, now, DropReason::kShutdown);
    return false;
  }
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    drop(kind, value, cb, now, DropReason::kQueueFull);
    return false;
  }
  asio::post(io_, [this, kind, v = std::string(value), cb = std::move(cb), now]() mutable {
    const size_t left = pending_.fetch_sub(1, std::memory_order_relaxed) - 1;
    metrics_.queue_depth->Set(static_cast<double>(left));
    lookup_on_io(kind, v, std::move(cb), now, now + ns_of(options_.deadline));
  });
  return true;
}

void Enricher::Impl::drop(LookupKind kind, std::string_view value, LookupCallback& cb,
                          int64_t requested_ns, DropReason reason) {
  metrics_.dropped[static_cast<size_t>(reason)]->Increment();
  auto a = std::make_shared<Answer>();
  a->kind = kind;
  a->value = capped(value);
  a->status = LookupStatus::kDropped;
  a->detail = drop_reason_name(reason);
  deliver_now(kind, cb, requested_ns, std::move(a));
}

void Enricher::Impl::deliver_now(LookupKind kind, LookupCallback& cb, int64_t requested_ns,
                                 std::shared_ptr<Answer> a) {
  Waiter w{std::move(cb), requested_ns, kNever};
  deliver(kind, w, a, false, false);
}

std::optional<std::string> Enricher::Impl::refusal(LookupKind kind, const Normalized& n) const {
  if (kind == LookupKind::kA || kind == LookupKind::kAaaa) return std::nullopt;
  if (n.is_ip) {
    const AddressScope scope = address_scope(n.ip);
    if (scope == AddressScope::kGlobal) return std::nullopt;
    if (kind == LookupKind::kPtr && options_.ptr_private) return std::nullopt;
    return std::string("private address: ") + address_scope_name(scope);
  }
  if (kind == LookupKind::kPtr) return std::nullopt;
  if (is_private_domain(n.value)) return std::string("private domain");
  for (const std::string& suffix : options_.private_domains) {
    const std::string_view s = suffix;
    if (n.value == s || (n.value.size() > s.size() && n.value.ends_with(s) &&
                         n.value[n.value.size() - s.size() - 1] == '.')) {
      return std::string("private domain");
    }
  }
  return std::nullopt;
}

void Enricher::Impl::lookup_on_io(LookupKind kind, std::string_view value, LookupCallback cb,
                                  int64_t requested_ns, int64_t deadline_ns) {
  if (io_stopping_) return drop(kind, value, cb, requested_ns, DropReason::kShutdown);
  Normalized n = normalize(kind, value);
  auto immediate = [&](LookupStatus status, std::string detail) {
    auto a = std::make_shared<Answer>();
    a->kind = kind;
    a->value = n.error.empty() ? n.value : capped(value);
    a->status = status;
    a->detail = std::move(detail);
    deliver_now(kind, cb, requested_ns, std::move(a));
  };
  if (!n.error.empty()) return immediate(LookupStatus::kError, n.error);
  if (auto why = refusal(kind, n)) return immediate(LookupStatus::kRefusedPrivate, *why);

  std::string key = cache_key(kind, n.value);
  bool expired = false;
  if (auto hit = cache_.get(key, monotonic_ns(), &expired)) {
    metrics_.cache_hits[EnrichMetrics::idx(kind)]->Increment();
    Waiter w{std::move(cb), requested_ns, deadline_ns};
    return deliver(kind, w, hit, true, false);
  }
  if (expired) metrics_.cache_expired->Increment();
  metrics_.cache_misses[EnrichMetrics::idx(kind)]->Increment();
  join_or_start(kind, std::move(n), std::move(key),
                Waiter{std::move(cb), requested_ns, deadline_ns});
}

void Enricher::Impl::join_or_start(LookupKind kind, Normalized n, std::string key, Waiter w) {
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    Flight& f = *flights_.at(it->second);
    if (f.waiters.size() >= options_.max_waiters) {
      return drop(kind, n.value, w.cb, w.requested_ns, DropReason::kWaiters);
    }
    metrics_.coalesced[EnrichMetrics::idx(kind)]->Increment();
    f.waiters.push_back(std::move(w));
    if (f.waiters.back().deadline_ns < f.armed_ns) arm_deadline(f);
    return;
  }
  if (flights_.size() >= options_.max_in_flight) {
    return drop(kind, n.value, w.cb, w.requested_ns, DropReason::kInFlight);
  }
  auto owned = std::make_unique<Flight>(io_);
  Flight& f = *owned;
  f.id = next_id_++;
  f.kind = kind;
  f.key = std::move(key);
  f.n = std::move(n);
  f.started_ns = monotonic_ns();
  f.waiters.push_back(std::move(w));
  by_key_.emplace(f.key, f.id);
  flights_.emplace(f.id, std::move(owned));
  metrics_.in_flight->Set(static_cast<double>(flights_.size()));

  const uint64_t id = f.id;
  f.cap_timer.expires_after(options_.network_timeout);
  f.cap_timer.async_wait([this, id](const boost::system::error_code& ec) {
    if (ec) return;
    Flight* fl = find(id);
    if (fl == nullptr) return;
    // A WHOIS exchange still open at the cap is a server that did not close in time, whichever
    // of this timer and the exchange's own (armed with what was left of the cap) fires first.
    if (fl->cancel && fl->kind == LookupKind::kWhois) count(Hostile::kWhoisNoClose);
    if (fl->cancel) fl->cancel();
    complete(id, new_answer(*fl, LookupStatus::kTimeout, AnswerSource::kNone, "network timeout"));
  });
  arm_deadline(f);
  // Starting may complete the flight at once (a refused server, no RDAP server): nothing may
  // touch f afterwards.
  switch (kind) {
    case LookupKind::kPtr:
    case LookupKind::kA:
    case LookupKind::kAaaa:
      return start_dns(f);
    case LookupKind::kRdap:
      return start_rdap(f);
    case LookupKind::kWhois:
      return start_whois(f);
  }
}

void Enricher::Impl::deliver(LookupKind kind, Waiter& w, const std::shared_ptr<const Answer>& a,
                             bool cached, bool late) {
  LookupResult r;
  r.answer = a;
  r.latency_ns = monotonic_ns() - w.requested_ns;
  r.from_cache = cached;
  r.late = late;
  const size_t k = EnrichMetrics::idx(kind);
  if (late) {
    metrics_.late[k]->Increment();
  } else {
    metrics_.lookup(kind, a->status).Increment();
    metrics_.lookup_seconds[k]->Observe(static_cast<double>(r.latency_ns) * 1e-9);
  }
  w.answered = true;
  w.cb(r);
}

void Enricher::Impl::arm_deadline(Flight& f) {
  int64_t next = kNever;
  for (const Waiter& w : f.waiters) {
    if (!w.answered) next = std::min(next, w.deadline_ns);
  }
  f.armed_ns = next;
  if (next == kNever) {
    f.deadline_timer.cancel();
    return;
  }
  f.deadline_timer.expires_at(time_point_of(next));
  f.deadline_timer.async_wait([this, id = f.id](const boost::system::error_code& ec) {
    if (!ec) on_deadline(id);
  });
}

void Enricher::Impl::on_deadline(uint64_t id) {
  Flight* f = find(id);
  if (f == nullptr) return;
  const int64_t now = monotonic_ns();
  std::shared_ptr<const Answer> timeout;
  // Index loop: a callback may request more (posted, never re-entrant), but not touch f.
  for (size_t i = 0; i < f->waiters.size(); ++i) {
    Waiter& w = f->waiters[i];
    if (w.answered || w.deadline_ns > now) continue;
    if (!timeout) timeout = new_answer(*f, LookupStatus::kTimeout, AnswerSource::kNone, "deadline");
    deliver(f->kind, w, timeout, false, false);
  }
  arm_deadline(*f);
}

std::shared_ptr<Answer> Enricher::Impl::new_answer(const Flight& f, LookupStatus status,
                                                   AnswerSource source, std::string detail) const {
  auto a = std::make_shared<Answer>();
  a->kind = f.kind;
  a->value = f.n.value;
  a->status = status;
  a->source = source;
  a->detail = std::move(detail);
  return a;
}

std::chrono::milliseconds Enricher::Impl::remaining(const Flight& f) const {
  const int64_t left = ns_of(options_.network_timeout) - (monotonic_ns() - f.started_ns);
  return std::chrono::milliseconds(std::max<int64_t>(1, left / 1000000));
}

void Enricher::Impl::complete(uint64_t id, std::shared_ptr<Answer> a) {
  auto it = flights_.find(id);
  if (it == flights_.end()) return;
  std::unique_ptr<Flight> f = std::move(it->second);
  flights_.erase(it);
  by_key_.erase(f->key);
  metrics_.in_flight->Set(static_cast<double>(flights_.size()));
  f->deadline_timer.cancel();
  f->cap_timer.cancel();
  f->cancel = nullptr;
  const int64_t now = monotonic_ns();
  const size_t k = EnrichMetrics::idx(f->kind);
  if (a->status != LookupStatus::kDropped) {
    metrics_.query_seconds[k]->Observe(static_cast<double>(now - f->started_ns) * 1e-9);
  }
  // TTLs: DNS answers come with theirs; the rest follow the policy.
  switch (a->status) {
    case LookupStatus::kOk:
      if (a->source != AnswerSource::kDns) {
        a->ttl_seconds = std::min(seconds_of(options_.registry_ttl), seconds_of(options_.max_ttl));
      }
      break;
    case LookupStatus::kNotFound:
      if (a->source != AnswerSource::kDns) a->ttl_seconds = negative_ttl_of(std::nullopt);
      break;
    case LookupStatus::kTimeout:
    case LookupStatus::kError:
      a->ttl_seconds = seconds_of(options_.failure_ttl);
      break;
    case LookupStatus::kRefusedPrivate:
    case LookupStatus::kDropped:
      a->ttl_seconds = 0;
      break;
  }
  std::shared_ptr<const Answer> answer = std::move(a);
  if (answer->ttl_seconds > 0 && !io_stopping_) {
    if (cache_.put(f->key, answer, now + int64_t{answer->ttl_seconds} * 1000000000, now)) {
      metrics_.cache_evicted->Increment();
    }
    metrics_.cache_entries->Set(static_cast<double>(cache_.size()));
  }
  const bool final_answer =
      answer->status == LookupStatus::kOk || answer->status == LookupStatus::kNotFound;
  for (Waiter& w : f->waiters) {
    if (!w.answered) {
      if (answer->status == LookupStatus::kDropped) {
        metrics_.dropped[static_cast<size_t>(DropReason::kShutdown)]->Increment();
      }
      deliver(f->kind, w, answer, false, false);
    } else if (final_answer && w.deadline_ns != kNever) {
      deliver(f->kind, w, answer, false, true);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DNS

void Enricher::Impl::start_dns(Flight& f) {
  std::string name;
  int type = kDnsTypePtr;
  switch (f.kind) {
    case LookupKind::kPtr:
      name = reverse_name(f.n.ip);
      break;
    case LookupKind::kA:
      name = f.n.value;
      type = kDnsTypeA;
      break;
    default:
      name = f.n.value;
      type = kDnsTypeAaaa;
      break;
  }
  metrics_.queries[EnrichMetrics::idx(f.kind)]->Increment();
  resolver_->query(name, type, [this, id = f.id](int status, const uint8_t* abuf, int alen) {
    on_dns(id, status, abuf, alen);
  });
}

void Enricher::Impl::on_dns(uint64_t id, int status, const uint8_t* abuf, int alen) {
  Flight* f = find(id);
  if (f == nullptr) return;  // ended already (network timeout, shutdown)
  const size_t len = abuf ? static_cast<size_t>(alen) : 0;
  auto fail = [&](LookupStatus st, std::string detail) {
    complete(id, new_answer(*f, st, AnswerSource::kDns, std::move(detail)));
  };
  auto not_found = [&](const char* detail) {
    auto a = new_answer(*f, LookupStatus::kNotFound, AnswerSource::kDns, detail);
    a->ttl_seconds = negative_ttl_of(abuf ? negative_ttl(abuf, len) : std::nullopt);
    complete(id, std::move(a));
  };
  switch (status) {
    case ARES_SUCCESS:
      break;
    case ARES_ENOTFOUND:
      return not_found("nxdomain");
    case ARES_ENODATA:
      return not_found("nodata");
    case ARES_ETIMEOUT:
      return fail(LookupStatus::kTimeout, "dns timeout");
    case ARES_EBADRESP:
    case ARES_EFORMERR:
      count(Hostile::kDnsMalformed);
      return fail(LookupStatus::kError, "bad response");
    case ARES_ESERVFAIL:
      return fail(LookupStatus::kError, "servfail");
    case ARES_EREFUSED:
      return fail(LookupStatus::kError, "refused");
    case ARES_ECONNREFUSED:
      return fail(LookupStatus::kError, "connection refused");
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return fail(LookupStatus::kDropped, "shutdown");
    default:
      return fail(LookupStatus::kError, ares_strerror(status));
  }
  auto a = new_answer(*f, LookupStatus::kOk, AnswerSource::kDns, "");
  if (f->kind == LookupKind::kPtr) {
    auto ptr = parse_ptr_response(abuf, len, kMaxRecords);
    if (!ptr) {
      count(Hostile::kDnsMalformed);
      return fail(LookupStatus::kError, "malformed ptr answer");
    }
    count(Hostile::kPtrEscaped, ptr->escaped);
    count(Hostile::kPtrOverCap, ptr->over_cap);
    if (ptr->names.empty()) return not_found("nodata");
    a->names = std::move(ptr->names);
    a->escaped_names = ptr->escaped;
    a->ttl_seconds = positive_ttl(ptr->ttl);
    return complete(id, std::move(a));
  }
  char text[INET6_ADDRSTRLEN];
  uint32_t ttl = UINT32_MAX;
  int n = static_cast<int>(kMaxRecords);
  int st;
  if (f->kind == LookupKind::kA) {
    ares_addrttl ttls[kMaxRecords];
    st = ares_parse_a_reply(abuf, alen, nullptr, ttls, &n);
    for (int i = 0; st == ARES_SUCCESS && i < n; ++i) {
      inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text);
      a->addresses.emplace_back(text);
      ttl = std::min(ttl, static_cast<uint32_t>(std::max(0, ttls[i].ttl)));
    }
  } else {
    ares_addr6ttl ttls[kMaxRecords];
    st = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &n);
    for (int i = 0; st == ARES_SUCCESS && i < n; ++i) {
      inet_ntop(AF_INET6, &ttls[i].ip6addr, text, sizeof text);
      a->addresses.emplace_back(text);
      ttl = std::min(ttl, static_cast<uint32_t>(std::max(0, ttls[i].ttl)));
    }
  }
  if (st == ARES_ENODATA || (st == ARES_SUCCESS && a->addresses.empty())) {
    return not_found("nodata");
  }
  if (st != ARES_SUCCESS) {
    count(Hostile::kDnsMalformed);
    return fail(LookupStatus::kError, "malformed address answer");
  }
  a->ttl_seconds = positive_ttl(ttl);
  complete(id, std::move(a));
}

// ---------------------------------------------------------------------------------------------
// Names and addresses of RDAP and WHOIS servers

void Enricher::Impl::resolve_server(const std::string& host, uint16_t port, bool trusted,
                                    EndpointsCallback cb) {
  if (auto ip = parse_ip(host)) {
    if (!trusted && !options_.allow_private_referrals && !is_global(*ip)) {
      count(Hostile::kReferralRefused);
      return cb({}, "refused: private server " + host);
    }
    asio::ip::address addr =
        ip->v6 ? asio::ip::address(asio::ip::address_v6(ip->bytes))
               : asio::ip::address(asio::ip::address_v4(asio::ip::address_v4::bytes_type{
                     ip->bytes[0], ip->bytes[1], ip->bytes[2], ip->bytes[3]}));
    return cb({asio::ip::tcp::endpoint(addr, port)}, "");
  }
  // A name: resolved through this Enricher (cache, single flight), A first, then AAAA.
  resolve_family(host, port, trusted, LookupKind::kA,
                 [this, host, port, trusted, cb](Endpoints eps, std::string error) {
                   if (!eps.empty()) return cb(std::move(eps), "");
                   resolve_family(host, port, trusted, LookupKind::kAaaa,
                                  [cb, error](Endpoints eps6, std::string error6) {
                                    if (!eps6.empty()) return cb(std::move(eps6), "");
                                    cb({}, error.empty() ? error6 : error);
                                  });
                 });
}

void Enricher::Impl::resolve_family(const std::string& host, uint16_t port, bool trusted,
                                    LookupKind kind, EndpointsCallback cb) {
  lookup_on_io(
      kind, host,
      [this, host, port, trusted, cb = std::move(cb)](const LookupResult& r) {
        if (r.late) return;
        if (!r.ok()) {
          return cb({}, "resolve " + host + ": " + lookup_status_name(r.status()) +
                            (r.answer->detail.empty() ? "" : " " + r.answer->detail));
        }
        Endpoints eps;
        bool refused = false;
        for (const std::string& text : r.answer->addresses) {
          auto ip = parse_ip(text);
          if (!ip) continue;
          if (!trusted && !options_.allow_private_referrals && !is_global(*ip)) {
            refused = true;
            continue;
          }
          boost::system::error_code ec;
          auto addr = asio::ip::make_address(text, ec);
          if (!ec) eps.emplace_back(addr, port);
        }
        if (eps.empty() && refused) {
          count(Hostile::kReferralRefused);
          return cb({}, "refused: " + host + " resolves to a private address");
        }
        cb(std::move(eps), eps.empty() ? "resolve " + host + ": no address" : "");
      },
      monotonic_ns(), kNever);
}

// ---------------------------------------------------------------------------------------------
// RDAP

void Enricher::Impl::start_rdap(Flight& f) {
  std::string base = f.n.is_ip ? bootstrap_.find_ip(f.n.ip) : bootstrap_.find_domain(f.n.value);
  if (base.empty()) base = options_.rdap_fallback_url;
  if (base.empty()) {
    if (options_.whois_fallback && whois_server_) return start_whois(f);
    return complete(f.id, new_answer(f, LookupStatus::kError, AnswerSource::kRdap,
                                     "no rdap server for this value"));
  }
  auto url = parse_https_url(rdap_query_url(base, f.n.is_ip, f.n.value));
  if (!url) {
    return complete(f.id, new_answer(f, LookupStatus::kError, AnswerSource::kRdap, "bad rdap url"));
  }
  fetch_rdap(f.id, std::move(*url), true);
}

void Enricher::Impl::fetch_rdap(uint64_t id, HttpsUrl url, bool trusted) {
  const std::string host = url.host;
  const uint16_t port = url.port;
  resolve_server(
      host, port, trusted, [this, id, url = std::move(url)](Endpoints eps, std::string error) {
        Flight* f = find(id);
        if (f == nullptr) return;
        if (io_stopping_) {
          return complete(id,
                          new_answer(*f, LookupStatus::kDropped, AnswerSource::kNone, "shutdown"));
        }
        if (!error.empty()) {
          return complete(id, new_answer(*f, LookupStatus::kError, AnswerSource::kRdap, error));
        }
        metrics_.queries[EnrichMetrics::idx(LookupKind::kRdap)]->Increment();
        auto ex = std::make_shared<HttpsExchange>(
            io_, *tls_, url, std::move(eps), options_.rdap_max_bytes, remaining(*f),
            [this, id, url](HttpsExchange::Outcome o) { on_rdap(id, url, std::move(o)); });
        f->cancel = [weak = std::weak_ptr<HttpsExchange>(ex)] {
          if (auto e = weak.lock()) e->cancel();
        };
        ex->start();
      });
}

void Enricher::Impl::on_rdap(uint64_t id, const HttpsUrl& url, HttpsExchange::Outcome o) {
  Flight* f = find(id);
  if (f == nullptr) return;
  f->cancel = nullptr;
  const std::string where = format_url(url);
  auto answer = [&](LookupStatus st, std::string detail) {
    auto a = new_answer(*f, st, AnswerSource::kRdap, std::move(detail));
    assign_capped(a->registry.url, where);
    return a;
  };
  if (!o.error.empty()) {
    if (o.oversized) count(Hostile::kRdapOversized);
    const bool timeout = o.error == "timeout";
    return complete(
        id, answer(timeout ? LookupStatus::kTimeout : LookupStatus::kError, "rdap " + o.error));
  }
  if (o.status >= 300 && o.status < 400 && !o.location.empty()) {
    if (f->redirects >= options_.rdap_max_redirects) {
      return complete(id, answer(LookupStatus::kError, "rdap: too many redirects"));
    }
    auto next = resolve_location(url, o.location);
    if (!next) {
      count(Hostile::kReferralRefused);
      return complete(id, answer(LookupStatus::kError, "rdap: redirect is not https"));
    }
    ++f->redirects;
    // Another server than the configured one is not trusted with private address space.
    const bool same_server = next->host == url.host && next->port == url.port;
    return fetch_rdap(id, std::move(*next), same_server && f->redirects <= 1);
  }
  if (o.status == 404) return complete(id, answer(LookupStatus::kNotFound, "rdap 404"));
  if (o.status != 200) {
    return complete(id, answer(LookupStatus::kError, "rdap http " + std::to_string(o.status)));
  }
  const simdjson::padded_string body(o.body);
  auto parsed = parse_rdap(json_, body);
  if (!parsed) {
    count(Hostile::kRdapMalformed);
    return complete(id, answer(LookupStatus::kError, parsed.error().message));
  }
  count(Hostile::kFieldTruncated, parsed->truncated_fields);
  auto a = answer(LookupStatus::kOk, "");
  a->registry = std::move(parsed->summary);
  assign_capped(a->registry.url, where);
  complete(id, std::move(a));
}

// ---------------------------------------------------------------------------------------------
// WHOIS

void Enricher::Impl::start_whois(Flight& f) {
  if (!whois_server_) {
    return complete(f.id,
                    new_answer(f, LookupStatus::kError, AnswerSource::kWhois, "no whois server"));
  }
  query_whois(f.id, *whois_server_, 0, true);
}

void Enricher::Impl::query_whois(uint64_t id, WhoisServer server, int hop, bool trusted) {
  const uint16_t port = server.port ? server.port : options_.whois_port;
  const std::string where = format_server(server.host, port);
  resolve_server(
      server.host, port, trusted, [this, id, hop, where](Endpoints eps, std::string error) {
        Flight* f = find(id);
        if (f == nullptr) return;
        if (io_stopping_) {
          return complete(id,
                          new_answer(*f, LookupStatus::kDropped, AnswerSource::kNone, "shutdown"));
        }
        if (!error.empty()) {
          return on_whois(id, where, hop, WhoisExchange::Outcome{std::move(error), false, {}});
        }
        metrics_.queries[EnrichMetrics::idx(LookupKind::kWhois)]->Increment();
        // The value is a canonical address or an LDH name: nothing to inject.
        auto ex = std::make_shared<WhoisExchange>(io_, std::move(eps), f->n.value + "\r\n",
                                                  options_.whois_max_bytes, remaining(*f),
                                                  [this, id, hop, where](WhoisExchange::Outcome o) {
                                                    on_whois(id, where, hop, std::move(o));
                                                  });
        f->cancel = [weak = std::weak_ptr<WhoisExchange>(ex)] {
          if (auto e = weak.lock()) e->cancel();
        };
        ex->start();
      });
}

void Enricher::Impl::on_whois(uint64_t id, const std::string& server, int hop,
                              WhoisExchange::Outcome o) {
  Flight* f = find(id);
  if (f == nullptr) return;
  f->cancel = nullptr;
  std::shared_ptr<Answer> a;
  std::optional<WhoisParse> parsed;
  if (o.error == "timeout") {
    count(Hostile::kWhoisNoClose);
    a = new_answer(*f, LookupStatus::kTimeout, AnswerSource::kWhois, "whois: did not close");
  } else if (!o.error.empty()) {
    a = new_answer(*f, LookupStatus::kError, AnswerSource::kWhois, "whois " + o.error);
  } else {
    if (o.truncated) count(Hostile::kWhoisOversized);
    parsed = parse_whois(o.text);
    count(Hostile::kFieldTruncated, parsed->truncated_fields);
    parsed->summary.truncated = o.truncated;
  }
  if (hop == 0) {
    if (!parsed) {
      assign_capped(a->registry.url, server);
      return complete(id, std::move(a));
    }
    if (options_.whois_follow_referral && parsed->refer) {
      const uint16_t port = parsed->refer->port ? parsed->refer->port : options_.whois_port;
      if (format_server(parsed->refer->host, port) != server) {
        WhoisServer next = *parsed->refer;
        f->first_whois = std::move(parsed);
        f->first_server = server;
        return query_whois(id, std::move(next), 1, false);
      }
    }
  }
  // The answer: the referred server's when it gave one, else the first server's.
  std::string used = server;
  std::string referral;
  if (hop == 1) referral = f->first_whois->summary.referral;
  if (hop == 1 && (!parsed || parsed->not_found)) {
    std::string why = parsed ? "referral: no data" : "referral: " + a->detail;
    parsed = std::move(f->first_whois);
    used = f->first_server;
    a = new_answer(*f, LookupStatus::kOk, AnswerSource::kWhois, std::move(why));
  } else {
    a = new_answer(*f, LookupStatus::kOk, AnswerSource::kWhois, "");
  }
  RegistrySummary& s = a->registry;
  s = std::move(parsed->summary);
  if (hop == 1) s.referral = std::move(referral);
  assign_capped(s.url, used);
  const bool any = !s.handle.empty() || !s.name.empty() || !s.registrant.empty() ||
                   !s.start_address.empty() || !s.cidr.empty() || !s.abuse_email.empty();
  if (!any) {
    a->status = LookupStatus::kNotFound;
    if (a->detail.empty()) a->detail = "whois: no data";
  }
  complete(id, std::move(a));
}

// ---------------------------------------------------------------------------------------------
// Reads

std::optional<LookupResult> Enricher::Impl::lookup_cached(LookupKind kind,
                                                          std::string_view value) const {
  Normalized n = normalize(kind, value);
  if (!n.error.empty() || refusal(kind, n)) return std::nullopt;
  auto hit = cache_.get(cache_key(kind, n.value), monotonic_ns());
  if (!hit) return std::nullopt;
  LookupResult r;
  r.answer = std::move(hit);
  r.from_cache = true;
  return r;
}

EnrichStats Enricher::Impl::stats() const {
  EnrichStats s;
  auto v = [](const prometheus::Counter* c) { return static_cast<uint64_t>(c->Value()); };
  for (int k = 0; k < kLookupKindCount; ++k) {
    const auto i = static_cast<size_t>(k);
    for (int st = 0; st < kLookupStatusCount; ++st) {
      const uint64_t n = v(metrics_.lookups[i][static_cast<size_t>(st)]);
      s.requests += n;
      s.by_status[static_cast<size_t>(st)] += n;
    }
    s.cache_hits += v(metrics_.cache_hits[i]);
    s.cache_misses += v(metrics_.cache_misses[i]);
    s.coalesced += v(metrics_.coalesced[i]);
    s.queries_by_kind[i] = v(metrics_.queries[i]);
    s.queries += s.queries_by_kind[i];
    s.late += v(metrics_.late[i]);
  }
  for (auto* c : metrics_.dropped) s.dropped += v(c);
  for (auto* c : metrics_.hostile) s.hostile += v(c);
  s.cache_entries = cache_.size();
  s.in_flight = static_cast<size_t>(metrics_.in_flight->Value());
  return s;
}

// ---------------------------------------------------------------------------------------------
// Enricher

Enricher::Enricher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Enricher::~Enricher() = default;

Result<std::unique_ptr<Enricher>> Enricher::create(const EnrichOptions& options,
                                                   prometheus::Registry& registry) {
  auto impl = std::make_unique<Impl>(options, registry);
  KLAXON_TRY(impl->init());
  impl->start();
  return std::unique_ptr<Enricher>(new Enricher(std::move(impl)));
}

bool Enricher::request(LookupKind kind, std::string_view value, LookupCallback callback) {
  return impl_->request(kind, value, std::move(callback));
}

std::optional<LookupResult> Enricher::lookup_cached(LookupKind kind, std::string_view value) const {
  return impl_->lookup_cached(kind, value);
}

EnrichStats Enricher::stats() const { return impl_->stats(); }
const EnrichOptions& Enricher::options() const { return impl_->options_; }

std::vector<std::pair<LookupKind, std::string>> plan_lookups(const Observable& observable) {
  std::vector<std::pair<LookupKind, std::string>> out;
  switch (observable.kind) {
    case ObservableKind::kSourceIp:
    case ObservableKind::kDestinationIp:
    case ObservableKind::kHost:
      if (parse_ip(observable.value)) {
        out.emplace_back(LookupKind::kPtr, observable.value);
        out.emplace_back(LookupKind::kRdap, observable.value);
      } else if (observable.kind == ObservableKind::kHost && normalize_hostname(observable.value)) {
        out.emplace_back(LookupKind::kA, observable.value);
        out.emplace_back(LookupKind::kAaaa, observable.value);
      }
      break;
    case ObservableKind::kUser:
    case ObservableKind::kRule:
      break;
  }
  return out;
}

}  // namespace klaxon::enrich
