#include "session/log_pump.h"

#include <chrono>
#include <string>

namespace loadgen::session {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

LogPump::LogPump(logging::DetailLog* detail, logging::AccuracyLogWriter* accuracy,
                 record::BoundedMpmcQueue<record::CompletionError>* errors, bool token_accuracy,
                 bool offline)
    : detail_(detail),
      accuracy_(accuracy),
      errors_(errors),
      token_accuracy_(token_accuracy),
      offline_(offline),
      thread_([this] { Loop(); }) {}

LogPump::~LogPump() {
  {
    common::MutexLock lock(&wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  DrainNow();
}

void LogPump::SetRecorder(record::SeriesRecorder* recorder) {
  common::MutexLock lock(&mu_);
  DrainLocked();
  recorder_ = recorder;
}

void LogPump::DrainNow() {
  common::MutexLock lock(&mu_);
  DrainLocked();
}

void LogPump::Loop() {
  while (true) {
    {
      common::MutexLock lock(&wake_mu_);
      if (stop_) return;
      wake_mu_.WaitFor(wake_, std::chrono::milliseconds(10));
    }
    DrainNow();
  }
}

void LogPump::DrainLocked() {
  record::CompletionError e;
  while (errors_->TryPop(e)) WriteError(e);
  // Events a full queue refused: one line whenever the running total grows, so the last one
  // holds the test's total.
  const uint64_t dropped = errors_->dropped();
  if (dropped != reported_dropped_) {
    reported_dropped_ = dropped;
    detail_->Log("loadgen_error_events_dropped", logging::JsonValue::Uint(dropped),
                 Severity::kError, "loadgen.cc", 0);
  }
  // A local copy: the analysis cannot see that the lambda runs while mu_ is held.
  record::SeriesRecorder* const recorder = recorder_;
  if (recorder && accuracy_) {
    const schedule::SeriesPlan& plan = recorder->plan();
    recorder->DrainAccuracy(
        [&](const record::AccuracyRecord& r, const uint8_t* token_data, size_t token_size) {
          const uint64_t seq = plan.first_sample_seq + r.local;
          const uint64_t idx = plan.sample_index[r.local];
          if (token_accuracy_) {
            accuracy_->AddWithTokens(seq, idx, r.data, r.size, token_data, token_size,
                                     recorder->n_tokens(r.local), offline_);
          } else {
            accuracy_->Add(seq, idx, r.data, r.size);
          }
        });
  }
}

void LogPump::WriteError(const record::CompletionError& e) {
  using K = record::CompletionError;
  std::string message;
  const char* file = "logging.cc";
  switch (e.kind) {
    case K::kDuplicate:
    case K::kTokenTwice:
      message = "Attempted to complete a sample twice.";
      break;
    case K::kStale:
      message = "Received completion for a response id of an earlier series or test (" + Hex(e.a) +
                "); it was ignored.";
      file = "loadgen.cc";
      break;
    case K::kUnknown:
      message = "Received completion for an unknown response id (" + Hex(e.a) +
                "); it was ignored. Complete samples only with ids loadgen issued.";
      file = "loadgen.cc";
      break;
    case K::kNoFirstToken:
      message = "Attempted to record a sample latency before it's first token latency";
      break;
    case K::kTokensMissing:
      message = "n_tokens argument missing or attempted to record 0 as number of tokens";
      break;
    case K::kTokensNegative:
      message = "Attempted to record a negative number of tokens";
      break;
    case K::kTokensOne:
      message = "Number of tokens need to be greater than 1";
      break;
    case K::kTokenAfterComplete:
      message = "Attempted to record token latency after sample was completed";
      break;
    case K::kCallbackFailed:
      message = "The response callback raised an exception for sample " + std::to_string(e.a) +
                "; its data was not logged.";
      file = "loadgen.cc";
      break;
  }
  detail_->Log("error_runtime", logging::JsonValue::String(message), Severity::kError, file, 0,
               e.time_ns, e.tid);
}

}  // namespace loadgen::session
