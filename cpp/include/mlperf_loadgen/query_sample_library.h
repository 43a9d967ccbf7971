/// \file query_sample_library.h
/// \brief The interface a harness implements to give loadgen its data set (official names).
#ifndef MLPERF_LOADGEN_QUERY_SAMPLE_LIBRARY_H_
#define MLPERF_LOADGEN_QUERY_SAMPLE_LIBRARY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "query_sample.h"

namespace mlperf {

/// The data set: loadgen decides which samples to load and issue; the harness owns the data.
class QuerySampleLibrary {
 public:
  virtual ~QuerySampleLibrary() {}
  virtual const std::string& Name() = 0;
  /// Number of samples in the data set (the accuracy universe).
  virtual size_t TotalSampleCount() = 0;
  /// Number of samples that fit in RAM at once (the performance set size).
  virtual size_t PerformanceSampleCount() = 0;
  /// Load the given samples; called on the StartTest thread before they are issued.
  virtual void LoadSamplesToRam(const std::vector<QuerySampleIndex>& samples) = 0;
  /// Unload the samples of an earlier LoadSamplesToRam call (same vector).
  virtual void UnloadSamplesFromRam(const std::vector<QuerySampleIndex>& samples) = 0;
};

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_QUERY_SAMPLE_LIBRARY_H_
