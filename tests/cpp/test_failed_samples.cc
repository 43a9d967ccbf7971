// Samples completed as failed (loadgen/failure.h): the recorder's counts and checks, the
// results' validity and log entries, and the cancellation of a stopped test's samples.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "loadgen/failure.h"
#include "record/active_series.h"
#include "record/series_recorder.h"
#include "session_harness.h"

namespace loadgen {
namespace {

using namespace std::chrono_literals;

TEST(SampleFailureNamesTest, RoundTripAndRejectUnknown) {
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    const auto reason = static_cast<SampleFailure>(i);
    SampleFailure back = SampleFailure::kCount;
    ASSERT_TRUE(SampleFailureFromName(SampleFailureName(reason), &back));
    EXPECT_EQ(back, reason);
  }
  EXPECT_STREQ(SampleFailureName(SampleFailure::kCancelled), "cancelled");
  EXPECT_STREQ(SampleFailureName(SampleFailure::kHttp5xx), "http_5xx");
  EXPECT_STREQ(SampleFailureName(SampleFailure::kCount), "unknown");
  SampleFailure unused;
  EXPECT_FALSE(SampleFailureFromName("http_6xx", &unused));
}

schedule::SeriesPlan MakePlan(uint64_t queries) {
  schedule::SeriesPlan plan;
  plan.samples_per_query = 1;
  for (uint64_t i = 0; i < queries; ++i) plan.sample_index.push_back(static_cast<uint32_t>(i));
  plan.scheduled_delta_ns.assign(queries, 0);
  plan.accuracy_log_bits.assign((queries + 63) / 64, 0);
  plan.Seal();
  return plan;
}

class FailedRecorderTest : public ::testing::Test {
 protected:
  explicit FailedRecorderTest(bool tokens = false)
      : plan_(MakePlan(6)), errors_(64), recorder_(plan_, Options(tokens), &errors_) {
    for (uint64_t q = 0; q < 6; ++q) recorder_.MarkIssued(q, NowNs(), NowNs());
  }
  static record::RecorderOptions Options(bool tokens) {
    record::RecorderOptions o;
    o.scenario = mlperf::TestScenario::SingleStream;
    o.series_tag = 5;
    o.use_tokens = tokens;
    o.needs_first_token = tokens;
    return o;
  }
  std::vector<record::CompletionError> Errors() {
    std::vector<record::CompletionError> out;
    record::CompletionError e;
    while (errors_.TryPop(e)) out.push_back(e);
    return out;
  }
  uint64_t Id(uint64_t local) const { return recorder_.ResponseIdOf(local); }

  schedule::SeriesPlan plan_;
  record::BoundedMpmcQueue<record::CompletionError> errors_;
  record::SeriesRecorder recorder_;
};

TEST_F(FailedRecorderTest, CountsByReasonAndCompletesTheSamples) {
  const uint64_t five_xx[] = {Id(0), Id(2)};
  const CompletionStatus a =
      recorder_.CompleteFailedIds(five_xx, 2, SampleFailure::kHttp5xx, NowNs());
  EXPECT_EQ(a.accepted, 2u);
  const uint64_t cancelled = Id(4);
  EXPECT_EQ(recorder_.CompleteFailedIds(&cancelled, 1, SampleFailure::kCancelled, NowNs()).accepted,
            1u);
  const uint64_t ok = Id(1);
  EXPECT_EQ(recorder_.CompleteIds(&ok, 1, nullptr, NowNs()).accepted, 1u);

  EXPECT_EQ(recorder_.completed_samples(), 4u);
  EXPECT_EQ(recorder_.completed_queries(), 4u);
  const auto counts = recorder_.failed_by_reason();
  EXPECT_EQ(counts[static_cast<size_t>(SampleFailure::kHttp5xx)], 2u);
  EXPECT_EQ(counts[static_cast<size_t>(SampleFailure::kCancelled)], 1u);
  uint64_t total = 0;
  for (uint64_t n : counts) total += n;
  EXPECT_EQ(total, 3u);
  EXPECT_TRUE(recorder_.SampleFailed(0));
  EXPECT_TRUE(recorder_.SampleCompleted(0));
  EXPECT_FALSE(recorder_.SampleFailed(1));
  EXPECT_TRUE(recorder_.SampleCompleted(1));
  EXPECT_GE(recorder_.latency(0), 0);
  EXPECT_TRUE(Errors().empty());
}

TEST_F(FailedRecorderTest, RejectsRepeatedStaleAndUnknownIdsLikeCompletion) {
  const uint64_t first = Id(0);
  ASSERT_EQ(recorder_.CompleteIds(&first, 1, nullptr, NowNs()).accepted, 1u);
  const uint64_t second = Id(3);
  ASSERT_EQ(recorder_.CompleteFailedIds(&second, 1, SampleFailure::kError, NowNs()).accepted, 1u);
  // Failing a completed sample, completing or failing a failed one: duplicates.
  EXPECT_EQ(recorder_.CompleteFailedIds(&first, 1, SampleFailure::kError, NowNs()).duplicate, 1u);
  EXPECT_FALSE(recorder_.SampleFailed(0));  // the completion stands
  EXPECT_EQ(recorder_.CompleteIds(&second, 1, nullptr, NowNs()).duplicate, 1u);
  EXPECT_EQ(recorder_.CompleteFailedIds(&second, 1, SampleFailure::kError, NowNs()).duplicate, 1u);
  const uint64_t bogus[] = {0, 12345, record::EncodeResponseId(9, 1), Id(99)};
  const CompletionStatus s = recorder_.CompleteFailedIds(bogus, 4, SampleFailure::kError, NowNs());
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.stale, 1u);
  EXPECT_EQ(s.unknown, 3u);
  // Only the one accepted failure counts; an out-of-range reason counts as "error".
  const uint64_t third = Id(5);
  EXPECT_EQ(
      recorder_.CompleteFailedIds(&third, 1, static_cast<SampleFailure>(200), NowNs()).accepted,
      1u);
  EXPECT_EQ(recorder_.failed_by_reason()[static_cast<size_t>(SampleFailure::kError)], 2u);
  EXPECT_EQ(recorder_.completed_samples(), 3u);
  EXPECT_EQ(Errors().size(), 3u + 4u);
}

class FailedTokenRecorderTest : public FailedRecorderTest {
 protected:
  FailedTokenRecorderTest() : FailedRecorderTest(true) {}
};

// A failed sample of a token run reports no token error (it is counted as failed instead):
// 0 tokens, no time per token, and its failure time as the first token if none came.
TEST_F(FailedTokenRecorderTest, FailedSamplesLogNoTokenErrors) {
  const uint64_t with_first = Id(0);
  ASSERT_EQ(recorder_.FirstTokenIds(&with_first, 1, NowNs()).accepted, 1u);
  const int64_t ttft = recorder_.ttft(0);
  std::this_thread::sleep_for(1ms);
  const uint64_t failed[] = {Id(0), Id(1)};
  ASSERT_EQ(recorder_.CompleteFailedIds(failed, 2, SampleFailure::kTimeoutTotal, NowNs()).accepted,
            2u);
  EXPECT_TRUE(Errors().empty());
  EXPECT_EQ(recorder_.n_tokens(0), 0);
  EXPECT_EQ(recorder_.tpot(0), 0);
  EXPECT_EQ(recorder_.ttft(0), ttft);
  EXPECT_EQ(recorder_.ttft(1), recorder_.latency(1));
  // A successful completion with 0 tokens still is an error, as before.
  const uint64_t ok = Id(2);
  ASSERT_EQ(recorder_.CompleteIds(&ok, 1, nullptr, NowNs()).accepted, 1u);
  EXPECT_EQ(Errors().size(), 2u);  // no first token, tokens missing
}

// --- Whole tests ---

// Fails every third query with http_5xx, completes the rest (inline).
class EveryThirdFailsSut : public mlperf::SystemUnderTest {
 public:
  explicit EveryThirdFailsSut(record::ActiveSeries* active) : active_(active) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    for (const mlperf::QuerySample& s : samples) {
      const uint64_t id = s.id;
      const int64_t tokens = 8;
      if (count_++ % 3 == 0) {
        active_->CompleteFailedIds(&id, 1, SampleFailure::kHttp5xx);
      } else {
        active_->CompleteIds(&id, 1, &tokens);
      }
    }
  }
  void FlushQueries() override {}

 private:
  record::ActiveSeries* active_;
  std::string name_ = "EveryThirdFails";
  uint64_t count_ = 0;
};

class FailedRunTest : public ::testing::Test {
 protected:
  static bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
  test_harness::SessionHarness h_;
  test_harness::TestQsl qsl_{16};
};

TEST_F(FailedRunTest, AnyFailedSampleMakesTheRunInvalidWithTheReasonLogged) {
  EveryThirdFailsSut sut(&h_.active);
  mlperf::TestSettings s;
  s.min_query_count = 12;
  s.min_duration_ms = 0;
  const session::TestOutcome out = h_.Run(&sut, &qsl_, s);
  ASSERT_TRUE(out.performance.has_value());
  const results::PerformanceSummary& perf = *out.performance;
  EXPECT_EQ(perf.sample_count, 12u);
  EXPECT_EQ(perf.failed_samples, 4u);
  EXPECT_EQ(perf.failed_by_reason[static_cast<size_t>(SampleFailure::kHttp5xx)], 4u);
  EXPECT_TRUE(perf.min_queries_met);
  EXPECT_FALSE(perf.valid());
  EXPECT_EQ(out.failed_samples, 4u);
  EXPECT_EQ(out.errors, 1u);  // the series' failure line, nothing per sample

  const std::string detail = h_.Detail();
  EXPECT_TRUE(Has(detail, "\"key\": \"result_validity\", \"value\": \"INVALID\","));
  EXPECT_TRUE(Has(detail, "\"key\": \"loadgen_failed_samples\", \"value\": 4,"));
  EXPECT_TRUE(Has(detail,
                  "\"key\": \"loadgen_failed_samples_by_reason\", \"value\": "
                  "{\"http_5xx\":4},"));
  EXPECT_TRUE(Has(detail,
                  "\"key\": \"result_invalid_reason\", \"value\": \"4 of 12 samples "
                  "failed (http_5xx: 4): the SUT did not produce their responses."));
  EXPECT_TRUE(Has(detail,
                  "\"key\": \"loadgen_series_failed_samples\", \"value\": "
                  "{\"mode\":\"PerformanceOnly\",\"count\":4,\"by_reason\":"
                  "{\"http_5xx\":4}},"));
  const std::string summary = h_.Read("mlperf_log_summary.txt");
  EXPECT_TRUE(Has(summary, "Result is : INVALID\n"));
  EXPECT_TRUE(Has(summary,
                  "Recommendations:\n * 4 of 12 samples failed (http_5xx: 4): the SUT "
                  "did not produce their responses. See the detailed log.\n"));
  EXPECT_TRUE(Has(summary, "1 ERROR encountered. See detailed log."));
}

TEST_F(FailedRunTest, TokenRunFailuresAreCountedNotTokenErrors) {
  EveryThirdFailsSut sut(&h_.active);
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::Offline;
  s.min_query_count = 1;
  s.min_duration_ms = 0;
  s.offline_expected_qps = 12;
  s.use_token_latencies = true;
  const session::TestOutcome out = h_.Run(&sut, &qsl_, s);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->failed_samples,
            out.performance->sample_count / 3 + (out.performance->sample_count % 3 ? 1 : 0));
  EXPECT_GT(out.performance->failed_samples, 0u);
  EXPECT_EQ(out.errors, 1u);  // no "n_tokens" errors for the failed samples
  EXPECT_FALSE(out.performance->valid());
}

// Holds every sample until cancelled; counts the cancellations.
class HoldingSut : public mlperf::SystemUnderTest, public CancellableSut {
 public:
  explicit HoldingSut(record::ActiveSeries* active) : active_(active) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const mlperf::QuerySample& s : samples) held_.push_back(s.id);
  }
  void FlushQueries() override {}
  void CancelOutstanding() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++cancels;
    active_->CompleteFailedIds(held_.data(), held_.size(), SampleFailure::kCancelled);
    held_.clear();
  }
  int cancels = 0;

 private:
  record::ActiveSeries* active_;
  std::string name_ = "Holding";
  std::mutex mu_;
  std::vector<uint64_t> held_;
};

// A graceful stop (Ctrl-C's first press) would wait up to kDrainTimeout for the outstanding
// samples; a cancellable SUT completes them as cancelled at once instead.
TEST_F(FailedRunTest, GracefulStopCancelsOutstandingSamplesOfACancellableSut) {
  HoldingSut sut(&h_.active);
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::Offline;
  s.min_query_count = 1;
  s.min_duration_ms = 0;
  s.offline_expected_qps = 16;
  session::Session run(&sut, &qsl_, s, h_.log_settings, "", h_.Env());
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    run.Abort("Interrupted", /*is_error=*/false, /*graceful=*/true);
  });
  const auto start = std::chrono::steady_clock::now();
  const session::TestOutcome out = run.Run();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(sut.cancels, 1);
  EXPECT_TRUE(out.aborted);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.failed_samples, out.performance->sample_count);
  EXPECT_GT(out.failed_samples, 0u);
  EXPECT_EQ(out.failed_by_reason[static_cast<size_t>(SampleFailure::kCancelled)],
            out.failed_samples);
  EXPECT_TRUE(Has(h_.Read("mlperf_log_summary.txt"), "Result is : INVALID\n"));
}

// A test that ends normally has nothing outstanding: no cancellation.
TEST_F(FailedRunTest, NormalEndDoesNotCancel) {
  struct Inline : HoldingSut {
    using HoldingSut::HoldingSut;
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      HoldingSut::IssueQuery(samples);
      HoldingSut::CancelOutstanding();  // completes at once (as failed; not what is tested)
      --cancels;
    }
  } sut(&h_.active);
  mlperf::TestSettings s;
  s.min_query_count = 4;
  s.min_duration_ms = 0;
  h_.Run(&sut, &qsl_, s);
  EXPECT_EQ(sut.cancels, 0);
}

}  // namespace
}  // namespace loadgen
