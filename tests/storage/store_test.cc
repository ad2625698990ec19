#include "storage/store.h"

#include "pipeline/core/block.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace klaxon {
namespace {

std::unique_ptr<EncodedBlock> make_block(int first, int n) {
  BlockBuilder b(1);
  for (int i = 0; i < n; ++i) {
    b.begin_record().append("{\"n\":" + std::to_string(first + i) + "}");
    b.end_record();
  }
  auto block = std::make_unique<EncodedBlock>();
  b.finish(*block);
  return block;
}

std::vector<std::pair<uint64_t, std::string>> all_alerts(const Store& s, uint64_t from = 0) {
  std::vector<std::pair<uint64_t, std::string>> out;
  EXPECT_TRUE(s.for_each_alert(from, [&](uint64_t seq, std::string_view j) {
                 out.emplace_back(seq, std::string(j));
                 return true;
               }).has_value());
  return out;
}

TEST(Store, SequencesContinueAcrossReopenAndPointReadsFindTheBlock) {
  test::TempDir dir;
  {
    auto s = Store::open(dir.path() + "/db", StoreOptions{});
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_EQ((*s)->next_sequence(), 1u);
    auto a = make_block(0, 3), b = make_block(3, 2);
    const EncodedBlock* group[] = {a.get(), b.get()};
    auto first = (*s)->commit(group);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ((*s)->next_sequence(), 6u);
  }
  auto s = Store::open(dir.path() + "/db", StoreOptions{});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)->next_sequence(), 6u);
  auto c = make_block(5, 1);
  const EncodedBlock* group[] = {c.get()};
  ASSERT_TRUE((*s)->commit(group).has_value());
  const auto alerts = all_alerts(**s);
  ASSERT_EQ(alerts.size(), 6u);
  for (size_t i = 0; i < alerts.size(); ++i) {
    EXPECT_EQ(alerts[i].first, i + 1);
    EXPECT_EQ(alerts[i].second, "{\"n\":" + std::to_string(i) + "}");
  }
  // From the middle of a block.
  const auto tail = all_alerts(**s, 3);
  ASSERT_EQ(tail.size(), 4u);
  EXPECT_EQ(tail.front().first, 3u);
}

TEST(Store, DeadLettersKeepReasonAndExactBytes) {
  test::TempDir dir;
  auto s = Store::open(dir.path() + "/db", StoreOptions{});
  ASSERT_TRUE(s.has_value());
  EncodedBlock block;
  Rejection r;
  r.reason = RejectReason::kFraming;
  r.detail = "octet count";
  r.sample = std::string("\xff\x00zz", 4);
  r.size = 4;
  r.peer = "127.0.0.1:1";
  block.rejected.push_back(r);
  const EncodedBlock* group[] = {&block};
  ASSERT_TRUE((*s)->commit(group).has_value());
  std::vector<std::string> dead;
  ASSERT_TRUE((*s)->for_each_dead_letter([&](uint64_t, std::string_view j) {
                    dead.emplace_back(j);
                    return true;
                  })
                  .has_value());
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].find("\"reason\":\"framing\""), std::string::npos);
  EXPECT_NE(dead[0].find("\"sample_base64\":\"/wB6eg==\""), std::string::npos) << dead[0];
  EXPECT_EQ((*s)->next_sequence(), 1u);  // no alerts were added
}

TEST(Store, ReadOnlyOpenWorksWhileAWriterHoldsTheDatabase) {
  test::TempDir dir;
  auto w = Store::open(dir.path() + "/db", StoreOptions{});
  ASSERT_TRUE(w.has_value());
  auto a = make_block(0, 2);
  const EncodedBlock* group[] = {a.get()};
  ASSERT_TRUE((*w)->commit(group).has_value());
  StoreOptions ro;
  ro.read_only = true;
  auto r = Store::open(dir.path() + "/db", ro);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(all_alerts(**r).size(), 2u);
}

TEST(Store, OpeningSomethingElseFailsWithAMessage) {
  test::TempDir dir;
  test::write_file(dir.path() + "/not-a-db", "x");
  StoreOptions ro;
  ro.read_only = true;
  auto r = Store::open(dir.path() + "/missing", ro);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace klaxon
