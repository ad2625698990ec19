// CEF and LEEF parsing cost per alert (pipeline/stages/cef.h): the tokenizer alone, the full
// mapping into an Alert (map_cef / map_leef, what a worker pays for the body), and the whole
// MessageParser path with a syslog envelope (syslog header + body + SHA-256 of the frame).
//
// Traffic: 2,048 alerts per format from fixed templates modelled on real senders (Check Point,
// Trend Micro Deep Security, Zscaler, Symantec, a Snort-style IDS, CyberArk PTA in CEF;
// Exchange-style LEEF 1.0, StealthWatch '^', PAN-OS x09 and a '|' (0x7c) LEEF 2.0), 300-700 bytes,
// values drawn from a fixed seed; laid out as a RawBatch holds frames (padding after the last one).
//
// Allocation: this binary replaces the global operator new and counts calls. Each benchmark
// reports `allocs_per_alert` (calls during the timed loop / alerts); the per-worker Scratch
// grows once before the loop, so the hot path shows 0. (The replacements are noinline so the
// compiler cannot pair an inlined malloc with a free it did not see allocated.)
#include "pipeline/core/batch.h"
#include "pipeline/stages/cef.h"
#include "pipeline/stages/parse.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t align = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) {
  return operator new(n, a);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace klaxon {
namespace {

constexpr int64_t kNow = 1'779'271'262'000'000'000LL;  // 2026-05-20T10:01:02Z

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int n(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string num(int lo, int hi) { return std::to_string(n(lo, hi)); }
  std::string ip() {
    return num(10, 223) + "." + num(0, 255) + "." + num(0, 255) + "." + num(1, 254);
  }
  std::string hex(size_t len) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < len; ++i) s += kHex[n(0, 15)];
    return s;
  }
  std::string pick(std::initializer_list<const char*> xs) {
    const int i = n(0, static_cast<int>(xs.size()) - 1);
    return *(xs.begin() + i);
  }
  std::string user() { return pick({"alice", "bob", "carol", "dave", "svc_backup", "mallory"}); }
  std::string host() { return pick({"ws-0142", "srv-db01", "lap-jdoe", "dc01", "web-07"}); }
  std::string domain() {
    return pick({"www.example.org", "cdn.example.net", "login.example.com", "evil.example"});
  }
  std::string ms() { return std::to_string(1'779'000'000'000LL + n(0, 200'000'000)); }

 private:
  std::mt19937_64 rng_;
};

std::string cef_line(Gen& g, int kind) {
  switch (kind) {
    case 0:  // Check Point firewall log (as in Tenzir's samples)
      return "CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Accept "
             "deviceDirection=0 rt=" +
             g.ms() + " spt=" + g.num(1024, 65535) + " dpt=443 cs2Label=Rule Name cs2=Allow " +
             g.pick({"web", "dns", "mail"}) + " layer_name=Network layer_uuid=" + g.hex(8) + "-" +
             g.hex(4) + "-4848-9741-" + g.hex(12) + " match_id=" + g.num(1, 40) +
             " parent_rule=0 rule_action=Accept ifname=eth0 logid=0 origin=" + g.ip() +
             " originsicname=CN\\=R80,O\\=R80_M..6u6bdo sequencenum=" + g.num(1, 9999) +
             " version=5 dst=" + g.ip() +
             " inzone=Internal outzone=External product=VPN-1 & FireWall-1 proto=6 "
             "service_id=https src=" +
             g.ip();
    case 1:  // Trend Micro Deep Security intrusion prevention
      return "CEF:0|Trend Micro|Deep Security Agent|20.0.1|1008610|Web Server Apache - Remote "
             "Code Execution|" +
             g.num(6, 10) + "|cn1=" + g.num(1, 900) + " cn1Label=Host ID dvchost=" + g.host() +
             " TrendMicroDsTenant=Primary TrendMicroDsTenantId=0 act=Reset dmac=00:50:56:" +
             g.hex(2) + ":" + g.hex(2) + ":" + g.hex(2) + " smac=00:0c:29:" + g.hex(2) + ":" +
             g.hex(2) + ":" + g.hex(2) + " TrendMicroDsFrameType=IP src=" + g.ip() +
             " dst=" + g.ip() + " out=" + g.num(200, 1500) +
             " cs3=DF cs3Label=Fragmentation Bits proto=TCP spt=" + g.num(1024, 65535) +
             " dpt=80 cs2=0x00 ACK PSH cs2Label=TCP Flags cnt=1 cs1=CVE-2021-41773 "
             "cs1Label=Intrusion Prevention Note rt=May 20 2026 09:" +
             g.num(10, 59) + ":" + g.num(10, 59) + ".123 UTC";
    case 2:  // Zscaler web gateway
      return "CEF:0|Zscaler|NSSWeblog|6.1|" + g.pick({"Allowed", "Blocked"}) +
             "|Web request|3|act=Allowed app=HTTPS dhost=" + g.domain() + " dst=" + g.ip() +
             " src=" + g.ip() + " sourceTranslatedAddress=" + g.ip() + " in=" + g.num(200, 90000) +
             " out=" + g.num(200, 9000) + " request=https://" + g.domain() + "/api/v" +
             g.num(1, 3) + "/items?id\\=" + g.num(1, 99999) +
             " requestMethod=GET cat=Professional Services requestClientApplication=Mozilla/5.0 "
             "(Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0.0.0 Safari/537.36 destinationServiceName=General Browsing suser=" +
             g.user() + "@example.com spriv=Road Warrior urlclass=Business Use " +
             "contenttype=application/json refererURL=https://" + g.domain() + "/portal/home " +
             "fileType=None rulelabel=Default_Allow ruletype=URL Filtering rt=" + g.ms();
    case 3:  // Symantec Endpoint Protection detection
      return "CEF:0|Symantec|Endpoint Protection|14.3|" + g.num(50000, 59999) +
             "|Virus found|9|rt=May " + g.num(10, 19) + " 2026 10:01:02 dvchost=" + g.host() +
             " duser=" + g.user() + " fname=inv" + g.num(100, 999) +
             ".exe filePath=C:\\\\Users\\\\" + g.user() + "\\\\Downloads\\\\inv" + g.num(1, 9) +
             ".exe fileHash=" + g.hex(64) +
             " act=Quarantined cs1Label=Risk Name cs1=Trojan.Gen.2 cs2Label=Scan Type "
             "cs2=Auto-Protect cn1Label=Risk Level cn1=4 src=" +
             g.ip() + " shost=" + g.host() +
             ".corp.example msg=Virus found: Trojan.Gen.2, action: quarantine succeeded";
    case 4:  // Snort / Suricata style IDS: a short one
      return "CEF:0|Snort|Snort IDS|2.9.20|1:2001219:20|ET SCAN Potential SSH Scan|6|src=" +
             g.ip() + " spt=" + g.num(1024, 65535) + " dst=" + g.ip() +
             " dpt=22 proto=TCP cat=Attempted Information Leak act=alert cs1Label=Classification "
             "cs1=attempted-recon dvchost=ids01 deviceExternalId=sensor-3 msg=ET SCAN Potential "
             "SSH Scan (outbound) rt=" +
             g.ms();
    default:  // CyberArk PTA
      return "CEF:0|CyberArk|PTA|12.6|1|Suspected credentials theft|8|suser=" + g.user() +
             "@prod1.domain.com shost=prod1.domain.com src=" + g.ip() + " duser=" + g.user() +
             "@dev1.domain.com dhost=dev1.domain.com dst=" + g.ip() +
             " cs1Label=ExtraData cs1=None cs2Label=EventID cs2=" + g.hex(24) +
             " deviceCustomDate1Label=detectionDate deviceCustomDate1=" + g.ms() +
             " cs3Label=PTAlink cs3=https://10.1.1.1/incidents/" + g.hex(24) +
             " cs4Label=ExternalLink cs4=None msg=Suspected credentials theft of a privileged "
             "account";
  }
}

std::string leef_line(Gen& g, int kind) {
  switch (kind) {
    case 0:  // LEEF 1.0, TAB
      return "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=" + g.ip() + "\tdst=" + g.ip() +
             "\tsev=" + g.num(1, 10) + "\tcat=anomaly\tsrcPort=" + g.num(1024, 65535) +
             "\tdstPort=25\tusrName=" + g.user() + "\tidentHostName=" + g.host() +
             "\tproto=TCP\tdevTime=May 20 2026 10:" + g.num(10, 59) + ":" + g.num(10, 59) +
             "\tdevTimeFormat=MMM dd yyyy HH:mm:ss\tmsg=Message rejected by policy " +
             g.num(1, 99) + "\tpolicy=Block external relay\trecipient=" + g.user() +
             "@example.org\tsender=spam" + g.num(1, 999) + "@bad.example\tsubject=Invoice " +
             g.num(1000, 9999) + " overdue\tsize=" + g.num(1000, 99999);
    case 1:  // LEEF 2.0, '^'
      return "LEEF:2.0|Lancope|StealthWatch|7.3|41|^|src=" + g.ip() + "^dst=" + g.ip() +
             "^sev=" + g.num(1, 10) + "^cat=Suspect Data Hoarding^srcPort=" + g.num(1024, 65535) +
             "^dstPort=443^proto=tcp^srcBytes=" + g.num(100, 999999) +
             "^dstBytes=" + g.num(100, 999999) + "^devTime=" + g.ms() +
             "^policy=Inside Hosts^url=https://" + g.domain() + "/upload^usrName=" + g.user() +
             "^identHostName=" + g.host() + "^flowId=" + g.hex(16) +
             "^alarmDescription=Host has downloaded an unusual amount of data";
    case 2:  // LEEF 2.0, x09 (PAN-OS threat log)
      return "LEEF:2.0|Palo Alto Networks|PAN-OS Syslog Integration|10.1|THREAT|x09|"
             "cat=vulnerability\tSerialNumber=0123456789" +
             g.num(10, 99) + "\tSubtype=vulnerability\tsrc=" + g.ip() + "\tdst=" + g.ip() +
             "\tsrcPostNAT=" + g.ip() +
             "\tdstPostNAT=0.0.0.0\tRuleName=allow-web\tusrName=" + g.user() +
             "\tApplication=web-browsing\tVirtualSystem=vsys1\tSourceZone=trust\t"
             "DestinationZone=untrust\tsrcPort=" +
             g.num(1024, 65535) + "\tdstPort=80\tproto=tcp\taction=reset-both\tmiscellaneous=\"" +
             g.domain() + "/x.php\"\tThreatID=" + g.num(30000, 39999) + "\tsev=" + g.num(1, 10) +
             "\tURLCategory=malware\tDirectionOfAttack=client-to-server\tSequenceNumber=" +
             g.num(100000, 999999) + "\tActionFlags=0x8000000000000000\tSourceLocation=" +
             "10.0.0.0/8\tDestinationLocation=US\tContentType=" + "text/html\t" +
             "devTime=May 20 2026 10:01:02 GMT\tdevTimeFormat=MMM dd yyyy HH:mm:ss z";
    default:  // LEEF 2.0, '|' written as 0x7c
      return "LEEF:2.0|Imperva|SecureSphere|13.6|" + g.num(1000, 9999) +
             "|0x7c|cat=Alert|sev=" + g.num(1, 10) + "|src=" + g.ip() +
             "|srcPort=" + g.num(1024, 65535) + "|dst=" + g.ip() +
             "|dstPort=443|usrName=" + g.user() + "|proto=TCP|url=https://" + g.domain() +
             "/login.php?user=" + g.user() +
             "|action=block|policy=Web SQL Injection|devTime=" + g.ms() +
             "|msg=SQL injection attempt detected in parameter user";
  }
}

// Frames laid out as a RawBatch holds them (padding after the last).
struct Corpus {
  std::string buffer;
  std::vector<FrameRef> frames;
  size_t bytes = 0, min = SIZE_MAX, max = 0;

  void add(const std::string& m) {
    frames.push_back(
        FrameRef{static_cast<uint32_t>(buffer.size()), static_cast<uint32_t>(m.size())});
    buffer += m;
    bytes += m.size();
    min = std::min(min, m.size());
    max = std::max(max, m.size());
  }
  void seal() { buffer.append(kParsePadding, '\0'); }
  std::string_view frame(size_t i) const {
    const FrameRef& f = frames[i % frames.size()];
    return std::string_view(buffer.data() + f.offset, f.length);
  }
};

enum class Kind { kCef, kLeef };
enum class Envelope { kNone, kSyslog };

const Corpus& corpus(Kind kind, Envelope env) {
  static Corpus c[2][2];
  Corpus& out = c[static_cast<int>(kind)][static_cast<int>(env)];
  if (!out.frames.empty()) return out;
  Gen g(kind == Kind::kCef ? 4 : 5);
  for (int i = 0; i < 2048; ++i) {
    const std::string body = kind == Kind::kCef ? cef_line(g, i % 6) : leef_line(g, i % 4);
    if (env == Envelope::kNone) {
      out.add(body);
    } else if (i % 2 == 0) {
      out.add("<134>1 2026-05-20T10:01:02.123Z fw01.example.org sensor - - - " + body);
    } else {
      out.add("<134>May 20 10:01:02 fw01 " + body);
    }
  }
  out.seal();
  return out;
}

void report(benchmark::State& state, const Corpus& c, uint64_t allocations, size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["allocs_per_alert"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.counters["avg_bytes"] = static_cast<double>(c.bytes) / c.frames.size();
  state.counters["min_bytes"] = static_cast<double>(c.min);
  state.counters["max_bytes"] = static_cast<double>(c.max);
}

// The tokenizer alone: header fields and every pair handed to a callback.
void BM_TokenizeCef(benchmark::State& state) {
  const Corpus& c = corpus(Kind::kCef, Envelope::kNone);
  Scratch scratch;
  scratch.reset(c.max + 256);
  size_t i = 0, bytes = 0, pairs = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    bytes += f.size();
    scratch.reset(f.size() + 256);
    CefHeader h;
    benchmark::DoNotOptimize(
        parse_cef_record(f, scratch, h, [&](std::string_view, std::string_view) { ++pairs; }));
  }
  report(state, c, g_allocations.load() - before, bytes);
  state.counters["pairs_per_alert"] =
      benchmark::Counter(static_cast<double>(pairs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TokenizeCef);

void BM_TokenizeLeef(benchmark::State& state) {
  const Corpus& c = corpus(Kind::kLeef, Envelope::kNone);
  Scratch scratch;
  scratch.reset(c.max + 256);
  size_t i = 0, bytes = 0, pairs = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    bytes += f.size();
    scratch.reset(f.size() + 256);
    LeefHeader h;
    benchmark::DoNotOptimize(
        parse_leef_record(f, scratch, h, [&](std::string_view, std::string_view) { ++pairs; }));
  }
  report(state, c, g_allocations.load() - before, bytes);
  state.counters["pairs_per_alert"] =
      benchmark::Counter(static_cast<double>(pairs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TokenizeLeef);

// The body as a worker maps it: tokenizer + ECS fields + labels + severity + time.
template <Kind kKind>
void BM_Map(benchmark::State& state) {
  const Corpus& c = corpus(kKind, Envelope::kNone);
  Scratch scratch;
  scratch.reset(c.max + 256);
  KvFormatOptions o;
  o.now_ns = kNow;
  Alert a;
  size_t i = 0, bytes = 0, failed = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    bytes += f.size();
    scratch.reset(f.size() + 256);
    a = Alert{};
    const ParseStatus s =
        kKind == Kind::kCef ? map_cef(f, o, scratch, a) : map_leef(f, o, scratch, a);
    failed += !s.ok();
    benchmark::DoNotOptimize(a);
  }
  report(state, c, g_allocations.load() - before, bytes);
  if (failed) state.SkipWithError("a corpus line was rejected");
}
BENCHMARK(BM_Map<Kind::kCef>)->Name("BM_MapCef");
BENCHMARK(BM_Map<Kind::kLeef>)->Name("BM_MapLeef");

// A whole message as MessageParser takes it: RFC 5424 / RFC 3164 envelope (half each), body
// detection, the mapping, and the SHA-256 of the frame.
template <Kind kKind>
void BM_Message(benchmark::State& state) {
  const Corpus& c = corpus(kKind, Envelope::kSyslog);
  MessageParser parser{ParseOptions{}};
  IngestMeta meta;
  meta.peer = "127.0.0.1:5000";
  meta.listener = "syslog_tcp";
  meta.received_ns = kNow;
  Alert a;
  // Warm up: the parser's scratch grows to the largest frame once.
  for (size_t k = 0; k < c.frames.size(); ++k) (void)parser.parse(c.frame(k), meta, kNow, a);
  size_t i = 0, bytes = 0, failed = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    const std::string_view f = c.frame(i++);
    bytes += f.size();
    failed += !parser.parse(f, meta, kNow, a).ok();
    benchmark::DoNotOptimize(a);
  }
  report(state, c, g_allocations.load() - before, bytes);
  if (failed) state.SkipWithError("a corpus line was rejected");
}
BENCHMARK(BM_Message<Kind::kCef>)->Name("BM_MessageCefSyslog");
BENCHMARK(BM_Message<Kind::kLeef>)->Name("BM_MessageLeefSyslog");

}  // namespace
}  // namespace klaxon

BENCHMARK_MAIN();
