// Proves the hot paths allocate nothing per sample: a global operator new that counts the
// allocations made on this thread while counting is on. Its own executable, because replacing
// operator new affects every test in a binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "issue/issuer.h"
#include "issue/load_issuer.h"
#include "record/active_series.h"
#include "record/series_recorder.h"
#include "schedule/plan.h"

namespace {
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace loadgen {
namespace {

class CountAllocations {
 public:
  CountAllocations() {
    g_allocations = 0;
    g_counting = true;
  }
  ~CountAllocations() { g_counting = false; }
  size_t count() const { return g_allocations; }
};

schedule::SeriesPlan MakePlan(uint64_t queries, uint64_t spq, bool log_accuracy) {
  schedule::SeriesPlan plan;
  plan.samples_per_query = spq;
  plan.sample_index.resize(queries * spq);
  for (uint64_t i = 0; i < plan.sample_index.size(); ++i) plan.sample_index[i] = i % 97;
  plan.scheduled_delta_ns.assign(queries, 0);
  plan.accuracy_log_bits.assign((queries * spq + 63) / 64, log_accuracy ? ~uint64_t{0} : 0);
  plan.Seal();
  return plan;
}

TEST(NoAllocation, CompletionPathAllocatesNothingPerSample) {
  schedule::SeriesPlan plan = MakePlan(10000, 1, false);
  record::BoundedMpmcQueue<record::CompletionError> errors(1024);
  record::RecorderOptions options;
  options.series_tag = 7;
  record::SeriesRecorder recorder(plan, options, &errors);
  record::ActiveSeries active;
  active.Publish(&recorder);
  std::vector<mlperf::QuerySampleResponse> responses;
  for (uint64_t q = 0; q < plan.query_count(); ++q) {
    recorder.MarkIssued(q, 0, 0);
    responses.emplace_back(recorder.ResponseIdOf(q), 0, 0);
  }
  size_t allocations;
  {
    CountAllocations counter;
    for (size_t i = 0; i < responses.size(); i += 100) {
      active.Complete(responses.data() + i, 100, {});
    }
    // Errors (repeated ids) are reported without allocating too.
    active.Complete(responses.data(), 100, {});
    allocations = counter.count();
  }
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(recorder.completed_samples(), 10000u);
  active.Retire();
}

TEST(NoAllocation, IdCompletionWithTokensAllocatesNothing) {
  schedule::SeriesPlan plan = MakePlan(5000, 1, false);
  record::BoundedMpmcQueue<record::CompletionError> errors(1024);
  record::RecorderOptions options;
  options.series_tag = 9;
  options.use_tokens = true;
  options.needs_first_token = true;
  record::SeriesRecorder recorder(plan, options, &errors);
  std::vector<uint64_t> ids;
  std::vector<int64_t> tokens(plan.query_count(), 5);
  for (uint64_t q = 0; q < plan.query_count(); ++q) {
    recorder.MarkIssued(q, 0, 0);
    ids.push_back(recorder.ResponseIdOf(q));
  }
  CountAllocations counter;
  recorder.FirstTokenIds(ids.data(), ids.size(), 10);
  recorder.CompleteIds(ids.data(), ids.size(), tokens.data(), 20);
  EXPECT_EQ(counter.count(), 0u);
}

TEST(NoAllocation, AccuracyCopiesUseTheArenaNotOneAllocationEach) {
  schedule::SeriesPlan plan = MakePlan(10000, 1, true);
  record::BoundedMpmcQueue<record::CompletionError> errors(1024);
  record::RecorderOptions options;
  record::SeriesRecorder recorder(plan, options, &errors);
  std::vector<mlperf::QuerySampleResponse> responses;
  uint32_t payload = 42;
  for (uint64_t q = 0; q < plan.query_count(); ++q) {
    recorder.MarkIssued(q, 0, 0);
    responses.emplace_back(recorder.ResponseIdOf(q), reinterpret_cast<uintptr_t>(&payload), 4);
  }
  CountAllocations counter;
  recorder.Complete(responses.data(), responses.size(), {}, 1);
  // 10000 copies of 4 bytes fit in one arena chunk: one chunk costs 3 allocations (record,
  // bytes, bookkeeping slot), independent of the number of samples.
  EXPECT_LE(counter.count(), 3u);
}

// The issue loop of a closed-loop scenario: the SUT completes inline; only the SUT's own work
// may allocate (it does not here), so the count is 0 for thousands of queries.
TEST(NoAllocation, IssueLoopAllocatesNothingPerQuery) {
  schedule::SeriesPlan plan = MakePlan(5000, 1, false);
  record::BoundedMpmcQueue<record::CompletionError> errors(1024);
  record::RecorderOptions options;
  record::SeriesRecorder recorder(plan, options, &errors);
  struct InlineSut : mlperf::SystemUnderTest {
    record::SeriesRecorder* rec;
    std::string name = "inline";
    const std::string& Name() override { return name; }
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      uint64_t id = samples[0].id;
      rec->CompleteIds(&id, 1, nullptr, 1);
    }
    void FlushQueries() override {}
  } sut;
  sut.rec = &recorder;
  settings::EffectiveSettings s;
  s.scenario = mlperf::TestScenario::SingleStream;
  s.min_query_count = 5000;
  std::atomic<bool> abort{false};
  issue::IssueShared shared;
  shared.abort = &abort;
  issue::IssueParams params;
  params.settings = &s;
  params.sut = &sut;
  params.recorder = &recorder;
  size_t allocations;
  {
    CountAllocations counter;
    issue::IssueQueries(params, shared, 0, 1);
    allocations = counter.count();
  }
  EXPECT_EQ(shared.queries_issued, 5000u);
  // Per series: the shared batch vector (make_shared, then its reserve) and the "Ending
  // naturally" message; nothing per query while the SUT keeps no batch.
  EXPECT_LE(allocations, 3u);
}

// A load plan's issue loop: an open-loop stage (all due at once) then a closed loop of 4 in
// flight, the SUT completing inline: nothing is allocated per query either.
TEST(NoAllocation, LoadPlanIssueLoopAllocatesNothingPerQuery) {
  schedule::LoadModel model;
  schedule::StageSpec open;
  open.kind = schedule::ArrivalKind::kConstantRate;
  open.rate_qps = 1e12;
  open.queries = 3000;
  open.concurrency = 8;  // the gate is checked on every query
  schedule::StageSpec closed;
  closed.kind = schedule::ArrivalKind::kConcurrency;
  closed.concurrency = 4;
  closed.queries = 2000;
  model.stages = {open, closed};
  settings::EffectiveSettings s;
  s.scenario = mlperf::TestScenario::Server;
  schedule::LoadableSet set;
  set.samples = {0, 1, 2, 3};
  set.dist_end = 4;
  schedule::SequenceState sequence;
  schedule::LoadPlan load = schedule::GenerateLoadPlan(model, s, set, sequence);
  record::BoundedMpmcQueue<record::CompletionError> errors(1024);
  record::RecorderOptions options;
  options.scenario = mlperf::TestScenario::Server;
  record::SeriesRecorder recorder(load.plan, options, &errors);
  struct InlineSut : mlperf::SystemUnderTest {
    record::SeriesRecorder* rec;
    std::string name = "inline";
    const std::string& Name() override { return name; }
    void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
      uint64_t id = samples[0].id;
      rec->CompleteIds(&id, 1, nullptr, 1);
    }
    void FlushQueries() override {}
  } sut;
  sut.rec = &recorder;
  std::atomic<bool> abort{false};
  issue::IssueShared shared;
  shared.abort = &abort;
  issue::IssueParams params;
  params.settings = &s;
  params.sut = &sut;
  params.recorder = &recorder;
  std::vector<issue::StageIssueStats> stats(load.stages.size());
  size_t allocations;
  {
    CountAllocations counter;
    issue::IssueLoadPlan(params, shared, load, stats);
    allocations = counter.count();
  }
  EXPECT_EQ(shared.queries_issued, 5000u);
  // Per series: the shared batch vector (make_shared, then its reserve).
  EXPECT_LE(allocations, 2u);
}

}  // namespace
}  // namespace loadgen
