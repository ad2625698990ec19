// Silences: validation, states over time, expiry, garbage collection, ids, JSON round trips.
#include "pipeline/notify/silence.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace klaxon::notify {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

Labels labels(std::initializer_list<std::pair<const char*, const char*>> l) {
  Labels out;
  for (const auto& [k, v] : l) out.emplace_back(k, v);
  std::sort(out.begin(), out.end());
  return out;
}

Silence silence(const char* matchers, int64_t starts, int64_t ends) {
  Silence s;
  auto ms = parse_matchers(matchers);
  EXPECT_TRUE(ms.has_value()) << matchers;
  if (ms) s.matchers = *ms;
  s.starts_ns = starts;
  s.ends_ns = ends;
  s.created_by = "alice";
  s.comment = "maintenance window \"db\"";
  return s;
}

TEST(NotifySilence, UuidV4) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto id = new_silence_id();
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(std::regex_match(*id, uuid)) << *id;
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(NotifySilence, AddValidatesAndStampsTimes) {
  SilenceSet set;
  auto id = set.add(silence("host=\"db-1\"", kT0 - 10 * kSec, kT0 + 60 * kSec), kT0);
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  const Silence* s = set.get(*id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->starts_ns, kT0);   // a start in the past becomes now
  EXPECT_EQ(s->created_ns, kT0);  // created now
  EXPECT_EQ(set.size(), 1u);

  EXPECT_FALSE(set.add(Silence{}, kT0).has_value());  // no matchers
  auto all = set.add(silence("host=~\".*\"", kT0, kT0 + kSec), kT0);
  ASSERT_FALSE(all.has_value());
  EXPECT_NE(all.error().message.find("empty string"), std::string::npos);
  EXPECT_FALSE(set.add(silence("a=\"b\"", kT0 - 2 * kSec, kT0 - kSec), kT0).has_value());
  EXPECT_FALSE(set.add(silence("a=\"b\"", kT0 + 2 * kSec, kT0 + kSec), kT0).has_value());
  EXPECT_EQ(set.size(), 1u);

  // Same id again: an edit, not a second silence.
  Silence edit = *s;
  edit.comment = "longer";
  edit.ends_ns = kT0 + 120 * kSec;
  ASSERT_TRUE(set.add(edit, kT0 + kSec).has_value());
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(set.get(*id)->comment, "longer");
}

TEST(NotifySilence, StatesMatchingAndExpire) {
  SilenceSet set;
  auto active = set.add(silence("host=\"db-1\"", kT0, kT0 + 60 * kSec), kT0);
  auto pending = set.add(silence("host=~\"web-.*\"", kT0 + 30 * kSec, kT0 + 60 * kSec), kT0);
  ASSERT_TRUE(active && pending);
  const Labels db = labels({{"host", "db-1"}});
  const Labels web = labels({{"host", "web-7"}});
  ASSERT_NE(set.active_match(db, kT0), nullptr);
  EXPECT_EQ(set.active_match(db, kT0)->id, *active);
  EXPECT_EQ(set.active_match(web, kT0), nullptr);  // pending
  EXPECT_EQ(silence_state(*set.get(*pending), kT0), SilenceState::kPending);
  EXPECT_NE(set.active_match(web, kT0 + 30 * kSec), nullptr);
  EXPECT_EQ(set.active_match(db, kT0 + 60 * kSec), nullptr);  // [start, end)

  const uint64_t gen = set.generation();
  ASSERT_TRUE(set.expire(*active, kT0 + 10 * kSec).has_value());
  EXPECT_GT(set.generation(), gen);
  EXPECT_EQ(set.active_match(db, kT0 + 10 * kSec), nullptr);
  EXPECT_EQ(set.get(*active)->ends_ns, kT0 + 10 * kSec);
  ASSERT_TRUE(set.expire(*pending, kT0 + 10 * kSec).has_value());
  EXPECT_EQ(set.get(*pending)->starts_ns, kT0 + 10 * kSec);
  EXPECT_EQ(set.get(*pending)->ends_ns, kT0 + 10 * kSec);
  EXPECT_EQ(silence_state(*set.get(*pending), kT0 + 40 * kSec), SilenceState::kExpired);

  auto again = set.expire(*active, kT0 + 20 * kSec);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message.find("already expired"), std::string::npos);
  EXPECT_EQ(set.expire("no-such-id", kT0).error().code, ErrorCode::kNotFound);

  EXPECT_EQ(set.gc(kT0 + 20 * kSec, 60 * kSec), 0u);
  EXPECT_EQ(set.gc(kT0 + 100 * kSec, 60 * kSec), 2u);
  EXPECT_EQ(set.size(), 0u);
}

TEST(NotifySilence, JsonRoundTrip) {
  SilenceSet set;
  auto a = set.add(silence("{host=\"db-1\", rule=~\"ssh_.*\", env!=\"dev\", team!~\"x|y\"}",
                           kT0 + 123456789, kT0 + 3600 * kSec),
                   kT0);
  ASSERT_TRUE(a.has_value());
  const Silence& s = *set.get(*a);
  const std::string json = silence_to_json(s);
  EXPECT_NE(json.find("\"isRegex\":true"), std::string::npos);
  EXPECT_NE(json.find("\"startsAt\":\"2023-11-14T22:13:20.123456789Z\""), std::string::npos);
  auto back = silence_from_json(json);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->matchers, s.matchers);
  EXPECT_EQ(back->starts_ns, s.starts_ns);
  EXPECT_EQ(back->ends_ns, s.ends_ns);
  EXPECT_EQ(back->created_ns, s.created_ns);
  EXPECT_EQ(back->created_by, "alice");
  EXPECT_EQ(back->comment, s.comment);
  EXPECT_NE(silence_to_json(s, kT0 + 3600 * kSec).find("\"state\":\"expired\""), std::string::npos);

  ASSERT_TRUE(set.add(silence("a=\"1\"", kT0, kT0 + kSec), kT0).has_value());
  auto copy = SilenceSet::from_json(set.to_json());
  ASSERT_TRUE(copy.has_value()) << copy.error().to_string();
  ASSERT_EQ(copy->size(), 2u);
  EXPECT_EQ(copy->to_json(), set.to_json());

  EXPECT_FALSE(silence_from_json("{").has_value());
  EXPECT_FALSE(silence_from_json(R"({"id":"x","matchers":[],"startsAt":"x"})").has_value());
  auto bad_time = silence_from_json(
      R"({"id":"x","matchers":[{"name":"a","value":"b"}],"startsAt":"yesterday","endsAt":"2030-01-01T00:00:00Z"})");
  ASSERT_FALSE(bad_time.has_value());
  EXPECT_NE(bad_time.error().message.find("startsAt"), std::string::npos);
  EXPECT_FALSE(SilenceSet::from_json(R"([{"id":"x","matchers":[{"name":"a","value":""}],
      "startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z"}])")
                   .has_value());  // matches everything
}

}  // namespace
}  // namespace klaxon::notify
