#include "issue/issue_threads.h"

#include <exception>
#include <mutex>

namespace loadgen::issue {

void IssueThreadPool::Wait() {
  std::unique_lock<std::mutex> native(mu_.native_handle(), std::adopt_lock);
  cv_.wait(native);
  native.release();  // mu_ stays held, as the caller's annotation says
}

void IssueThreadPool::Serve(const OnRegister& on_register) {
  // Locked and unlocked by hand: the job and the registration callback run without the lock.
  mu_.lock();
  const uint64_t idx = registered_++;
  const uint64_t generation = generation_;
  uint64_t seen_job = job_id_;
  cv_.notify_all();
  if (on_register) {
    mu_.unlock();
    on_register(idx);
    mu_.lock();
  }
  while (true) {
    while (generation_ == generation && job_id_ == seen_job) Wait();
    if (generation_ != generation) break;
    seen_job = job_id_;
    if (idx >= job_threads_) continue;  // more threads registered than the test asked for
    const Job* job = job_;
    const uint64_t stride = job_threads_;
    mu_.unlock();
    std::exception_ptr error;
    try {
      (*job)(idx, stride);
    } catch (...) {
      error = std::current_exception();
    }
    mu_.lock();
    if (error && !job_error_) job_error_ = error;
    ++job_done_;
    cv_.notify_all();
  }
  --registered_;
  cv_.notify_all();
  mu_.unlock();
}

uint64_t IssueThreadPool::WaitForThreads(uint64_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  common::MutexLock lock(&mu_);
  std::unique_lock<std::mutex> native(mu_.native_handle(), std::adopt_lock);
  while (registered_ < count) {
    if (cv_.wait_until(native, deadline) == std::cv_status::timeout) break;
  }
  native.release();
  return registered_;
}

void IssueThreadPool::Run(uint64_t count, const Job& job) {
  std::exception_ptr error;
  {
    common::MutexLock lock(&mu_);
    job_ = &job;
    job_threads_ = count;
    job_done_ = 0;
    job_error_ = nullptr;
    ++job_id_;
    cv_.notify_all();
    while (job_done_ < job_threads_ && registered_ >= job_threads_) Wait();
    job_ = nullptr;
    error = job_error_;
    job_error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void IssueThreadPool::EndThreads() {
  common::MutexLock lock(&mu_);
  ++generation_;
  cv_.notify_all();
}

}  // namespace loadgen::issue
