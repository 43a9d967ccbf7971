#include "record/arena.h"

#include <cstring>

namespace loadgen::record {

ByteArena::~ByteArena() {
  Chunk* chunk = owned_.load(std::memory_order_acquire);
  while (chunk != nullptr) {
    Chunk* next = chunk->next_owned;
    delete chunk;
    chunk = next;
  }
}

void ByteArena::Own(Chunk* chunk) {
  chunk->next_owned = owned_.load(std::memory_order_relaxed);
  while (!owned_.compare_exchange_weak(chunk->next_owned, chunk, std::memory_order_release,
                                       std::memory_order_relaxed)) {
  }
}

const uint8_t* ByteArena::Copy(const void* data, size_t size) {
  if (size == 0) return nullptr;
  if (size > chunk_size_ / 4) {
    // Large payloads get a chunk of their own and leave the shared chunk current.
    Chunk* dedicated = new Chunk(size);
    dedicated->used.store(size, std::memory_order_relaxed);
    std::memcpy(dedicated->bytes.get(), data, size);
    Own(dedicated);
    return dedicated->bytes.get();
  }
  Chunk* chunk = current_.load(std::memory_order_acquire);
  while (true) {
    if (chunk != nullptr) {
      // A failed add leaves `used` past the capacity, so the chunk stays full for everyone.
      const size_t offset = chunk->used.fetch_add(size, std::memory_order_relaxed);
      if (offset + size <= chunk->capacity) {
        uint8_t* dst = chunk->bytes.get() + offset;
        std::memcpy(dst, data, size);
        return dst;
      }
    }
    // Full (or none yet): install the next chunk with this copy at its start.
    Chunk* fresh = new Chunk(chunk_size_);
    fresh->used.store(size, std::memory_order_relaxed);
    if (current_.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      Own(fresh);
      std::memcpy(fresh->bytes.get(), data, size);
      return fresh->bytes.get();
    }
    // Another thread installed one first (now in `chunk`): use its space, drop ours.
    delete fresh;
  }
}

size_t ByteArena::bytes_reserved() const {
  size_t total = 0;
  for (const Chunk* c = owned_.load(std::memory_order_acquire); c != nullptr; c = c->next_owned) {
    total += c->capacity;
  }
  return total;
}

}  // namespace loadgen::record
