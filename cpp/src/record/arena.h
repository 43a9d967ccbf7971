// record stage: copies of response data for the accuracy log. Completing threads bump-allocate
// from the current chunk with one atomic add; only filling a chunk takes the growth mutex, so
// the per-sample path allocates nothing in steady state.
#ifndef LOADGEN_RECORD_ARENA_H_
#define LOADGEN_RECORD_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace loadgen::record {

class ByteArena {
 public:
  explicit ByteArena(size_t chunk_size = 1 << 20) : chunk_size_(chunk_size) {}

  /// Copies `size` bytes and returns the stable copy (valid until the arena is destroyed).
  /// Thread-safe. Blocking: only while another thread grows the arena. Allocates: a new chunk
  /// when the current one is full.
  const uint8_t* Copy(const void* data, size_t size);

  size_t bytes_reserved() const;

 private:
  struct Chunk {
    explicit Chunk(size_t cap) : bytes(new uint8_t[cap]), capacity(cap) {}
    std::unique_ptr<uint8_t[]> bytes;
    size_t capacity;
    std::atomic<size_t> used{0};
  };

  size_t chunk_size_;
  std::atomic<Chunk*> current_{nullptr};
  mutable std::mutex grow_mu_;
  std::vector<std::unique_ptr<Chunk>> chunks_;  // guarded by grow_mu_
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_ARENA_H_
