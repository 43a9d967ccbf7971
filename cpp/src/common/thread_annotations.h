// Clang thread-safety annotations (-Wthread-safety, enabled in cmake/LoadgenWarnings.cmake),
// and a mutex the analysis understands. libstdc++'s std::mutex carries no annotations, so
// state guarded by a std::mutex cannot be checked; guard it with common::Mutex instead.
// Under other compilers every macro expands to nothing.
#ifndef LOADGEN_COMMON_THREAD_ANNOTATIONS_H_
#define LOADGEN_COMMON_THREAD_ANNOTATIONS_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define LOADGEN_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LOADGEN_THREAD_ANNOTATION(x)
#endif

/// A member that may be read or written only while holding `x`.
#define LOADGEN_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION(guarded_by(x))
/// A pointer whose pointee may be accessed only while holding `x`.
#define LOADGEN_PT_GUARDED_BY(x) LOADGEN_THREAD_ANNOTATION(pt_guarded_by(x))
/// The caller must hold these capabilities.
#define LOADGEN_REQUIRES(...) LOADGEN_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
/// The caller must not hold these capabilities (the function takes them).
#define LOADGEN_EXCLUDES(...) LOADGEN_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
/// The function acquires these capabilities (no argument: `this`).
#define LOADGEN_ACQUIRE(...) LOADGEN_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
/// The function releases these capabilities (no argument: `this`).
#define LOADGEN_RELEASE(...) LOADGEN_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
/// A class whose objects are capabilities (locks); `x` names the kind in diagnostics.
#define LOADGEN_CAPABILITY(x) LOADGEN_THREAD_ANNOTATION(capability(x))
/// An RAII class that holds a capability for its lifetime.
#define LOADGEN_SCOPED_CAPABILITY LOADGEN_THREAD_ANNOTATION(scoped_lockable)
/// Turns the analysis off for one function (say why where it is used).
#define LOADGEN_NO_THREAD_SAFETY_ANALYSIS LOADGEN_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace loadgen::common {

/// std::mutex with the annotations the analysis needs.
class LOADGEN_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() LOADGEN_ACQUIRE() { mu_.lock(); }
  void Unlock() LOADGEN_RELEASE() { mu_.unlock(); }

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

/// Holds a Mutex for its scope (std::lock_guard for common::Mutex).
class LOADGEN_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) LOADGEN_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() LOADGEN_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace loadgen::common

#endif  // LOADGEN_COMMON_THREAD_ANNOTATIONS_H_
