// Clang thread-safety annotations (-Wthread-safety, on under clang in cmake/LoadgenWarnings.cmake)
// and a mutex the analysis understands. libstdc++'s std::mutex carries no annotations, so state
// guarded by one is not checked; guard it with common::Mutex and MutexLock instead.
// Attribute reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#ifndef LOADGEN_COMMON_THREAD_ANNOTATIONS_H_
#define LOADGEN_COMMON_THREAD_ANNOTATIONS_H_

#include <mutex>

#if defined(__clang__)
#define LOADGEN_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define LOADGEN_THREAD_ANNOTATION_(x)
#endif

#define LOADGEN_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION_(guarded_by(x))
#define LOADGEN_PT_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION_(pt_guarded_by(x))
#define LOADGEN_REQUIRES(...) LOADGEN_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define LOADGEN_EXCLUDES(...) LOADGEN_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define LOADGEN_ACQUIRE(...) LOADGEN_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define LOADGEN_RELEASE(...) LOADGEN_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define LOADGEN_CAPABILITY(x) LOADGEN_THREAD_ANNOTATION_(capability(x))
#define LOADGEN_SCOPED_CAPABILITY LOADGEN_THREAD_ANNOTATION_(scoped_lockable)
#define LOADGEN_NO_THREAD_SAFETY_ANALYSIS LOADGEN_THREAD_ANNOTATION_(no_thread_safety_analysis)

namespace loadgen::common {

/// std::mutex with annotations. Wait on a condition variable while holding it through
/// native_handle(): `std::unique_lock<std::mutex> native(mu.native_handle(), std::adopt_lock);`
/// then `native.release()` before the MutexLock goes out of scope (see issue/issue_threads.cc).
/// Write the wait as a loop in the function that holds the lock: the analysis does not carry a
/// held lock into a predicate lambda.
class LOADGEN_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() LOADGEN_ACQUIRE() { mu_.lock(); }
  void unlock() LOADGEN_RELEASE() { mu_.unlock(); }
  std::mutex& native_handle() { return mu_; }

 private:
  std::mutex mu_;
};

/// Holds a Mutex for its scope (std::lock_guard with annotations).
class LOADGEN_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) LOADGEN_ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() LOADGEN_RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace loadgen::common

#endif  // LOADGEN_COMMON_THREAD_ANNOTATIONS_H_
