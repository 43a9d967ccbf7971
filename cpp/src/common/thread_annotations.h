// Clang thread-safety annotations (-Wthread-safety, on under clang in cmake/LoadgenWarnings.cmake)
// and a mutex the analysis understands. libstdc++'s std::mutex carries no annotations, so state
// guarded by one is not checked; guard it with common::Mutex and MutexLock instead.
// Under other compilers every macro expands to nothing.
// Attribute reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#ifndef LOADGEN_COMMON_THREAD_ANNOTATIONS_H_
#define LOADGEN_COMMON_THREAD_ANNOTATIONS_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define LOADGEN_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define LOADGEN_THREAD_ANNOTATION_(x)
#endif

/// A member that may be read or written only while holding `x`.
#define LOADGEN_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION_(guarded_by(x))
/// A pointer whose pointee may be accessed only while holding `x`.
#define LOADGEN_PT_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION_(pt_guarded_by(x))
/// The caller must hold these capabilities.
#define LOADGEN_REQUIRES(...) LOADGEN_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
/// The caller must not hold these capabilities (the function takes them).
#define LOADGEN_EXCLUDES(...) LOADGEN_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
/// The function acquires these capabilities (no argument: `this`).
#define LOADGEN_ACQUIRE(...) LOADGEN_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
/// The function releases these capabilities (no argument: `this`).
#define LOADGEN_RELEASE(...) LOADGEN_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
/// A class whose objects are capabilities (locks); `x` names the kind in diagnostics.
#define LOADGEN_CAPABILITY(x) LOADGEN_THREAD_ANNOTATION_(capability(x))
/// An RAII class that holds a capability for its lifetime.
#define LOADGEN_SCOPED_CAPABILITY LOADGEN_THREAD_ANNOTATION_(scoped_lockable)
/// Turns the analysis off for one function (say why where it is used).
#define LOADGEN_NO_THREAD_SAFETY_ANALYSIS LOADGEN_THREAD_ANNOTATION_(no_thread_safety_analysis)

namespace loadgen::common {

/// std::mutex with annotations. To wait on a condition variable while holding it, either call
/// WaitFor, or adopt native_handle():
/// `std::unique_lock<std::mutex> native(mu.native_handle(), std::adopt_lock);` then
/// `native.release()` before the MutexLock goes out of scope (see issue/issue_threads.cc).
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

  /// Waits on `cv` for at most `timeout` (or a spurious wake-up); the mutex is held again on
  /// return, as with std::condition_variable::wait_for.
  template <typename Rep, typename Period>
  void WaitFor(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout)
      LOADGEN_REQUIRES(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv.wait_for(lock, timeout);
    lock.release();  // still held; the caller's MutexLock releases it
  }

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
