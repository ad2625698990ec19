// Enrichment: the cache hit path, and a million reverse lookups over 10,000 distinct addresses
// against a real DNS server (Debian's dnsmasq, started here on a free loopback port with a
// hosts file of 10,000 PTR records in 198.18.0.0/15, the benchmarking range).
//
//   BM_LookupCachedHit      lookup_cached() on a warm key: the synchronous hit path
//   BM_RequestCachedHit     request() of a warm key through the I/O thread to its callback
//   BM_MillionOverTenThousand
//                           1,000,000 requests, keys drawn uniformly (fixed seed) from 10,000
//                           addresses, cold cache, at most `window` requests outstanding (the
//                           caller's own bound: 256 = max_in_flight, or 4096); counters: hit
//                           rate, DNS queries sent, requests that joined a query in flight,
//                           drops
#include "enrich/enricher.h"

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace klaxon::enrich {
namespace {

constexpr int kDistinct = 10000;

std::string address(int i) {
  return "198.18." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
}

uint16_t free_udp_port() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// dnsmasq for the whole run: started on first use, stopped at exit.
class DnsmasqPeer {
 public:
  static DnsmasqPeer& get() {
    static DnsmasqPeer peer;
    return peer;
  }
  bool ok() const { return pid_ > 0; }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
  ~DnsmasqPeer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

 private:
  DnsmasqPeer() {
    char tmpl[] = "/tmp/klaxon-enrich-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    {
      std::ofstream hosts(dir_ + "/hosts");
      for (int i = 0; i < kDistinct; ++i) hosts << address(i) << " h" << i << ".bench.test\n";
    }
    port_ = free_udp_port();
    const std::vector<std::string> args = {"dnsmasq",
                                           "--no-daemon",
                                           "--no-resolv",
                                           "--no-hosts",
                                           "--conf-file=/dev/null",
                                           "--port=" + std::to_string(port_),
                                           "--listen-address=127.0.0.1",
                                           "--bind-interfaces",
                                           "--log-facility=" + dir_ + "/dnsmasq.log",
                                           "--addn-hosts=" + dir_ + "/hosts",
                                           "--local-ttl=3600",
                                           "--local=/in-addr.arpa/",
                                           "--cache-size=0"};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawnp(&pid, "dnsmasq", nullptr, nullptr, argv.data(), environ) != 0) return;
    pid_ = pid;
    // Ready when it answers: a probe through the library itself.
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream log(dir_ + "/dnsmasq.log");
      std::string text((std::istreambuf_iterator<char>(log)), {});
      if (text.find("read " + dir_ + "/hosts") != std::string::npos) return;
    }
  }
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

EnrichOptions bench_options() {
  EnrichOptions o;
  o.dns_servers = DnsmasqPeer::get().servers();
  o.dns_timeout = std::chrono::milliseconds(1000);
  o.dns_tries = 3;
  o.deadline = std::chrono::seconds(10);
  o.max_in_flight = 256;
  o.max_pending = 1 << 20;
  o.whois_server.clear();
  return o;
}

// Waits for n callbacks.
class Latch {
 public:
  void add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  void wait(uint64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t count_ = 0;
};

std::unique_ptr<Enricher> warm_enricher(prometheus::Registry& registry, int keys) {
  auto e = Enricher::create(bench_options(), registry);
  if (!e.has_value()) return nullptr;
  Latch latch;
  std::counting_semaphore<> window(256);
  for (int i = 0; i < keys; ++i) {
    window.acquire();
    (*e)->request(LookupKind::kPtr, address(i), [&](const LookupResult&) {
      window.release();
      latch.add();
    });
  }
  latch.wait(static_cast<uint64_t>(keys));
  return std::move(*e);
}

void BM_LookupCachedHit(benchmark::State& state) {
  if (!DnsmasqPeer::get().ok()) return state.SkipWithError("dnsmasq could not be started");
  prometheus::Registry registry;
  auto e = warm_enricher(registry, 1000);
  if (!e) return state.SkipWithError("enricher");
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(address(i));
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    auto r = e->lookup_cached(LookupKind::kPtr, keys[i++ % keys.size()]);
    hits += r.has_value();
    benchmark::DoNotOptimize(r);
  }
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupCachedHit);

void BM_RequestCachedHit(benchmark::State& state) {
  if (!DnsmasqPeer::get().ok()) return state.SkipWithError("dnsmasq could not be started");
  prometheus::Registry registry;
  auto e = warm_enricher(registry, 1000);
  if (!e) return state.SkipWithError("enricher");
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(address(i));
  constexpr int kBatch = 10000;
  for (auto _ : state) {
    Latch latch;
    for (int i = 0; i < kBatch; ++i) {
      e->request(LookupKind::kPtr, keys[static_cast<size_t>(i) % keys.size()],
                 [&](const LookupResult&) { latch.add(); });
    }
    latch.wait(kBatch);
  }
  const EnrichStats s = e->stats();
  state.counters["cache_hits"] = static_cast<double>(s.cache_hits);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_RequestCachedHit)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MillionOverTenThousand(benchmark::State& state) {
  if (!DnsmasqPeer::get().ok()) return state.SkipWithError("dnsmasq could not be started");
  const int total = 1000000;
  const auto window_size = static_cast<ptrdiff_t>(state.range(0));
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> pick(0, kDistinct - 1);
  std::vector<std::string> keys;
  keys.reserve(total);
  for (int i = 0; i < total; ++i) keys.push_back(address(pick(rng)));
  EnrichStats s;
  for (auto _ : state) {
    prometheus::Registry registry;
    auto created = Enricher::create(bench_options(), registry);
    if (!created.has_value()) return state.SkipWithError("enricher");
    auto& e = **created;
    Latch latch;
    std::counting_semaphore<> window(window_size);
    for (const std::string& k : keys) {
      window.acquire();
      e.request(LookupKind::kPtr, k, [&](const LookupResult&) {
        window.release();
        latch.add();
      });
    }
    latch.wait(total);
    s = e.stats();
  }
  state.counters["requests"] = static_cast<double>(s.requests);
  state.counters["hit_rate"] = static_cast<double>(s.cache_hits) / static_cast<double>(s.requests);
  state.counters["queries"] = static_cast<double>(s.queries);
  state.counters["coalesced"] = static_cast<double>(s.coalesced);
  state.counters["dropped"] = static_cast<double>(s.dropped);
  state.counters["ok"] = static_cast<double>(s.by_status[0]);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * total);
}
// 256 outstanding: never more than max_in_flight distinct queries, nothing dropped. 4096: the
// caller outruns the in-flight bound while the cache is cold, and the excess is dropped.
BENCHMARK(BM_MillionOverTenThousand)
    ->Arg(256)
    ->Arg(4096)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace klaxon::enrich

BENCHMARK_MAIN();
