// session: the writer thread of one test. Completing threads never format or write anything;
// they publish fixed-size records (errors, accuracy entries) that this thread turns into log
// lines every few milliseconds and once more when a series ends.
#ifndef LOADGEN_SESSION_LOG_PUMP_H_
#define LOADGEN_SESSION_LOG_PUMP_H_

#include <atomic>
#include <condition_variable>
#include <thread>

#include "common/thread_annotations.h"
#include "logging/accuracy_log.h"
#include "logging/detail_log.h"
#include "record/series_recorder.h"
#include "selfcheck/generator_check.h"

namespace loadgen::session {

class LogPump {
 public:
  LogPump(logging::DetailLog* detail, logging::AccuracyLogWriter* accuracy,
          record::BoundedMpmcQueue<record::CompletionError>* errors, bool token_accuracy,
          bool offline);
  ~LogPump();

  /// Starts draining `recorder`'s accuracy entries (null: none). Session thread only.
  void SetRecorder(record::SeriesRecorder* recorder) LOADGEN_EXCLUDES(mu_);
  /// Drains everything published so far, synchronously. Session thread only.
  void DrainNow() LOADGEN_EXCLUDES(mu_);
  /// CPU time of the pump thread so far (the generator self-check). Any thread.
  int64_t CpuNs() { return selfcheck::ThreadCpuNs(thread_.native_handle()); }

 private:
  void Loop() LOADGEN_EXCLUDES(wake_mu_, mu_);
  void DrainLocked() LOADGEN_REQUIRES(mu_);
  void WriteError(const record::CompletionError& e);

  logging::DetailLog* detail_;
  logging::AccuracyLogWriter* accuracy_;
  record::BoundedMpmcQueue<record::CompletionError>* errors_;
  bool token_accuracy_;
  bool offline_;
  common::Mutex mu_;  // serialises draining between the pump thread and the session thread
  record::SeriesRecorder* recorder_ LOADGEN_GUARDED_BY(mu_) = nullptr;
  uint64_t reported_dropped_ LOADGEN_GUARDED_BY(mu_) = 0;  // errors_->dropped() when last logged
  common::Mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ LOADGEN_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
};

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_LOG_PUMP_H_
