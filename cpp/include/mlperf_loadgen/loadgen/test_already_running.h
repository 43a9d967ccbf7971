/// \file loadgen/test_already_running.h
/// \brief The error StartTest throws when another test is running in the process.
///
/// A process runs one test at a time: the official free functions (StartTest, AbortTest,
/// QuerySamplesComplete, ...) take no test argument, so they address the process's one test.
/// A StartTest called while another runs (from another thread, or from inside a SUT callback
/// of the running test) is refused at once, before it opens any log or calls the SUT or QSL;
/// the running test is not disturbed. Tests run one after another work as always.
#ifndef LOADGEN_TEST_ALREADY_RUNNING_H_
#define LOADGEN_TEST_ALREADY_RUNNING_H_

#include <stdexcept>
#include <string>

#include "export.h"

namespace loadgen {

/// Thrown by mlperf::StartTest (and mlperf::c::StartTest, and the Python APIs, which raise
/// loadgen.TestAlreadyRunningError) when a test is already running in this process.
class LOADGEN_EXPORT TestAlreadyRunningError : public std::runtime_error {
 public:
  explicit TestAlreadyRunningError(const std::string& message);
  ~TestAlreadyRunningError() override;
};

}  // namespace loadgen

#endif  // LOADGEN_TEST_ALREADY_RUNNING_H_
