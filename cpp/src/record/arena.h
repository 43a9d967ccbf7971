// record stage: copies of response data for the accuracy log. Lock-free: completing threads
// bump-allocate from the current chunk with one atomic add; the thread that finds it full
// allocates the next chunk and installs it with a compare-and-swap, so no completer ever waits
// for another. The per-sample path allocates nothing in steady state.
#ifndef LOADGEN_RECORD_ARENA_H_
#define LOADGEN_RECORD_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace loadgen::record {

class ByteArena {
 public:
  explicit ByteArena(size_t chunk_size = 1 << 20) : chunk_size_(chunk_size) {}
  ~ByteArena();
  ByteArena(const ByteArena&) = delete;
  ByteArena& operator=(const ByteArena&) = delete;

  /// Copies `size` bytes and returns the stable copy (valid until the arena is destroyed).
  /// Thread-safe. Blocking: never (lock-free). Allocates: a new chunk when the current one is
  /// full, and a chunk of its own for a copy over a quarter of the chunk size.
  const uint8_t* Copy(const void* data, size_t size);

  /// Bytes of all chunks allocated so far. Thread-safe.
  size_t bytes_reserved() const;

 private:
  struct Chunk {
    explicit Chunk(size_t cap) : bytes(new uint8_t[cap]), capacity(cap) {}
    std::unique_ptr<uint8_t[]> bytes;
    size_t capacity;
    std::atomic<size_t> used{0};
    Chunk* next_owned = nullptr;  // the arena's list of every chunk, newest first
  };

  /// Adds `chunk` to the owned list (a push-only lock-free stack, freed by the destructor).
  void Own(Chunk* chunk);

  size_t chunk_size_;
  std::atomic<Chunk*> current_{nullptr};
  std::atomic<Chunk*> owned_{nullptr};
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_ARENA_H_
