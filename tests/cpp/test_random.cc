// Our RNG algorithms against libstdc++'s own (this test must be built with GCC's standard
// library to be meaningful; the official wheel was built with it).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "schedule/random.h"

namespace loadgen::schedule {
namespace {

const uint64_t kSeeds[] = {0,
                           1,
                           5489,
                           2085463073848966840ull,
                           2747215439041700203ull,
                           16159082839903944936ull,
                           720381539243781796ull,
                           0xFFFFFFFFull,
                           0xFFFFFFFFFFFFFFFFull};

TEST(RandomTest, Mt19937MatchesStdAndUsesLow32BitsOfSeed) {
  for (uint64_t seed : kSeeds) {
    Mt19937 ours(seed);
    std::mt19937 theirs(static_cast<uint32_t>(seed));
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(ours(), theirs()) << "seed " << seed << " draw " << i;
  }
  Mt19937 a(7);
  Mt19937 b((uint64_t{1} << 32) + 7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a(), b());
}

TEST(RandomTest, DefaultSeedIs5489) {
  Mt19937 ours;
  std::mt19937 theirs;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ours(), theirs());
  // The 10000th output of a default-constructed mt19937, fixed by the C++ standard.
  Mt19937 g;
  uint32_t value = 0;
  for (int i = 0; i < 10000; ++i) value = g();
  EXPECT_EQ(value, 4123659995u);
}

TEST(RandomTest, UniformIntMatchesStdDistribution) {
  const uint64_t kSpans[] = {0,           1,           2,           3,           6,
                             9,           99,          1000,        65535,       65536,
                             1u << 20,    2147483647u, 2147483648u, 3000000000u, 4294967294u,
                             4294967295u, 4294967296u, 1ull << 40,  1ull << 63,  UINT64_MAX};
  for (uint64_t seed : kSeeds) {
    for (uint64_t span : kSpans) {
      Mt19937 ours(seed);
      std::mt19937 theirs(static_cast<uint32_t>(seed));
      const uint64_t low = span == UINT64_MAX ? 0 : 5;
      std::uniform_int_distribution<uint64_t> dist(low, low + span);
      for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(UniformInt(ours, low, low + span), dist(theirs))
            << "seed " << seed << " span " << span << " draw " << i;
      }
    }
  }
}

TEST(RandomTest, UniformIntMatchesIntDistribution) {
  // The official performance draws use uniform_int_distribution<int>.
  for (uint64_t seed : kSeeds) {
    Mt19937 ours(seed);
    std::mt19937 theirs(static_cast<uint32_t>(seed));
    for (int upper : {0, 4, 99, 1023, 69999}) {
      std::uniform_int_distribution<int> dist(0, upper);
      for (int i = 0; i < 300; ++i) {
        ASSERT_EQ(UniformInt(ours, 0, static_cast<uint64_t>(upper)),
                  static_cast<uint64_t>(dist(theirs)));
      }
    }
  }
}

std::vector<uint64_t> Iota(size_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), uint64_t{0});
  return v;
}

TEST(RandomTest, ShuffleMatchesStdShuffleOnBothPaths) {
  // 65535 is the last size of the paired-draw path and 65536 the first of the single path.
  const size_t kSizes[] = {0, 1, 2, 3, 4, 5, 10, 33, 100, 1000, 65534, 65535, 65536, 70000};
  for (uint64_t seed : kSeeds) {
    for (size_t n : kSizes) {
      std::vector<uint64_t> ours = Iota(n);
      std::vector<uint64_t> theirs = Iota(n);
      Mt19937 g(seed);
      std::mt19937 std_g(static_cast<uint32_t>(seed));
      Shuffle(ours, g);
      std::shuffle(theirs.begin(), theirs.end(), std_g);
      ASSERT_EQ(ours, theirs) << "seed " << seed << " n " << n;
      // The engines must also be left in the same state.
      ASSERT_EQ(g(), std_g()) << "seed " << seed << " n " << n;
    }
  }
}

TEST(RandomTest, RepeatedShufflesAndPointerOverloadMatchStd) {
  Mt19937 g(2747215439041700203ull);
  std::mt19937 std_g(static_cast<uint32_t>(2747215439041700203ull));
  std::vector<uint32_t> ours(37);
  std::iota(ours.begin(), ours.end(), 0u);
  std::vector<uint32_t> theirs = ours;
  for (int round = 0; round < 20; ++round) {
    Shuffle(ours.data() + 3, 30, g);
    std::shuffle(theirs.begin() + 3, theirs.begin() + 33, std_g);
    ASSERT_EQ(ours, theirs) << "round " << round;
  }
}

TEST(RandomTest, CanonicalMatchesGenerateCanonical) {
  for (uint64_t seed : kSeeds) {
    Mt19937 ours(seed);
    std::mt19937 theirs(static_cast<uint32_t>(seed));
    for (int i = 0; i < 5000; ++i) {
      const double expected = std::generate_canonical<double, 53>(theirs);
      ASSERT_EQ(Canonical(ours), expected) << "seed " << seed << " draw " << i;
    }
  }
}

TEST(RandomTest, CanonicalMatchesUniformRealZeroOne) {
  Mt19937 ours(17);
  std::mt19937 theirs(17);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(Canonical(ours), dist(theirs));
}

TEST(RandomTest, ExponentialMatchesStdDistribution) {
  for (uint64_t seed : kSeeds) {
    for (double lambda : {1.0, 1000.0, 5000.0, 20000.0, 0.25}) {
      Mt19937 ours(seed);
      std::mt19937 theirs(static_cast<uint32_t>(seed));
      std::exponential_distribution<double> dist(lambda);
      for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(Exponential(ours, lambda), dist(theirs))
            << "seed " << seed << " lambda " << lambda << " draw " << i;
      }
    }
  }
}

TEST(RandomTest, SecondsToNsTruncatesLikeDurationCast) {
  // Expected latency 1011 ns: the period 1 / (1e9 / 1011) s is 1010.999... ns.
  EXPECT_EQ(SecondsToNs(1.0 / (1e9 / 1011.0)), 1010);
  EXPECT_EQ(SecondsToNs(0.001), 1000000);
  EXPECT_EQ(SecondsToNs(-1.5e-9), -1);
  int mismatches = 0;
  for (int latency = 1000; latency < 200000; ++latency) {
    const double seconds = 1.0 / (1e9 / latency);
    const int64_t expected =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds))
            .count();
    if (SecondsToNs(seconds) != expected) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
  Mt19937 ours(16159082839903944936ull);
  std::mt19937 theirs(static_cast<uint32_t>(16159082839903944936ull));
  std::exponential_distribution<double> dist(5000.0);
  for (int i = 0; i < 1000; ++i) {
    const int64_t expected = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::duration<double>(dist(theirs)))
                                 .count();
    ASSERT_EQ(SecondsToNs(Exponential(ours, 5000.0)), expected);
  }
}

TEST(RandomTest, SecondsToNsOutOfRangeGivesInt64Min) {
  // What x86-64 (where the official wheel runs) gives for the undefined conversion.
  EXPECT_EQ(SecondsToNs(std::numeric_limits<double>::infinity()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(SecondsToNs(std::numeric_limits<double>::quiet_NaN()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(SecondsToNs(1e12), std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace loadgen::schedule
