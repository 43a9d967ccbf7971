#include "common/enum_names.h"

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
