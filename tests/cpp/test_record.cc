// record stage: the error queue and the recorder's progress notifications.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "record/active_series.h"
#include "record/bounded_queue.h"
#include "record/series_recorder.h"

namespace loadgen::record {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueueTest, IsFifoAndRefusesWhenFullOverManyLaps) {
  BoundedMpmcQueue<uint64_t> queue(5);  // rounded up to 8
  uint64_t next_in = 0;
  uint64_t next_out = 0;
  for (int lap = 0; lap < 10; ++lap) {
    while (queue.TryPush(next_in)) ++next_in;
    EXPECT_EQ(next_in - next_out, 8u);
    // Drain part of it so the positions wrap at a different cell every lap.
    for (int i = 0; i < 3 + lap % 5; ++i) {
      uint64_t value = 0;
      ASSERT_TRUE(queue.TryPop(value));
      EXPECT_EQ(value, next_out++);
    }
  }
  uint64_t value = 0;
  while (queue.TryPop(value)) EXPECT_EQ(value, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_FALSE(queue.TryPop(value));
}

TEST(BoundedQueueTest, ConcurrentProducersDeliverEveryEventOnce) {
  constexpr uint64_t kPerThread = 20000;
  BoundedMpmcQueue<uint64_t> queue(1024);
  std::vector<std::thread> producers;
  for (uint64_t t = 0; t < 2; ++t) {
    producers.emplace_back([&queue, t] {
      for (uint64_t i = 0; i < kPerThread; ++i) {
        while (!queue.TryPush(t * kPerThread + i)) std::this_thread::yield();
      }
    });
  }
  std::vector<int> seen(2 * kPerThread, 0);
  uint64_t last[2] = {0, 0};
  bool ordered = true;
  for (uint64_t received = 0; received < 2 * kPerThread;) {
    uint64_t value = 0;
    if (!queue.TryPop(value)) continue;
    ++seen[value];
    const uint64_t t = value / kPerThread;
    if (value % kPerThread != 0 && value <= last[t]) ordered = false;
    last[t] = value;
    ++received;
  }
  for (auto& p : producers) p.join();
  for (int count : seen) ASSERT_EQ(count, 1);
  EXPECT_TRUE(ordered);  // each producer's events arrive in its order
}

schedule::SeriesPlan MakePlan(uint64_t queries, uint64_t samples_per_query) {
  schedule::SeriesPlan plan;
  plan.samples_per_query = samples_per_query;
  for (uint64_t i = 0; i < queries * samples_per_query; ++i) {
    plan.sample_index.push_back(static_cast<uint32_t>(i));
  }
  plan.scheduled_delta_ns.assign(queries, 0);
  plan.accuracy_log_bits.assign((queries * samples_per_query + 63) / 64, 0);
  plan.Seal();
  return plan;
}

class RecorderProgressTest : public ::testing::Test {
 protected:
  RecorderProgressTest()
      : plan_(MakePlan(4, 3)), errors_(64), recorder_(plan_, Options(), &errors_) {}

  static RecorderOptions Options() {
    RecorderOptions o;
    o.scenario = mlperf::TestScenario::MultiStream;
    o.series_tag = 3;
    return o;
  }

  void Complete(uint64_t local) {
    const uint64_t id = recorder_.ResponseIdOf(local);
    ASSERT_EQ(recorder_.CompleteIds(&id, 1, nullptr, NowNs()).accepted, 1u);
  }

  schedule::SeriesPlan plan_;
  BoundedMpmcQueue<CompletionError> errors_;
  SeriesRecorder recorder_;
};

// The engine's waits (closed loop, drain) end when nothing issued is outstanding. The waiter
// polls only every 30 s here, so returning at all proves the last completion woke it.
TEST_F(RecorderProgressTest, LastOutstandingCompletionWakesAWaiter) {
  for (uint64_t q = 0; q < 2; ++q) recorder_.MarkIssued(q, NowNs(), NowNs());
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    recorder_.progress().WaitUntil([&] { return recorder_.completed_samples() >= 6; }, 30s);
    woke = true;
  });
  for (uint64_t local = 0; local < 5; ++local) Complete(local);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(woke.load());
  const auto start = std::chrono::steady_clock::now();
  Complete(5);
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(recorder_.QueryDone(0));
  EXPECT_TRUE(recorder_.QueryDone(1));
}

TEST_F(RecorderProgressTest, ClosedLoopWaiterWakesWhenItsQueryIsDone) {
  recorder_.MarkIssued(0, NowNs(), NowNs());
  std::thread completer([&] {
    std::this_thread::sleep_for(20ms);
    for (uint64_t local = 0; local < 3; ++local) Complete(local);
  });
  const auto start = std::chrono::steady_clock::now();
  recorder_.progress().WaitUntil([&] { return recorder_.QueryDone(0); }, 30s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  completer.join();
  EXPECT_EQ(recorder_.completed_queries(), 1u);
}

// The Python bindings release the GIL for a completion that may end an engine thread's wait.
TEST_F(RecorderProgressTest, ActiveSeriesReportsWhetherACompletionIsAwaited) {
  ActiveSeries active;
  EXPECT_FALSE(active.CompletionAwaited(3));  // no series
  active.Publish(&recorder_);
  recorder_.MarkIssued(0, NowNs(), NowNs());
  EXPECT_FALSE(active.CompletionAwaited(3));  // nobody waits
  std::thread waiter(
      [&] { recorder_.progress().WaitUntil([&] { return recorder_.QueryDone(0); }, 30s); });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!active.CompletionAwaited(3) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(active.CompletionAwaited(3));
  EXPECT_FALSE(active.CompletionAwaited(2));  // cannot complete all 3 outstanding samples
  Complete(0);
  EXPECT_TRUE(active.CompletionAwaited(2));
  Complete(1);
  Complete(2);
  waiter.join();
  EXPECT_FALSE(active.CompletionAwaited(1));
  active.Retire();
  EXPECT_FALSE(active.CompletionAwaited(1));
}

}  // namespace
}  // namespace loadgen::record
