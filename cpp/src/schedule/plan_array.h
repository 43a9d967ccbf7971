// A growable array of trivially copyable values whose elements never move once it is frozen:
// a plan being generated while it is issued is read below its published size by the issuing
// thread while the generating thread appends above it.
#ifndef LOADGEN_SCHEDULE_PLAN_ARRAY_H_
#define LOADGEN_SCHEDULE_PLAN_ARRAY_H_

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "common/errors.h"

namespace loadgen::schedule {

template <typename T>
class PlanArray {
  static_assert(std::is_trivially_copyable_v<T>, "PlanArray holds plain values");

 public:
  PlanArray() = default;
  PlanArray(const PlanArray& other) { *this = other; }
  PlanArray& operator=(const PlanArray& other) {
    if (this != &other) {
      data_.reset();
      size_ = capacity_ = 0;
      frozen_ = false;
      reserve(other.size_);
      if (other.size_ > 0) std::memcpy(data_.get(), other.data_.get(), other.size_ * sizeof(T));
      size_ = other.size_;
    }
    return *this;
  }
  PlanArray(PlanArray&& other) noexcept { *this = std::move(other); }
  PlanArray& operator=(PlanArray&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    frozen_ = other.frozen_;
    other.size_ = other.capacity_ = 0;
    return *this;
  }

  /// Allocates room for `n` elements. The memory is not touched: a large block is mapped on
  /// demand by the kernel, so a generous capacity costs only address space.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    if (frozen_) {
      throw SettingsError("internal: a streamed plan outgrew its reserved capacity");
    }
    std::unique_ptr<T[], Free> grown(
        static_cast<T*>(std::malloc(std::max<size_t>(n, 1) * sizeof(T))));
    if (!grown) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_ * sizeof(T));
    data_ = std::move(grown);
    capacity_ = n;
  }
  /// From now on the elements never move: growing past the capacity throws.
  void freeze() { frozen_ = true; }

  void push_back(T value) {
    if (size_ == capacity_) reserve(std::max<size_t>(16, capacity_ * 2));
    data_[size_++] = value;
  }
  /// Appends `count` copies of `value`.
  void append(size_t count, T value) {
    reserve_for(count);
    std::fill_n(data_.get() + size_, count, value);
    size_ += count;
  }
  /// Appends [first, last).
  void append(const T* first, const T* last) {
    const size_t count = static_cast<size_t>(last - first);
    reserve_for(count);
    if (count > 0) std::memcpy(data_.get() + size_, first, count * sizeof(T));
    size_ += count;
  }
  void assign(size_t count, T value) {
    size_ = 0;
    append(count, value);
  }
  /// Grows to `n` elements, the new ones zero.
  void resize(size_t n) {
    if (n <= size_) return;
    reserve_for(n - size_);
    std::memset(static_cast<void*>(data_.get() + size_), 0, (n - size_) * sizeof(T));
    size_ = n;
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const T* begin() const { return data_.get(); }
  const T* end() const { return data_.get() + size_; }
  T* begin() { return data_.get(); }
  T* end() { return data_.get() + size_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  const T& back() const { return data_[size_ - 1]; }

  friend bool operator==(const PlanArray& a, const std::vector<T>& b) {
    return a.size_ == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

  std::vector<T> ToVector() const { return std::vector<T>(begin(), end()); }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  void reserve_for(size_t more) {
    if (size_ + more > capacity_) reserve(std::max(size_ + more, capacity_ * 2));
  }

  std::unique_ptr<T[], Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool frozen_ = false;
};

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_PLAN_ARRAY_H_
