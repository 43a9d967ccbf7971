/// \file loadgen/errors.h
/// \brief The exceptions mlperf::StartTest throws, for native harnesses to catch. All derive
/// from loadgen::Error, a std::runtime_error. An exception of a SUT or QSL callback is rethrown
/// as it was; nothing is thrown on the completion path except a response callback's own.
#ifndef LOADGEN_ERRORS_H_
#define LOADGEN_ERRORS_H_

#include <stdexcept>

#include "export.h"

namespace loadgen {

/// Base of every loadgen exception.
class LOADGEN_EXPORT Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~Error() override;  // defined in the library, so its type information is unique
};

/// Settings that cannot produce a meaningful run (e.g. zero samples, NaN QPS). Thrown by
/// StartTest before any query is issued; the logs written so far say why.
class LOADGEN_EXPORT SettingsError : public Error {
 public:
  using Error::Error;
  ~SettingsError() override;
};

/// The test was stopped by AbortTestWithError (for example a callback failed on a SUT thread)
/// or by the no-progress watchdog. Thrown by StartTest after the logs are written.
class LOADGEN_EXPORT TestAborted : public Error {
 public:
  using Error::Error;
  ~TestAborted() override;
};

/// Log files could not be opened or written. Thrown by StartTest.
class LOADGEN_EXPORT LogError : public Error {
 public:
  using Error::Error;
  ~LogError() override;
};

/// A process runs one test at a time: the official free functions (StartTest, AbortTest,
/// QuerySamplesComplete, ...) take no test argument, so they address the process's one test.
/// Thrown by mlperf::StartTest and mlperf::c::StartTest (the Python APIs raise
/// loadgen.TestAlreadyRunningError) when a test is already running in this process, from
/// another thread or from inside a SUT callback of the running test. It is thrown at once,
/// before any log is opened or the SUT or QSL is called; the running test is not disturbed.
class LOADGEN_EXPORT TestAlreadyRunningError : public Error {
 public:
  using Error::Error;
  ~TestAlreadyRunningError() override;
};

}  // namespace loadgen

#endif  // LOADGEN_ERRORS_H_
