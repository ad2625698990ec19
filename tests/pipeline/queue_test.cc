#include "pipeline/core/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace klaxon {
namespace {

TEST(BoundedQueue, RefusesWhenFullAndKeepsOwnership) {
  BoundedQueue<int> q(2);
  auto a = std::make_unique<int>(1), b = std::make_unique<int>(2), c = std::make_unique<int>(3);
  EXPECT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.try_push(b));
  EXPECT_FALSE(q.try_push(c));
  ASSERT_NE(c, nullptr);  // the caller still owns the refused item
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(*q.try_pop(), 1);
  EXPECT_TRUE(q.try_push(c));
}

TEST(BoundedQueue, PopWaitTimesOut) {
  BoundedQueue<int> q(4);
  EXPECT_EQ(q.pop_wait(std::chrono::milliseconds(10)), nullptr);
}

TEST(BoundedQueue, ManyProducersManyConsumersLoseNothing) {
  BoundedQueue<int> q(16);
  constexpr int kPerProducer = 20000;
  std::atomic<int> consumed{0};
  std::vector<std::thread> producers, consumers;
  std::vector<std::vector<int>> seen(2);
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        auto item = std::make_unique<int>(p * kPerProducer + i);
        while (!q.try_push(item)) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&, c] {
      while (consumed.load() < 2 * kPerProducer) {
        if (auto v = q.pop_wait(std::chrono::milliseconds(5))) {
          seen[c].push_back(*v);
          consumed.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  for (auto& t : consumers) t.join();
  std::set<int> all;
  for (auto& s : seen) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(2 * kPerProducer));
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace klaxon
