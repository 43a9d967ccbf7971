/// \file system_under_test.h
/// \brief The interface a harness implements to receive queries (official names).
#ifndef MLPERF_LOADGEN_SYSTEM_UNDER_TEST_H_
#define MLPERF_LOADGEN_SYSTEM_UNDER_TEST_H_

#include <string>
#include <vector>

#include "query_sample.h"

namespace mlperf {

/// The system being measured.
class SystemUnderTest {
 public:
  virtual ~SystemUnderTest() {}

  /// A human-readable name, logged as `sut_name`.
  virtual const std::string& Name() = 0;

  /// Called by loadgen to issue samples. May block or return at once; the SUT completes each
  /// sample later (or inline) with QuerySamplesComplete.
  /// Thread-safety: called from the StartTest thread, or from registered issue threads in Server.
  virtual void IssueQuery(const std::vector<QuerySample>& samples) = 0;

  /// Called once after the last IssueQuery of each series: the SUT should stop batching/waiting.
  virtual void FlushQueries() = 0;
};

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_SYSTEM_UNDER_TEST_H_
