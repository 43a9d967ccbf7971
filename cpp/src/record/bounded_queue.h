// record stage: a bounded multi-producer queue of small POD events (Dmitry Vyukov's array
// queue). TryPush never blocks and never allocates; a full queue returns false and the caller
// counts the overflow.
#ifndef LOADGEN_RECORD_BOUNDED_QUEUE_H_
#define LOADGEN_RECORD_BOUNDED_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>

namespace loadgen::record {

template <typename T>
class BoundedMpmcQueue {
  static_assert(std::is_trivially_copyable<T>::value, "events are PODs");

 public:
  /// `capacity` is rounded up to a power of two. Allocates once.
  explicit BoundedMpmcQueue(size_t capacity) {
    size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    cells_.reset(new Cell[cap]);
    for (size_t i = 0; i < cap; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  /// Thread-safe. Blocking: never. Allocates: no.
  bool TryPush(const T& value) noexcept {
    size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      size_t seq = cell.sequence.load(std::memory_order_acquire);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Thread-safe. Blocking: never. Allocates: no.
  bool TryPop(T& out) noexcept {
    size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      size_t seq = cell.sequence.load(std::memory_order_acquire);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = cell.value;
          cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

 private:
  struct Cell {
    std::atomic<size_t> sequence;
    T value;
  };
  std::unique_ptr<Cell[]> cells_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_BOUNDED_QUEUE_H_
