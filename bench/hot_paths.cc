// Micro-benchmarks of the engine's per-sample paths, without Python and without log files:
// completion recording (by response and by id, in batches), the issue loop with a SUT that
// completes inline, and the completion-error queue. Prints one JSON line per case with the best
// of several repetitions in nanoseconds per sample (or per event).
//
//   hot_paths [--samples N] [--reps R]
//
// Use it to see what a change to record/ or issue/ costs; lgbench.py measures the whole stack.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "issue/issuer.h"
#include "record/bounded_queue.h"
#include "record/series_recorder.h"
#include "schedule/plan.h"
#include "settings/effective_settings.h"

namespace {

using loadgen::NowNs;
using loadgen::record::BoundedMpmcQueue;
using loadgen::record::CompletionError;
using loadgen::record::RecorderOptions;
using loadgen::record::SeriesRecorder;
using loadgen::schedule::SeriesPlan;

SeriesPlan MakePlan(uint64_t queries, uint64_t samples_per_query) {
  SeriesPlan plan;
  plan.samples_per_query = samples_per_query;
  plan.sample_index.resize(queries * samples_per_query);
  for (uint64_t i = 0; i < plan.sample_index.size(); ++i) {
    plan.sample_index[i] = static_cast<uint32_t>(i % 1024);
  }
  plan.scheduled_delta_ns.assign(queries, 0);
  plan.accuracy_log_bits.assign((plan.sample_index.size() + 63) / 64, 0);
  plan.Seal();
  return plan;
}

RecorderOptions Options(mlperf::TestScenario scenario) {
  RecorderOptions options;
  options.scenario = scenario;
  return options;
}

// Best of `reps` runs of `body`, which returns the nanoseconds it measured.
double Best(int reps, const std::function<double()>& body) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) best = std::min(best, body());
  return best;
}

void Print(const char* name, const std::string& params, double ns) {
  std::printf("{\"case\": \"%s\", %s, \"ns_per_item\": %.2f}\n", name, params.c_str(), ns);
  std::fflush(stdout);
}

// SeriesRecorder::Complete (QuerySamplesComplete's engine part) in batches.
double CompleteResponses(uint64_t n, uint64_t batch) {
  const SeriesPlan plan = MakePlan(1, n);
  BoundedMpmcQueue<CompletionError> errors(1024);
  SeriesRecorder recorder(plan, Options(mlperf::TestScenario::Offline), &errors);
  recorder.MarkIssued(0, NowNs(), NowNs());
  std::vector<mlperf::QuerySampleResponse> responses;
  responses.reserve(n);
  for (uint64_t i = 0; i < n; ++i) responses.emplace_back(recorder.ResponseIdOf(i), 0, 0);
  const mlperf::ResponseCallback none;
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < n; i += batch) {
    recorder.Complete(responses.data() + i, std::min(batch, n - i), none, NowNs());
  }
  return static_cast<double>(NowNs() - start) / static_cast<double>(n);
}

double CompleteIds(uint64_t n, uint64_t batch) {
  const SeriesPlan plan = MakePlan(1, n);
  BoundedMpmcQueue<CompletionError> errors(1024);
  SeriesRecorder recorder(plan, Options(mlperf::TestScenario::Offline), &errors);
  recorder.MarkIssued(0, NowNs(), NowNs());
  std::vector<uint64_t> ids(n);
  for (uint64_t i = 0; i < n; ++i) ids[i] = recorder.ResponseIdOf(i);
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < n; i += batch) {
    recorder.CompleteIds(ids.data() + i, std::min(batch, n - i), nullptr, NowNs());
  }
  return static_cast<double>(NowNs() - start) / static_cast<double>(n);
}

// A SUT completing every query inline, as a native BasicSUT does.
class InlineSut : public mlperf::SystemUnderTest {
 public:
  explicit InlineSut(SeriesRecorder* recorder) : recorder_(recorder) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    ids_.clear();
    for (const auto& s : samples) ids_.push_back(s.id);
    recorder_->CompleteIds(ids_.data(), ids_.size(), nullptr, NowNs());
  }
  void FlushQueries() override {}

 private:
  std::string name_ = "inline";
  SeriesRecorder* recorder_;
  std::vector<uint64_t> ids_;
};

// IssueQueries for `queries` queries of one sample each (closed loop for SingleStream,
// back-to-back for Server: every scheduled time is 0), or one Offline query of `queries` samples.
double IssueLoop(mlperf::TestScenario scenario, uint64_t queries) {
  const bool offline = scenario == mlperf::TestScenario::Offline;
  const SeriesPlan plan = offline ? MakePlan(1, queries) : MakePlan(queries, 1);
  BoundedMpmcQueue<CompletionError> errors(1024);
  SeriesRecorder recorder(plan, Options(scenario), &errors);
  InlineSut sut(&recorder);
  loadgen::settings::EffectiveSettings settings;
  settings.scenario = scenario;
  settings.min_query_count = offline ? 1 : queries;
  settings.max_query_count = 0;
  std::atomic<bool> abort{false};
  loadgen::issue::IssueShared shared;
  shared.abort = &abort;
  loadgen::issue::IssueParams params;
  params.settings = &settings;
  params.sut = &sut;
  params.recorder = &recorder;
  shared.start_ns = NowNs();
  const int64_t start = NowNs();
  loadgen::issue::IssueQueries(params, shared, 0, 1);
  return static_cast<double>(NowNs() - start) / static_cast<double>(queries);
}

double ErrorQueue(uint64_t n) {
  BoundedMpmcQueue<CompletionError> queue(1 << 16);
  CompletionError e{};
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < n; ++i) {
    e.a = i;
    queue.TryPush(e);
    queue.TryPop(e);
  }
  return static_cast<double>(NowNs() - start) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 1000000;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--samples") == 0) {
      n = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: hot_paths [--samples N] [--reps R]\n");
      return 2;
    }
  }
  for (uint64_t batch : {1, 64, 1024}) {
    const std::string params = "\"batch\": " + std::to_string(batch);
    Print("complete_responses", params, Best(reps, [&] { return CompleteResponses(n, batch); }));
    Print("complete_ids", params, Best(reps, [&] { return CompleteIds(n, batch); }));
  }
  const std::pair<const char*, mlperf::TestScenario> scenarios[] = {
      {"Offline", mlperf::TestScenario::Offline},
      {"Server", mlperf::TestScenario::Server},
      {"SingleStream", mlperf::TestScenario::SingleStream}};
  for (const auto& [name, scenario] : scenarios) {
    Print("issue_inline_sut", std::string("\"scenario\": \"") + name + "\"",
          Best(reps, [&, scenario = scenario] { return IssueLoop(scenario, n); }));
  }
  Print("error_queue_push_pop", "\"capacity\": 65536", Best(reps, [&] { return ErrorQueue(n); }));
  return 0;
}
