// Fingerprint (field encoding, defaults, config names) and DedupeTable (window semantics,
// expiry by time with bounded work, capacity eviction, growth, memory per entry, and a
// randomized comparison with a std::unordered_map model).
#include "pipeline/stages/dedupe.h"

#include "pipeline/stages/fingerprint.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace klaxon {
namespace {

// ---------------------------------------------------------------------------------------------
// Fingerprint

// An independent implementation of the encoding documented in fingerprint.h.
void ref_text(std::string& out, FingerprintField f, std::string_view v) {
  out += static_cast<char>(static_cast<int>(f) + 1);
  if (v.data() == nullptr) {
    out += '\0';
    return;
  }
  out += '\1';
  const auto n = static_cast<uint32_t>(v.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += v;
}

Fingerprint ref_hash(const std::string& bytes, uint64_t seed = 0) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed);
  return Fingerprint{h.low64, h.high64};
}

Alert sample_alert() {
  Alert a;
  a.event_module = "suricata";
  a.rule_id = "2001219";
  a.rule_name = "ET SCAN Potential SSH Scan";
  a.host_name = "sensor01";
  a.source_ip = "198.51.100.7";
  a.destination_ip = "192.0.2.10";
  a.destination_port = 22;
  a.user_name = "root";
  a.message = "SSH scan";
  return a;
}

FingerprintKey key_of(std::vector<std::string> names, uint64_t seed = 0) {
  Result<FingerprintKey> k = FingerprintKey::parse(names, seed);
  EXPECT_TRUE(k.has_value()) << k.error().to_string();
  return *k;
}

TEST(Fingerprint, FieldNamesRoundTrip) {
  for (int i = 0; i < kFingerprintFieldCount; ++i) {
    const auto f = static_cast<FingerprintField>(i);
    Result<FingerprintField> parsed = parse_fingerprint_field(fingerprint_field_name(f));
    ASSERT_TRUE(parsed.has_value()) << fingerprint_field_name(f);
    EXPECT_EQ(*parsed, f);
  }
  Result<FingerprintField> bad = parse_fingerprint_field("source.product");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("'source.product'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("event.module"), std::string::npos);  // lists valid names
}

TEST(Fingerprint, KeyParseRejectsEmptyUnknownAndRepeatedNames) {
  EXPECT_FALSE(FingerprintKey::parse({}).has_value());
  EXPECT_FALSE(FingerprintKey::parse({"rule.id", "host"}).has_value());
  Result<FingerprintKey> twice = FingerprintKey::parse({"rule.id", "host.name", "rule.id"});
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message.find("listed twice"), std::string::npos);
}

TEST(Fingerprint, DefaultKeyIsProductRuleHostSourceDestinationUser) {
  const std::vector<FingerprintField> expected{
      FingerprintField::kEventModule,   FingerprintField::kRuleId,
      FingerprintField::kHostName,      FingerprintField::kSourceIp,
      FingerprintField::kDestinationIp, FingerprintField::kUserName};
  EXPECT_EQ(FingerprintKey().fields(), expected);
  EXPECT_EQ(FingerprintKey::default_fields(), expected);
  const FingerprintKey parsed =
      key_of({"event.module", "rule.id", "host.name", "source.ip", "destination.ip", "user.name"});
  EXPECT_EQ(parsed.compute(sample_alert()), FingerprintKey().compute(sample_alert()));

  // Fields outside the key do not matter; each field inside it does.
  const FingerprintKey k;
  const Fingerprint base = k.compute(sample_alert());
  Alert a = sample_alert();
  a.message = "something else";
  a.rule_name = "another name";
  a.destination_port = 2222;
  a.timestamp_ns = 12345;
  EXPECT_EQ(k.compute(a), base);
  for (int i = 0; i < 6; ++i) {
    Alert b = sample_alert();
    std::string_view* fields[] = {&b.event_module, &b.rule_id,        &b.host_name,
                                  &b.source_ip,    &b.destination_ip, &b.user_name};
    *fields[i] = "changed";
    EXPECT_NE(k.compute(b), base) << "default field " << i;
  }
}

TEST(Fingerprint, FieldBoundariesAndFieldIdentityAreKept) {
  const FingerprintKey k = key_of({"rule.id", "rule.name"});
  Alert a, b;
  a.rule_id = "ab";
  a.rule_name = "c";
  b.rule_id = "a";
  b.rule_name = "bc";
  EXPECT_NE(k.compute(a), k.compute(b));

  // The same text in another field is another key.
  Alert c, d;
  c.rule_id = "x";
  d.rule_name = "x";
  EXPECT_NE(k.compute(c), k.compute(d));

  // The order of the configured fields is part of the key (tags in another order).
  const FingerprintKey swapped = key_of({"rule.name", "rule.id"});
  EXPECT_NE(k.compute(a), swapped.compute(a));
}

TEST(Fingerprint, AbsentIsNotEmpty) {
  const FingerprintKey k = key_of({"user.name", "destination.port"});
  Alert absent;
  Alert empty;
  empty.user_name = "";
  EXPECT_NE(k.compute(absent), k.compute(empty));
  Alert port0;
  port0.destination_port = 0;
  EXPECT_NE(k.compute(absent), k.compute(port0));
  // The syslog parser's NILVALUE "-" leaves a default view: the same as absent.
  Alert nil;
  nil.user_name = std::string_view();
  EXPECT_EQ(k.compute(absent), k.compute(nil));
}

TEST(Fingerprint, ProductAndHostFallBack) {
  const FingerprintKey k;
  Alert module = sample_alert();
  module.event_module = "Suricata";
  Alert product = sample_alert();
  product.event_module = std::string_view();
  product.observer_product = "Suricata";
  EXPECT_EQ(k.compute(module), k.compute(product));

  Alert host = sample_alert();
  host.host_name = "web01";
  Alert syslog_host = sample_alert();
  syslog_host.host_name = std::string_view();
  syslog_host.syslog.hostname = "web01";
  EXPECT_EQ(k.compute(host), k.compute(syslog_host));
  // The fallbacks themselves are separate fields when named.
  const FingerprintKey exact = key_of({"host.name", "log.syslog.hostname"});
  EXPECT_NE(exact.compute(host), exact.compute(syslog_host));

  // Neither present: a present "" still differs from absent.
  Alert none = sample_alert();
  none.host_name = std::string_view();
  Alert blank = sample_alert();
  blank.host_name = "";
  EXPECT_NE(k.compute(none), k.compute(blank));
}

TEST(Fingerprint, MatchesTheDocumentedEncodingIncludingLongKeys) {
  Alert a = sample_alert();
  const std::string long_message(5000, 'm');  // forces the streaming path (> 1 KiB)
  a.message = long_message;
  const FingerprintKey k = key_of({"rule.id", "user.name", "message"}, 7);
  std::string bytes;
  ref_text(bytes, FingerprintField::kRuleId, a.rule_id);
  ref_text(bytes, FingerprintField::kUserName, a.user_name);
  ref_text(bytes, FingerprintField::kMessage, a.message);
  EXPECT_EQ(k.compute(a), ref_hash(bytes, 7));

  // Short, with a port and an absent field.
  const FingerprintKey k2 = key_of({"destination.port", "rule.category"});
  std::string b2;
  b2 += static_cast<char>(static_cast<int>(FingerprintField::kDestinationPort) + 1);
  b2 += std::string("\1\4\0\0\0\x16\0\0\0", 9);  // present, length 4, 22 LE
  b2 += static_cast<char>(static_cast<int>(FingerprintField::kRuleCategory) + 1);
  b2 += '\0';
  EXPECT_EQ(k2.compute(a), ref_hash(b2));

  // Crossing the stack buffer's end inside a field gives the same hash as one shot.
  for (size_t n : {1010, 1017, 1018, 1019, 1024, 1030}) {
    const std::string msg(n, 'q');
    Alert c;
    c.message = msg;
    std::string bytes3;
    ref_text(bytes3, FingerprintField::kMessage, c.message);
    EXPECT_EQ(key_of({"message"}).compute(c), ref_hash(bytes3)) << n;
  }
}

TEST(Fingerprint, SeedAndHex) {
  const Alert a = sample_alert();
  const FingerprintKey k0 = key_of({"rule.id"});
  const FingerprintKey k1 = key_of({"rule.id"}, 1);
  EXPECT_NE(k0.compute(a), k1.compute(a));
  EXPECT_EQ(to_hex(Fingerprint{0x0123456789abcdefULL, 0xfedcba9876543210ULL}),
            "fedcba98765432100123456789abcdef");
  // Pinned: a change here changes every stored fingerprint (a format change).
  EXPECT_EQ(to_hex(FingerprintKey().compute(a)), "b1fbedbcf813720f9a9887acd3c368b4");
  EXPECT_EQ(to_hex(FingerprintKey().compute(Alert{})), "53de70a4f0424c09efc295e25a72fada");
  // The same through the documented encoding.
  std::string bytes;
  ref_text(bytes, FingerprintField::kEventModule, a.event_module);
  ref_text(bytes, FingerprintField::kRuleId, a.rule_id);
  ref_text(bytes, FingerprintField::kHostName, a.host_name);
  ref_text(bytes, FingerprintField::kSourceIp, a.source_ip);
  ref_text(bytes, FingerprintField::kDestinationIp, a.destination_ip);
  ref_text(bytes, FingerprintField::kUserName, a.user_name);
  EXPECT_EQ(to_hex(ref_hash(bytes)), "b1fbedbcf813720f9a9887acd3c368b4");
}

// ---------------------------------------------------------------------------------------------
// DedupeTable

constexpr int64_t kSec = 1'000'000'000;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Fingerprint fp(uint64_t i) { return Fingerprint{mix(i), mix(i ^ 0x5555555555555555ULL)}; }

DedupeOptions opts(int64_t window_ns, size_t max_entries = 1'000'000, size_t initial = 1024) {
  DedupeOptions o;
  o.window_ns = window_ns;
  o.max_entries = max_entries;
  o.initial_capacity = initial;
  return o;
}

TEST(DedupeOptions, ValidateNamesTheKey) {
  EXPECT_TRUE(opts(kSec).validate().has_value());
  for (int64_t w : {int64_t{0}, int64_t{-1}, DedupeOptions::kMaxWindowNs + 1}) {
    Status s = opts(w).validate();
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("dedupe.window"), std::string::npos);
  }
  Status s = opts(kSec, 0).validate();
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("dedupe.max_entries"), std::string::npos);
}

TEST(DedupeTable, CountsDuplicatesAndKeepsTheFirstAlert) {
  DedupeTable t(opts(300 * kSec));
  const int64_t t0 = 1'779'271'262 * kSec;
  DedupeResult r = t.observe(fp(1), t0, 100);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.first_seq, 100u);
  EXPECT_EQ(r.first_seen_ns, t0);
  for (uint32_t i = 2; i <= 5; ++i) {
    r = t.observe(fp(1), t0 + i * kSec, 100 + i);
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.count, i);
    EXPECT_EQ(r.first_seq, 100u);
    EXPECT_EQ(r.first_seen_ns, t0);
    EXPECT_EQ(r.last_seen_ns, t0 + i * kSec);
  }
  EXPECT_FALSE(t.observe(fp(2), t0, 200).duplicate);  // another key
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.stats().observed, 6u);
  EXPECT_EQ(t.stats().duplicates, 4u);
}

TEST(DedupeTable, WindowEdgesAreInclusiveAndANewEpisodeRestarts) {
  const int64_t w = 60 * kSec;
  DedupeTable t(opts(w));
  ASSERT_FALSE(t.observe(fp(1), 0, 1).duplicate);
  EXPECT_TRUE(t.observe(fp(1), w, 2).duplicate);          // exactly last_seen + window
  const DedupeResult r = t.observe(fp(1), 2 * w + 1, 3);  // one ns beyond
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.first_seq, 3u);
  EXPECT_EQ(r.first_seen_ns, 2 * w + 1);
  EXPECT_EQ(t.size(), 1u);  // the entry restarted; no second entry
  EXPECT_EQ(t.find(fp(1))->first_seq, 3u);
}

TEST(DedupeTable, WindowSlidesWithLastSeen) {
  const int64_t w = 60 * kSec;
  DedupeTable t(opts(w));
  ASSERT_FALSE(t.observe(fp(1), 0, 0).duplicate);
  // Every 50 s for an hour: always within the window of the previous one.
  for (int i = 1; i <= 72; ++i) {
    const DedupeResult r = t.observe(fp(1), i * 50 * kSec, i);
    ASSERT_TRUE(r.duplicate) << i;
    EXPECT_EQ(r.first_seq, 0u);
  }
  EXPECT_EQ(t.find(fp(1))->count, 73u);
}

TEST(DedupeTable, LateAlertsJoinTheirEpisodeStaleOnesAreNotTracked) {
  const int64_t w = 60 * kSec;
  DedupeTable t(opts(w));
  const int64_t t0 = 1000 * kSec;
  ASSERT_FALSE(t.observe(fp(1), t0, 1).duplicate);
  ASSERT_TRUE(t.observe(fp(1), t0 + 50 * kSec, 2).duplicate);
  ASSERT_TRUE(t.observe(fp(1), t0 + 100 * kSec, 3).duplicate);  // span [t0, t0 + 100 s]
  // Late but inside the span: duplicate; the span is unchanged.
  DedupeResult r = t.observe(fp(1), t0 + 75 * kSec, 4);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(r.first_seen_ns, t0);
  EXPECT_EQ(r.last_seen_ns, t0 + 100 * kSec);
  // Before first_seen, within the window: duplicate, first_seen moves back, first_seq stays.
  r = t.observe(fp(1), t0 - w, 5);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.first_seen_ns, t0 - w);
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.count, 5u);
  // Older than that by more than the window: stale, reported as new, the episode is kept.
  r = t.observe(fp(1), t0 - 2 * w - 1, 6);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.first_seq, 6u);
  EXPECT_EQ(t.stats().stale, 1u);
  const auto e = t.find(fp(1));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->count, 5u);
  EXPECT_EQ(e->first_seq, 1u);
  EXPECT_EQ(e->first_seen_ns, t0 - w);
}

TEST(DedupeTable, ExpiresByTime) {
  const int64_t w = 64 * kSec;  // tick = 1 s
  DedupeTable t(opts(w));
  ASSERT_EQ(t.tick_ns(), kSec);
  for (uint64_t i = 0; i < 100; ++i) {
    (void)t.observe(fp(i), static_cast<int64_t>(i) * kSec, i);  // expires at (i + 64) s
  }
  // now = 100 s: entries with expiry < 100 s, i.e. i < 36, go.
  EXPECT_EQ(t.evict_expired(100 * kSec, 1'000'000), 36u);
  EXPECT_TRUE(t.expiry_caught_up());
  EXPECT_EQ(t.size(), 64u);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(t.find(fp(i)).has_value(), i >= 36) << i;
  // Everything goes eventually; an evicted key starts a new episode.
  EXPECT_EQ(t.evict_expired(1000 * kSec, 1'000'000), 64u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.stats().evicted_expired, 100u);
  EXPECT_FALSE(t.observe(fp(5), 1000 * kSec, 7).duplicate);
}

TEST(DedupeTable, RefreshedEntriesOutliveTheirFirstExpiry) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w));
  (void)t.observe(fp(1), 0, 0);
  (void)t.observe(fp(2), 0, 0);
  ASSERT_TRUE(t.observe(fp(1), 50 * kSec, 1).duplicate);  // fp(1) now expires at 114 s
  EXPECT_EQ(t.evict_expired(100 * kSec, 1'000'000), 1u);
  EXPECT_TRUE(t.find(fp(1)).has_value());
  EXPECT_FALSE(t.find(fp(2)).has_value());
  EXPECT_EQ(t.evict_expired(120 * kSec, 1'000'000), 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(DedupeTable, ExpiryWorkIsBoundedPerCall) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w));
  constexpr uint64_t kN = 100'000;
  for (uint64_t i = 0; i < kN; ++i) (void)t.observe(fp(i), 0, i);  // all expire at 64 s
  size_t calls = 0, total = 0;
  const uint64_t work_before = t.stats().evict_work;
  for (;;) {
    const size_t n = t.evict_expired(100 * kSec, 1000);
    EXPECT_LE(n, 1000u);
    total += n;
    ++calls;
    if (t.expiry_caught_up()) break;
    ASSERT_LT(calls, 1000u);
  }
  EXPECT_EQ(total, kN);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_GE(calls, kN / 1000);
  // One unit per entry plus one per tick passed (at most 100 s of ticks plus the wheel's span
  // before the first expiry): no rescans.
  EXPECT_LE(t.stats().evict_work - work_before, kN + 100 + DedupeTable::kWheelBuckets);
}

TEST(DedupeTable, ExpiryDoesNotLookAtEntriesThatAreNotDue) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w));
  for (uint64_t i = 0; i < 100'000; ++i) (void)t.observe(fp(i), 0, i);  // due at 64 s
  const uint64_t before = t.stats().evict_work;
  for (int s = 1; s <= 60; ++s) EXPECT_EQ(t.evict_expired(s * kSec), 0u);
  // One unit per empty tick passed (the first call starts a wheel's span before 64 s, where
  // the table filed its first entry): the 100,000 entries were never visited.
  const uint64_t passing = t.stats().evict_work - before;
  EXPECT_LE(passing, 60u + DedupeTable::kWheelBuckets);
  // A long pause costs at most one revolution of the wheel plus the entries.
  EXPECT_EQ(t.evict_expired(1'000'000 * kSec, 1'000'000), 100'000u);
  EXPECT_LE(t.stats().evict_work - before, passing + 100'000u + DedupeTable::kWheelBuckets);
}

TEST(DedupeTable, FutureFirstAlertDoesNotBlockExpiry) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w));
  (void)t.observe(fp(0), 1'000'000 * kSec, 0);  // a sender with its clock far ahead
  for (uint64_t i = 1; i <= 10; ++i) (void)t.observe(fp(i), 0, i);
  (void)t.evict_expired(0);                     // brings the cursor back to now
  EXPECT_EQ(t.evict_expired(300 * kSec), 10u);  // the ten ordinary ones expire
  EXPECT_TRUE(t.find(fp(0)).has_value());
}

TEST(DedupeTable, MaxEntriesEvictsTheEntryClosestToExpiry) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w, 4));
  for (uint64_t i = 0; i < 4; ++i) (void)t.observe(fp(i), static_cast<int64_t>(i) * 10 * kSec, i);
  ASSERT_TRUE(t.observe(fp(0), 35 * kSec, 10).duplicate);  // refreshed: expires after fp(3)
  EXPECT_FALSE(t.observe(fp(4), 40 * kSec, 4).duplicate);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.stats().evicted_capacity, 1u);
  EXPECT_FALSE(t.find(fp(1)).has_value());  // expiry 74 s: the closest
  for (uint64_t i : {0, 2, 3, 4}) EXPECT_TRUE(t.find(fp(i)).has_value()) << i;
  EXPECT_FALSE(t.observe(fp(5), 41 * kSec, 5).duplicate);
  EXPECT_FALSE(t.find(fp(2)).has_value());  // expiry 84 s
  // An evicted key is new again: dedupe is lost for it, which the counter makes visible.
  EXPECT_FALSE(t.observe(fp(1), 42 * kSec, 6).duplicate);
  EXPECT_EQ(t.stats().evicted_capacity, 3u);
  EXPECT_EQ(t.size(), 4u);
}

TEST(DedupeTable, GrowthKeepsEveryEntry) {
  DedupeTable t(opts(3600 * kSec, 1'000'000, 1));
  constexpr uint64_t kN = 200'000;
  for (uint64_t i = 0; i < kN; ++i) ASSERT_FALSE(t.observe(fp(i), 0, i).duplicate);
  EXPECT_GT(t.stats().grows, 10u);
  EXPECT_EQ(t.size(), kN);
  EXPECT_LE(t.size() * 8, t.index_slots() * 7);
  for (uint64_t i = 0; i < kN; ++i) {
    const DedupeResult r = t.observe(fp(i), kSec, kN + i);
    ASSERT_TRUE(r.duplicate) << i;
    ASSERT_EQ(r.first_seq, i);
    ASSERT_EQ(r.count, 2u);
  }
}

TEST(DedupeTable, EvictedEntriesAreReusedSoMemoryStaysFlat) {
  const int64_t w = 64 * kSec;
  DedupeTable t(opts(w, 1'000'000, 20'000));
  for (uint64_t i = 0; i < 10'000; ++i) (void)t.observe(fp(i), 0, i);
  const size_t high_water = t.memory_bytes();
  // Ten rounds: everything expires, ten thousand new keys take the freed entries.
  for (uint64_t round = 1; round <= 10; ++round) {
    const int64_t now = static_cast<int64_t>(round) * 1000 * kSec;
    EXPECT_EQ(t.evict_expired(now, 1'000'000), 10'000u);
    for (uint64_t i = 0; i < 10'000; ++i) {
      ASSERT_FALSE(t.observe(fp(round * 10'000 + i), now, i).duplicate);
    }
    EXPECT_EQ(t.memory_bytes(), high_water) << round;
  }
  EXPECT_EQ(t.size(), 10'000u);
  EXPECT_EQ(t.stats().grows, 0u);
}

TEST(DedupeTable, KeysSharingTheirIndexTagStayApart) {
  // Same `hi` (same tag, same home slot), different `lo`: only the full compare tells them
  // apart, across growth and deletions.
  DedupeTable t(opts(64 * kSec, 100'000, 1));
  auto same_hi = [](uint64_t i) { return Fingerprint{mix(i), 0xabcdef0123456789ULL}; };
  for (uint64_t i = 0; i < 2000; ++i) {
    (void)t.observe(same_hi(i), static_cast<int64_t>(i % 2) * 100 * kSec, i);
  }
  EXPECT_EQ(t.size(), 2000u);
  EXPECT_EQ(t.evict_expired(150 * kSec, 1'000'000), 1000u);  // the even ones
  for (uint64_t i = 0; i < 2000; ++i) {
    const auto e = t.find(same_hi(i));
    ASSERT_EQ(e.has_value(), i % 2 == 1) << i;
    if (e) {
      EXPECT_EQ(e->first_seq, i);
    }
  }
}

// The model: the rules in dedupe.h, written plainly over a std::unordered_map that never
// evicts (eviction must not change any verdict for alerts at or after the watermark).
struct Ref {
  int64_t first = 0, last = 0;
  uint32_t count = 0;
  uint64_t first_seq = 0;
};

DedupeResult model_observe(std::unordered_map<Fingerprint, Ref, FingerprintHash>& m,
                           const Fingerprint& f, int64_t t, uint64_t seq, int64_t w) {
  auto it = m.find(f);
  if (it == m.end()) {
    m[f] = Ref{t, t, 1, seq};
    return DedupeResult{false, 1, seq, t, t};
  }
  Ref& r = it->second;
  if (t >= r.first - w && t <= r.last + w) {
    ++r.count;
    r.first = std::min(r.first, t);
    r.last = std::max(r.last, t);
    return DedupeResult{true, r.count, r.first_seq, r.first, r.last};
  }
  if (t > r.last) r = Ref{t, t, 1, seq};
  return DedupeResult{false, 1, seq, t, t};
}

TEST(DedupeTable, RandomizedAgainstAReferenceModel) {
  const int64_t w = 64'000;  // ns; tick = 1000 ns
  DedupeTable t(opts(w, 1'000'000, 16));
  std::unordered_map<Fingerprint, Ref, FingerprintHash> model;
  std::mt19937_64 rng(20261123);
  constexpr uint64_t kKeys = 3000;
  auto key = [](uint64_t i) {
    // The first 800 keys come in groups of four sharing `hi`.
    return i < 800 ? Fingerprint{mix(i), mix(i / 4 + 1'000'000)} : fp(i);
  };
  const int64_t lateness = 5 * w / 2;
  int64_t clock = 0;
  size_t checks = 0;
  for (uint64_t op = 0; op < 100'000; ++op) {
    clock += static_cast<int64_t>(rng() % 60);
    const int64_t watermark = clock - lateness;
    // Hot keys repeat often, the rest rarely; event times up to `lateness` late.
    const uint64_t k = rng() % 4 == 0 ? rng() % kKeys : rng() % 50;
    const int64_t ev = clock - static_cast<int64_t>(rng() % static_cast<uint64_t>(lateness));
    t.prefetch(key(k));  // a hint: must change nothing
    const DedupeResult got = t.observe(key(k), ev, op);
    const DedupeResult want = model_observe(model, key(k), ev, op, w);
    ASSERT_EQ(got.duplicate, want.duplicate) << "op " << op;
    ASSERT_EQ(got.count, want.count) << "op " << op;
    ASSERT_EQ(got.first_seq, want.first_seq) << "op " << op;
    ASSERT_EQ(got.first_seen_ns, want.first_seen_ns) << "op " << op;
    ASSERT_EQ(got.last_seen_ns, want.last_seen_ns) << "op " << op;

    if (op % 64 == 63) {
      // Sometimes a small budget (the rest is done by later calls), sometimes all of it.
      const bool full = rng() % 4 == 0;
      (void)t.evict_expired(watermark, full ? 1'000'000 : 1 + rng() % 200);
      if (full && t.expiry_caught_up()) {
        // Entries expiring at or after the watermark are all there, unchanged; those due
        // before the watermark's tick are all gone; the watermark's own tick may go either way.
        size_t must = 0, may = 0;
        const int64_t now_tick = floor_div(watermark, t.tick_ns());
        for (uint64_t i = 0; i < kKeys; ++i) {
          auto it = model.find(key(i));
          const auto e = t.find(key(i));
          if (it == model.end()) {
            ASSERT_FALSE(e.has_value());
            continue;
          }
          const int64_t expiry = it->second.last + w;
          const int64_t exp_tick = floor_div(expiry, t.tick_ns());
          if (expiry >= watermark) {
            ++must;
            ASSERT_TRUE(e.has_value()) << "op " << op << " key " << i;
            EXPECT_EQ(e->count, it->second.count);
            EXPECT_EQ(e->first_seq, it->second.first_seq);
            EXPECT_EQ(e->first_seen_ns, it->second.first);
            EXPECT_EQ(e->last_seen_ns, it->second.last);
          } else if (exp_tick >= now_tick) {
            ++may;
          } else {
            ASSERT_FALSE(e.has_value()) << "op " << op << " key " << i << " should be evicted";
          }
        }
        EXPECT_GE(t.size(), must);
        EXPECT_LE(t.size(), must + may);
        ++checks;
      }
    }
  }
  EXPECT_GT(checks, 100u);
  EXPECT_GT(t.stats().duplicates, 10'000u);
  EXPECT_GT(t.stats().evicted_expired, 1000u);
}

TEST(DedupeTable, CapacityChurnKeepsTheIndexConsistent) {
  // Small table, many keys: constant capacity and time evictions. Each verdict must follow
  // from the entry find() saw just before, and every tracked key must be findable.
  const int64_t w = 64'000;
  DedupeTable t(opts(w, 1000, 1));
  std::mt19937_64 rng(7);
  int64_t clock = 0;
  for (uint64_t op = 0; op < 100'000; ++op) {
    clock += static_cast<int64_t>(rng() % 20);
    const Fingerprint f = fp(rng() % 5000);
    const int64_t ev = clock - static_cast<int64_t>(rng() % 1000);
    const auto before = t.find(f);
    const DedupeResult r = t.observe(f, ev, op);
    const bool expect_dup =
        before && ev >= before->first_seen_ns - w && ev <= before->last_seen_ns + w;
    ASSERT_EQ(r.duplicate, expect_dup) << op;
    if (expect_dup) {
      ASSERT_EQ(r.first_seq, before->first_seq);
      ASSERT_EQ(r.count, before->count + 1);
    }
    ASSERT_LE(t.size(), 1000u);
    if (op % 100 == 0) (void)t.evict_expired(clock - 2000, 1 + rng() % 300);
  }
  size_t found = 0;
  for (uint64_t i = 0; i < 5000; ++i) found += t.find(fp(i)).has_value();
  EXPECT_EQ(found, t.size());
  EXPECT_GT(t.stats().evicted_capacity, 1000u);
  // Never more than max_entries entries' worth of memory, however many came and went.
  // (1,000 entries of 48 bytes, 1,143 index slots of 8, each array rounded up to a page.)
  EXPECT_LE(t.memory_bytes(), sizeof(DedupeTable) + 1000 * 48 + 1143 * 8 + 2 * 4096);
}

TEST(DedupeTable, AtMost100BytesPerEntryUpToOneMillion) {
  // memory_bytes() is computed from the table's own allocations: a deterministic size, not a
  // timing. Checked at every size from 100,000 to 1,000,000, including just after each growth.
  DedupeTable t(opts(3600 * kSec, 2'000'000));
  double worst = 0;
  size_t worst_at = 0;
  for (uint64_t i = 0; i < 1'000'000; ++i) {
    (void)t.observe(fp(i), 0, i);
    if (i + 1 >= 100'000) {
      const double per = static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
      if (per > worst) {
        worst = per;
        worst_at = t.size();
      }
    }
  }
  const double at_1m = static_cast<double>(t.memory_bytes()) / 1e6;
  std::cout << "[ memory   ] " << at_1m << " bytes/entry at 1,000,000 entries (" << t.memory_bytes()
            << " bytes, " << t.index_slots() << " index slots); worst " << worst << " at "
            << worst_at << " entries\n";
  EXPECT_EQ(t.size(), 1'000'000u);
  EXPECT_LE(at_1m, 100.0);
  EXPECT_LE(worst, 100.0);
  RecordProperty("bytes_per_entry_at_1m", std::to_string(at_1m));
}

TEST(DedupeTable, ASnapshotRestoresEveryEpisodeExactly) {
  DedupeOptions o;
  o.window_ns = 1000;
  DedupeTable a(o);
  for (uint64_t k = 0; k < 5000; ++k) {
    const Fingerprint f{k * 0x9E3779B97F4A7C15ULL + 1, ~k * 0xC2B2AE3D27D4EB4FULL};
    for (uint64_t r = 0; r <= k % 4; ++r) a.observe(f, static_cast<int64_t>(k + r * 10), k + 1);
  }
  std::string snap;
  a.append_snapshot(snap);
  DedupeTable b(o);
  ASSERT_TRUE(b.load_snapshot(snap));
  EXPECT_EQ(b.size(), a.size());
  EXPECT_EQ(b.stats().observed, 0u);
  for (uint64_t k = 0; k < 5000; ++k) {
    const Fingerprint f{k * 0x9E3779B97F4A7C15ULL + 1, ~k * 0xC2B2AE3D27D4EB4FULL};
    const auto x = a.find(f), y = b.find(f);
    ASSERT_TRUE(x && y);
    EXPECT_EQ(y->count, x->count);
    EXPECT_EQ(y->first_seq, x->first_seq);
    EXPECT_EQ(y->first_seen_ns, x->first_seen_ns);
    EXPECT_EQ(y->last_seen_ns, x->last_seen_ns);
  }
  // The next repeat is decided the same way in both.
  const Fingerprint f{1, ~0ULL};
  EXPECT_EQ(a.observe(f, 5, 9).duplicate, b.observe(f, 5, 9).duplicate);
  EXPECT_FALSE(b.load_snapshot(snap.substr(0, snap.size() - 3)));
  EXPECT_FALSE(b.load_snapshot("nope"));
}

}  // namespace
}  // namespace klaxon
