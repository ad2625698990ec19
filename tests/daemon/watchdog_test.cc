// The systemd watchdog's decision: ping while every stage is idle or moving, stop while a
// stage with work waiting stands still past the stall limit, ping again when it moves.
// Driven through tick() with an injected clock; one test runs the thread for real.
#include "daemon/watchdog.h"

#include "tests/support/test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace klaxon {
namespace {

using namespace std::chrono_literals;
using Clock = Watchdog::Clock;

// A stage the test moves by hand.
struct FakeStage {
  bool busy = false;
  double done = 0;
  Watchdog::Probe probe(const std::string& name) {
    return {name, [this] { return Watchdog::Sample{busy, done}; }};
  }
};

Watchdog::Options options(int* pings) {
  Watchdog::Options o;
  o.period = 5s;
  o.stall_limit = 10s;
  o.ping = [pings] { ++*pings; };
  return o;
}

TEST(Watchdog, PingsWhileStagesAreIdleOrMoving) {
  FakeStage parse, persist;
  int pings = 0;
  Watchdog w({parse.probe("parse"), persist.probe("persist")}, options(&pings));
  Clock::time_point t{};
  EXPECT_TRUE(w.tick(t));
  persist.busy = true;  // busy for a long time, but moving at every tick
  for (int i = 1; i <= 10; ++i) {
    persist.done += 1;
    EXPECT_TRUE(w.tick(t + i * 5s)) << i;
  }
  EXPECT_EQ(pings, 11);
}

TEST(Watchdog, AStageStuckWithWorkWaitingStopsThePingsUntilItMoves) {
  FakeStage parse, persist;
  int pings = 0;
  Watchdog w({parse.probe("parse"), persist.probe("persist")}, options(&pings));
  Clock::time_point t{};
  EXPECT_TRUE(w.tick(t));
  persist.busy = true;  // work arrives, and nothing moves any more
  EXPECT_TRUE(w.tick(t + 5s));
  EXPECT_TRUE(w.tick(t + 10s));   // within the stall limit
  EXPECT_FALSE(w.tick(t + 15s));  // past it: systemd's timer runs out
  EXPECT_FALSE(w.tick(t + 20s));
  EXPECT_EQ(pings, 3);
  persist.done += 1;  // it moved
  EXPECT_TRUE(w.tick(t + 25s));
  EXPECT_TRUE(w.tick(t + 30s));
}

TEST(Watchdog, AnIdleStageIsHealthyHoweverLongItHasNotMoved) {
  FakeStage parse;
  int pings = 0;
  Watchdog w({parse.probe("parse")}, options(&pings));
  Clock::time_point t{};
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(w.tick(t + i * 5s));
  // Work that arrives after a long idle time gets the full stall limit.
  parse.busy = true;
  EXPECT_TRUE(w.tick(t + 5000s));
  EXPECT_TRUE(w.tick(t + 5005s));
  EXPECT_FALSE(w.tick(t + 5010s));
  EXPECT_EQ(pings, 1002);
}

TEST(Watchdog, IoContextProbeNeedsThePostedBeatToRun) {
  boost::asio::io_context io;
  int pings = 0;
  Watchdog w({io_context_probe(io, "io")}, options(&pings));
  Clock::time_point t{};
  EXPECT_TRUE(w.tick(t));  // posts a beat
  EXPECT_TRUE(w.tick(t + 5s));
  EXPECT_FALSE(w.tick(t + 11s));  // the loop never ran it: stalled
  io.poll();                      // the loop runs
  EXPECT_TRUE(w.tick(t + 12s));
  io.stop();  // a stopped loop (klaxond draining) is not stalled
  EXPECT_TRUE(w.tick(t + 30s));
  EXPECT_TRUE(w.tick(t + 60s));
}

TEST(Watchdog, TheThreadPingsEveryPeriodAndStops) {
  FakeStage parse;
  std::atomic<int> pings{0};
  Watchdog::Options o;
  o.period = 10ms;
  o.stall_limit = 1s;
  o.ping = [&pings] { pings.fetch_add(1); };
  Watchdog w({parse.probe("parse")}, o);
  w.start();
  EXPECT_TRUE(test::wait_until([&] { return pings.load() >= 3; }, 10s));
  w.stop();
  const int after_stop = pings.load();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(pings.load(), after_stop);
}

}  // namespace
}  // namespace klaxon
