// End-to-end tests of one Session (session/session.h) with in-process SUTs (no Python).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "loadgen/session.h"
#include "schedule/plan.h"
#include "session_harness.h"
#include "settings/effective_settings.h"

namespace loadgen::session {
namespace {

using test_harness::TestQsl;

// Completes every sample inline through the given ActiveSeries, with 4 payload bytes.
class InlineSut : public mlperf::SystemUnderTest {
 public:
  explicit InlineSut(record::ActiveSeries* active, int repeat = 1)
      : active_(active), repeat_(repeat) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    std::vector<mlperf::QuerySampleResponse> responses;
    payload_.resize(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) {
      payload_[i] = static_cast<uint32_t>(samples[i].index);
      responses.emplace_back(samples[i].id, reinterpret_cast<uintptr_t>(&payload_[i]), 4);
      issued.push_back(samples[i].index);
    }
    for (int r = 0; r < repeat_; ++r) {
      last_status = active_->Complete(responses.data(), responses.size(), {});
      statuses.push_back(last_status);
    }
  }
  void FlushQueries() override { ++flushes; }
  std::vector<size_t> issued;
  int flushes = 0;
  CompletionStatus last_status;
  std::vector<CompletionStatus> statuses;

 private:
  record::ActiveSeries* active_;
  int repeat_;
  std::string name_ = "InlineSUT";
  std::vector<uint32_t> payload_;
};

class SessionTest : public ::testing::Test {
 protected:
  test_harness::SessionHarness h_;
};

TEST_F(SessionTest, SingleStreamMatchesAppendixBSmallCase) {
  // docs/official-behaviour.md#schedule-test-vectors, "small": total 20, perf 5, seeds 0,
  // 12 queries.
  TestQsl qsl(20, 5);
  InlineSut sut(&h_.active);
  mlperf::TestSettings s;
  s.min_query_count = 12;
  s.min_duration_ms = 0;
  TestOutcome out = h_.Run(&sut, &qsl, s);
  ASSERT_EQ(qsl.loads.size(), 1u);
  EXPECT_EQ(qsl.loads[0], (std::vector<size_t>{2, 4, 3, 0, 1}));
  EXPECT_EQ(sut.issued, (std::vector<size_t>{3, 0, 0, 4, 3, 4, 1, 2, 1, 4, 4, 3}));
  EXPECT_EQ(sut.flushes, 1);
  EXPECT_EQ(qsl.unloads, 1);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->queries_issued, 12u);
  EXPECT_EQ(out.errors, 0u);
  const std::string detail = h_.Detail();
  EXPECT_NE(detail.find("\"key\": \"result_query_count\", \"value\": 12,"), std::string::npos);
  EXPECT_NE(detail.find("\"key\": \"num_errors\", \"value\": 0,"), std::string::npos);
  const std::string summary = h_.Read("mlperf_log_summary.txt");
  EXPECT_NE(summary.find("Scenario : SingleStream"), std::string::npos);
  EXPECT_NE(summary.find("No errors encountered during test."), std::string::npos);
}

// A Server series long enough to be generated while it is issued (QueryGenerator::
// kStreamFromQueries) issues exactly the plan generated up front, and logs its generated_*
// keys with the final values.
TEST_F(SessionTest, StreamedServerSeriesIssuesTheSamePlanAsOneGeneratedUpFront) {
  TestQsl qsl(256, 64);
  InlineSut sut(&h_.active);
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::Server;
  s.server_target_qps = 1.5e6;
  s.min_duration_ms = 1000;
  s.min_query_count = 100;
  s.server_target_latency_ns = 1000000000;  // a slow machine must not matter
  s.qsl_rng_seed = 11;
  s.sample_index_rng_seed = 12;
  s.schedule_rng_seed = 13;

  Diagnostics diagnostics;
  const settings::EffectiveSettings e = settings::Normalize(s, 64, 256, &diagnostics);
  schedule::SequenceState sequence;
  const schedule::LoadableSet set = schedule::GenerateLoadableSets(e, 64, 256).front();
  const schedule::SeriesPlan expected =
      schedule::GenerateQueries(e, set, mlperf::TestMode::PerformanceOnly, sequence);
  ASSERT_GT(expected.query_count(), schedule::QueryGenerator::kStreamFromQueries);

  TestOutcome out = h_.Run(&sut, &qsl, s);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.errors, 0u);
  ASSERT_EQ(sut.issued.size(), expected.sample_count());
  EXPECT_TRUE(std::equal(sut.issued.begin(), sut.issued.end(), expected.sample_index.begin()));
  const std::string detail = h_.Detail();
  EXPECT_NE(detail.find("\"key\": \"generated_query_count\", \"value\": " +
                        std::to_string(expected.query_count()) + ","),
            std::string::npos);
  EXPECT_NE(detail.find("\"key\": \"generated_query_duration\", \"value\": " +
                        std::to_string(expected.generated_duration_ns) + ","),
            std::string::npos);
  EXPECT_NE(detail.find("\"key\": \"result_query_count\", \"value\": " +
                        std::to_string(expected.query_count()) + ","),
            std::string::npos);
}

TEST_F(SessionTest, DuplicateCompletionsAreRejectedAndLogged) {
  TestQsl qsl(20, 5);
  InlineSut sut(&h_.active, /*repeat=*/2);
  mlperf::TestSettings s;
  s.min_query_count = 10;
  s.min_duration_ms = 0;
  TestOutcome out = h_.Run(&sut, &qsl, s);
  EXPECT_EQ(out.errors, 10u);
  size_t duplicates = 0;
  for (const auto& st : sut.statuses) duplicates += st.duplicate;
  EXPECT_EQ(duplicates, 10u);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->sample_count, 10u);
  const std::string detail = h_.Detail();
  size_t count = 0;
  for (size_t p = detail.find("Attempted to complete a sample twice."); p != std::string::npos;
       p = detail.find("Attempted to complete a sample twice.", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 10u);
}

TEST_F(SessionTest, BogusIdsAreRejectedWithoutCrashing) {
  TestQsl qsl(10, 10);
  struct BogusSut : InlineSut {
    using InlineSut::InlineSut;
    record::ActiveSeries* a;
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      mlperf::QuerySampleResponse bogus[3] = {{0, 0, 0}, {12345, 0, 0}, {~uint64_t{0}, 0, 0}};
      bogus_status = a->Complete(bogus, 3, {});
      InlineSut::IssueQuery(samples);
    }
    CompletionStatus bogus_status;
  } sut(&h_.active);
  sut.a = &h_.active;
  mlperf::TestSettings s;
  s.min_query_count = 5;
  s.min_duration_ms = 0;
  TestOutcome out = h_.Run(&sut, &qsl, s);
  EXPECT_EQ(sut.bogus_status.rejected(), 3u);
  EXPECT_EQ(sut.bogus_status.accepted, 0u);
  EXPECT_EQ(out.errors, 15u);
  EXPECT_EQ(out.performance->sample_count, 5u);
}

TEST_F(SessionTest, CompletionsFromWorkerThreadsOutOfOrder) {
  TestQsl qsl(64, 64);
  struct ThreadedSut : mlperf::SystemUnderTest {
    record::ActiveSeries* active;
    std::string name = "Threaded";
    std::mutex mu;
    std::vector<mlperf::QuerySample> pending;
    std::vector<std::thread> workers;
    const std::string& Name() override { return name; }
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      std::vector<mlperf::QuerySample> copy = samples;
      workers.emplace_back([this, copy] {
        std::vector<mlperf::QuerySampleResponse> r;
        for (auto it = copy.rbegin(); it != copy.rend(); ++it) r.emplace_back(it->id, 0, 0);
        active->Complete(r.data(), r.size(), {});
      });
    }
    void FlushQueries() override {}
    ~ThreadedSut() override {
      for (auto& t : workers) t.join();
    }
  } sut;
  sut.active = &h_.active;
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::MultiStream;
  s.multi_stream_samples_per_query = 8;
  s.min_query_count = 20;
  s.min_duration_ms = 0;
  TestOutcome out = h_.Run(&sut, &qsl, s);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->queries_issued, 20u);
  EXPECT_EQ(out.performance->sample_count, 160u);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(SessionTest, AccuracyModeLogsEverySampleOnce) {
  TestQsl qsl(10, 4);
  InlineSut sut(&h_.active);
  mlperf::TestSettings s;
  s.mode = mlperf::TestMode::AccuracyOnly;
  s.qsl_rng_seed = 2085463073848966840u;
  s.sample_index_rng_seed = 2747215439041700203u;
  s.schedule_rng_seed = 16159082839903944936u;
  TestOutcome out = h_.Run(&sut, &qsl, s);
  // docs/official-behaviour.md#schedule-test-vectors, TV5.
  ASSERT_EQ(qsl.loads.size(), 3u);
  EXPECT_EQ(qsl.loads[0], (std::vector<size_t>{1, 5, 7, 6}));
  EXPECT_EQ(sut.issued, (std::vector<size_t>{1, 5, 7, 6, 0, 8, 3, 2, 9, 4}));
  EXPECT_EQ(sut.flushes, 3);
  EXPECT_FALSE(out.performance.has_value());
  const std::string acc = h_.Read("mlperf_log_accuracy.json");
  EXPECT_EQ(acc.substr(0, 2), "[\n");
  EXPECT_NE(acc.find("{ \"seq_id\" : 0, \"qsl_idx\" : 1, \"data\" : \"01000000\" }"),
            std::string::npos);
  EXPECT_EQ(acc.substr(acc.size() - 3), "\n]\n");
  const std::string summary = h_.Read("mlperf_log_summary.txt");
  EXPECT_EQ(summary,
            "\nNo warnings encountered during test.\n\nNo errors encountered during test.\n");
}

TEST_F(SessionTest, ExceptionInIssueQueryStopsCleanlyAndRethrows) {
  TestQsl qsl(10, 10);
  struct ThrowingSut : InlineSut {
    using InlineSut::InlineSut;
    int calls = 0;
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      if (++calls == 3) throw std::runtime_error("boom in issue");
      InlineSut::IssueQuery(samples);
    }
  } sut(&h_.active);
  mlperf::TestSettings s;
  s.min_query_count = 10;
  s.min_duration_ms = 0;
  Session session(&sut, &qsl, s, h_.log_settings, "", h_.Env());
  EXPECT_THROW(
      {
        try {
          session.Run();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom in issue");
          throw;
        }
      },
      std::runtime_error);
  const std::string detail = h_.Detail();
  EXPECT_NE(detail.find("Test stopped: boom in issue"), std::string::npos);
  EXPECT_EQ(h_.Read("mlperf_log_accuracy.json"), "[\n]\n");
  EXPECT_NE(h_.Read("mlperf_log_summary.txt").find("1 ERROR encountered"), std::string::npos);
}

TEST_F(SessionTest, AbortFromAnotherThreadReturnsPromptly) {
  TestQsl qsl(10, 10);
  struct NeverSut : mlperf::SystemUnderTest {
    std::string name = "Never";
    const std::string& Name() override { return name; }
    void IssueQuery(const std::vector<mlperf::QuerySample>&) override {}
    void FlushQueries() override {}
  } sut;
  mlperf::TestSettings s;
  s.min_query_count = 10;
  s.min_duration_ms = 0;
  Session session(&sut, &qsl, s, h_.log_settings, "", h_.Env());
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    session.Abort("stop now");
  });
  TestOutcome out = session.Run();
  aborter.join();
  EXPECT_TRUE(out.aborted);
  EXPECT_EQ(out.abort_reason, "stop now");
}

TEST_F(SessionTest, BadSettingsFailBeforeAnyLoad) {
  TestQsl qsl(10, 0);
  InlineSut sut(&h_.active);
  mlperf::TestSettings s;
  Session session(&sut, &qsl, s, h_.log_settings, "", h_.Env());
  EXPECT_THROW(session.Run(), SettingsError);
  EXPECT_TRUE(qsl.loads.empty());
  EXPECT_TRUE(sut.issued.empty());
}

}  // namespace
}  // namespace loadgen::session
