// live stage: snapshots of a running series (token runs' TTFT/TPOT included) and the stall
// watchdog; settings::ExplainConfig.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "live/live_board.h"
#include "record/series_recorder.h"
#include "results/early_stopping.h"
#include "settings/config_file.h"

namespace loadgen::live {
namespace {

using namespace std::chrono_literals;

class CountingSut : public mlperf::SystemUnderTest {
 public:
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    issued.insert(issued.end(), samples.begin(), samples.end());
  }
  void FlushQueries() override { ++flushes; }

  std::vector<mlperf::QuerySample> issued;
  int flushes = 0;

 private:
  std::string name_ = "counting";
};

schedule::SeriesPlan MakePlan(uint64_t queries) {
  schedule::SeriesPlan plan;
  for (uint64_t q = 0; q < queries; ++q) {
    plan.sample_index.push_back(static_cast<uint32_t>(100 + q));
    plan.scheduled_delta_ns.push_back(0);
  }
  plan.accuracy_log_bits.assign((queries + 63) / 64, 0);
  plan.Seal();
  return plan;
}

class LiveBoardTest : public ::testing::Test {
 protected:
  LiveBoardTest() : plan_(MakePlan(40)), errors_(64), recorder_(plan_, Options(), &errors_) {}

  static record::RecorderOptions Options() {
    record::RecorderOptions o;
    o.scenario = mlperf::TestScenario::SingleStream;
    o.series_tag = 7;
    return o;
  }

  // Issues queries [begin, end) through the counter and completes those below `complete_end`.
  void Issue(IssueCounter& counter, uint64_t begin, uint64_t end, uint64_t complete_end) {
    for (uint64_t q = begin; q < end; ++q) {
      const int64_t now = NowNs();
      recorder_.MarkIssued(q, now - 1000, now - 1000);  // SingleStream: issued when due
      counter.IssueQuery({{recorder_.ResponseIdOf(q), plan_.sample_index[q]}});
      if (q < complete_end) {
        const uint64_t id = recorder_.ResponseIdOf(q);
        recorder_.CompleteIds(&id, 1, nullptr, NowNs());
      }
    }
  }

  SeriesInfo Info() const {
    SeriesInfo info;
    info.scenario = mlperf::TestScenario::SingleStream;
    info.start_ns = NowNs() - 1000000;
    info.min_query_count = 30;
    info.target_latency_percentile = 0.9;
    return info;
  }

  schedule::SeriesPlan plan_;
  record::BoundedMpmcQueue<record::CompletionError> errors_;
  record::SeriesRecorder recorder_;
  CountingSut sut_;
};

TEST(SampledPercentileTest, TakesTheResultsStageIndex) {
  const std::vector<int64_t> sorted = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  EXPECT_EQ(SampledPercentile(sorted, 0.5), 60);   // element trunc(10 * 0.5) = 5
  EXPECT_EQ(SampledPercentile(sorted, 0.9), 100);  // element 9
  EXPECT_EQ(SampledPercentile(sorted, 0.99), 100);
  EXPECT_EQ(SampledPercentile(sorted, 0.29), 30);  // 2.9 truncates to 2
  EXPECT_EQ(SampledPercentile(sorted, 1.0), 100);  // out of range: the last element
  EXPECT_EQ(SampledPercentile({}, 0.5), 0);
}

TEST_F(LiveBoardTest, IssueCounterCountsThenForwards) {
  IssueCounter counter(&sut_);
  EXPECT_EQ(counter.Name(), "counting");
  Issue(counter, 0, 3, 0);
  counter.FlushQueries();
  EXPECT_EQ(counter.samples_issued(), 3u);
  EXPECT_EQ(counter.issued_end(), 3u);
  EXPECT_EQ(sut_.issued.size(), 3u);
  EXPECT_EQ(sut_.flushes, 1);
}

TEST_F(LiveBoardTest, SnapshotsBeforeDuringAndAfterASeries) {
  LiveBoard board;
  EXPECT_EQ(board.Take().series, 0u);
  EXPECT_FALSE(board.Take().running);

  IssueCounter counter(&sut_);
  board.Begin(&recorder_, &counter, Info(), 0ns, nullptr);
  Issue(counter, 0, 20, 18);
  Snapshot first = board.Take();
  EXPECT_TRUE(first.running);
  EXPECT_EQ(first.series, 1u);
  EXPECT_EQ(first.samples_issued, 20u);
  EXPECT_EQ(first.queries_issued, 20u);
  EXPECT_EQ(first.samples_completed, 18u);
  EXPECT_EQ(first.queries_completed, 18u);
  EXPECT_GT(first.elapsed_ns, 0);
  EXPECT_EQ(first.latencies_seen, 0u);           // latencies are read one Take after they are seen
  EXPECT_EQ(first.early_stopping_queries, 64u);  // "at least 64 queries" for p90

  Snapshot second = board.Take();
  EXPECT_EQ(second.latencies_seen, 18u);
  ASSERT_EQ(second.latency_sample.size(), 18u);
  for (int64_t latency : second.latency_sample) EXPECT_GE(latency, 1000);
  EXPECT_EQ(second.tokens_seen, 0u);  // not a token run
  EXPECT_TRUE(second.ttft_sample.empty());
  EXPECT_TRUE(second.tpot_sample.empty());

  board.End();
  Snapshot after = board.Take();
  EXPECT_FALSE(after.running);
  EXPECT_EQ(after.series, 1u);
  EXPECT_EQ(after.samples_completed, 18u);
  EXPECT_EQ(after.latencies_seen, 18u);
}

TEST_F(LiveBoardTest, WatchdogNamesTheOutstandingSamples) {
  LiveBoard board;
  IssueCounter counter(&sut_);
  std::string message;  // written before `calls` is released, read after it is acquired
  std::atomic<int> calls{0};
  board.Begin(&recorder_, &counter, Info(), 50ms, [&](const std::string& m) {
    message = m;
    calls.fetch_add(1, std::memory_order_release);
  });
  Issue(counter, 0, 14, 2);  // 12 outstanding
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (calls.load(std::memory_order_acquire) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  board.End();
  ASSERT_EQ(calls.load(), 1);
  std::string expected =
      "No sample completed for 0.05 s with 12 samples outstanding (no_progress_timeout): the "
      "SUT stopped completing. Outstanding (response id: QSL index):";
  for (uint64_t q = 2; q < 12; ++q) {
    expected += (q == 2 ? " " : ", ") + std::to_string(recorder_.ResponseIdOf(q)) + ": " +
                std::to_string(100 + q);
  }
  EXPECT_EQ(message, expected + " and 2 more.");
}

TEST_F(LiveBoardTest, WatchdogIgnoresIdleTimeAndProgress) {
  LiveBoard board;
  IssueCounter counter(&sut_);
  int calls = 0;
  // The stall bound is 15 times the completion interval: a 2-core CI machine running tests
  // in parallel oversleeps a 10 ms sleep by tens of ms (30 ms failed there).
  board.Begin(&recorder_, &counter, Info(), 150ms, [&](const std::string&) { ++calls; });
  std::this_thread::sleep_for(400ms);  // nothing outstanding: not a stall
  for (uint64_t q = 0; q < 8; ++q) {   // outstanding, but completing every 10 ms
    Issue(counter, q, q + 1, 0);
    std::this_thread::sleep_for(10ms);
    const uint64_t id = recorder_.ResponseIdOf(q);
    recorder_.CompleteIds(&id, 1, nullptr, NowNs());
  }
  board.End();
  EXPECT_EQ(calls, 0);
}

// A token run with known times: query q (q = 0..39) gets its first token (q + 1) µs after its
// scheduled time and completes with 5 tokens 400 (q + 1) ns later, so TTFT = 1000 (q + 1) and
// TPOT = (latency - TTFT) / 4 = 100 (q + 1).
class TokenLiveBoardTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kQueries = 40;

  TokenLiveBoardTest()
      : plan_(MakePlan(kQueries)), errors_(256), recorder_(plan_, Options(), &errors_) {}

  static record::RecorderOptions Options() {
    record::RecorderOptions o;
    o.scenario = mlperf::TestScenario::Server;
    o.use_tokens = true;
    o.needs_first_token = true;
    o.series_tag = 9;
    return o;
  }

  SeriesInfo Info(mlperf::TestScenario scenario) const {
    SeriesInfo info;
    info.scenario = scenario;
    info.start_ns = NowNs() - 1000000000;  // so every latency below is plausible
    info.target_latency_ns = 0;            // as mlperf.conf sets it for token runs
    info.target_latency_percentile = 0.9;
    info.use_tokens = true;
    info.target_ttft_ns = 36000;  // 4 of 40 TTFTs over
    info.target_tpot_ns = 4000;   // no TPOT over
    return info;
  }

  void IssueAndComplete(IssueCounter& counter) {
    const int64_t base = NowNs() - 1000000;
    // Server: the recorder keeps the series start and takes each query's delta from the plan.
    recorder_.SetSeriesStart(base);
    for (uint64_t q = 0; q < kQueries; ++q) {
      const int64_t scheduled = base + static_cast<int64_t>(q) * 100000;
      plan_.scheduled_delta_ns[q] = scheduled - base;
      recorder_.MarkIssued(q, scheduled, scheduled);
      counter.IssueQuery({{recorder_.ResponseIdOf(q), plan_.sample_index[q]}});
      const uint64_t id = recorder_.ResponseIdOf(q);
      const int64_t k = static_cast<int64_t>(q) + 1;
      ASSERT_EQ(recorder_.FirstTokenIds(&id, 1, scheduled + 1000 * k).accepted, 1u);
      const int64_t tokens = 5;
      ASSERT_EQ(recorder_.CompleteIds(&id, 1, &tokens, scheduled + 1000 * k + 400 * k).accepted,
                1u);
    }
  }

  schedule::SeriesPlan plan_;
  record::BoundedMpmcQueue<record::CompletionError> errors_;
  record::SeriesRecorder recorder_;
  CountingSut sut_;
};

TEST_F(TokenLiveBoardTest, SamplesTtftAndTpotOfTheSameCompletions) {
  LiveBoard board;
  IssueCounter counter(&sut_);
  board.Begin(&recorder_, &counter, Info(mlperf::TestScenario::Server), 0ns, nullptr);
  IssueAndComplete(counter);
  EXPECT_EQ(board.Take().tokens_seen, 0u);  // read one Take after they are seen, as latencies
  Snapshot s = board.Take();
  board.End();
  EXPECT_EQ(s.latencies_seen, kQueries);
  EXPECT_EQ(s.tokens_seen, kQueries);
  ASSERT_EQ(s.ttft_sample.size(), kQueries);
  ASSERT_EQ(s.tpot_sample.size(), kQueries);
  ASSERT_EQ(s.latency_sample.size(), kQueries);
  for (uint64_t i = 0; i < kQueries; ++i) {
    const int64_t k = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(s.ttft_sample[i], 1000 * k) << i;
    EXPECT_EQ(s.tpot_sample[i], 100 * k) << i;
    EXPECT_EQ(s.latency_sample[i], 1400 * k) << i;
  }
  // The official percentile rule (element floor(p * n)) on these samples, as the bindings apply
  // it: p50 = element 20, p90 = element 36, p99 = element 39.
  EXPECT_EQ(s.ttft_sample[20], 21000);
  EXPECT_EQ(s.tpot_sample[36], 3700);

  // Early stopping follows TTFT and TPOT, not the (zero) latency target: 4 TTFTs over 36 µs.
  results::MinPassingFinder ttft_finder, tpot_finder;
  const uint64_t expected =
      static_cast<uint64_t>(std::max(ttft_finder.Find(4, 0.9) + 4, tpot_finder.Find(0, 0.9)));
  EXPECT_EQ(s.early_stopping_queries, expected);
  results::MinPassingFinder latency_finder;
  EXPECT_LT(s.early_stopping_queries, static_cast<uint64_t>(latency_finder.Find(40, 0.9) + 40));

  // The last series' figures stay readable after End.
  Snapshot after = board.Take();
  EXPECT_FALSE(after.running);
  EXPECT_EQ(after.tokens_seen, kQueries);
  EXPECT_EQ(after.ttft_sample, s.ttft_sample);
  EXPECT_EQ(after.tpot_sample, s.tpot_sample);
}

TEST_F(TokenLiveBoardTest, OfflineHasTpotButNoTtft) {
  LiveBoard board;
  IssueCounter counter(&sut_);
  board.Begin(&recorder_, &counter, Info(mlperf::TestScenario::Offline), 0ns, nullptr);
  IssueAndComplete(counter);
  board.Take();
  Snapshot s = board.Take();
  board.End();
  EXPECT_EQ(s.tokens_seen, kQueries);
  EXPECT_TRUE(s.ttft_sample.empty());
  ASSERT_EQ(s.tpot_sample.size(), kQueries);
  EXPECT_EQ(s.tpot_sample.front(), 100);
  EXPECT_EQ(s.tpot_sample.back(), 4000);
  EXPECT_EQ(s.early_stopping_queries, 0u);  // no early stopping in Offline
}

TEST_F(TokenLiveBoardTest, ReservoirKeepsTokenFiguresPairedWithTheirLatency) {
  // More completions than the reservoir holds: every kept slot must still hold one sample's
  // latency, TTFT and TPOT. Here latency = 1.4 TTFT = 14 TPOT for every sample.
  const uint64_t n = LiveBoard::kReservoirSize + 3000;
  schedule::SeriesPlan plan = MakePlan(n);
  record::BoundedMpmcQueue<record::CompletionError> errors(256);
  record::SeriesRecorder recorder(plan, Options(), &errors);
  LiveBoard board;
  IssueCounter counter(&sut_);
  board.Begin(&recorder, &counter, Info(mlperf::TestScenario::Server), 0ns, nullptr);
  const int64_t base = NowNs() - 100000000;
  recorder.SetSeriesStart(base);  // every delta is 0
  for (uint64_t q = 0; q < n; ++q) {
    recorder.MarkIssued(q, base, base);
    counter.IssueQuery({{recorder.ResponseIdOf(q), plan.sample_index[q]}});
    const uint64_t id = recorder.ResponseIdOf(q);
    const int64_t k = static_cast<int64_t>(q) + 1;
    recorder.FirstTokenIds(&id, 1, base + 10 * k);
    const int64_t tokens = 5;
    recorder.CompleteIds(&id, 1, &tokens, base + 14 * k);
    if (q % 400 == 399) board.Take();  // a few hundred new positions per Take: stride stays 1
  }
  board.Take();
  Snapshot s = board.Take();
  board.End();
  EXPECT_EQ(s.tokens_seen, n);
  EXPECT_EQ(s.latencies_seen, n);
  ASSERT_EQ(s.latency_sample.size(), LiveBoard::kReservoirSize);
  ASSERT_EQ(s.ttft_sample.size(), LiveBoard::kReservoirSize);
  ASSERT_EQ(s.tpot_sample.size(), LiveBoard::kReservoirSize);
  // Sorting keeps the pairing here because all three grow with k.
  for (size_t i = 0; i < s.latency_sample.size(); ++i) {
    EXPECT_EQ(s.latency_sample[i] * 10, s.ttft_sample[i] * 14) << i;
    EXPECT_EQ(s.tpot_sample[i] * 4, s.latency_sample[i] - s.ttft_sample[i]) << i;
  }
  EXPECT_GT(s.latency_sample.back(), 14 * static_cast<int64_t>(LiveBoard::kReservoirSize));
}

}  // namespace
}  // namespace loadgen::live

namespace loadgen::settings {
namespace {

TEST(ExplainConfigTest, NamesFieldKeyLineAndValueWithoutApplying) {
  const std::string path = ::testing::TempDir() + "explain_user.conf";
  {
    std::ofstream out(path);
    out << "# comment\n"
           "*.Server.target_qps = 10\n"
           "resnet50.Server.target_qps = 20\n"
           "*.*.min_duration = 1000\n"
           "*.*.min_duration = 2000\n"
           "*.Server.qsl_rng_seed = 5\n";  // reserved to mlperf.conf: not applied here
  }
  mlperf::TestSettings settings;
  std::vector<AppliedKey> applied = ExplainConfig(settings, path, "resnet50", "Server", 2);
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0].field, "min_duration_ms");
  EXPECT_EQ(applied[0].key, "*.*.min_duration");
  EXPECT_EQ(applied[0].line, 5);
  EXPECT_EQ(applied[0].value, "2000");
  EXPECT_EQ(applied[0].file, path);
  EXPECT_EQ(applied[1].field, "server_target_qps");
  EXPECT_EQ(applied[1].key, "resnet50.Server.target_qps");
  EXPECT_EQ(applied[1].line, 3);
  EXPECT_EQ(settings.server_target_qps, mlperf::TestSettings().server_target_qps);
  std::remove(path.c_str());
}

TEST(ExplainConfigTest, EveryRulesFileKeyHasAFieldName) {
  mlperf::TestSettings settings;
  settings.use_token_latencies = true;
  settings.infer_token_latencies = true;
  for (const char* scenario : {"SingleStream", "MultiStream", "Server", "Offline"}) {
    std::vector<AppliedKey> applied = ExplainConfig(settings, "", "llama2-70b", scenario, 0);
    ASSERT_FALSE(applied.empty()) << scenario;
    for (const AppliedKey& k : applied) EXPECT_FALSE(k.field.empty()) << k.key;
  }
}

TEST(ExplainConfigTest, RejectedOrMissingFileExplainsNothing) {
  mlperf::TestSettings settings;
  EXPECT_TRUE(ExplainConfig(settings, "/nonexistent/user.conf", "m", "Offline", 2).empty());
}

}  // namespace
}  // namespace loadgen::settings
