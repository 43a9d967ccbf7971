#include "common/enum_names.h"

#include <cstring>

#include "loadgen/failure.h"

namespace loadgen {

using mlperf::TestMode;
using mlperf::TestScenario;

const char* ScenarioName(TestScenario scenario) {
  switch (scenario) {
    case TestScenario::SingleStream:
      return "SingleStream";
    case TestScenario::MultiStream:
      return "MultiStream";
    case TestScenario::Server:
      return "Server";
    case TestScenario::Offline:
      return "Offline";
  }
  return "InvalidScenario";
}

const char* ModeName(TestMode mode) {
  switch (mode) {
    case TestMode::SubmissionRun:
      return "SubmissionRun";
    case TestMode::AccuracyOnly:
      return "AccuracyOnly";
    case TestMode::PerformanceOnly:
      return "PerformanceOnly";
    case TestMode::FindPeakPerformance:
      return "FindPeakPerformance";
  }
  return "InvalidMode";
}

}  // namespace loadgen

namespace loadgen {

namespace {
constexpr const char* kSampleFailureNames[kSampleFailureCount] = {"error",
                                                                  "http_4xx",
                                                                  "http_5xx",
                                                                  "connect_failed",
                                                                  "connection_closed",
                                                                  "timeout_connect",
                                                                  "timeout_first_byte",
                                                                  "timeout_total",
                                                                  "malformed_response",
                                                                  "bad_sample",
                                                                  "cancelled",
                                                                  "http_status"};
}  // namespace

const char* SampleFailureName(SampleFailure reason) {
  const size_t i = static_cast<size_t>(reason);
  return i < kSampleFailureCount ? kSampleFailureNames[i] : "unknown";
}

bool SampleFailureFromName(const char* name, SampleFailure* reason) {
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    if (std::strcmp(name, kSampleFailureNames[i]) == 0) {
      *reason = static_cast<SampleFailure>(i);
      return true;
    }
  }
  return false;
}

}  // namespace loadgen
