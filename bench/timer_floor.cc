// The machine's own scheduling noise: a thread that does nothing but spin until Poisson
// deadlines (as the Server issuer does) and records how late it saw each one. No loadgen code
// runs, so its tail is the floor under any issuer's latency tail on this machine (timer
// interrupts, hypervisor steal, frequency changes).
//
//   timer_floor [QPS=50000] [QUERIES=100000]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SPIN_PAUSE() _mm_pause()
#else
#define SPIN_PAUSE() ((void)0)
#endif

int main(int argc, char** argv) {
  const double qps = argc > 1 ? std::atof(argv[1]) : 50000.0;
  const long queries = argc > 2 ? std::atol(argv[2]) : 100000;
  using Clock = std::chrono::steady_clock;
  auto now_ns = [] {
    return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
  };
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> gap_s(qps);
  std::vector<int64_t> late;
  late.reserve(static_cast<size_t>(queries));
  const int64_t start = now_ns();
  double offset_s = 0;
  for (long i = 0; i < queries; ++i) {
    offset_s += gap_s(rng);
    const int64_t deadline = start + static_cast<int64_t>(offset_s * 1e9);
    int64_t now;
    while ((now = now_ns()) < deadline) SPIN_PAUSE();
    late.push_back(now - deadline);
  }
  std::sort(late.begin(), late.end());
  auto at = [&](double q) {
    return late[static_cast<size_t>(q * static_cast<double>(late.size() - 1))];
  };
  std::printf(
      "{\"qps\": %.0f, \"queries\": %ld, \"lateness_ns\": {\"p50\": %lld, \"p90\": %lld, "
      "\"p99\": %lld, \"p99.9\": %lld, \"max\": %lld}}\n",
      qps, queries, static_cast<long long>(at(0.5)), static_cast<long long>(at(0.9)),
      static_cast<long long>(at(0.99)), static_cast<long long>(at(0.999)),
      static_cast<long long>(late.back()));
  return 0;
}
