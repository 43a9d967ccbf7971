// issue stage: harness threads that call RegisterIssueQueryThread and then issue Server queries
// for the test (docs/official-behaviour.md#issue-threads), without the official's off-by-one,
// stale end flag and hang.
#ifndef LOADGEN_ISSUE_ISSUE_THREADS_H_
#define LOADGEN_ISSUE_ISSUE_THREADS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>

#include "common/thread_annotations.h"

namespace loadgen::issue {

class IssueThreadPool {
 public:
  using Job = std::function<void(uint64_t thread_idx, uint64_t stride)>;
  using OnRegister = std::function<void(uint64_t thread_idx)>;

  /// Called by a harness thread: serves jobs until EndThreads(). Returns at once if the pool
  /// was ended since the thread's test began.
  void Serve(const OnRegister& on_register) LOADGEN_EXCLUDES(mu_);

  /// Waits up to `timeout` until at least `count` threads are registered; returns how many are.
  uint64_t WaitForThreads(uint64_t count, std::chrono::milliseconds timeout) LOADGEN_EXCLUDES(mu_);

  /// Runs `job` on threads 0..count-1 (stride = count) and waits for all of them. Exceptions
  /// thrown by the job are captured and the first is rethrown here.
  void Run(uint64_t count, const Job& job) LOADGEN_EXCLUDES(mu_);

  /// Releases every registered thread (end of test, AbortTest).
  void EndThreads() LOADGEN_EXCLUDES(mu_);

 private:
  /// Waits on cv_ with mu_ held (released while asleep).
  void Wait() LOADGEN_REQUIRES(mu_);

  common::Mutex mu_;
  std::condition_variable cv_;
  uint64_t registered_ LOADGEN_GUARDED_BY(mu_) = 0;
  uint64_t generation_ LOADGEN_GUARDED_BY(mu_) = 0;  // bumped by EndThreads
  uint64_t job_id_ LOADGEN_GUARDED_BY(mu_) = 0;
  uint64_t job_threads_ LOADGEN_GUARDED_BY(mu_) = 0;
  uint64_t job_done_ LOADGEN_GUARDED_BY(mu_) = 0;
  const Job* job_ LOADGEN_GUARDED_BY(mu_) = nullptr;
  std::exception_ptr job_error_ LOADGEN_GUARDED_BY(mu_);
};

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_ISSUE_THREADS_H_
