// The endpoint client's own CPU cost per request and per streamed chunk, from C++ (symbols
// intact, so `perf record` / `valgrind --tool=callgrind` name its functions, unlike the
// stripped Python extension). Issues `--requests` one-sample queries at once to an EndpointSut
// with `--connections` connections (the client's own queue makes it a closed loop of that many
// in flight) against a running server (bench/net/truth_server.py), and reports the process's
// CPU time (getrusage: the I/O thread, plus the main thread, which only sleeps) per request.
// No test runs, so the engine ignores the completions.
//
//   taskset -c 1 python bench/net/truth_server.py --port 8111 --output-tokens 32 &
//   taskset -c 0 build/bench/bench/net_client_cost --url http://127.0.0.1:8111 --stream
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/endpoint_sut.h"

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

long ContextSwitches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "http://127.0.0.1:8111";
  size_t requests = 20000;
  size_t connections = 64;
  bool stream = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--url") {
      url = value();
    } else if (arg == "--requests") {
      requests = std::stoul(value());
    } else if (arg == "--connections") {
      connections = std::stoul(value());
    } else if (arg == "--stream") {
      stream = true;
    } else {
      std::fprintf(stderr, "usage: %s [--url U] [--requests N] [--connections C] [--stream]\n",
                   argv[0]);
      return 2;
    }
  }

  loadgen::net::EndpointConfig config;
  config.base_urls = {url};
  config.path = "/v1/completions";
  config.api = loadgen::net::ApiKind::kOpenAiCompletions;
  config.stream = stream;
  config.report_first_token = false;
  config.max_connections = connections;
  const std::string body =
      std::string(R"({"model":"truth-model","prompt":"one two three four five six seven eight")") +
      R"(,"max_tokens":32,"ignore_eos":true)" +
      (stream ? R"(,"stream":true,"stream_options":{"include_usage":true}})" : "}");
  loadgen::net::EndpointSut sut(config, {body});

  // Warm up: connections opened, buffers grown.
  auto run = [&](size_t count) {
    std::vector<mlperf::QuerySample> samples;
    for (size_t i = 0; i < count; ++i) samples.push_back({i + 1, 0});
    sut.IssueQuery(samples);
    while (sut.Outstanding() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  run(std::min<size_t>(requests, 1000));
  sut.ClearRecords();

  const double cpu0 = CpuSeconds();
  const long switches0 = ContextSwitches();
  const auto wall0 = std::chrono::steady_clock::now();
  run(requests);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = CpuSeconds() - cpu0;
  const long switches = ContextSwitches() - switches0;

  std::vector<loadgen::net::QueryRecord> records;
  std::vector<int64_t> chunks;
  sut.CopyRecords(&records, &chunks);
  const loadgen::net::EndpointStats stats = sut.Stats();
  std::printf(
      "{\"requests\": %zu, \"failed\": %llu, \"chunks\": %zu, \"wall_s\": %.3f, \"req_per_s\": "
      "%.0f, \"cpu_s\": %.4f, \"cpu_us_per_request\": %.2f, \"cpu_us_per_chunk\": %.3f, "
      "\"context_switches_per_request\": %.2f}\n",
      records.size(), static_cast<unsigned long long>(stats.failed), chunks.size(), wall,
      static_cast<double>(requests) / wall, cpu, cpu * 1e6 / static_cast<double>(requests),
      chunks.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(chunks.size()),
      static_cast<double>(switches) / static_cast<double>(requests));
  return stats.failed == 0 ? 0 : 1;
}
