// Issue 13: does the Server issuer keep a Poisson schedule's shape? Issues --queries queries at
// --qps (Server scenario, exponential gaps) to a null SUT that stamps each IssueQuery entry, and
// prints one JSON line: the Kolmogorov-Smirnov D of the stamps' gaps against Exp(qps) with its
// 5% critical value, the share of gaps under 20 us (queries issued back to back after a late
// wake-up), the issue delay percentiles (completion - scheduled moment: for a SUT that
// completes inline, the issuer's lag) and the load average around the run.
//
//   issue_timing [--qps 1000] [--queries 10000] [--reps 1]
// Run it pinned to compare machines or changes: taskset -c 1 build/.../bench/issue_timing
// (the plan's own gaps pass the test for any seed: tests/cpp/test_plan.cc,
// ServerScheduleGapsAreExponentialAtTheTargetRate).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "ks_distance.h"
#include "loadgen.h"
#include "null_sut.h"
#include "session/process.h"

namespace {

using loadgen::test_support::KsAgainstExponential;

// The null SUT, with the time of each IssueQuery entry (what a client would stamp).
class StampingSut : public mlperf::SystemUnderTest {
 public:
  explicit StampingSut(size_t queries) { stamps_.reserve(queries + 16); }
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    const int64_t now = loadgen::NowNs();
    responses_.clear();
    for (const auto& s : samples) {
      if (stamps_.size() < stamps_.capacity()) stamps_.push_back(now);
      responses_.emplace_back(s.id, 0, 0);
    }
    mlperf::QuerySamplesComplete(responses_.data(), responses_.size());
  }
  void FlushQueries() override {}
  const std::vector<int64_t>& stamps() const { return stamps_; }

 private:
  std::string name_ = "StampingNullSUT";
  std::vector<mlperf::QuerySampleResponse> responses_;
  std::vector<int64_t> stamps_;
};

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double one = 0;
  f >> one;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", one);
  return buf;
}

void Run(double qps, uint64_t queries) {
  const std::string load_before = LoadAverage();
  StampingSut sut(queries);
  loadgen::bench::NullQsl qsl(1024);
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::Server;
  s.mode = mlperf::TestMode::PerformanceOnly;
  s.server_target_qps = qps;
  s.server_target_latency_ns = 1000000000;
  s.min_duration_ms = 0;
  s.min_query_count = queries;
  s.max_query_count = queries;
  mlperf::LogSettings logs;
  const std::string dir =
      (std::filesystem::temp_directory_path() / "loadgen_issue_timing_bench").string();
  std::filesystem::create_directories(dir);
  logs.log_output.outdir = dir;
  const loadgen::session::TestOutcome out =
      loadgen::session::RunProcessTest(&sut, &qsl, s, logs, "", {}, nullptr);
  if (!out.performance) {
    std::printf("{\"error\": \"no result\"}\n");
    return;
  }
  const std::vector<int64_t>& t = sut.stamps();
  std::vector<double> gaps;
  uint64_t back_to_back = 0;
  for (size_t i = 1; i < t.size(); ++i) {
    gaps.push_back(static_cast<double>(t[i] - t[i - 1]) / 1e9);
    if (t[i] - t[i - 1] < 20000) ++back_to_back;
  }
  const auto& p = *out.performance;
  // Percentile entries: kReportedPercentiles = 50, 90, 95, 97, 99, 99.9.
  std::printf(
      "{\"qps\": %.0f, \"queries\": %zu, \"issue_ks_d\": %.4f, \"ks_critical_5pct\": %.4f, "
      "\"gaps_under_20us_share\": %.4f, \"expected_share_under_20us\": %.4f, "
      "\"delay_p50_us\": %.1f, \"delay_p90_us\": %.1f, \"delay_p99_us\": %.1f, "
      "\"delay_p999_us\": %.1f, \"delay_max_us\": %.1f, \"loadavg_before\": %s, "
      "\"loadavg_after\": %s}\n",
      qps, t.size(), gaps.empty() ? 0.0 : KsAgainstExponential(gaps, qps),
      1.358 / std::sqrt(static_cast<double>(std::max<size_t>(gaps.size(), 1))),
      gaps.empty() ? 0.0 : static_cast<double>(back_to_back) / static_cast<double>(gaps.size()),
      1.0 - std::exp(-qps * 20e-6), p.sample_latency.at_percentile[0] / 1e3,
      p.sample_latency.at_percentile[1] / 1e3, p.sample_latency.at_percentile[4] / 1e3,
      p.sample_latency.at_percentile[5] / 1e3, p.sample_latency.max / 1e3, load_before.c_str(),
      LoadAverage().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double qps = 1000;
  uint64_t queries = 10000;
  int reps = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--qps") == 0) {
      qps = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--queries") == 0) {
      queries = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: issue_timing [--qps 1000] [--queries 10000] [--reps 1]\n");
      return 2;
    }
  }
  for (int r = 0; r < reps; ++r) Run(qps, queries);
  return 0;
}
