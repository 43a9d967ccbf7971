// settings stage: the key table and how a value text is read for a key.
#include "settings/config_keys.h"

#include <algorithm>
#include <cstdlib>

#include "common/enum_names.h"

namespace loadgen::settings {
namespace {

using mlperf::TestSettings;

// A TestSettings member and its name, written once: LOADGEN_MEMBER(qsl_rng_seed).
template <typename T>
struct Member {
  T TestSettings::*field;
  const char* name;
};
#define LOADGEN_MEMBER(member) \
  Member<decltype(TestSettings::member)> { &TestSettings::member, #member }

KnownKey Integer(const char* name, const char* scenario, Member<uint64_t> member,
                 double multiplier = 1, KeyScope scope = KeyScope::kAnyFile,
                 KeyGate gate = KeyGate::kAlways, const char* unit = "",
                 ValueKind kind = ValueKind::kUint64) {
  return {name,        scenario,     kind,    multiplier, scope, gate,
          member.name, member.field, nullptr, nullptr,    unit};
}

KnownKey Real(const char* name, const char* scenario, Member<double> member, double multiplier = 1,
              KeyScope scope = KeyScope::kAnyFile, const char* unit = "") {
  return {name,        scenario, ValueKind::kDouble, multiplier, scope, KeyGate::kAlways,
          member.name, nullptr,  member.field,       nullptr,    unit};
}

KnownKey Flag(const char* name, const char* scenario, Member<bool> member, ValueKind kind,
              KeyScope scope = KeyScope::kAnyFile) {
  return {name,    scenario, kind,         1, scope, KeyGate::kAlways, member.name,
          nullptr, nullptr,  member.field, ""};
}

KnownKey Mode() {
  return {"mode",  nullptr, ValueKind::kMode, 1, KeyScope::kAnyFile, KeyGate::kAlways, "mode",
          nullptr, nullptr, nullptr,          ""};
}

constexpr KeyScope kMlperfConfOnly = KeyScope::kMlperfConfOnly;
constexpr KeyScope kAnyFile = KeyScope::kAnyFile;

}  // namespace

const std::vector<KnownKey>& KnownKeys() {
  using mlperf::TestScenario;
  // Keys read under one scenario only carry that scenario's one spelling.
  const char* const single_stream = ScenarioName(TestScenario::SingleStream);
  const char* const multi_stream = ScenarioName(TestScenario::MultiStream);
  const char* const server = ScenarioName(TestScenario::Server);
  const char* const offline = ScenarioName(TestScenario::Offline);
  static const std::vector<KnownKey> keys = {
      Mode(),
      Integer("qsl_rng_seed", nullptr, LOADGEN_MEMBER(qsl_rng_seed), 1, kMlperfConfOnly),
      Integer("sample_index_rng_seed", nullptr, LOADGEN_MEMBER(sample_index_rng_seed), 1,
              kMlperfConfOnly),
      Integer("schedule_rng_seed", nullptr, LOADGEN_MEMBER(schedule_rng_seed), 1, kMlperfConfOnly),
      Real("accuracy_log_probability", nullptr, LOADGEN_MEMBER(accuracy_log_probability), kPercent,
           kMlperfConfOnly, "%"),
      Flag("test05", nullptr, LOADGEN_MEMBER(test05), ValueKind::kFlagIsOne, kMlperfConfOnly),
      Integer("test05_qsl_rng_seed", nullptr, LOADGEN_MEMBER(test05_qsl_rng_seed), 1,
              kMlperfConfOnly),
      Integer("test05_sample_index_rng_seed", nullptr, LOADGEN_MEMBER(test05_sample_index_rng_seed),
              1, kMlperfConfOnly),
      Integer("test05_schedule_rng_seed", nullptr, LOADGEN_MEMBER(test05_schedule_rng_seed), 1,
              kMlperfConfOnly),
      Flag("use_token_latencies", nullptr, LOADGEN_MEMBER(use_token_latencies),
           ValueKind::kFlagIsOne),
      Integer("ttft_latency", server, LOADGEN_MEMBER(server_ttft_latency), kMsToNs, kAnyFile,
              KeyGate::kUseTokenLatencies, "ms"),
      Integer("tpot_latency", server, LOADGEN_MEMBER(server_tpot_latency), kMsToNs, kAnyFile,
              KeyGate::kUseTokenLatencies, "ms"),
      Flag("infer_token_latencies", nullptr, LOADGEN_MEMBER(infer_token_latencies),
           ValueKind::kFlagIsOne),
      Integer("token_latency_scaling_factor", nullptr, LOADGEN_MEMBER(token_latency_scaling_factor),
              1, kAnyFile, KeyGate::kInferTokenLatencies),
      Real("target_latency_percentile", single_stream,
           LOADGEN_MEMBER(single_stream_target_latency_percentile), kPercent, kAnyFile, "%"),
      Real("target_latency_percentile", multi_stream,
           LOADGEN_MEMBER(multi_stream_target_latency_percentile), kPercent, kAnyFile, "%"),
      Integer("samples_per_query", multi_stream, LOADGEN_MEMBER(multi_stream_samples_per_query)),
      Real("target_latency_percentile", server, LOADGEN_MEMBER(server_target_latency_percentile),
           kPercent, kAnyFile, "%"),
      Integer("target_latency", server, LOADGEN_MEMBER(server_target_latency_ns), kMsToNs, kAnyFile,
              KeyGate::kAlways, "ms"),
      Flag("performance_issue_unique", nullptr, LOADGEN_MEMBER(performance_issue_unique),
           ValueKind::kFlagNonZero),
      Flag("performance_issue_same", nullptr, LOADGEN_MEMBER(performance_issue_same),
           ValueKind::kFlagNonZero),
      Integer("performance_issue_same_index", nullptr,
              LOADGEN_MEMBER(performance_issue_same_index)),
      Flag("sample_concatenate_permutation", nullptr,
           LOADGEN_MEMBER(sample_concatenate_permutation), ValueKind::kFlagIsOne),
      Flag("coalesce_queries", server, LOADGEN_MEMBER(server_coalesce_queries),
           ValueKind::kFlagNonZero),
      Integer("max_async_queries", server, LOADGEN_MEMBER(server_max_async_queries), 1, kAnyFile,
              KeyGate::kAlways, "", ValueKind::kInt32),
      Integer("min_duration", nullptr, LOADGEN_MEMBER(min_duration_ms), 1, kAnyFile,
              KeyGate::kAlways, "ms"),
      Integer("max_duration", nullptr, LOADGEN_MEMBER(max_duration_ms), 1, kAnyFile,
              KeyGate::kAlways, "ms"),
      Integer("min_query_count", nullptr, LOADGEN_MEMBER(min_query_count)),
      Integer("max_query_count", nullptr, LOADGEN_MEMBER(max_query_count)),
      Integer("performance_sample_count_override", nullptr,
              LOADGEN_MEMBER(performance_sample_count_override)),
      Integer("accuracy_sample_count_override", nullptr,
              LOADGEN_MEMBER(accuracy_sample_count_override)),
      Real("target_latency", single_stream, LOADGEN_MEMBER(single_stream_expected_latency_ns),
           kMsToNs, kAnyFile, "ms"),
      Real("target_latency", multi_stream, LOADGEN_MEMBER(multi_stream_expected_latency_ns),
           kMsToNs, kAnyFile, "ms"),
      Real("target_qps", server, LOADGEN_MEMBER(server_target_qps)),
      Real("target_qps", offline, LOADGEN_MEMBER(offline_expected_qps)),
      Flag("print_timestamps", nullptr, LOADGEN_MEMBER(print_timestamps), ValueKind::kFlagNonZero),
      Integer("accuracy_log_rng_seed", nullptr, LOADGEN_MEMBER(accuracy_log_rng_seed)),
      Integer("accuracy_log_sampling_target", nullptr,
              LOADGEN_MEMBER(accuracy_log_sampling_target)),
  };
  return keys;
}

#undef LOADGEN_MEMBER

std::vector<std::string> KnownKeyNames() {
  std::vector<std::string> names;
  for (const KnownKey& key : KnownKeys()) {
    if (std::find(names.begin(), names.end(), key.name) == names.end()) {
      names.push_back(key.name);
    }
  }
  return names;
}

std::vector<std::string> ConfigScenarioNames() {
  std::vector<std::string> names;
  for (mlperf::TestScenario scenario : kAllScenarios) names.push_back(ScenarioName(scenario));
  return names;
}

uint64_t IntegerValue(const std::string& text, double multiplier) {
  // Truncates before scaling, as the official parser does.
  return std::strtoull(text.c_str(), nullptr, 0) * static_cast<uint64_t>(multiplier);
}

double DoubleValue(const std::string& text, double multiplier) {
  return std::strtod(text.c_str(), nullptr) * multiplier;
}

uint64_t TruncateToInt32(uint64_t value) {
  return static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(value))));
}

}  // namespace loadgen::settings
