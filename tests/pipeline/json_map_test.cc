// JsonMapper: one realistic document per dialect (written from each tool's documented
// output format), every mapped field checked; detection; the Alertmanager multi-alert
// contract; the generic options; hostile documents.
#include "pipeline/stages/json_map.h"

#include "pipeline/core/batch.h"
#include "pipeline/stages/parse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

// JsonMapper needs kParsePadding readable bytes after the document.
struct Padded {
  explicit Padded(std::string s) : text(std::move(s)), len(text.size()) {
    text.append(kParsePadding, ' ');
  }
  std::string_view view() const { return std::string_view(text.data(), len); }
  std::string text;
  size_t len;
};

std::string_view label_of(const Alert& a, std::string_view key) {
  for (size_t i = 0; i < a.label_count; ++i) {
    if (a.labels[i].key == key) return a.labels[i].value;
  }
  return "<none>";
}

// Maps with `format` and collects copies of what was emitted (views stay valid until the
// mapper's next call).
struct Mapped {
  ParseStatus status;
  std::vector<Alert> alerts;
};
Mapped map_all(JsonMapper& m, const Padded& doc, InputFormat format, const Alert& base = {}) {
  Mapped r;
  Alert a = base;
  r.status = m.map(doc.view(), format, a, [&](Alert& x) { r.alerts.push_back(x); });
  return r;
}

// ---- Suricata EVE

TEST(JsonMapper, SuricataEveAlert) {
  Padded doc(
      R"({"timestamp":"2026-05-20T10:01:02.123456+0000","flow_id":1122334455667788,"in_iface":"eth0",
 "event_type":"alert","src_ip":"192.0.2.7","src_port":51515,"dest_ip":"198.51.100.20","dest_port":22,
 "proto":"TCP","community_id":"1:abc=","host":"ids-01",
 "alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,
          "signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2,
          "metadata":{"signature_severity":["Minor"]}},
 "app_proto":"ssh","flow":{"pkts_toserver":4,"start":"2026-05-20T10:01:01.998001+0000"}})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kSuricata);
  EXPECT_TRUE(a.body_is_json);
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_module, "suricata");
  EXPECT_EQ(a.event_dataset, "suricata.eve");
  EXPECT_EQ(a.event_category, "intrusion_detection");
  EXPECT_EQ(a.observer_product, "Suricata");
  EXPECT_EQ(a.observer_vendor, "OISF");
  EXPECT_EQ(a.rule_id, "2001219");
  EXPECT_EQ(a.rule_name, "ET SCAN Potential SSH Scan");
  EXPECT_EQ(a.rule_category, "Attempted Information Leak");
  EXPECT_EQ(a.event_action, "allowed");
  EXPECT_EQ(a.source_ip, "192.0.2.7");
  EXPECT_EQ(a.source_port, 51515);
  EXPECT_EQ(a.destination_ip, "198.51.100.20");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.network_transport, "TCP");
  EXPECT_EQ(a.network_protocol, "ssh");
  EXPECT_EQ(a.network_community_id, "1:abc=");
  EXPECT_EQ(a.observer_name, "ids-01");
  EXPECT_TRUE(a.host_name.empty());
  EXPECT_EQ(a.event_severity, 2);
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(label_of(a, "flow_id"), "1122334455667788");
  ASSERT_TRUE(a.has_timestamp);
  EXPECT_EQ(a.timestamp_ns, 1779271262123456000LL);
}

TEST(JsonMapper, SuricataHttpAlertWithFiles) {
  Padded doc(
      R"({"timestamp":"2026-05-20T10:01:02.5-0130","flow_id":42,"event_type":"alert",
 "src_ip":"198.51.100.20","src_port":80,"dest_ip":"10.0.0.11","dest_port":52914,"proto":"TCP",
 "alert":{"action":"blocked","gid":1,"signature_id":2019284,"rev":3,
          "signature":"ET MALWARE Possible Zbot Activity","category":"A Network Trojan was detected",
          "severity":1},
 "http":{"hostname":"bad.example.net","url":"\/gate.php?id=1","http_user_agent":"Mozilla\/5.0",
         "http_method":"GET","protocol":"HTTP\/1.1","status":200,"length":178},
 "app_proto":"http","tls":{"sni":"not-this.example.org"},
 "files":[{"filename":"\/downloads\/payload.exe","gaps":false,"state":"CLOSED",
           "md5":"8d81d793b28b098e8623d47bae23cf44",
           "sha1":"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
           "sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
           "stored":false,"size":4096,"tx_id":0},
          {"filename":"\/second","md5":"00000000000000000000000000000000"}]})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.event_action, "blocked");
  EXPECT_EQ(a.url_domain, "bad.example.net");  // http.hostname ranks above tls.sni
  EXPECT_EQ(a.url_original, "/gate.php?id=1");
  EXPECT_EQ(a.file_path, "/downloads/payload.exe");  // the first file
  EXPECT_EQ(a.file_name, "payload.exe");
  EXPECT_EQ(a.file_hash_md5, "8d81d793b28b098e8623d47bae23cf44");
  EXPECT_EQ(a.file_hash_sha1, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
  EXPECT_EQ(a.file_hash_sha256, "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
  // 10:01:02.5 at -01:30 is 11:31:02.5 UTC.
  EXPECT_EQ(a.timestamp_ns, 1779271262'500000000LL + 5400LL * 1'000'000'000);
}

TEST(JsonMapper, SuricataTlsAndDnsDomains) {
  JsonMapper m;
  {
    Padded doc(R"({"event_type":"tls","tls":{"subject":"CN=x","sni":"login.example.org"}})");
    Alert a;
    ASSERT_TRUE(m.map(doc.view(), a).ok());
    EXPECT_EQ(a.url_domain, "login.example.org");
    EXPECT_EQ(a.event_kind, "event");
    EXPECT_EQ(a.severity, Severity::kInfo);
  }
  {  // EVE dns v2 (rrname at the top of dns) and v3 (queries[])
    Padded v2(R"({"event_type":"dns","dns":{"type":"answer","rrname":"test.test.local"}})");
    Padded v3(R"({"event_type":"dns","dns":{"version":3,"queries":[{"rrname":"q.example.com"}]}})");
    Alert a;
    ASSERT_TRUE(m.map(v2.view(), a).ok());
    EXPECT_EQ(a.url_domain, "test.test.local");
    Alert b;
    ASSERT_TRUE(m.map(v3.view(), b).ok());
    EXPECT_EQ(b.url_domain, "q.example.com");
  }
}

// ---- Wazuh

TEST(JsonMapper, WazuhSshdAlert) {
  Padded doc(
      R"({"timestamp":"2024-01-01T10:00:00.123+0000",
 "rule":{"level":10,"description":"sshd: brute force trying to get access to the system. Non existent user.",
         "id":"5712","mitre":{"id":["T1110"],"tactic":["Credential Access"],"technique":["Brute Force"]},
         "frequency":8,"firedtimes":1,"mail":false,"groups":["syslog","sshd","authentication_failures"],
         "pci_dss":["11.4","10.2.4"],"gdpr":["IV_35.7.d"]},
 "agent":{"id":"001","name":"web-01","ip":"10.0.0.21"},"manager":{"name":"wazuh-mgr"},
 "id":"1704103200.884213","cluster":{"name":"wazuh","node":"master"},
 "full_log":"Jan  1 10:00:00 web-01 sshd[42]: Failed password for invalid user admin from 192.0.2.7 port 2222 ssh2",
 "predecoder":{"program_name":"sshd","timestamp":"Jan  1 10:00:00","hostname":"web-01"},
 "decoder":{"parent":"sshd","name":"sshd"},
 "data":{"srcip":"192.0.2.7","srcport":"2222","dstuser":"admin"},"location":"/var/log/auth.log"})");
  JsonMapper m;
  EXPECT_EQ(m.detect(doc.view()), InputFormat::kWazuh);
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kWazuh);
  EXPECT_EQ(a.timestamp_ns, 1704103200'123000000LL);
  EXPECT_EQ(a.event_severity, 10);
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_module, "wazuh");
  EXPECT_EQ(a.rule_id, "5712");
  EXPECT_EQ(a.rule_name,
            "sshd: brute force trying to get access to the system. Non existent user.");
  EXPECT_EQ(a.rule_category, "syslog,sshd,authentication_failures");
  EXPECT_EQ(a.host_name, "web-01");
  EXPECT_EQ(a.observer_name, "wazuh-mgr");
  EXPECT_EQ(a.source_ip, "192.0.2.7");
  EXPECT_EQ(a.source_port, 2222);
  EXPECT_EQ(a.user_name, "admin");
  EXPECT_EQ(a.process_name, "sshd");
  EXPECT_EQ(a.message,
            "Jan  1 10:00:00 web-01 sshd[42]: Failed password for invalid user admin from "
            "192.0.2.7 port 2222 ssh2");
  EXPECT_EQ(label_of(a, "agent.ip"), "10.0.0.21");
  EXPECT_EQ(label_of(a, "agent.id"), "001");
  EXPECT_EQ(label_of(a, "id"), "1704103200.884213");
  EXPECT_EQ(label_of(a, "location"), "/var/log/auth.log");
  EXPECT_EQ(label_of(a, "decoder.name"), "sshd");
  EXPECT_EQ(label_of(a, "rule.mitre.id"), "T1110");
  EXPECT_EQ(label_of(a, "rule.mitre.tactic"), "Credential Access");
}

TEST(JsonMapper, WazuhFileIntegrityAlert) {
  Padded doc(
      R"({"timestamp":"2024-01-01T10:05:00.000-0200","rule":{"level":7,"description":"Integrity checksum changed.",
 "id":"550","groups":["ossec","syscheck","syscheck_entry_modified","syscheck_file"]},
 "agent":{"id":"002","name":"db-1","ip":"10.0.0.22"},"manager":{"name":"wazuh-mgr"},"id":"1704110700.1",
 "full_log":"File '/etc/passwd' modified\nMode: scheduled\n",
 "syscheck":{"path":"/etc/passwd","mode":"scheduled","size_after":"1234","md5_before":"x",
   "md5_after":"9a0364b9e99bb480dd25e1f0284c8555","sha1_after":"040f06fd774092478d450774f5ba30c5da78acc8",
   "sha256_after":"d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2",
   "uname_after":"root","event":"modified","changed_attributes":["size","md5"]},
 "decoder":{"name":"syscheck_integrity_changed"},"location":"syscheck"})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.timestamp_ns, 1704110700'000000000LL);  // -0200: 12:05 UTC
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.file_path, "/etc/passwd");
  EXPECT_EQ(a.file_name, "passwd");
  EXPECT_EQ(a.file_hash_md5, "9a0364b9e99bb480dd25e1f0284c8555");
  EXPECT_EQ(a.file_hash_sha1, "040f06fd774092478d450774f5ba30c5da78acc8");
  EXPECT_EQ(a.file_hash_sha256, "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2");
  EXPECT_EQ(a.event_action, "modified");
  EXPECT_EQ(a.message, "File '/etc/passwd' modified\nMode: scheduled\n");  // unescaped
  EXPECT_EQ(a.host_name, "db-1");
}

TEST(JsonMapper, WazuhLevelCrosswalk) {
  const std::pair<int, Severity> cases[] = {{0, Severity::kInfo},      {3, Severity::kInfo},
                                            {4, Severity::kLow},       {6, Severity::kLow},
                                            {7, Severity::kMedium},    {11, Severity::kMedium},
                                            {12, Severity::kHigh},     {14, Severity::kHigh},
                                            {15, Severity::kCritical}, {16, Severity::kCritical}};
  JsonMapper m;
  for (const auto& [level, want] : cases) {
    Padded doc(R"({"rule":{"level":)" + std::to_string(level) +
               R"(,"id":"1"},"manager":{"name":"m"}})");
    Alert a;
    ASSERT_TRUE(m.map(doc.view(), a).ok());
    EXPECT_EQ(a.severity, want) << level;
  }
}

// ---- Falco

TEST(JsonMapper, FalcoSyscallAlert) {
  Padded doc(
      R"J({"hostname":"node-7","output":"10:01:02.123456789: Notice Unexpected connection to K8s API Server from container (command=curl https://10.1.2.4:6443 pid=4242 k8s.ns=prod k8s.pod=api-7d9f container=3f2a9c1d2e4b)",
 "output_fields":{"container.id":"3f2a9c1d2e4b","container.image.repository":"docker.io/library/alpine",
   "evt.time":1779271262123456789,"fd.cip":"10.1.2.3","fd.cport":43512,"fd.sip":"10.1.2.4","fd.sport":6443,
   "fd.l4proto":"tcp","fd.name":"10.1.2.3:43512->10.1.2.4:6443","k8s.ns.name":"prod","k8s.pod.name":"api-7d9f",
   "proc.cmdline":"curl https://10.1.2.4:6443","proc.name":"curl","proc.pid":4242,"user.loginuid":-1,
   "user.name":"root","proc.tty":null},
 "priority":"Notice","rule":"Contact K8S API Server From Container","source":"syscall",
 "tags":["container","k8s","mitre_discovery"],"time":"2026-05-20T10:01:02.123456789Z"})J");
  JsonMapper m;
  EXPECT_EQ(m.detect(doc.view()), InputFormat::kFalco);
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kFalco);
  EXPECT_EQ(a.timestamp_ns, 1779271262'123456789LL);  // nanoseconds kept
  EXPECT_EQ(a.rule_name, "Contact K8S API Server From Container");
  EXPECT_EQ(a.rule_id, a.rule_name);
  EXPECT_EQ(a.severity, Severity::kLow);  // Notice
  EXPECT_EQ(a.event_severity, 5);
  EXPECT_EQ(a.host_name, "node-7");
  EXPECT_EQ(a.event_dataset, "falco.syscall");
  EXPECT_EQ(a.event_module, "falco");
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.source_ip, "10.1.2.3");
  EXPECT_EQ(a.source_port, 43512);
  EXPECT_EQ(a.destination_ip, "10.1.2.4");
  EXPECT_EQ(a.destination_port, 6443);
  EXPECT_EQ(a.network_transport, "tcp");
  EXPECT_EQ(a.process_name, "curl");
  EXPECT_EQ(a.process_command_line, "curl https://10.1.2.4:6443");
  EXPECT_EQ(a.user_name, "root");
  EXPECT_TRUE(a.file_path.empty());  // a socket, not a file
  EXPECT_EQ(label_of(a, "fd.name"), "10.1.2.3:43512->10.1.2.4:6443");
  EXPECT_EQ(label_of(a, "container.id"), "3f2a9c1d2e4b");
  EXPECT_EQ(label_of(a, "k8s.ns.name"), "prod");
  EXPECT_EQ(label_of(a, "k8s.pod.name"), "api-7d9f");
  EXPECT_EQ(label_of(a, "proc.pid"), "4242");
  EXPECT_EQ(label_of(a, "user.loginuid"), "-1");
  EXPECT_EQ(label_of(a, "proc.tty"), "<none>");  // null: no label
  EXPECT_EQ(label_of(a, "tags"), "container,k8s,mitre_discovery");
  EXPECT_EQ(label_of(a, "evt.time"), "<none>");  // mapped, not repeated as a label
  EXPECT_EQ(a.message.substr(0, 26), "10:01:02.123456789: Notice");
}

TEST(JsonMapper, FalcoPrioritiesAndFileAndTimeFallback) {
  const std::pair<const char*, Severity> cases[] = {
      {"Emergency", Severity::kCritical}, {"Alert", Severity::kCritical},
      {"Critical", Severity::kCritical},  {"Error", Severity::kHigh},
      {"Warning", Severity::kMedium},     {"Notice", Severity::kLow},
      {"Informational", Severity::kInfo}, {"Info", Severity::kInfo},
      {"Debug", Severity::kInfo}};
  JsonMapper m;
  for (const auto& [word, want] : cases) {
    Padded doc(
        std::string(R"({"rule":"r","priority":")") + word +
        R"(","output":"o","output_fields":{"evt.time":1618347519000000123,"fd.name":"/etc/shadow","ka.user.name":"alice"}})");
    Alert a;
    ASSERT_TRUE(m.map(doc.view(), a).ok()) << word;
    EXPECT_EQ(a.severity, want) << word;
    EXPECT_EQ(a.timestamp_ns, 1618347519000000123LL);  // no "time": evt.time (ns)
    EXPECT_EQ(a.file_path, "/etc/shadow");
    EXPECT_EQ(a.file_name, "shadow");
    EXPECT_EQ(a.user_name, "alice");  // k8s audit user when there is no user.name
  }
}

// ---- Zeek

TEST(JsonMapper, ZeekNoticeJson) {
  Padded doc(
      R"({"ts":1258535660.087229,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51889,
 "id.resp_h":"192.168.0.1","id.resp_p":22,"proto":"tcp","note":"SSH::Password_Guessing",
 "msg":"10.0.0.1 appears to be guessing SSH passwords (seen in 30 connections).",
 "sub":"Sampled servers:  192.168.0.1","src":"10.0.0.1","dst":"192.168.0.1","p":22,"peer_descr":"worker-1",
 "actions":["Notice::ACTION_LOG"],"email_dest":[],"suppress_for":3600.0})");
  JsonMapper m;
  EXPECT_EQ(m.detect(doc.view()), InputFormat::kZeek);
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kZeek);
  EXPECT_EQ(a.timestamp_ns, 1258535660'087229000LL);  // exact, not through a double
  EXPECT_EQ(a.rule_name, "SSH::Password_Guessing");
  EXPECT_EQ(a.rule_id, "SSH::Password_Guessing");
  EXPECT_EQ(a.message, "10.0.0.1 appears to be guessing SSH passwords (seen in 30 connections).");
  EXPECT_EQ(a.source_ip, "10.0.0.1");
  EXPECT_EQ(a.source_port, 51889);
  EXPECT_EQ(a.destination_ip, "192.168.0.1");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.network_transport, "tcp");
  EXPECT_EQ(a.observer_name, "worker-1");
  EXPECT_EQ(a.severity, Severity::kMedium);
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_dataset, "zeek.notice");
  EXPECT_EQ(label_of(a, "uid"), "CHhAvVGS1DHFjwGM9");
  EXPECT_EQ(label_of(a, "sub"), "Sampled servers:  192.168.0.1");
  EXPECT_EQ(label_of(a, "actions"), "Notice::ACTION_LOG");
}

TEST(JsonMapper, ZeekTimestampsAndNestedId) {
  JsonMapper m;
  // TS_ISO8601, a nested id record, and src differing from the connection's originator.
  Padded iso(
      R"({"ts":"2009-11-18T09:14:20.087229Z","note":"ProtocolDetector::Server_Found",
 "id":{"orig_h":"10.0.0.1","orig_p":51889,"resp_h":"192.168.0.1","resp_p":22},
 "src":"192.168.0.1","dst":"192.168.0.1","p":22})");
  Alert a;
  ASSERT_TRUE(m.map(iso.view(), InputFormat::kZeek, a, [](Alert&) {}).ok());
  EXPECT_EQ(a.timestamp_ns, 1258535660'087229000LL);
  EXPECT_EQ(a.source_ip, "192.168.0.1");
  EXPECT_EQ(a.source_port, -1);  // the originator's port belongs to another address
  EXPECT_EQ(a.destination_port, 22);
  // TS_MILLIS.
  Padded ms(R"({"ts":1258535660087,"note":"N","uid":"C1"})");
  Alert b;
  ASSERT_TRUE(m.map(ms.view(), b).ok());
  EXPECT_EQ(b.timestamp_ns, 1258535660'087000000LL);
  EXPECT_EQ(b.format, InputFormat::kZeek);
}

// ---- Alertmanager

std::string am_alert(const std::string& name, const std::string& severity,
                     const std::string& instance, const std::string& starts,
                     const std::string& ends = "0001-01-01T00:00:00Z",
                     const std::string& status = "firing") {
  return R"({"status":")" + status + R"(","labels":{"alertname":")" + name + R"(","instance":")" +
         instance + R"(","job":"node","severity":")" + severity +
         R"("},"annotations":{"runbook_url":"https://runbooks.example.org/ssh","summary":"Many failed logins on )" +
         instance + R"("},"startsAt":")" + starts + R"(","endsAt":")" + ends +
         R"(","generatorURL":"http://prometheus.example.org/graph?g0.expr=up","fingerprint":"f4a81a18f24cc7)" +
         std::to_string(name.size()) + R"("})";
}

std::string am_webhook(const std::vector<std::string>& alerts,
                       const std::string& status = "firing") {
  std::string s = R"({"receiver":"klaxon","status":")" + status + R"(","alerts":[)";
  for (size_t i = 0; i < alerts.size(); ++i) s += (i ? ",\n  " : "") + alerts[i];
  s += R"(],"groupLabels":{"alertname":"SSHBruteForce"},"commonLabels":{"job":"node"},)"
       R"("commonAnnotations":{},"externalURL":"http://am.example.org:9093","version":"4",)"
       R"("groupKey":"{}:{alertname=\"SSHBruteForce\"}","truncatedAlerts":0})";
  return s;
}

TEST(JsonMapper, AlertmanagerWebhookEmitsEachAlert) {
  const std::vector<std::string> elements = {
      am_alert("SSHBruteForce", "critical", "web-01:9100", "2026-11-23T08:29:01Z"),
      am_alert("DiskFull", "warning", "[2001:db8::1]:9100", "2026-11-23T08:29:01.5+01:00"),
      am_alert("Odd", "page", "db-1", "2026-11-23T08:29:01Z", "2026-11-23T08:31:30Z", "resolved")};
  Padded doc(am_webhook(elements));
  JsonMapper m;
  EXPECT_EQ(m.detect(doc.view()), InputFormat::kAlertmanager);
  Alert base;
  base.ingest.peer = "192.0.2.1:5000";
  base.syslog.hostname = "am-host";
  base.raw = doc.view();
  Mapped r = map_all(m, doc, InputFormat::kJson, base);
  ASSERT_TRUE(r.status.ok()) << r.status.what;
  ASSERT_EQ(r.alerts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Alert& a = r.alerts[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(a.raw, elements[i]);               // each alert's own element
    EXPECT_EQ(a.ingest.peer, "192.0.2.1:5000");  // the envelope is kept
    EXPECT_EQ(a.syslog.hostname, "am-host");
    EXPECT_EQ(a.format, InputFormat::kAlertmanager);
    EXPECT_TRUE(a.body_is_json);
    EXPECT_EQ(a.event_kind, "alert");
    EXPECT_EQ(a.observer_product, "Alertmanager");
    EXPECT_EQ(a.observer_name, "am.example.org");
    EXPECT_EQ(a.url_original, "http://prometheus.example.org/graph?g0.expr=up");
    EXPECT_EQ(label_of(a, "receiver"), "klaxon");
    EXPECT_EQ(label_of(a, "job"), "node");
    EXPECT_EQ(label_of(a, "annotation.runbook_url"), "https://runbooks.example.org/ssh");
  }
  const Alert& a = r.alerts[0];
  EXPECT_EQ(a.rule_name, "SSHBruteForce");
  EXPECT_EQ(a.rule_id, "f4a81a18f24cc713");
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.host_name, "web-01");
  EXPECT_EQ(a.message, "Many failed logins on web-01:9100");
  EXPECT_EQ(a.event_action, "firing");
  EXPECT_EQ(a.timestamp_ns, 1795422541'000000000LL);
  EXPECT_EQ(label_of(a, "ends_at"), "<none>");  // the zero endsAt of a firing alert
  EXPECT_EQ(label_of(a, "alertname"), "SSHBruteForce");
  EXPECT_EQ(label_of(a, "instance"), "web-01:9100");

  const Alert& b = r.alerts[1];
  EXPECT_EQ(b.severity, Severity::kMedium);  // warning
  EXPECT_EQ(b.host_name, "2001:db8::1");
  EXPECT_EQ(b.timestamp_ns, 1795422541'500000000LL - 3600LL * 1'000'000'000);

  const Alert& c = r.alerts[2];
  EXPECT_EQ(c.severity, Severity::kMedium);  // "page" is no known word: medium
  EXPECT_EQ(c.event_action, "resolved");
  EXPECT_EQ(label_of(c, "ends_at"), "2026-11-23T08:31:30Z");
  EXPECT_EQ(c.host_name, "db-1");
}

TEST(JsonMapper, AlertmanagerBrokenThirdAlertEmitsNothing) {
  JsonMapper m;
  const std::string good1 = am_alert("A", "critical", "h1:1", "2026-11-23T08:29:01Z");
  const std::string good2 = am_alert("B", "critical", "h2:1", "2026-11-23T08:29:01Z");
  const std::vector<std::pair<std::string, RejectReason>> thirds = {
      {R"({"labels":{"alertname":"C"},"startsAt":"yesterday"})", RejectReason::kFormat},
      {R"({"labels":{"alertname":7}})", RejectReason::kFormat},
      {R"({"labels":["alertname"]})", RejectReason::kFormat},
      {R"("not an object")", RejectReason::kFormat},
      {R"({"labels":{"alertname":"C"},"x":tru})", RejectReason::kJson},
      {R"({"labels":{"alertname":"C"},"x":1.})", RejectReason::kJson},
      {R"({"labels":{"alertname":"C\q"}})", RejectReason::kJson}};
  for (const auto& [third, reason] : thirds) {
    SCOPED_TRACE(third);
    Padded doc(am_webhook({good1, good2, third}));
    Mapped r = map_all(m, doc, InputFormat::kJson);
    EXPECT_FALSE(r.status.ok());
    EXPECT_EQ(r.status.reason, reason);
    EXPECT_TRUE(r.alerts.empty());
  }
  // A webhook with no alerts carries nothing to keep: rejected rather than silently dropped.
  Padded empty(am_webhook({}));
  EXPECT_EQ(map_all(m, empty, InputFormat::kAlertmanager).status.reason, RejectReason::kFormat);
  // Trailing garbage after a valid webhook.
  Padded trailing(am_webhook({good1}) + " x");
  Mapped t = map_all(m, trailing, InputFormat::kJson);
  EXPECT_EQ(t.status.reason, RejectReason::kJson);
  EXPECT_TRUE(t.alerts.empty());
}

TEST(JsonMapper, AlertmanagerManyAlertsTakeTheSecondPass) {
  // More alerts than the mapper holds back: read twice, emitted one by one, and a broken last
  // one still stops all of them.
  std::vector<std::string> elements;
  for (int i = 0; i < 21; ++i) {
    elements.push_back(am_alert("Rule" + std::to_string(i), i % 2 ? "warning" : "critical",
                                "host-" + std::to_string(i) + ":9100", "2026-11-23T08:29:01Z"));
  }
  // Top-level fields with escapes, after alerts[]: they must survive the rewind.
  std::string doc_text = am_webhook(elements);
  doc_text.replace(doc_text.find(R"("receiver":"klaxon")"), 19, R"("receiver":"kl\u0061xon")");
  Padded doc(doc_text);
  JsonMapper m;
  Mapped r = map_all(m, doc, InputFormat::kAlertmanager);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.alerts.size(), 21u);
  for (int i = 0; i < 21; ++i) {
    const Alert& a = r.alerts[i];
    EXPECT_EQ(a.raw, elements[i]);
    EXPECT_EQ(a.rule_name, "Rule" + std::to_string(i));
    EXPECT_EQ(a.host_name, "host-" + std::to_string(i));
    EXPECT_EQ(a.severity, i % 2 ? Severity::kMedium : Severity::kCritical);
    EXPECT_EQ(label_of(a, "receiver"), "klaxon");
    EXPECT_EQ(a.message, "Many failed logins on host-" + std::to_string(i) + ":9100");
  }
  elements.back() = R"({"labels":{"alertname":"Z"},"startsAt":"never"})";
  Padded bad(am_webhook(elements));
  Mapped rb = map_all(m, bad, InputFormat::kAlertmanager);
  EXPECT_EQ(rb.status.reason, RejectReason::kFormat);
  EXPECT_TRUE(rb.alerts.empty());
}

TEST(JsonMapper, AlertmanagerThroughMessageParserHashesEachElement) {
  const std::vector<std::string> elements = {
      am_alert("A", "critical", "h1:1", "2026-11-23T08:29:01Z"),
      am_alert("B", "warning", "h2:1", "2026-11-23T08:29:01Z")};
  const std::string body = am_webhook(elements);
  Padded frame(body);
  MessageParser p{ParseOptions{}};
  IngestMeta meta;
  meta.format = InputFormat::kAuto;
  meta.listener = "webhook";
  std::vector<Alert> got;
  Alert scratch;
  ASSERT_TRUE(p.parse(frame.view(), meta, 0, scratch, [&](Alert& a) { got.push_back(a); }).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].raw, elements[0]);
  EXPECT_EQ(got[1].raw, elements[1]);
  EXPECT_NE(got[0].raw_sha256, got[1].raw_sha256);
  EXPECT_EQ(got[1].ingest.listener, "webhook");
}

// ---- Beats / ECS

TEST(JsonMapper, BeatsEcsEvent) {
  Padded doc(
      R"({"@timestamp":"2026-05-20T12:00:00.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},
 "message":"Failed password for root from 192.0.2.7 port 2222 ssh2",
 "log":{"level":"error","file":{"path":"/var/log/auth.log"},"offset":18342},
 "event":{"kind":"alert","category":["authentication","intrusion_detection"],"action":"ssh_login",
          "module":"system","dataset":"system.auth","severity":3,"outcome":"failure"},
 "host":{"name":"web-01","hostname":"web-01.example.org","ip":["10.0.0.21"]},
 "source":{"ip":"192.0.2.7","port":2222},"destination":{"address":"10.0.0.21","port":22},
 "user":{"name":"root"},"rule":{"id":"R-17","name":"SSH root login attempt","category":"authentication"},
 "process":{"name":"sshd","pid":42,"command_line":"/usr/sbin/sshd -D"},
 "file":{"path":"/var/log/auth.log","hash":{"md5":"m","sha1":"s1","sha256":"s256"}},
 "url":{"full":"https://portal.example.org/login?x=1"},
 "network":{"transport":"tcp","protocol":"ssh","community_id":"1:xyz="},
 "agent":{"type":"filebeat","version":"8.15.0","name":"web-01","id":"8a1c"},"ecs":{"version":"8.0.0"},
 "labels":{"env":"prod"},"fields":{"team":"blue"},"tags":["beats_input","ssh"]})");
  JsonMapper m;
  EXPECT_EQ(m.detect(doc.view()), InputFormat::kBeats);
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kBeats);
  EXPECT_EQ(a.timestamp_ns, 1779278400'000000000LL);
  EXPECT_EQ(a.message, "Failed password for root from 192.0.2.7 port 2222 ssh2");
  EXPECT_EQ(a.severity, Severity::kHigh);  // log.level error
  EXPECT_EQ(a.event_severity, 3);
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_category, "authentication,intrusion_detection");
  EXPECT_EQ(a.event_action, "ssh_login");
  EXPECT_EQ(a.event_module, "system");
  EXPECT_EQ(a.event_dataset, "system.auth");
  EXPECT_EQ(a.host_name, "web-01");
  EXPECT_EQ(a.source_ip, "192.0.2.7");
  EXPECT_EQ(a.source_port, 2222);
  EXPECT_EQ(a.destination_ip, "10.0.0.21");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.user_name, "root");
  EXPECT_EQ(a.rule_id, "R-17");
  EXPECT_EQ(a.rule_name, "SSH root login attempt");
  EXPECT_EQ(a.rule_category, "authentication");
  EXPECT_EQ(a.process_name, "sshd");
  EXPECT_EQ(a.process_command_line, "/usr/sbin/sshd -D");
  EXPECT_EQ(a.file_path, "/var/log/auth.log");
  EXPECT_EQ(a.file_name, "auth.log");
  EXPECT_EQ(a.file_hash_md5, "m");
  EXPECT_EQ(a.file_hash_sha1, "s1");
  EXPECT_EQ(a.file_hash_sha256, "s256");
  EXPECT_EQ(a.url_original, "https://portal.example.org/login?x=1");
  EXPECT_EQ(a.url_domain, "portal.example.org");
  EXPECT_EQ(a.network_transport, "tcp");
  EXPECT_EQ(a.network_protocol, "ssh");
  EXPECT_EQ(a.network_community_id, "1:xyz=");
  EXPECT_EQ(a.observer_product, "filebeat");  // the shipper, no observer named
  EXPECT_EQ(a.observer_name, "web-01");
  EXPECT_EQ(label_of(a, "env"), "prod");
  EXPECT_EQ(label_of(a, "team"), "blue");
  EXPECT_EQ(label_of(a, "tags"), "beats_input,ssh");
}

TEST(JsonMapper, BeatsFlattenedKeysAndRanksIgnoreOrder) {
  JsonMapper m;
  Padded doc(
      R"({"host.hostname":"second","ecs.version":"8.0","@timestamp":"2026-05-20T12:00:00Z","host.name":"first",
 "observer":{"hostname":"o2","name":"o1","product":"Zeek"},"agent":{"type":"filebeat","name":"a"},
 "source.ip":"192.0.2.9","destination.port":"443","event.category":"network"})");
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), InputFormat::kBeats, a, [](Alert&) {}).ok());
  EXPECT_EQ(a.host_name, "first");
  EXPECT_EQ(a.observer_name, "o1");
  EXPECT_EQ(a.observer_product, "Zeek");
  EXPECT_EQ(a.source_ip, "192.0.2.9");
  EXPECT_EQ(a.destination_port, 443);
  EXPECT_EQ(a.event_category, "network");
}

// ---- generic

TEST(JsonMapper, GenericAlertWithNestedAndFlatKeys) {
  Padded doc(
      R"({"@timestamp":"2026-05-20T10:01:02Z","severity":"critical","rule":{"id":"R1","name":"Disk full"},
   "host":{"name":"db-1"},"source":{"ip":"10.0.0.1","port":"443"},"user":"alice","message":"disk at 100%"})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kGeneric);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.rule_id, "R1");
  EXPECT_EQ(a.rule_name, "Disk full");
  EXPECT_EQ(a.host_name, "db-1");
  EXPECT_EQ(a.source_ip, "10.0.0.1");
  EXPECT_EQ(a.source_port, 443);
  EXPECT_EQ(a.user_name, "alice");
  EXPECT_EQ(a.message, "disk at 100%");
  EXPECT_EQ(a.timestamp_ns, 1779271262'000000000LL);
}

TEST(JsonMapper, GenericFlatNamesAndSeverityNumbers) {
  JsonMapper m;
  Padded doc(
      R"({"time":"2026-05-20T10:01:02Z","timestamp":"2026-05-20T10:01:03Z","signature":"sig","rule_name":"name",
 "src_ip":"192.0.2.1","dest_ip":"192.0.2.2","src_port":1,"dest_port":"2","hostname":"h","username":"u",
 "msg":"m","level":5,"proto":"udp","category":"c","action":"a"})");
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.timestamp_ns, 1779271263'000000000LL);  // timestamp ranks over time
  EXPECT_EQ(a.rule_name, "name");                     // rule_name over signature
  EXPECT_EQ(a.source_ip, "192.0.2.1");
  EXPECT_EQ(a.destination_ip, "192.0.2.2");
  EXPECT_EQ(a.source_port, 1);
  EXPECT_EQ(a.destination_port, 2);
  EXPECT_EQ(a.host_name, "h");
  EXPECT_EQ(a.user_name, "u");
  EXPECT_EQ(a.message, "m");
  EXPECT_EQ(a.event_severity, 5);
  EXPECT_EQ(a.severity, Severity::kInfo);  // a number on an unknown scale sets no level
  EXPECT_EQ(a.network_transport, "udp");
  EXPECT_EQ(a.rule_category, "c");
  EXPECT_EQ(a.event_action, "a");
}

TEST(JsonMapper, GenericConfiguredPaths) {
  auto o = std::make_shared<JsonMapOptions>();
  o->paths = {{"rule.name", "detection.title"},
              {"source.ip", "net.src.addr"},
              {"severity", "risk"},
              {"@timestamp", "seen"},
              {"host.name", "asset.fqdn"},
              {"labels.tenant", "meta.tenant"},
              {"rule.category", "detection.tags"},
              {"message", "msg"}};
  o->numeric_severity = NumericSeverity::kRiskScore;
  JsonMapper m;
  ASSERT_TRUE(m.set_options(o));
  Padded doc(
      R"({"detection":{"title":"Impossible travel","tags":["iam","geo"]},"net":{"src":{"addr":"203.0.113.5"}},
 "risk":80,"seen":1779271262.25,"asset.fqdn":"vpn-1.example.org","meta":{"tenant":"acme"},
 "msg":"configured","message":"built-in","title":"not this","host":"not this either"})");
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.format, InputFormat::kGeneric);
  EXPECT_EQ(a.rule_name, "Impossible travel");
  EXPECT_EQ(a.rule_category, "iam,geo");
  EXPECT_EQ(a.source_ip, "203.0.113.5");
  EXPECT_EQ(a.event_severity, 80);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.timestamp_ns, 1779271262'250000000LL);
  EXPECT_EQ(a.host_name, "vpn-1.example.org");  // a flat dotted key matches the path too
  EXPECT_EQ(label_of(a, "tenant"), "acme");
  EXPECT_EQ(a.message, "configured");

  // Paths apply to the generic mapping only: a recognised dialect ignores them.
  Padded eve(R"({"event_type":"alert","detection":{"title":"x"}})");
  Alert b;
  ASSERT_TRUE(m.map(eve.view(), b).ok());
  EXPECT_TRUE(b.rule_name.empty());

  // Invalid options are refused and the previous ones kept.
  auto bad = std::make_shared<JsonMapOptions>();
  bad->paths = {{"rule.nam", "x"}};
  Status s = m.set_options(bad);
  EXPECT_FALSE(s);
  EXPECT_NE(s.error().message.find("rule.nam"), std::string::npos);
  for (const auto& p : std::vector<JsonMapOptions::FieldPath>{
           {"rule.name", ""}, {"rule.name", "a..b"}, {"rule.name", ".a"}, {"rule.name", "a."}}) {
    JsonMapOptions x;
    x.paths = {p};
    EXPECT_FALSE(x.validate()) << p.path;
  }
  JsonMapOptions twice;
  twice.paths = {{"rule.name", "a"}, {"rule.name", "b"}};
  EXPECT_FALSE(twice.validate());
  Alert c;
  ASSERT_TRUE(m.map(doc.view(), c).ok());
  EXPECT_EQ(c.rule_name, "Impossible travel");
}

// ---- detection

TEST(JsonMapper, DetectionByKeys) {
  JsonMapper m;
  const std::pair<const char*, InputFormat> cases[] = {
      {R"({"timestamp":"t","event_type":"dns"})", InputFormat::kSuricata},
      {R"({"receiver":"r","status":"firing","alerts":[]})", InputFormat::kAlertmanager},
      {R"({"alerts":[],"groupKey":"g"})", InputFormat::kAlertmanager},
      {R"({"rule":{"level":3},"decoder":{"name":"x"}})", InputFormat::kWazuh},
      {R"({"@timestamp":"t","agent":{},"rule":{},"manager":{}})", InputFormat::kWazuh},
      {R"({"output":"o","priority":"Notice","rule":"r"})", InputFormat::kFalco},
      {R"({"output_fields":{}})", InputFormat::kFalco},
      {R"({"ts":1,"note":"N"})", InputFormat::kZeek},
      {R"({"@timestamp":"t","ecs":{"version":"8"}})", InputFormat::kBeats},
      {R"({"@metadata":{},"message":"m"})", InputFormat::kBeats},
      {R"({"@timestamp":"t","agent":{"type":"filebeat"}})", InputFormat::kBeats},
      {R"({"rule":"r","alerts":[]})", InputFormat::kGeneric},
      {R"({"message":"m"})", InputFormat::kGeneric},
      {R"({"event\u005ftype":"alert"})", InputFormat::kSuricata},
      {R"([1])", InputFormat::kJson}};
  for (const auto& [text, want] : cases) {
    Padded doc(text);
    EXPECT_EQ(m.detect(doc.view()), want) << text;
  }
}

TEST(JsonMapper, ExplicitDialectDecidesKeyMeaning) {
  // "host" is the sensor for Suricata, the host for the generic mapping.
  Padded doc(R"({"host":"h1","src_ip":"192.0.2.1","alert":{"signature":"s"}})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), InputFormat::kSuricata, a, [](Alert&) {}).ok());
  EXPECT_EQ(a.observer_name, "h1");
  EXPECT_EQ(a.rule_name, "s");
  EXPECT_EQ(a.format, InputFormat::kSuricata);
  Alert b;
  ASSERT_TRUE(m.map(doc.view(), InputFormat::kGeneric, b, [](Alert&) {}).ok());
  EXPECT_EQ(b.host_name, "h1");
  EXPECT_EQ(b.format, InputFormat::kGeneric);
}

// ---- hostile documents

TEST(JsonMapper, HostileDocumentsAreRejected) {
  JsonMapper m;
  const std::vector<std::string> bads = {R"({"a":1,})",
                                         R"({"a":[1,2}})",
                                         R"({"a":"\x"})",
                                         R"({"a":tru})",
                                         R"({"a":1} trailing)",
                                         R"({"a":01})",
                                         R"({"a":"unterminated})",
                                         R"([1,2,3])",
                                         "{\"a\":\"\xff\xfe\"}",
                                         "{\"a\xc0\":1}",
                                         "{\"a\":\"\xed\xa0\x80\"}",  // UTF-8 surrogate
                                         std::string(100, '[') + std::string(100, ']'),
                                         R"({"unknown":{"deep":[1.]}})",
                                         R"({"a":-})",
                                         R"({"k\ud800":1})",
                                         R"({"a":nul})"};
  const InputFormat formats[] = {
      InputFormat::kJson, InputFormat::kSuricata,     InputFormat::kWazuh, InputFormat::kFalco,
      InputFormat::kZeek, InputFormat::kAlertmanager, InputFormat::kBeats, InputFormat::kGeneric};
  for (const std::string& bad : bads) {
    for (InputFormat f : formats) {
      Padded doc(bad);
      Mapped r = map_all(m, doc, f);
      EXPECT_FALSE(r.status.ok()) << bad << " as " << input_format_name(f);
      EXPECT_EQ(r.status.reason, RejectReason::kJson) << bad << " as " << input_format_name(f);
      EXPECT_TRUE(r.alerts.empty());
    }
  }
}

TEST(JsonMapper, DeepNestingIsBoundedNotRecursedWithoutLimit) {
  JsonMapper m;
  for (const char* key : {"a", "alert", "output_fields", "labels", "data", "alerts"}) {
    std::string deep = std::string("{\"") + key + "\":";
    for (int i = 0; i < 5000; ++i) deep += "{\"a\":[";
    deep += "1";
    for (int i = 0; i < 5000; ++i) deep += "]}";
    deep += "}";
    Padded doc(deep);
    for (InputFormat f : {InputFormat::kJson, InputFormat::kSuricata, InputFormat::kWazuh,
                          InputFormat::kFalco, InputFormat::kAlertmanager, InputFormat::kBeats}) {
      Alert a;
      EXPECT_FALSE(m.map(doc.view(), f, a, [](Alert&) {}).ok()) << key;
    }
  }
  // 60 levels are fine (the limit is 64).
  std::string ok = "{";
  for (int i = 0; i < 60; ++i) ok += "\"a\":{";
  ok += "\"b\":1";
  for (int i = 0; i < 61; ++i) ok += "}";
  Padded doc(ok);
  Alert a;
  EXPECT_TRUE(m.map(doc.view(), a).ok());
}

TEST(JsonMapper, HugeArraysAreWalkedNotStored) {
  JsonMapper m;
  std::string big = R"({"event_type":"alert","x":[)";
  for (int i = 0; i < 200000; ++i) big += i ? ",1" : "1";
  big += R"(],"alert":{"signature":"s"}})";
  Padded doc(big);
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.rule_name, "s");
  // 5,000 alerts in one webhook: all emitted, in order.
  std::vector<std::string> elements(
      5000, R"({"labels":{"alertname":"x"},"startsAt":"2026-11-23T08:29:01Z"})");
  Padded many(am_webhook(elements));
  size_t n = 0;
  Alert b;
  ASSERT_TRUE(m.map(many.view(), InputFormat::kJson, b, [&](Alert&) { ++n; }).ok());
  EXPECT_EQ(n, 5000u);
  // More labels than an Alert holds: the rest are counted, not stored.
  std::string labels = R"({"output_fields":{)";
  for (int i = 0; i < 100; ++i) labels += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":\"v\"";
  labels += "}}";
  Padded lots(labels);
  Alert c;
  ASSERT_TRUE(m.map(lots.view(), c).ok());
  EXPECT_EQ(c.label_count, kMaxAlertLabels);
  EXPECT_EQ(c.labels_dropped, 100 - kMaxAlertLabels);
}

TEST(JsonMapper, DuplicateKeysLastOneCounts) {
  JsonMapper m;
  Padded eve(R"({"event_type":"alert","src_ip":"192.0.2.1","src_ip":"192.0.2.2"})");
  Alert a;
  ASSERT_TRUE(m.map(eve.view(), a).ok());
  EXPECT_EQ(a.source_ip, "192.0.2.2");
  Padded generic(R"({"host":{"name":"a"},"host":{"name":"b"},"message":"x","message":"y"})");
  Alert b;
  ASSERT_TRUE(m.map(generic.view(), b).ok());
  EXPECT_EQ(b.host_name, "b");
  EXPECT_EQ(b.message, "y");
  // Labels keep the first value of a repeated key.
  Padded falco(R"({"output_fields":{"container.id":"one","container.id":"two"}})");
  Alert c;
  ASSERT_TRUE(m.map(falco.view(), c).ok());
  EXPECT_EQ(label_of(c, "container.id"), "one");
}

TEST(JsonMapper, StringViewsPointIntoTheBodyOrStayValid) {
  // Escaped strings are unescaped; the others are views into the body itself.
  Padded doc(R"({"event_type":"alert","alert":{"signature":"a\"b","category":"plain"}})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.rule_name, "a\"b");
  EXPECT_EQ(a.rule_category, "plain");
  EXPECT_GE(a.rule_category.data(), doc.text.data());
  EXPECT_LE(a.rule_category.data() + a.rule_category.size(), doc.text.data() + doc.len);
}

}  // namespace
}  // namespace klaxon
