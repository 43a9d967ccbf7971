#include "logging/settings_log.h"

#include "common/enum_names.h"

namespace loadgen::logging {

using mlperf::TestScenario;
using mlperf::TestSettings;
using settings::EffectiveSettings;

namespace {

// One detail-log entry: its key and how its value is read from the settings. The tables below
// are in the official order; a row's value type (Uint, Int, Double, Bool) decides its rendering.
template <typename Settings>
struct Entry {
  const char* key;
  JsonValue (*value)(const Settings&);
};

using Requested = Entry<TestSettings>;
using Effective = Entry<EffectiveSettings>;

#define LOADGEN_REQUESTED(field, Kind)                                                  \
  Requested {                                                                           \
    "requested_" #field, [](const TestSettings& s) { return JsonValue::Kind(s.field); } \
  }
#define LOADGEN_EFFECTIVE(field, Kind)                                                       \
  Effective {                                                                                \
    "effective_" #field, [](const EffectiveSettings& s) { return JsonValue::Kind(s.field); } \
  }

const Requested kRequestedSingleStream[] = {
    LOADGEN_REQUESTED(single_stream_expected_latency_ns, Double),
    LOADGEN_REQUESTED(single_stream_target_latency_percentile, Double),
};

const Requested kRequestedMultiStream[] = {
    LOADGEN_REQUESTED(multi_stream_expected_latency_ns, Double),
    LOADGEN_REQUESTED(multi_stream_target_latency_percentile, Double),
    LOADGEN_REQUESTED(multi_stream_samples_per_query, Uint),
};

const Requested kRequestedServer[] = {
    LOADGEN_REQUESTED(server_target_qps, Double),
    LOADGEN_REQUESTED(server_target_latency_ns, Uint),
    LOADGEN_REQUESTED(server_target_latency_percentile, Double),
    LOADGEN_REQUESTED(server_coalesce_queries, Bool),
    LOADGEN_REQUESTED(server_find_peak_qps_decimals_of_precision, Int),
    LOADGEN_REQUESTED(server_find_peak_qps_boundary_step_size, Double),
    LOADGEN_REQUESTED(server_max_async_queries, Uint),
    LOADGEN_REQUESTED(server_num_issue_query_threads, Uint),
};

const Requested kRequestedOffline[] = {
    LOADGEN_REQUESTED(offline_expected_qps, Double),
};

// After the scenario's entries.
const Requested kRequestedCommon[] = {
    LOADGEN_REQUESTED(min_duration_ms, Uint),
    LOADGEN_REQUESTED(max_duration_ms, Uint),
    LOADGEN_REQUESTED(min_query_count, Uint),
    LOADGEN_REQUESTED(max_query_count, Uint),
    LOADGEN_REQUESTED(qsl_rng_seed, Uint),
    LOADGEN_REQUESTED(sample_index_rng_seed, Uint),
    LOADGEN_REQUESTED(schedule_rng_seed, Uint),
    LOADGEN_REQUESTED(accuracy_log_rng_seed, Uint),
    LOADGEN_REQUESTED(accuracy_log_probability, Double),
    LOADGEN_REQUESTED(accuracy_log_sampling_target, Uint),
    LOADGEN_REQUESTED(print_timestamps, Bool),
    LOADGEN_REQUESTED(performance_issue_unique, Bool),
    LOADGEN_REQUESTED(performance_issue_same, Bool),
    LOADGEN_REQUESTED(performance_issue_same_index, Uint),
    LOADGEN_REQUESTED(performance_sample_count_override, Uint),
    LOADGEN_REQUESTED(accuracy_sample_count_override, Uint),
    LOADGEN_REQUESTED(sample_concatenate_permutation, Bool),
};

// Only with use_token_latencies, and then only outside Offline.
const Requested kRequestedTokenTargets[] = {
    LOADGEN_REQUESTED(server_ttft_latency, Uint),
    LOADGEN_REQUESTED(server_tpot_latency, Uint),
};

const Effective kEffective[] = {
    Effective{
        "effective_scenario",
        [](const EffectiveSettings& s) { return JsonValue::String(ScenarioName(s.scenario)); }},
    Effective{"effective_test_mode",
              [](const EffectiveSettings& s) { return JsonValue::String(ModeName(s.mode)); }},
    LOADGEN_EFFECTIVE(samples_per_query, Uint),
    LOADGEN_EFFECTIVE(target_qps, Double),
    LOADGEN_EFFECTIVE(target_latency_ns, Int),
    LOADGEN_EFFECTIVE(target_latency_percentile, Double),
    LOADGEN_EFFECTIVE(max_async_queries, Uint),
    LOADGEN_EFFECTIVE(target_duration_ms, Uint),
    LOADGEN_EFFECTIVE(min_duration_ms, Uint),
    LOADGEN_EFFECTIVE(max_duration_ms, Uint),
    LOADGEN_EFFECTIVE(min_query_count, Uint),
    LOADGEN_EFFECTIVE(max_query_count, Uint),
    LOADGEN_EFFECTIVE(min_sample_count, Uint),
    LOADGEN_EFFECTIVE(qsl_rng_seed, Uint),
    LOADGEN_EFFECTIVE(sample_index_rng_seed, Uint),
    LOADGEN_EFFECTIVE(schedule_rng_seed, Uint),
    LOADGEN_EFFECTIVE(accuracy_log_rng_seed, Uint),
    LOADGEN_EFFECTIVE(accuracy_log_probability, Double),
    LOADGEN_EFFECTIVE(accuracy_log_sampling_target, Uint),
    LOADGEN_EFFECTIVE(print_timestamps, Bool),
    LOADGEN_EFFECTIVE(performance_issue_unique, Bool),
    LOADGEN_EFFECTIVE(performance_issue_same, Bool),
    LOADGEN_EFFECTIVE(performance_issue_same_index, Uint),
    LOADGEN_EFFECTIVE(performance_sample_count, Uint),
    LOADGEN_EFFECTIVE(accuracy_sample_count, Uint),
    LOADGEN_EFFECTIVE(sample_concatenate_permutation, Bool),
};

#undef LOADGEN_REQUESTED
#undef LOADGEN_EFFECTIVE

template <typename Settings, size_t N>
void Write(DetailLog& log, const Entry<Settings> (&table)[N], const Settings& s, int64_t time_ns) {
  for (const Entry<Settings>& e : table) {
    log.Log(e.key, e.value(s), Severity::kInfo, "test_settings_internal.cc", 0, time_ns);
  }
}

void LogRequested(DetailLog& log, const TestSettings& r, int64_t time_ns) {
  auto put = [&](const char* key, const JsonValue& v) {
    log.Log(key, v, Severity::kInfo, "test_settings_internal.cc", 0, time_ns);
  };
  put("requested_scenario", JsonValue::String(ScenarioName(r.scenario)));
  put("requested_test_mode", JsonValue::String(ModeName(r.mode)));
  switch (r.scenario) {
    case TestScenario::SingleStream:
      Write(log, kRequestedSingleStream, r, time_ns);
      break;
    case TestScenario::MultiStream:
      Write(log, kRequestedMultiStream, r, time_ns);
      break;
    case TestScenario::Server:
      Write(log, kRequestedServer, r, time_ns);
      break;
    case TestScenario::Offline:
      Write(log, kRequestedOffline, r, time_ns);
      break;
  }
  Write(log, kRequestedCommon, r, time_ns);
  if (r.use_token_latencies) {
    put("requested_use_token_latencies", JsonValue::Bool(true));
    if (r.scenario != TestScenario::Offline) Write(log, kRequestedTokenTargets, r, time_ns);
  }
}

}  // namespace

void LogSettings(DetailLog& log, const TestSettings& requested, const EffectiveSettings& effective,
                 int64_t time_ns) {
  LogRequested(log, requested, time_ns);
  Write(log, kEffective, effective, time_ns);
}

}  // namespace loadgen::logging
