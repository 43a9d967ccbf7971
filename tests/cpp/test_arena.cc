// record stage: the accuracy-copy arena, which completing threads share without a lock.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "record/arena.h"

namespace loadgen::record {
namespace {

TEST(ByteArenaTest, CopiesAreStableAndChunksAreShared) {
  ByteArena arena(64);
  EXPECT_EQ(arena.Copy("x", 0), nullptr);
  EXPECT_EQ(arena.bytes_reserved(), 0u);
  std::vector<const uint8_t*> copies;
  for (uint8_t i = 0; i < 40; ++i) {
    const uint8_t payload[8] = {i, i, i, i, i, i, i, i};
    copies.push_back(arena.Copy(payload, sizeof(payload)));
  }
  // 8 copies of 8 bytes fill a 64-byte chunk: 40 copies need exactly 5 chunks.
  EXPECT_EQ(arena.bytes_reserved(), 5u * 64u);
  for (uint8_t i = 0; i < 40; ++i) {
    for (int b = 0; b < 8; ++b) ASSERT_EQ(copies[i][b], i);
  }
  // Over a quarter of the chunk size: a chunk of its own, the shared chunk stays current.
  const std::vector<uint8_t> large(100, 7);
  const uint8_t* big = arena.Copy(large.data(), large.size());
  EXPECT_EQ(std::memcmp(big, large.data(), large.size()), 0);
  EXPECT_EQ(arena.bytes_reserved(), 5u * 64u + 100u);
}

// Many threads fill small chunks at once, so chunk installation races constantly: every copy
// must keep its own bytes (no two copies overlap) and no chunk may be lost (ASan/TSan builds
// check the memory and the ordering).
TEST(ByteArenaTest, ConcurrentCopiesNeverOverlap) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  constexpr size_t kSize = 12;
  ByteArena arena(256);
  std::vector<std::vector<const uint8_t*>> copies(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      copies[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        uint8_t payload[kSize];
        std::memcpy(payload, &t, sizeof(int));
        std::memcpy(payload + sizeof(int), &i, sizeof(int));
        std::memset(payload + 2 * sizeof(int), 0xA5, kSize - 2 * sizeof(int));
        copies[t].push_back(arena.Copy(payload, kSize));
      }
    });
  }
  go.store(true);
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const uint8_t* c = copies[t][i];
      int ct = -1;
      int ci = -1;
      std::memcpy(&ct, c, sizeof(int));
      std::memcpy(&ci, c + sizeof(int), sizeof(int));
      ASSERT_EQ(ct, t);
      ASSERT_EQ(ci, i);
      ASSERT_EQ(c[kSize - 1], 0xA5);
    }
  }
  // 21 copies fill a 256-byte chunk, and a chunk is installed only over a full one: a chunk
  // made by the loser of an installation race is freed, never kept.
  const size_t needed_chunks = (kThreads * kPerThread + 20) / 21;
  EXPECT_EQ(arena.bytes_reserved(), needed_chunks * 256);
}

}  // namespace
}  // namespace loadgen::record
