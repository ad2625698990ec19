// klaxonctl's tamper-evidence and incident commands, run as the built binary against a data
// directory written here: alerts through Store::commit (BlockBuilder + append_alert_record),
// incidents through Store::commit_incidents. keygen, checkpoint, verify (clean, then damaged:
// exit 1 naming the incident and seq), incidents list/show, export (parsed with simdjson,
// the linked alerts' SHA-256 checked), and the usage/I-O exit status 2.
#include "pipeline/core/alert_record.h"
#include "pipeline/core/block.h"
#include "pipeline/core/incident.h"
#include "pipeline/core/sha256.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace klaxon {
namespace {

std::string klaxonctl() { return test::binary_dir() + "/daemon/klaxonctl"; }

// Runs klaxonctl with `args`; stdout in *out, stderr in *err. Returns the exit status.
int ctl(const test::TempDir& dir, const std::string& args, std::string* out = nullptr,
        std::string* err = nullptr) {
  const std::string err_file = dir.path() + "/ctl.err";
  std::string o;
  const int rc = test::run_shell(klaxonctl() + " " + args + " 2>" + err_file, &o);
  if (out) *out = o;
  if (err) *err = test::read_file(err_file);
  return rc;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

class KlaxonctlAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    keys_ = dir_.path() + "/keys";
    checkpoint_ = dir_.path() + "/ck/checkpoint.json";
    std::filesystem::create_directories(keys_);
    std::filesystem::create_directories(data_);
    std::filesystem::create_directories(dir_.path() + "/ck");
    auto s = Store::open(data_ + "/db", StoreOptions{});
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    Store& store = **s;

    // 20 alerts, sequences 1..20, each with its raw bytes' SHA-256.
    Sha256 sha;
    std::vector<std::string> raws;
    for (int i = 0; i < 20; ++i) {
      raws.push_back("<34>1 2026-01-02T03:04:" + std::string(i < 10 ? "0" : "") +
                     std::to_string(i) + "Z web01 sshd - - - failed password for root #" +
                     std::to_string(i));
    }
    BlockBuilder builder(1);
    for (const std::string& raw : raws) {
      Alert a;
      a.raw = raw;
      a.raw_sha256 = sha.digest(raw);
      a.message = std::string_view(raw).substr(raw.find("failed"));
      a.has_timestamp = true;
      a.timestamp_ns = 1'767'323'044'000'000'000;
      a.ingest.received_ns = a.timestamp_ns + 1000;
      a.event_kind = "alert";
      a.host_name = "web01";
      append_alert_record(a, builder.begin_record());
      builder.end_record();
      sha_by_seq_[sha_by_seq_.size() + 1] = hash_hex(a.raw_sha256);
    }
    EncodedBlock block;
    builder.finish(block);
    const EncodedBlock* group[] = {&block};
    auto first = store.commit(group);
    ASSERT_TRUE(first.has_value());
    ASSERT_EQ(*first, 1u);

    // Three incidents: A links alerts 1-4, B 5-10 (acknowledged), C 11-12 and 999 (absent).
    add_incident(store, 1, {{2, 3, 4}}, IncidentStatus::kOpen, a_);
    add_incident(store, 5, {{6, 7}, {8, 9, 10}}, IncidentStatus::kAcknowledged, b_);
    add_incident(store, 11, {{12, 999}}, IncidentStatus::kOpen, c_);
  }

  void add_incident(Store& store, uint64_t opener, std::vector<std::vector<uint64_t>> linked,
                    IncidentStatus status, Incident& in) {
    static const std::array<uint8_t, 16> kSecret{9, 9, 9};
    in.id = make_incident_id(kSecret, opener, 0);
    in.title = "ssh brute force " + std::to_string(opener);
    in.category = "authentication";
    in.status = status;
    IncidentCommit commit;
    auto emit = [&](IncidentEventType type, std::string data) {
      IncidentEvent e;
      e.incident = in.id;
      e.seq = in.next_event_seq;
      e.type = type;
      e.time_ns = 1'767'323'044'000'000'000 + static_cast<int64_t>(e.seq);
      e.actor = "correlate";
      e.data = std::move(data);
      e.prev_hash = in.head_hash;
      commit.events.emplace_back(incident_event_key(in.id, e.seq), seal_incident_event(e));
      in.next_event_seq = e.seq + 1;
      in.head_hash = e.hash;
    };
    emit(IncidentEventType::kCreated, "{\"alert\":" + std::to_string(opener) + ",\"title\":\"t\"}");
    for (const auto& group : linked) {
      std::string data = "{\"alerts\":[";
      for (size_t i = 0; i < group.size(); ++i) {
        if (i) data += ",";
        data += std::to_string(group[i]);
      }
      emit(IncidentEventType::kAlertLinked, data + "],\"duplicates\":0}");
    }
    emit(IncidentEventType::kNoteAdded, "{\"note\":\"checked\"}");
    commit.incidents.emplace_back(
        std::string(reinterpret_cast<const char*>(in.id.bytes.data()), 16), encode_incident(in));
    const IncidentCommit* group[] = {&commit};
    ASSERT_TRUE(store.commit_incidents(group).has_value());
  }

  std::string verify_args() const {
    return "verify --data-dir " + data_ + " --checkpoint " + checkpoint_ + " --public-key " +
           keys_ + "/signer.pub";
  }

  // Flips one byte of the stored value of event `seq` of `id`.
  void damage_event(const IncidentId& id, uint64_t seq, size_t at) {
    auto s = Store::open(data_ + "/db", StoreOptions{});
    ASSERT_TRUE(s.has_value());
    rocksdb::DB* db = (*s)->db();
    rocksdb::ColumnFamilyHandle* f = (*s)->family("incident_events");
    std::string v;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), f, incident_event_key(id, seq), &v).ok());
    v[at] = static_cast<char>(v[at] ^ 0x40);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db->Put(wo, f, incident_event_key(id, seq), v).ok());
  }

  test::TempDir dir_;
  std::string data_, keys_, checkpoint_;
  Incident a_, b_, c_;
  std::map<uint64_t, std::string> sha_by_seq_;
};

TEST_F(KlaxonctlAudit, KeygenCheckpointVerifyThenDamageIsNamed) {
  std::string out, err;
  ASSERT_EQ(ctl(dir_, "keygen --out " + keys_ + "/signer", &out, &err), 0) << err;
  struct stat st {};
  ASSERT_EQ(::stat((keys_ + "/signer.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ctl(dir_, "keygen --out " + keys_ + "/signer", &out, &err), 2);
  EXPECT_NE(err.find("already exists"), std::string::npos) << err;

  // Checkpoint: refused inside the data directory, written outside.
  EXPECT_EQ(ctl(dir_,
                "checkpoint --data-dir " + data_ + " --key " + keys_ + "/signer.key --out " +
                    data_ + "/checkpoint.json",
                &out, &err),
            2);
  EXPECT_NE(err.find("inside the data directory"), std::string::npos) << err;
  ASSERT_EQ(
      ctl(dir_,
          "checkpoint --data-dir " + data_ + " --key " + keys_ + "/signer.key --out " + checkpoint_,
          &out, &err),
      0)
      << err;
  EXPECT_NE(out.find("checkpoint 1 written"), std::string::npos) << out;
  EXPECT_NE(out.find("3 incidents"), std::string::npos) << out;

  // Clean.
  ASSERT_EQ(ctl(dir_, verify_args(), &out, &err), 0) << out << err;
  EXPECT_NE(out.find("signature verified"), std::string::npos) << out;
  EXPECT_NE(out.find("OK"), std::string::npos) << out;
  ASSERT_EQ(ctl(dir_, verify_args() + " --json", &out, &err), 0) << out << err;
  {
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(out).get(doc)) << out;
    EXPECT_TRUE(bool(doc["ok"]));
    EXPECT_EQ(uint64_t(doc["incidents"]), 3u);
    EXPECT_TRUE(bool(doc["checkpoint"]["valid"]));
  }
  ASSERT_EQ(ctl(dir_, "verify --data-dir " + data_, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("no checkpoint given"), std::string::npos) << out;

  // Usage and I/O errors: 2.
  EXPECT_EQ(ctl(dir_, "verify", &out, &err), 2);
  EXPECT_EQ(ctl(dir_, "verify --data-dir " + data_ + " --checkpoint " + checkpoint_, &out, &err),
            2);
  EXPECT_EQ(ctl(dir_,
                "verify --data-dir " + data_ + " --checkpoint " + dir_.path() +
                    "/missing.json --public-key " + keys_ + "/signer.pub",
                &out, &err),
            2);
  EXPECT_NE(err.find("missing.json"), std::string::npos) << err;
  EXPECT_EQ(ctl(dir_, "verify --data-dir " + dir_.path() + "/nowhere", &out, &err), 2);
  std::filesystem::copy_file(keys_ + "/signer.pub", data_ + "/signer.pub");
  EXPECT_EQ(ctl(dir_,
                "verify --data-dir " + data_ + " --checkpoint " + checkpoint_ + " --public-key " +
                    data_ + "/signer.pub",
                &out, &err),
            2);
  EXPECT_NE(err.find("inside the data directory"), std::string::npos) << err;

  // Another key does not vouch for this checkpoint.
  ASSERT_EQ(ctl(dir_, "keygen --out " + keys_ + "/other", &out, &err), 0) << err;
  EXPECT_EQ(ctl(dir_,
                "verify --data-dir " + data_ + " --checkpoint " + checkpoint_ + " --public-key " +
                    keys_ + "/other.pub",
                &out, &err),
            1);
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;

  // A changed byte in the checkpoint file.
  {
    const std::string good = test::read_file(checkpoint_);
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x01);
    test::write_file(checkpoint_, bad);
    EXPECT_EQ(ctl(dir_, verify_args(), &out, &err), 1) << out << err;
    EXPECT_NE(out.find("PROBLEM"), std::string::npos) << out;
    test::write_file(checkpoint_, good);
  }

  // A changed byte in event 2 of incident A: exit 1, the incident and seq named.
  damage_event(a_.id, 2, 30);
  ASSERT_EQ(ctl(dir_, verify_args(), &out, &err), 1) << out << err;
  EXPECT_NE(out.find("BROKEN incident " + a_.id.to_string() + " seq 2"), std::string::npos) << out;
  EXPECT_EQ(out.find(b_.id.to_string()), std::string::npos) << out;
  EXPECT_EQ(out.find(c_.id.to_string()), std::string::npos) << out;
  ASSERT_EQ(ctl(dir_, verify_args() + " --json", &out, &err), 1);
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_FALSE(p.parse(out).get(doc)) << out;
  EXPECT_FALSE(bool(doc["ok"]));
  simdjson::dom::array breaks = doc["breaks"];
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(std::string_view(breaks.at(0)["incident"]), a_.id.to_string());
  EXPECT_EQ(uint64_t(breaks.at(0)["seq"]), 2u);
  // Without the checkpoint the chain alone still finds it.
  EXPECT_EQ(ctl(dir_, "verify --data-dir " + data_, &out, &err), 1);

  // A cut tail makes the next checkpoint fail (exit 1, naming the incident) instead of
  // overwriting the one that proves the cut.
  {
    auto s = Store::open(data_ + "/db", StoreOptions{});
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE((*s)->db()
                    ->Delete(rocksdb::WriteOptions(), (*s)->family("incident_events"),
                             incident_event_key(b_.id, b_.next_event_seq - 1))
                    .ok());
  }
  EXPECT_EQ(
      ctl(dir_,
          "checkpoint --data-dir " + data_ + " --key " + keys_ + "/signer.key --out " + checkpoint_,
          &out, &err),
      1);
  EXPECT_NE(err.find(b_.id.to_string()), std::string::npos) << err;
}

TEST_F(KlaxonctlAudit, IncidentsListShowAndExport) {
  std::string out, err;
  ASSERT_EQ(ctl(dir_, "incidents list --data-dir " + data_, &out, &err), 0) << err;
  EXPECT_EQ(lines_of(out).size(), 3u) << out;
  ASSERT_EQ(ctl(dir_, "incidents list --data-dir " + data_ + " --status acknowledged", &out), 0);
  ASSERT_EQ(lines_of(out).size(), 1u) << out;
  EXPECT_NE(out.find(b_.id.to_string()), std::string::npos);
  ASSERT_EQ(ctl(dir_, "incidents list --data-dir " + data_ + " --limit 2", &out), 0);
  EXPECT_EQ(lines_of(out).size(), 2u);
  EXPECT_EQ(ctl(dir_, "incidents list --data-dir " + data_ + " --status sleeping", &out), 2);
  EXPECT_EQ(ctl(dir_, "incidents frobnicate --data-dir " + data_, &out), 2);

  ASSERT_EQ(ctl(dir_, "incidents show " + b_.id.to_string() + " --data-dir " + data_, &out, &err),
            0)
      << err;
  const auto shown = lines_of(out);
  ASSERT_EQ(shown.size(), 1 + b_.next_event_seq) << out;
  simdjson::dom::parser p;
  for (const std::string& line : shown) {
    simdjson::dom::element e;
    EXPECT_FALSE(p.parse(line).get(e)) << line;
  }
  EXPECT_NE(shown[0].find("\"status\":\"acknowledged\""), std::string::npos) << shown[0];
  EXPECT_NE(shown[1].find("\"type\":\"created\""), std::string::npos) << shown[1];
  EXPECT_EQ(ctl(dir_, "incidents show 00000000-0000-4000-8000-000000000000 --data-dir " + data_,
                &out, &err),
            1);
  EXPECT_EQ(ctl(dir_, "incidents show not-a-uuid --data-dir " + data_, &out, &err), 2);

  // Export with the checkpoint: the incident, its timeline, the linked alerts with their
  // SHA-256, and the chain proof with the signed entry.
  ASSERT_EQ(ctl(dir_, "keygen --out " + keys_ + "/signer", &out, &err), 0) << err;
  ASSERT_EQ(
      ctl(dir_,
          "checkpoint --data-dir " + data_ + " --key " + keys_ + "/signer.key --out " + checkpoint_,
          &out, &err),
      0)
      << err;
  const std::string with_cp =
      " --checkpoint " + checkpoint_ + " --public-key " + keys_ + "/signer.pub";
  ASSERT_EQ(ctl(dir_, "export " + b_.id.to_string() + " --data-dir " + data_ + with_cp, &out, &err),
            0)
      << err;
  simdjson::dom::element doc;
  ASSERT_FALSE(p.parse(out).get(doc)) << out;
  EXPECT_EQ(std::string_view(doc["format"]), "klaxon.evidence.v1");
  EXPECT_EQ(std::string_view(doc["incident"]["id"]), b_.id.to_string());
  EXPECT_EQ(simdjson::dom::array(doc["timeline"]).size(), b_.next_event_seq);
  std::vector<uint64_t> seqs;
  for (simdjson::dom::element a : simdjson::dom::array(doc["alerts"])) {
    const uint64_t seq = uint64_t(a["seq"]);
    seqs.push_back(seq);
    EXPECT_EQ(std::string_view(a["sha256"]), sha_by_seq_[seq]) << seq;
    EXPECT_TRUE(bool(a["sha256_matches_raw"]));
    // The rendered alert carries the same hash (ECS event.hash).
    EXPECT_EQ(std::string_view(a["alert"]["event"]["hash"]), "sha256:" + sha_by_seq_[seq]);
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(simdjson::dom::array(doc["alerts_missing"]).size(), 0u);
  EXPECT_TRUE(bool(doc["chain"]["intact"]));
  EXPECT_EQ(simdjson::dom::array(doc["chain"]["links"]).size(), b_.next_event_seq);
  EXPECT_EQ(std::string_view(doc["chain"]["head"]), hash_hex(b_.head_hash));
  EXPECT_TRUE(bool(doc["chain"]["checkpoint"]["signature_verified"]));
  EXPECT_EQ(uint64_t(doc["chain"]["checkpoint"]["entry"]["events"]), b_.next_event_seq);
  EXPECT_EQ(std::string_view(doc["chain"]["checkpoint"]["signature"]).size(), 128u);

  // A linked alert that is not in the log is listed as missing (exit 0: the chain holds).
  ASSERT_EQ(ctl(dir_, "export " + c_.id.to_string() + " --data-dir " + data_, &out, &err), 0)
      << err;
  ASSERT_FALSE(p.parse(out).get(doc)) << out;
  simdjson::dom::array missing = doc["alerts_missing"];
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(uint64_t(missing.at(0)), 999u);
  EXPECT_EQ(simdjson::dom::array(doc["alerts"]).size(), 2u);
  EXPECT_NE(err.find("not in the alert log"), std::string::npos) << err;

  // --out writes the same bundle to a file.
  ASSERT_EQ(ctl(dir_,
                "export " + a_.id.to_string() + " --data-dir " + data_ + " --out " + dir_.path() +
                    "/a.json",
                &out, &err),
            0)
      << err;
  ASSERT_FALSE(p.parse(test::read_file(dir_.path() + "/a.json")).get(doc));
  EXPECT_EQ(simdjson::dom::array(doc["alerts"]).size(), 4u);

  // A damaged chain still exports (it is evidence), with exit 1 and the break in the proof.
  damage_event(a_.id, 1, 12);
  ASSERT_EQ(ctl(dir_, "export " + a_.id.to_string() + " --data-dir " + data_ + with_cp, &out, &err),
            1);
  ASSERT_FALSE(p.parse(out).get(doc)) << out;
  EXPECT_FALSE(bool(doc["chain"]["intact"]));
  EXPECT_EQ(uint64_t(doc["chain"]["first_break"]["seq"]), 1u);
  EXPECT_EQ(ctl(dir_, "export 00000000-0000-4000-8000-000000000000 --data-dir " + data_, &out), 1);
}

}  // namespace
}  // namespace klaxon
