// JsonMapper per JSON dialect: documents of 300-700 bytes per alert, generated from each
// tool's documented format with varying values (fixed seed), laid out in one buffer as a
// RawBatch holds frames. Each benchmark maps them round-robin, fully normalized (every value
// validated, every mapped field filled), and reports
//   items_per_second  alerts per second on one core
//   s_per_alert       the inverse (shown in ns)
//   allocs_per_alert  heap allocations per alert inside the timed loop, counted by the
//                     replacement operator new below (the loop runs after one warm-up pass,
//                     which grows the simdjson parser and the scratch to the largest document)
//   bytes_per_alert   average document bytes per alert
// Arg 0: the dialect is given (a listener's explicit format); arg 1: recognised by its keys.
#include "pipeline/core/batch.h"
#include "pipeline/stages/json_map.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// Counting replacements of the global allocation functions (this binary only). GCC cannot
// see that these deletes pair with the news above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t align = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace klaxon {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t n(uint64_t m) { return rng_() % m; }
  std::string num(uint64_t lo, uint64_t hi) { return std::to_string(lo + n(hi - lo + 1)); }
  std::string ip(const char* prefix) {
    return std::string(prefix) + num(0, 255) + "." + num(1, 254);
  }
  std::string hex(size_t len) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < len; ++i) s += d[n(16)];
    return s;
  }
  // "2026-11-23T08:mm:ss" + fraction of `digits`
  std::string time(int digits) {
    std::string t = "2026-11-23T" + pad(n(24)) + ":" + pad(n(60)) + ":" + pad(n(60));
    if (digits) t += "." + frac(digits);
    return t;
  }
  template <size_t N>
  const char* pick(const char* const (&a)[N]) {
    return a[n(N)];
  }

 private:
  static std::string pad(uint64_t v) {
    std::string s = std::to_string(v);
    if (v < 10) s.insert(s.begin(), '0');
    return s;
  }
  std::string frac(int digits) {
    std::string s;
    for (int i = 0; i < digits; ++i) s += static_cast<char>('0' + n(10));
    return s;
  }
  std::mt19937_64 rng_;
};

const char* const kSignatures[] = {"ET SCAN Potential SSH Scan",
                                   "ET POLICY Outgoing Basic Auth Base64 HTTP Password detected",
                                   "ET MALWARE Possible Zbot Activity Common Download Pattern",
                                   "GPL ATTACK_RESPONSE id check returned root",
                                   "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT"};
const char* const kCategories[] = {"Attempted Information Leak", "A Network Trojan was detected",
                                   "Potentially Bad Traffic", "Web Application Attack"};
const char* const kWazuhRules[] = {
    "sshd: authentication failed.", "sshd: brute force trying to get access to the system.",
    "PAM: Multiple failed logins in a small period of time.", "Integrity checksum changed."};
const char* const kFalcoRules[] = {"Terminal shell in container", "Read sensitive file untrusted",
                                   "Contact K8S API Server From Container",
                                   "Launch Privileged Container"};
const char* const kFalcoPriorities[] = {"Notice", "Warning", "Error", "Critical"};
const char* const kNotes[] = {"SSH::Password_Guessing", "Scan::Port_Scan",
                              "HTTP::SQL_Injection_Attacker", "SSL::Invalid_Server_Cert",
                              "Heartbleed::SSL_Heartbeat_Attack"};
const char* const kAlertNames[] = {"SSHBruteForce", "InstanceDown", "DiskWillFillIn4Hours",
                                   "HighErrorRate"};
const char* const kAmSeverities[] = {"critical", "warning", "info", "page"};

std::string suricata(Gen& g) {
  const bool http = g.n(3) == 0;
  std::string s =
      R"({"timestamp":")" + g.time(6) + R"(+0000","flow_id":)" +
      g.num(1'000'000'000'000, 2'251'799'813'685'247) +
      R"(,"in_iface":"eth0","event_type":"alert","src_ip":")" + g.ip("10.1.") + R"(","src_port":)" +
      g.num(1024, 65535) + R"(,"dest_ip":")" + g.ip("192.0.") + R"(","dest_port":)" +
      (http ? "80" : "22") + R"(,"proto":"TCP","community_id":"1:)" + g.hex(27) +
      R"(=","alert":{"action":"allowed","gid":1,"signature_id":)" + g.num(2000000, 2030000) +
      R"(,"rev":)" + g.num(1, 20) + R"(,"signature":")" + g.pick(kSignatures) +
      R"(","category":")" + g.pick(kCategories) + R"(","severity":)" + g.num(1, 3) + "}";
  if (http) {
    s += R"(,"http":{"hostname":"host)" + g.num(1, 999) + R"(.example.net","url":"/index.php?id=)" +
         g.num(1, 99999) + R"(","http_method":"GET","status":200},"app_proto":"http")";
  } else {
    s += R"(,"app_proto":"ssh","flow":{"pkts_toserver":)" + g.num(1, 99) + R"(,"pkts_toclient":)" +
         g.num(1, 99) + R"(,"bytes_toserver":)" + g.num(100, 99999) + R"(,"bytes_toclient":)" +
         g.num(100, 99999) + R"(,"start":")" + g.time(6) + R"(+0000"})";
  }
  return s + "}";
}

std::string wazuh(Gen& g) {
  const std::string host = "web-" + g.num(1, 500);
  const std::string src = g.ip("192.0.");
  return R"({"timestamp":")" + g.time(3) + R"(+0000","rule":{"level":)" + g.num(3, 12) +
         R"(,"description":")" + g.pick(kWazuhRules) + R"(","id":")" + g.num(5700, 5800) +
         R"(","mitre":{"id":["T1110"],"tactic":["Credential Access"]},"firedtimes":)" +
         g.num(1, 50) +
         R"(,"mail":false,"groups":["syslog","sshd","authentication_failed"]},"agent":{"id":")" +
         g.num(100, 999) + R"(","name":")" + host + R"(","ip":")" + g.ip("10.0.") +
         R"("},"manager":{"name":"wazuh-mgr"},"id":"1779271262.)" + g.num(1, 999999) +
         R"(","full_log":"Failed password for root from )" + src + " port " + g.num(1024, 65535) +
         R"( ssh2","predecoder":{"program_name":"sshd","hostname":")" + host +
         R"("},"decoder":{"parent":"sshd","name":"sshd"},"data":{"srcip":")" + src +
         R"(","dstuser":"root"},"location":"/var/log/auth.log"})";
}

std::string falco(Gen& g) {
  const std::string container = g.hex(12);
  return R"({"hostname":"node-)" + g.num(1, 99) + R"(","output":")" + g.time(0).substr(11) +
         R"(.123456789: Notice A shell was spawned in a container (user=root container=)" +
         container + R"J( shell=bash)","output_fields":{"container.id":")J" + container +
         R"(","container.image.repository":"docker.io/library/nginx","evt.time":17792712621)" +
         g.num(10000000, 99999999) + R"(,"k8s.ns.name":"prod","k8s.pod.name":"api-)" + g.hex(5) +
         R"(","proc.cmdline":"bash -il","proc.name":"bash","proc.pname":"runc",)" +
         R"("user.loginuid":-1,"user.name":"root"},"priority":")" + g.pick(kFalcoPriorities) +
         R"(","rule":")" + g.pick(kFalcoRules) +
         R"(","source":"syscall","tags":["container","shell","mitre_execution"],"time":")" +
         g.time(9) + R"(Z"})";
}

std::string zeek(Gen& g) {
  const std::string src = g.ip("10.0."), dst = g.ip("192.168.");
  return R"({"ts":17792712)" + g.num(10, 99) + "." + g.num(100000, 999999) + R"(,"uid":"C)" +
         g.hex(17) + R"(","id.orig_h":")" + src + R"(","id.orig_p":)" + g.num(1024, 65535) +
         R"(,"id.resp_h":")" + dst + R"(","id.resp_p":22,"proto":"tcp","note":")" + g.pick(kNotes) +
         R"(","msg":")" + src +
         R"( appears to be guessing SSH passwords (seen in 30 connections).","sub":"Sampled servers:  )" +
         dst + R"(","src":")" + src + R"(","dst":")" + dst +
         R"(","p":22,"peer_descr":"worker-1","actions":["Notice::ACTION_LOG"],"suppress_for":3600.0})";
}

std::string am_alert(Gen& g) {
  const std::string host = "web-" + g.num(1, 99);
  return R"({"status":"firing","labels":{"alertname":")" + std::string(g.pick(kAlertNames)) +
         R"(","instance":")" + host + R"(:9100","job":"node","severity":")" +
         g.pick(kAmSeverities) +
         R"("},"annotations":{"runbook_url":"https://runbooks.example.org/ssh","summary":"Many failed SSH logins on )" +
         host + R"("},"startsAt":")" + g.time(3) +
         R"(Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example.org/graph?g0.expr=up","fingerprint":")" +
         g.hex(16) + R"("})";
}

std::string alertmanager(Gen& g, int alerts) {
  std::string s = R"({"receiver":"klaxon","status":"firing","alerts":[)";
  for (int i = 0; i < alerts; ++i) {
    if (i) s += ',';
    s += am_alert(g);
  }
  return s + R"(],"groupLabels":{"alertname":"SSHBruteForce"},"commonLabels":{"job":"node"},)"
             R"("commonAnnotations":{},"externalURL":"http://am.example.org:9093","version":"4",)"
             R"("groupKey":"{}:{alertname=\"SSHBruteForce\"}","truncatedAlerts":0})";
}

std::string beats(Gen& g) {
  const std::string host = "web-" + g.num(1, 500);
  return R"({"@timestamp":")" + g.time(3) +
         R"(Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},"message":"Failed password for root from )" +
         g.ip("192.0.") +
         R"( port 2222 ssh2","log":{"level":"warning","file":{"path":"/var/log/auth.log"},"offset":)" +
         g.num(1, 999999) +
         R"(},"event":{"kind":"alert","category":["authentication"],"action":"ssh_login","module":"system","dataset":"system.auth"},"host":{"name":")" +
         host + R"("},"source":{"ip":")" + g.ip("192.0.") + R"(","port":)" + g.num(1024, 65535) +
         R"(},"user":{"name":"root"},"process":{"name":"sshd","pid":)" + g.num(100, 99999) +
         R"(},"agent":{"type":"filebeat","version":"8.15.0","name":")" + host +
         R"("},"ecs":{"version":"8.0.0"},"tags":["beats_input"]})";
}

std::string generic(Gen& g) {
  return R"({"@timestamp":")" + g.time(3) + R"(Z","severity":")" + g.pick(kAmSeverities) +
         R"(","rule":{"id":"R)" + g.num(1, 999) + R"(","name":")" + g.pick(kSignatures) +
         R"("},"host":{"name":"db-)" + g.num(1, 99) + R"("},"source":{"ip":")" + g.ip("10.0.") +
         R"(","port":)" + g.num(1, 65535) + R"(},"user":"alice","message":"disk at )" +
         g.num(90, 100) + R"(% on /var","detection":{"title":"Disk almost full","risk":)" +
         g.num(1, 100) + R"(},"tenant":{"id":"acme"}})";
}

// The documents of one benchmark, as a RawBatch lays out frames.
struct Docs {
  std::string buffer;
  std::vector<std::pair<size_t, size_t>> frames;
  size_t bytes = 0;
  int alerts_per_doc = 1;
  std::string_view doc(size_t i) const {
    const auto& f = frames[i % frames.size()];
    return std::string_view(buffer.data() + f.first, f.second);
  }
};

enum Dialect : int {
  kSuricata,
  kWazuh,
  kFalco,
  kZeek,
  kAm1,
  kAm3,
  kBeats,
  kGeneric,
  kGenericPaths
};

const Docs& docs(int d) {
  static std::vector<Docs> all = [] {
    std::vector<Docs> v(kGenericPaths + 1);
    for (int k = 0; k <= kGenericPaths; ++k) {
      Gen g(42 + static_cast<uint64_t>(k));
      Docs& out = v[k];
      out.alerts_per_doc = k == kAm3 ? 3 : 1;
      for (int i = 0; i < 2000; ++i) {
        std::string s;
        switch (k) {
          case kSuricata:
            s = suricata(g);
            break;
          case kWazuh:
            s = wazuh(g);
            break;
          case kFalco:
            s = falco(g);
            break;
          case kZeek:
            s = zeek(g);
            break;
          case kAm1:
            s = alertmanager(g, 1);
            break;
          case kAm3:
            s = alertmanager(g, 3);
            break;
          case kBeats:
            s = beats(g);
            break;
          default:
            s = generic(g);
            break;
        }
        out.frames.emplace_back(out.buffer.size(), s.size());
        out.buffer += s;
        out.bytes += s.size();
      }
      out.buffer.append(kParsePadding, '\0');
    }
    return v;
  }();
  return all[d];
}

InputFormat format_of(int d) {
  switch (d) {
    case kSuricata:
      return InputFormat::kSuricata;
    case kWazuh:
      return InputFormat::kWazuh;
    case kFalco:
      return InputFormat::kFalco;
    case kZeek:
      return InputFormat::kZeek;
    case kAm1:
    case kAm3:
      return InputFormat::kAlertmanager;
    case kBeats:
      return InputFormat::kBeats;
    default:
      return InputFormat::kGeneric;
  }
}

void BM_JsonDialect(benchmark::State& state, int dialect) {
  const Docs& d = docs(dialect);
  JsonMapper m;
  if (dialect == kGenericPaths) {
    auto o = std::make_shared<JsonMapOptions>();
    o->paths = {{"rule.name", "detection.title"},
                {"severity", "detection.risk"},
                {"labels.tenant", "tenant.id"}};
    o->numeric_severity = NumericSeverity::kRiskScore;
    if (!m.set_options(o)) state.SkipWithError("options");
  }
  const InputFormat format = state.range(0) ? InputFormat::kJson : format_of(dialect);
  size_t emitted = 0;
  auto count = [&](Alert& a) {
    benchmark::DoNotOptimize(a.rule_name.data());
    ++emitted;
  };
  // Warm-up: every document once (the parser and scratch grow to the largest), checked.
  for (size_t i = 0; i < d.frames.size(); ++i) {
    Alert a;
    if (!m.map(d.doc(i), format, a, count).ok()) {
      state.SkipWithError("a generated document was rejected");
      return;
    }
  }
  emitted = 0;
  const uint64_t allocs_before = g_allocations.load();
  size_t i = 0;
  Alert a;
  for (auto _ : state) {
    a = Alert{};
    benchmark::DoNotOptimize(m.map(d.doc(i++), format, a, count));
  }
  const uint64_t allocs = g_allocations.load() - allocs_before;
  const double alerts = static_cast<double>(emitted);
  state.SetItemsProcessed(static_cast<int64_t>(emitted));
  state.counters["s_per_alert"] =
      benchmark::Counter(alerts, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_alert"] = alerts > 0 ? static_cast<double>(allocs) / alerts : 0;
  state.counters["bytes_per_alert"] =
      static_cast<double>(d.bytes) / static_cast<double>(d.frames.size() * d.alerts_per_doc);
}

BENCHMARK_CAPTURE(BM_JsonDialect, suricata, kSuricata)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, wazuh, kWazuh)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, falco, kFalco)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, zeek, kZeek)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, alertmanager_1, kAm1)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, alertmanager_3, kAm3)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, beats, kBeats)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, generic, kGeneric)->Arg(0)->Arg(1);
BENCHMARK_CAPTURE(BM_JsonDialect, generic_paths, kGenericPaths)->Arg(0)->Arg(1);

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
