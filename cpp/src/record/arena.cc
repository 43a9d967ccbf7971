#include "record/arena.h"

#include <cstring>

namespace loadgen::record {

const uint8_t* ByteArena::Copy(const void* data, size_t size) {
  if (size == 0) return nullptr;
  Chunk* chunk = current_.load(std::memory_order_acquire);
  if (chunk != nullptr) {
    size_t offset = chunk->used.fetch_add(size, std::memory_order_relaxed);
    if (offset + size <= chunk->capacity) {
      uint8_t* dst = chunk->bytes.get() + offset;
      std::memcpy(dst, data, size);
      return dst;
    }
  }
  std::lock_guard<std::mutex> lock(grow_mu_);
  // Another thread may have grown the arena while we waited.
  chunk = current_.load(std::memory_order_acquire);
  if (chunk != nullptr) {
    size_t offset = chunk->used.fetch_add(size, std::memory_order_relaxed);
    if (offset + size <= chunk->capacity) {
      uint8_t* dst = chunk->bytes.get() + offset;
      std::memcpy(dst, data, size);
      return dst;
    }
  }
  // Large payloads get a chunk of their own and leave the shared chunk current.
  const bool dedicated = size > chunk_size_ / 4;
  auto fresh = std::make_unique<Chunk>(dedicated ? size : chunk_size_);
  Chunk* raw = fresh.get();
  raw->used.store(size, std::memory_order_relaxed);
  std::memcpy(raw->bytes.get(), data, size);
  chunks_.push_back(std::move(fresh));
  if (!dedicated) current_.store(raw, std::memory_order_release);
  return raw->bytes.get();
}

size_t ByteArena::bytes_reserved() const {
  std::lock_guard<std::mutex> lock(grow_mu_);
  size_t total = 0;
  for (const auto& c : chunks_) total += c->capacity;
  return total;
}

}  // namespace loadgen::record
