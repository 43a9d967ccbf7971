// session: the writer thread of one test. Completing threads never format or write anything;
// they publish fixed-size records (errors, accuracy entries) that this thread turns into log
// lines every few milliseconds and once more when a series ends.
#ifndef LOADGEN_SESSION_LOG_PUMP_H_
#define LOADGEN_SESSION_LOG_PUMP_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "logging/accuracy_log.h"
#include "logging/detail_log.h"
#include "record/series_recorder.h"

namespace loadgen::session {

class LogPump {
 public:
  LogPump(logging::DetailLog* detail, logging::AccuracyLogWriter* accuracy,
          record::BoundedMpmcQueue<record::CompletionError>* errors, bool token_accuracy,
          bool offline);
  ~LogPump();

  /// Starts draining `recorder`'s accuracy entries (null: none). Session thread only.
  void SetRecorder(record::SeriesRecorder* recorder);
  /// Drains everything published so far, synchronously. Session thread only.
  void DrainNow();

 private:
  void Loop();
  void DrainLocked();
  void WriteError(const record::CompletionError& e);

  logging::DetailLog* detail_;
  logging::AccuracyLogWriter* accuracy_;
  record::BoundedMpmcQueue<record::CompletionError>* errors_;
  bool token_accuracy_;
  bool offline_;
  std::mutex mu_;  // serialises draining between the pump thread and the session thread
  record::SeriesRecorder* recorder_ = nullptr;
  uint64_t reported_dropped_ = 0;  // errors_->dropped() when last logged
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_LOG_PUMP_H_
