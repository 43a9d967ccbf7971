// The null SUT and QSL the native benchmarks share: every sample is completed inside IssueQuery,
// so what a benchmark measures is loadgen's own cost.
#ifndef LOADGEN_BENCH_NULL_SUT_H_
#define LOADGEN_BENCH_NULL_SUT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "loadgen.h"
#include "query_sample_library.h"
#include "system_under_test.h"

namespace loadgen::bench {

class NullSut : public mlperf::SystemUnderTest {
 public:
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    responses_.clear();  // reused: no allocation once it has grown to the largest query
    for (const auto& s : samples) responses_.emplace_back(s.id, 0, 0);
    mlperf::QuerySamplesComplete(responses_.data(), responses_.size());
  }
  void FlushQueries() override {}

 private:
  std::string name_ = "NullSUT";
  std::vector<mlperf::QuerySampleResponse> responses_;
};

class NullQsl : public mlperf::QuerySampleLibrary {
 public:
  explicit NullQsl(size_t total_sample_count) : total_(total_sample_count) {}
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return total_; }
  size_t PerformanceSampleCount() override { return 1024; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "NullQSL";
  size_t total_;
};

}  // namespace loadgen::bench

#endif  // LOADGEN_BENCH_NULL_SUT_H_
