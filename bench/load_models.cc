// What the load models cost the engine, against the Server scenario, with a null SUT that
// completes inline (no Python). Two cases per model, one JSON line each:
//   paced:     100k queries/s for --duration-ms: the issue rate achieved and the issue delay
//              (completion - scheduled moment, which for an inline SUT is the issuer's lag);
//   saturated: --queries queries all due at once: wall-clock ns per query of the issue path
//              (plan lookup, recorder, SUT call, inline completion).
//
//   load_models [--duration-ms 2000] [--queries 1000000] [--reps 3] [--model M] [--mode MODE]
// Each case runs --reps times, the models taking turns (so the noise of a shared machine falls
// on all of them); compare the best of each.
// bench/load_models.py runs it and prints a table.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loadgen.h"
#include "null_sut.h"
#include "schedule/load_models/load_model.h"
#include "session/process.h"

namespace {

using loadgen::schedule::ArrivalKind;
using loadgen::schedule::LoadModel;
using loadgen::schedule::StageSpec;

struct Case {
  std::string name;
  std::unique_ptr<LoadModel> model;  // null: the Server scenario
};

StageSpec Stage(ArrivalKind kind, double qps, int64_t duration_ns, uint64_t queries) {
  StageSpec s;
  s.kind = kind;
  s.rate_qps = qps;
  s.duration_ns = duration_ns;
  s.queries = queries;
  return s;
}

std::vector<Case> Cases(double qps, int64_t duration_ns, uint64_t queries) {
  std::vector<Case> cases;
  auto add = [&](std::string name, StageSpec s) {
    auto m = std::make_unique<LoadModel>();
    m->stages.push_back(std::move(s));
    cases.push_back({std::move(name), std::move(m)});
  };
  cases.push_back({"server", nullptr});
  add("constant_rate", Stage(ArrivalKind::kConstantRate, qps, duration_ns, queries));
  add("poisson", Stage(ArrivalKind::kGamma, qps, duration_ns, queries));
  StageSpec bursty = Stage(ArrivalKind::kGamma, qps, duration_ns, queries);
  bursty.burstiness = 4;
  add("gamma_b4", bursty);
  // A ramp from half to one and a half times the rate: the same mean.
  // A ramp needs a duration: the time `queries` take at the mean rate.
  const int64_t ramp_ns = duration_ns > 0
                              ? duration_ns
                              : static_cast<int64_t>(static_cast<double>(queries) / qps * 1e9);
  StageSpec ramp = Stage(ArrivalKind::kConstantRate, qps / 2, ramp_ns, queries);
  ramp.end_rate_qps = qps * 1.5;
  add("ramp", ramp);
  auto trace = std::make_shared<loadgen::schedule::TraceArrivals>();
  const uint64_t n =
      queries ? queries : static_cast<uint64_t>(qps * static_cast<double>(duration_ns) / 1e9);
  for (uint64_t i = 0; i < n; ++i) trace->arrival_s.push_back(static_cast<double>(i) / qps);
  StageSpec replay;
  replay.kind = ArrivalKind::kTrace;
  replay.trace = trace;
  add("trace", replay);
  return cases;
}

void Run(const char* mode, Case& c, double qps, int64_t duration_ns, uint64_t queries) {
  loadgen::bench::NullSut sut;
  loadgen::bench::NullQsl qsl(1024);
  mlperf::TestSettings s;
  s.scenario = mlperf::TestScenario::Server;
  s.mode = mlperf::TestMode::PerformanceOnly;
  s.server_target_qps = qps;
  s.server_target_latency_ns = 1000000000;
  s.min_duration_ms = static_cast<uint64_t>(duration_ns / 1000000);
  s.min_query_count = queries;
  mlperf::LogSettings logs;
  const std::string dir =
      (std::filesystem::temp_directory_path() / "loadgen_load_models_bench").string();
  std::filesystem::create_directories(dir);
  logs.log_output.outdir = dir;
  const loadgen::session::TestOutcome out =
      loadgen::session::RunProcessTest(&sut, &qsl, s, logs, "", {}, c.model.get());
  if (!out.performance) {
    std::printf("{\"mode\": \"%s\", \"model\": \"%s\", \"error\": \"no result\"}\n", mode,
                c.name.c_str());
    return;
  }
  const auto& p = *out.performance;
  const double issued = static_cast<double>(p.queries_issued);
  // Percentile entries: kReportedPercentiles = 50, 90, 95, 97, 99, 99.9.
  std::printf(
      "{\"mode\": \"%s\", \"model\": \"%s\", \"queries\": %llu, \"issue_rate_qps\": %.0f, "
      "\"ns_per_query\": %.1f, \"delay_p50_ns\": %lld, \"delay_p99_ns\": %lld, "
      "\"delay_max_ns\": %lld}\n",
      mode, c.name.c_str(), static_cast<unsigned long long>(p.queries_issued),
      p.final_query_issued_time_s > 0 ? issued / p.final_query_issued_time_s : 0.0,
      issued > 0 ? p.final_query_issued_time_s * 1e9 / issued : 0.0,
      static_cast<long long>(p.sample_latency.at_percentile[0]),
      static_cast<long long>(p.sample_latency.at_percentile[4]),
      static_cast<long long>(p.sample_latency.max));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t duration_ms = 2000;
  uint64_t queries = 1000000;
  int reps = 3;
  std::string only_model, only_mode;  // for callgrind: one case
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--duration-ms") == 0) {
      duration_ms = std::atoll(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--queries") == 0) {
      queries = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--model") == 0) {
      only_model = argv[i + 1];
    } else if (std::strcmp(argv[i], "--mode") == 0) {
      only_mode = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: load_models [--duration-ms 2000] [--queries 1000000] [--reps 3] "
                   "[--model M] [--mode paced|saturated]\n");
      return 2;
    }
  }
  std::vector<Case> paced = Cases(100000, duration_ms * 1000000, 0);
  // All due at once: 1e12 queries per second puts every moment in the first millisecond.
  std::vector<Case> saturated = Cases(1e12, 0, queries);
  for (int r = 0; r < reps; ++r) {
    for (Case& c : paced) {
      if (only_mode != "saturated" && (only_model.empty() || c.name == only_model)) {
        Run("paced", c, 100000, duration_ms * 1000000, 0);
      }
    }
    for (Case& c : saturated) {
      if (only_mode != "paced" && (only_model.empty() || c.name == only_model)) {
        Run("saturated", c, 1e12, 0, queries);
      }
    }
  }
  return 0;
}
