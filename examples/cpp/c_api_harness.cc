// A harness using only the official function-pointer API (bindings/c_api.h): plain functions
// and a ClientData word, no C++ classes of its own. Runs all four scenarios.
//
//   c_api_harness   (writes the logs to the working directory)
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bindings/c_api.h"
#include "test_settings.h"

namespace {

struct Payload {
  uint32_t values[64];
};

// Completes each sample at once with a 4-byte payload (the sample index).
void IssueQuery(mlperf::c::ClientData data, const mlperf::QuerySample* samples, size_t count) {
  auto* payload = reinterpret_cast<Payload*>(data);
  std::vector<mlperf::QuerySampleResponse> responses;
  responses.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    payload->values[i % 64] = static_cast<uint32_t>(samples[i].index);
    responses.emplace_back(samples[i].id, reinterpret_cast<uintptr_t>(&payload->values[i % 64]), 4);
    if (responses.size() == 64) {
      mlperf::c::QuerySamplesComplete(responses.data(), responses.size());
      responses.clear();
    }
  }
  mlperf::c::QuerySamplesComplete(responses.data(), responses.size());
}

void FlushQueries() {}
void LoadSamples(mlperf::c::ClientData, const mlperf::QuerySampleIndex*, size_t) {}
void UnloadSamples(mlperf::c::ClientData, const mlperf::QuerySampleIndex*, size_t) {}

}  // namespace

int main() {
  Payload payload{};
  const char sut_name[] = "CApiSUT";
  const char qsl_name[] = "CApiQSL";
  void* sut = mlperf::c::ConstructSUT(reinterpret_cast<mlperf::c::ClientData>(&payload), sut_name,
                                      sizeof(sut_name) - 1, IssueQuery, FlushQueries);
  void* qsl = mlperf::c::ConstructQSL(0, qsl_name, sizeof(qsl_name) - 1, 1024, 256, LoadSamples,
                                      UnloadSamples);
  const mlperf::TestScenario scenarios[] = {
      mlperf::TestScenario::SingleStream, mlperf::TestScenario::MultiStream,
      mlperf::TestScenario::Server, mlperf::TestScenario::Offline};
  for (mlperf::TestScenario scenario : scenarios) {
    mlperf::TestSettings settings;
    settings.scenario = scenario;
    settings.min_duration_ms = 200;
    settings.min_query_count = 100;
    settings.server_target_qps = 2000;
    settings.offline_expected_qps = 10000;
    // The C API writes to the working directory with default log settings.
    mlperf::c::StartTest(sut, qsl, settings, "audit.config");
    std::FILE* f = std::fopen("mlperf_log_summary.txt", "r");
    char line[256];
    while (f && std::fgets(line, sizeof(line), f)) {
      if (std::string(line).rfind("Scenario", 0) == 0 || std::string(line).rfind("Result", 0) == 0)
        std::fputs(line, stdout);
    }
    if (f) std::fclose(f);
  }

  mlperf::c::DestroyQSL(qsl);
  mlperf::c::DestroySUT(sut);
  return 0;
}
