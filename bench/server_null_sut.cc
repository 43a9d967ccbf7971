// Native Server throughput with a null SUT that completes inline (the official repository's
// loadgen/benchmark/repro.cpp setup: BasicSUT, 10 ms p99 target). Prints one JSON line per
// target QPS with the verdict and the achieved rate, so a sweep finds the highest VALID QPS.
//
//   server_null_sut [--duration-ms 2000] QPS [QPS...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "loadgen.h"
#include "null_sut.h"
#include "query_sample_library.h"
#include "system_under_test.h"
#include "test_settings.h"

namespace {

std::string DetailValue(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line, needle = "\"key\": \"" + key + "\", \"value\": ";
  while (std::getline(f, line)) {
    size_t p = line.find(needle);
    if (p == std::string::npos) continue;
    p += needle.size();
    return line.substr(p, line.find(", \"time_ms\"", p) - p);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t duration_ms = 2000;
  std::vector<double> targets;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--duration-ms") == 0 && i + 1 < argc) {
      duration_ms = std::strtoull(argv[++i], nullptr, 10);
    } else {
      targets.push_back(std::atof(argv[i]));
    }
  }
  if (targets.empty()) targets = {100000, 300000, 1000000, 1500000, 2000000};
  loadgen::bench::NullSut sut;
  loadgen::bench::NullQsl qsl(1024 * 1024);
  for (double qps : targets) {
    mlperf::TestSettings s;
    s.scenario = mlperf::TestScenario::Server;
    s.mode = mlperf::TestMode::PerformanceOnly;
    s.server_target_qps = qps;
    s.server_target_latency_ns = 10000000;
    s.min_duration_ms = duration_ms;
    s.min_query_count = 100;
    mlperf::LogSettings log;
    log.enable_trace = std::getenv("TRACE") != nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    mlperf::StartTest(&sut, &qsl, s, log, "");
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string detail = "mlperf_log_detail.txt";
    std::printf(
        "{\"target_qps\": %.0f, \"validity\": %s, \"completed_samples_per_sec\": %s, "
        "\"p99_latency_ns\": %s, \"p50_latency_ns\": %s, \"wall_s\": %.3f}\n",
        qps, DetailValue(detail, "result_validity").c_str(),
        DetailValue(detail, "result_completed_samples_per_sec").c_str(),
        DetailValue(detail, "result_99.00_percentile_latency_ns").c_str(),
        DetailValue(detail, "result_50.00_percentile_latency_ns").c_str(), wall);
    std::fflush(stdout);
  }
  return 0;
}
