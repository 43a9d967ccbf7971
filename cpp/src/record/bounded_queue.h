// record stage: a bounded multi-producer queue of small POD events (Dmitry Vyukov's array
// queue). TryPush never blocks and never allocates; a full queue returns false and counts the
// value as dropped (dropped()), so an error storm is reported by its size, not lost silently.
#ifndef LOADGEN_RECORD_BOUNDED_QUEUE_H_
#define LOADGEN_RECORD_BOUNDED_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace loadgen::record {

template <typename T>
class BoundedMpmcQueue {
  static_assert(std::is_trivially_copyable<T>::value, "events are PODs");

 public:
  /// `capacity` is rounded up to a power of two. Allocates once, zeroed memory that is only
  /// touched as the queue fills: a queue sized for error bursts costs no page faults (and no
  /// start-up time) in a run without errors.
  explicit BoundedMpmcQueue(size_t capacity) {
    size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    cells_.reset(static_cast<Cell*>(std::calloc(cap, sizeof(Cell))));
    if (!cells_) throw std::bad_alloc();
  }

  /// Thread-safe. Blocking: never. Allocates: no. False (and counted) when the queue is full.
  bool TryPush(const T& value) noexcept {
    size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_.get()[pos & mask_];
      const size_t seq = Sequence(cell, pos);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          SetSequence(cell, pos, pos + 1);
          return true;
        }
      } else if (diff < 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  /// How many values TryPush refused so far. Thread-safe.
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

  /// Thread-safe. Blocking: never. Allocates: no.
  bool TryPop(T& out) noexcept {
    size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_.get()[pos & mask_];
      const size_t seq = Sequence(cell, pos);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = cell.value;
          SetSequence(cell, pos, pos + mask_ + 1);
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
  // Vyukov's per-cell sequence, stored minus the cell's index so that all-zero memory is the
  // initial state (cell i expects position i).
  struct Cell {
    std::atomic<size_t> relative_sequence;
    T value;
  };
  struct Free {
    void operator()(Cell* cells) const { std::free(cells); }
  };

  size_t Sequence(const Cell& cell, size_t pos) const {
    return cell.relative_sequence.load(std::memory_order_acquire) + (pos & mask_);
  }
  void SetSequence(Cell& cell, size_t pos, size_t sequence) {
    cell.relative_sequence.store(sequence - (pos & mask_), std::memory_order_release);
  }

  std::unique_ptr<Cell, Free> cells_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
  // Written only when the queue is full, so it shares no line with the hot positions.
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_BOUNDED_QUEUE_H_
