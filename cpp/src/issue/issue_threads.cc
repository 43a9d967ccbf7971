#include "issue/issue_threads.h"

#include <exception>

namespace loadgen::issue {

void IssueThreadPool::Serve(const OnRegister& on_register) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t idx = registered_++;
  const uint64_t generation = generation_;
  uint64_t seen_job = job_id_;
  cv_.notify_all();
  if (on_register) {
    lock.unlock();
    on_register(idx);
    lock.lock();
  }
  while (true) {
    cv_.wait(lock, [&] { return generation_ != generation || job_id_ != seen_job; });
    if (generation_ != generation) break;
    seen_job = job_id_;
    if (idx >= job_threads_) continue;  // more threads registered than the test asked for
    const Job* job = job_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*job)(idx, job_threads_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !job_error_) job_error_ = error;
    ++job_done_;
    cv_.notify_all();
  }
  --registered_;
  cv_.notify_all();
}

uint64_t IssueThreadPool::WaitForThreads(uint64_t count, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return registered_ >= count; });
  return registered_;
}

void IssueThreadPool::Run(uint64_t count, const Job& job) {
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &job;
  job_threads_ = count;
  job_done_ = 0;
  job_error_ = nullptr;
  ++job_id_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return job_done_ >= job_threads_ || registered_ < job_threads_; });
  job_ = nullptr;
  if (job_error_) {
    std::exception_ptr error = job_error_;
    job_error_ = nullptr;
    std::rethrow_exception(error);
  }
}

void IssueThreadPool::EndThreads() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  cv_.notify_all();
}

}  // namespace loadgen::issue
