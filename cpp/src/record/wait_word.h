// record stage: a 32-bit word a thread can sleep on until another thread bumps it. Notifiers
// never take a lock: on Linux this is a futex; elsewhere the notifier only touches the
// condition variable when a waiter has announced itself.
#ifndef LOADGEN_RECORD_WAIT_WORD_H_
#define LOADGEN_RECORD_WAIT_WORD_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#else
#include <condition_variable>
#include <mutex>
#endif

namespace loadgen::record {

class WaitWord {
 public:
  /// Wakes every waiter. Thread-safety: any thread. Blocking: never. Allocates: no.
  void NotifyAll() noexcept {
    word_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
#if defined(__linux__)
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, INT32_MAX,
              nullptr, nullptr, 0);
#else
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
#endif
  }

  /// Blocks until `done()` is true, re-checking it after every notification and at least every
  /// `poll` (so external stop conditions folded into `done` are seen). It sleeps at once rather
  /// than spinning first: a SUT that completes inline is done before the wait starts, and one
  /// that completes on another thread needs a core to do it (on a 2-core machine, a 2000-check
  /// spin doubled the SingleStream latency of a Python worker-thread SUT).
  template <typename Done>
  void WaitUntil(Done&& done, std::chrono::nanoseconds poll = std::chrono::milliseconds(50)) {
    if (done()) return;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    Wait(done, poll);
    waiters_.fetch_sub(1, std::memory_order_release);
  }

  /// Whether a thread is inside WaitUntil. A hint: it may change at once.
  bool HasWaiters() const noexcept { return waiters_.load(std::memory_order_acquire) != 0; }

 private:
  template <typename Done>
  void Wait(Done& done, std::chrono::nanoseconds poll) {
    while (true) {
      uint32_t seen = word_.load(std::memory_order_seq_cst);
      if (done()) return;
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (!done()) SleepWhileEquals(seen, poll);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  void SleepWhileEquals(uint32_t seen, std::chrono::nanoseconds poll) {
#if defined(__linux__)
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(poll.count() / 1000000000);
    ts.tv_nsec = static_cast<long>(poll.count() % 1000000000);
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAIT_PRIVATE, seen, &ts,
              nullptr, 0);
#else
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, poll, [&] { return word_.load() != seen; });
#endif
  }

  std::atomic<uint32_t> word_{0};
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<uint32_t> waiters_{0};
#if !defined(__linux__)
  std::mutex mu_;
  std::condition_variable cv_;
#endif
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_WAIT_WORD_H_
