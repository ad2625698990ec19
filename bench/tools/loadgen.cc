// klaxon-loadgen: pushes realistic alerts at klaxond over TCP as fast as it takes them and
// reports end-to-end alerts/s from the first byte sent to the last alert durable (read from
// klaxond's klaxon_storage_persisted_alerts_total), plus klaxond's CPU and peak RSS.
//
//   klaxon-loadgen --port 5514 --metrics-port 9780 --count 2000000 --connections 2
//                  [--distinct 100000] [--dup-ratio 0.1] [--pid PID] [--framing octet|lf] [--tls 1]
// With --tls 1 every connection is TLS (the server certificate is not verified: this measures
// throughput, not trust).
#include "bench/tools/alert_corpus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

int connect_to(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

void send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) {
      std::perror("send");
      std::exit(1);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

double persisted(uint16_t port) {
  const int fd = connect_to(port);
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send_all(fd, req.data(), req.size());
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const std::string key = "\nklaxon_storage_persisted_alerts_total ";
  const size_t p = resp.find(key);
  return p == std::string::npos ? -1 : std::strtod(resp.c_str() + p + key.size(), nullptr);
}

// utime + stime of a process, in seconds.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream ss(stat.substr(close_paren + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && ss >> field; ++i) {
    if (i == 14) ut = std::stod(field);
    if (i == 15) st = std::stod(field);
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long peak_rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 5514, metrics_port = 9780;
  size_t count = 1'000'000, connections = 1, distinct = 100'000;
  double dup = 0.0;
  int pid = 0;
  bool lf = false;
  bool tls = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      port = static_cast<uint16_t>(std::stoi(v));
    else if (k == "--metrics-port")
      metrics_port = static_cast<uint16_t>(std::stoi(v));
    else if (k == "--count")
      count = std::stoull(v);
    else if (k == "--connections")
      connections = std::stoull(v);
    else if (k == "--distinct")
      distinct = std::stoull(v);
    else if (k == "--dup-ratio")
      dup = std::stod(v);
    else if (k == "--pid")
      pid = std::stoi(v);
    else if (k == "--framing")
      lf = (v == "lf");
    else if (k == "--tls")
      tls = (v == "1");
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  klaxon::bench::CorpusOptions co;
  co.count = distinct;
  co.duplicate_ratio = dup;
  const auto msgs = klaxon::bench::make_alerts(co);
  std::string stream;
  std::vector<size_t> ends;  // end offset of each message in stream
  size_t msg_bytes = 0;
  for (const auto& m : msgs) {
    if (lf) {
      stream += m + "\n";
    } else {
      stream += std::to_string(m.size() + 1) + " " + m + "\n";
    }
    ends.push_back(stream.size());
    msg_bytes += m.size();
  }
  std::printf("corpus: %zu messages (%.0f bytes average, duplicate ratio %.2f), %s framing\n",
              msgs.size(), static_cast<double>(msg_bytes) / static_cast<double>(msgs.size()), dup,
              lf ? "LF" : "octet-counted");

  const double base = persisted(metrics_port);
  if (base < 0) {
    std::fprintf(stderr, "cannot read klaxon_storage_persisted_alerts_total from port %u\n",
                 metrics_port);
    return 1;
  }
  std::vector<int> fds;
  std::vector<SSL*> ssls(connections, nullptr);
  SSL_CTX* ctx = tls ? SSL_CTX_new(TLS_client_method()) : nullptr;
  for (size_t c = 0; c < connections; ++c) {
    fds.push_back(connect_to(port));
    if (tls) {
      ssls[c] = SSL_new(ctx);
      SSL_set_fd(ssls[c], fds[c]);
      if (SSL_connect(ssls[c]) != 1) {
        std::fprintf(stderr, "TLS handshake failed\n");
        return 1;
      }
    }
  }
  auto write_all = [&](size_t c, const char* p, size_t n) {
    if (!tls) return send_all(fds[c], p, n);
    while (n > 0) {
      const int chunk = static_cast<int>(std::min<size_t>(n, 1 << 20));
      const int w = SSL_write(ssls[c], p, chunk);
      if (w <= 0) {
        std::fprintf(stderr, "SSL_write failed\n");
        std::exit(1);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  };
  const double cpu0 = pid ? cpu_seconds(pid) : 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (size_t c = 0; c < connections; ++c) {
    const size_t mine = count / connections + (c < count % connections ? 1 : 0);
    senders.emplace_back([&, c, mine] {
      size_t left = mine;
      while (left >= msgs.size()) {
        write_all(c, stream.data(), stream.size());
        left -= msgs.size();
      }
      if (left > 0) write_all(c, stream.data(), ends[left - 1]);
      if (!tls) shutdown(fds[c], SHUT_WR);
    });
  }
  for (auto& t : senders) t.join();
  const auto t_sent = std::chrono::steady_clock::now();
  const double target = base + static_cast<double>(count);
  double now = 0;
  while ((now = persisted(metrics_port)) < target)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto t1 = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const double sent_secs = std::chrono::duration<double>(t_sent - t0).count();
  std::printf("%s: ", tls ? "TLS" : "TCP");
  std::printf("sent %zu alerts over %zu connection(s) in %.3f s; all durable after %.3f s\n", count,
              connections, sent_secs, secs);
  std::printf(
      "end-to-end: %.0f alerts/s, %.1f MB/s of messages\n", static_cast<double>(count) / secs,
      static_cast<double>(count) * (static_cast<double>(msg_bytes) / msgs.size()) / secs / 1e6);
  if (pid) {
    const double cpu = cpu_seconds(pid) - cpu0;
    std::printf("klaxond: %.2f CPU seconds (%.2f cores busy), peak RSS %.1f MiB\n", cpu, cpu / secs,
                static_cast<double>(peak_rss_kib(pid)) / 1024.0);
  }
  for (auto* ssl : ssls) {
    if (ssl) SSL_free(ssl);
  }
  if (ctx) SSL_CTX_free(ctx);
  for (int fd : fds) close(fd);
  return now >= target ? 0 : 1;
}
