#include "bench/tools/alert_corpus.h"

#include "pipeline/core/batch.h"
#include "pipeline/stages/parse.h"

#include <random>

namespace klaxon::bench {

namespace {
const char* kSignatures[] = {"ET SCAN Potential SSH Scan",
                             "ET POLICY Outgoing Basic Auth Base64 HTTP Password detected",
                             "ET MALWARE Possible Zbot Activity Common Download Pattern",
                             "GPL ATTACK_RESPONSE id check returned root",
                             "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
                             "ET DNS Query to a *.top domain - Likely Hostile"};
const char* kCategories[] = {"Attempted Information Leak", "Potential Corporate Privacy Violation",
                             "A Network Trojan was detected", "Potentially Bad Traffic",
                             "Web Application Attack"};
const char* kWazuh[] = {
    "sshd: authentication failed.", "sshd: brute force trying to get access to the system.",
    "Integrity checksum changed.",  "PAM: Multiple failed logins in a small period of time.",
    "Web server 400 error code.",   "Multiple web server 400 error codes from same source ip."};
}  // namespace

std::vector<std::string> make_alerts(const CorpusOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto pick = [&](uint64_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<std::string> out;
  out.reserve(o.count);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (size_t i = 0; i < o.count; ++i) {
    if (!out.empty() && u(rng) < o.duplicate_ratio) {
      out.push_back(out[pick(out.size())]);
      continue;
    }
    const int host = static_cast<int>(pick(500));
    const std::string src = "10." + std::to_string(pick(256)) + "." + std::to_string(pick(256)) +
                            "." + std::to_string(1 + pick(254));
    const std::string dst = "192.0.2." + std::to_string(1 + pick(254));
    const std::string ts = "2026-11-23T08:" + std::to_string(10 + pick(50)) + ":" +
                           std::to_string(10 + pick(50)) + "." +
                           std::to_string(100000 + pick(900000));
    std::string m;
    if (i % 3 != 2) {
      const size_t sig = pick(std::size(kSignatures));
      m = "<165>1 " + ts + "Z ids-" + std::to_string(host) + ".example.org suricata " +
          std::to_string(1000 + pick(30000)) + " ALERT - {\"timestamp\":\"" + ts +
          "+0000\",\"flow_id\":" + std::to_string(rng() % 2251799813685247ULL) +
          ",\"in_iface\":\"eth0\",\"event_type\":\"alert\",\"src_ip\":\"" + src +
          "\",\"src_port\":" + std::to_string(1024 + pick(60000)) + ",\"dest_ip\":\"" + dst +
          "\",\"dest_port\":" + std::to_string(pick(2) ? 22 : 443) +
          ",\"proto\":\"TCP\",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":" +
          std::to_string(2000000 + sig * 1117) + ",\"rev\":" + std::to_string(1 + pick(20)) +
          ",\"signature\":\"" + kSignatures[sig] + "\",\"category\":\"" +
          kCategories[pick(std::size(kCategories))] +
          "\",\"severity\":" + std::to_string(1 + pick(3)) + "},\"app_proto\":\"" +
          (pick(2) ? "ssh" : "tls") +
          "\",\"flow\":{\"pkts_toserver\":" + std::to_string(pick(100)) +
          ",\"pkts_toclient\":" + std::to_string(pick(100)) +
          ",\"bytes_toserver\":" + std::to_string(pick(100000)) +
          ",\"bytes_toclient\":" + std::to_string(pick(100000)) + "}}";
    } else {
      const size_t rule = pick(std::size(kWazuh));
      m = "<132>1 " + ts + "Z wazuh-mgr wazuh - ALERT - {\"timestamp\":\"" + ts +
          "-0000\",\"rule\":{\"level\":" + std::to_string(3 + pick(10)) + ",\"description\":\"" +
          kWazuh[rule] + "\",\"id\":\"" + std::to_string(5700 + rule * 13) +
          "\",\"firedtimes\":" + std::to_string(1 + pick(50)) +
          ",\"mail\":false,\"groups\":[\"syslog\",\"sshd\",\"authentication_failed\"]},\"agent\":{"
          "\"id\":\"" +
          std::to_string(100 + host) + "\",\"name\":\"web-" + std::to_string(host) +
          "\",\"ip\":\"" + src +
          "\"},\"manager\":{\"name\":\"wazuh-mgr\"},\"full_log\":\"Failed password for root from " +
          dst + " port " + std::to_string(1024 + pick(60000)) +
          " ssh2\",\"decoder\":{\"name\":\"sshd\"},\"data\":{\"srcip\":\"" + dst +
          "\",\"dstuser\":\"root\"},"
          "\"location\":\"/var/log/auth.log\"}";
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string octet_counted_stream(const std::vector<std::string>& messages) {
  std::string s;
  for (const auto& m : messages) {
    s += std::to_string(m.size() + 1);
    s += ' ';
    s += m;
    s += '\n';  // counted inside the frame, as syslog-ng does
  }
  return s;
}

const ParsedAlerts& parsed_alerts(int64_t received_ns) {
  static const ParsedAlerts parsed = [received_ns] {
    ParsedAlerts p;
    MessageParser parser{ParseOptions{}};
    IngestMeta meta;
    meta.received_ns = received_ns;
    std::string frame;
    for (const std::string& m : make_alerts({})) {
      frame = m;
      frame.append(kParsePadding, '\0');
      Alert a;
      if (!parser.parse(std::string_view(frame.data(), m.size()), meta, received_ns, a).ok())
        continue;
      for (std::string_view* v : alert_string_fields(a)) {
        if (v->data() != nullptr) *v = p.strings.emplace_back(*v);
      }
      a.raw = {};
      a.ingest = IngestMeta{};
      p.alerts.push_back(a);
    }
    return p;
  }();
  return parsed;
}

}  // namespace klaxon::bench
