#include "pipeline/stages/json_map.h"

#include "pipeline/core/batch.h"

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
  EXPECT_EQ(a.event_kind, "alert");
  EXPECT_EQ(a.event_module, "suricata");
  EXPECT_EQ(a.rule_id, "2001219");
  EXPECT_EQ(a.rule_name, "ET SCAN Potential SSH Scan");
  EXPECT_EQ(a.rule_category, "Attempted Information Leak");
  EXPECT_EQ(a.event_action, "allowed");
  EXPECT_EQ(a.source_ip, "192.0.2.7");
  EXPECT_EQ(a.source_port, 51515);
  EXPECT_EQ(a.destination_ip, "198.51.100.20");
  EXPECT_EQ(a.destination_port, 22);
  EXPECT_EQ(a.network_transport, "TCP");
  EXPECT_EQ(a.observer_name, "ids-01");
  EXPECT_EQ(a.event_severity, 2);
  EXPECT_EQ(a.severity, Severity::kMedium);
  ASSERT_TRUE(a.has_timestamp);
  EXPECT_EQ(a.timestamp_ns, 1779271262123456000LL);
}

TEST(JsonMapper, GenericAlertWithNestedAndFlatKeys) {
  Padded doc(
      R"({"@timestamp":"2026-05-20T10:01:02Z","severity":"critical","rule":{"id":"R1","name":"Disk full"},
   "host":{"name":"db-1"},"source":{"ip":"10.0.0.1","port":"443"},"user":"alice","message":"disk at 100%"})");
  JsonMapper m;
  Alert a;
  ASSERT_TRUE(m.map(doc.view(), a).ok());
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.rule_id, "R1");
  EXPECT_EQ(a.rule_name, "Disk full");
  EXPECT_EQ(a.host_name, "db-1");
  EXPECT_EQ(a.source_ip, "10.0.0.1");
  EXPECT_EQ(a.source_port, 443);
  EXPECT_EQ(a.user_name, "alice");
  EXPECT_EQ(a.message, "disk at 100%");
}

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
                                         std::string(100, '[') + std::string(100, ']'),
                                         R"({"unknown":{"deep":[1.]}})",
                                         R"({"a":-})"};
  for (const std::string& bad : bads) {
    Padded doc(bad);
    Alert a;
    const ParseStatus s = m.map(doc.view(), a);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.reason, RejectReason::kJson) << bad;
  }
}

TEST(JsonMapper, DeepNestingIsBoundedNotRecursedWithoutLimit) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 5000; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 5001; ++i) deep += "}";
  Padded doc(deep);
  JsonMapper m;
  Alert a;
  EXPECT_FALSE(m.map(doc.view(), a).ok());
}

}  // namespace
}  // namespace klaxon
