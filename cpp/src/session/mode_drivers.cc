// The mode drivers of a test: which series run, on which loaded sample sets, and which
// series' results are reported (Session::RunAccuracy, RunPerformance, RunFindPeak).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "logging/format.h"
#include "session/log_pump.h"
#include "session/session.h"

namespace loadgen::session {

using logging::JsonValue;
using mlperf::TestMode;
using mlperf::TestScenario;

void Session::LoadSet(const schedule::LoadableSet& set) {
  detail_->Log("loaded_qsl_set", JsonValue::IndexList(set.samples), Severity::kInfo, "loadgen.cc",
               0);
  std::vector<mlperf::QuerySampleIndex> indices(set.samples.begin(), set.samples.end());
  qsl_->LoadSamplesToRam(indices);
}

void Session::UnloadSet(const schedule::LoadableSet& set) {
  std::vector<mlperf::QuerySampleIndex> indices(set.samples.begin(), set.samples.end());
  qsl_->UnloadSamplesFromRam(indices);
}

results::PerformanceSummary Session::SummarizeAndLog(const SeriesOutput& out,
                                                     const settings::EffectiveSettings& effective,
                                                     bool write_reports) {
  results::PerformanceSummary summary = results::Summarize(effective, out.result);
  if (write_reports) {
    summary_text_ = results::RenderSummary(summary, sut_->Name());
    results::LogDetailResults(*detail_, summary);
    pump_->DrainNow();
    detail_->Log("num_errors", JsonValue::Uint(detail_->error_count()), Severity::kInfo,
                 "logging.cc");
  }
  return summary;
}

// Every accuracy set is loaded in turn and each sample of it issued once.
void Session::RunAccuracy() {
  LogMessage(Severity::kInfo, "generic_message", "Starting accuracy mode");
  auto sets = schedule::GenerateLoadableSets(effective_, effective_.accuracy_sample_count,
                                             qsl_->TotalSampleCount());
  for (const schedule::LoadableSet& set : sets) {
    if (abort_.load()) break;
    LoadSet(set);
    RunSeries(set, TestMode::AccuracyOnly, effective_);
    if (abort_.load()) break;
    UnloadSet(set);
  }
}

// One series on the first performance set; its summary is the test's.
void Session::RunPerformance() {
  LogMessage(Severity::kInfo, "generic_message", "Starting performance mode");
  auto sets = schedule::GenerateLoadableSets(effective_, effective_.performance_sample_count,
                                             qsl_->TotalSampleCount());
  const schedule::LoadableSet& set = sets.front();
  LoadSet(set);
  const auto sc_start = std::chrono::system_clock::now();
  const int64_t pc_start = NowNs();
  if (effective_.print_timestamps) {
    std::printf("Loadgen :: Perf mode start. system_clock Timestamp = %lld\n",
                static_cast<long long>(std::chrono::system_clock::to_time_t(sc_start)));
    std::fflush(stdout);
  }
  SeriesOutput out = RunSeries(set, TestMode::PerformanceOnly, effective_);
  CheckPerfClock(sc_start, pc_start);
  if (out.queries_issued > 0) {
    outcome_.performance = SummarizeAndLog(out, effective_, true);
  }
  if (!out.aborted) UnloadSet(set);
}

// Compares the performance series' duration on the monotonic clock with the system clock (and
// prints both with print_timestamps), as the official does after its performance series.
void Session::CheckPerfClock(std::chrono::system_clock::time_point sc_start, int64_t pc_start) {
  const auto sc_stop = std::chrono::system_clock::now();
  const int64_t pc_ms = (NowNs() - pc_start) / 1000000;
  const int64_t sc_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sc_stop - sc_start).count();
  if (effective_.print_timestamps) {
    const double ratio = sc_ms ? static_cast<double>(pc_ms) / static_cast<double>(sc_ms) : 1.0;
    std::printf("Loadgen :: Perf mode stop. systme_clock Timestamp = %lld\n",
                static_cast<long long>(std::chrono::system_clock::to_time_t(sc_stop)));
    std::printf("Loadgen :: PerfClock Perf duration = %lldms\n", static_cast<long long>(pc_ms));
    std::printf("Loadgen :: system_clock Perf duration = %lldms\n", static_cast<long long>(sc_ms));
    std::printf("Loadgen :: PerfClock/system_clock ratio = %.4f\n", ratio);
    std::fflush(stdout);
  }
  if (sc_ms <= 0) return;
  const double ratio = static_cast<double>(pc_ms) / static_cast<double>(sc_ms);
  if (ratio > 1.01 || ratio < 0.99) {
    LogMessage(Severity::kError, "error_runtime",
               "PerfClock and system_clock differ by more than 1%!  pc_sc_ratio: " +
                   logging::FormatG6(ratio));
  } else if (ratio > 1.001 || ratio < 0.999) {
    LogMessage(Severity::kWarning, "warning_generic_message",
               "PerfClock and system_clock differ by more than 0.1%!  pc_sc_ratio: " +
                   logging::FormatG6(ratio));
  }
}

// The state of a FindPeakPerformance search: the QPS bounds, the lower bound's series, and
// the loaded performance set.
struct Session::PeakSearch {
  std::vector<schedule::LoadableSet> sets;
  const schedule::LoadableSet* loaded = nullptr;
  double lower = 0;
  double upper = 0;
  SeriesOutput lower_out;
};

namespace {
std::string QpsText(double qps) { return std::to_string(qps); }
}  // namespace

// One performance series at `qps`, first loading the set generated for that QPS if `load`.
results::PerformanceSummary Session::RunPeakSeries(PeakSearch& search, double qps, bool load,
                                                   SeriesOutput* out) {
  settings::EffectiveSettings e = effective_;
  e.target_qps = qps;
  if (load) {
    search.sets =
        schedule::GenerateLoadableSets(e, e.performance_sample_count, qsl_->TotalSampleCount());
    search.loaded = &search.sets.front();
    LoadSet(*search.loaded);
  }
  *out = RunSeries(*search.loaded, TestMode::PerformanceOnly, e);
  return results::Summarize(e, out->result);
}

// The official's search (loadgen.cc, FindPeakPerformanceMode): check the requested QPS, grow
// it until a series fails, then bisect to the requested precision.
void Session::RunFindPeak() {
  LogMessage(Severity::kInfo, "generic_message", "Starting FindPeakPerformance mode");
  if (effective_.scenario != TestScenario::Server) {
    LogMessage(Severity::kError, "error_invalid_config",
               "Finding peak performance is only supported in Server scenarios.",
               "test_settings_internal.cc");
    return;
  }
  PeakSearch search;
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Check validity of the base settings field: " +
                 QpsText(effective_.target_qps));
  results::PerformanceSummary base =
      RunPeakSeries(search, effective_.target_qps, true, &search.lower_out);
  if (abort_.load()) return;
  if (!base.perf_constraints_met) {
    LogMessage(Severity::kError, "error_runtime",
               "FindPeakPerformance: Initial lower bound does not satisfy performance "
               "constraints, msg: " +
                   base.perf_constraints_recommendation);
    outcome_.performance = SummarizeAndLog(search.lower_out, effective_, true);
    UnloadSet(*search.loaded);
    return;
  }
  UnloadSet(*search.loaded);
  if (!FindPeakBoundaries(search) || !FindPeakByBisection(search)) return;
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Found peak performance field: " + QpsText(search.lower));
  settings::EffectiveSettings e = effective_;
  e.target_qps = search.lower;
  outcome_.performance = SummarizeAndLog(search.lower_out, e, true);
  UnloadSet(*search.loaded);
}

// Multiplies the QPS by (1 + step) until a series misses its constraints; each series loads
// its own set. Returns false if the test was aborted.
bool Session::FindPeakBoundaries(PeakSearch& search) {
  const double step = effective_.server_find_peak_qps_boundary_step_size;
  search.lower = effective_.target_qps;
  search.upper = search.lower * (1 + step);
  while (true) {
    LogMessage(Severity::kInfo, "generic_message",
               "FindBoundaries: Checking fields [" + QpsText(search.lower) + ", " +
                   QpsText(search.upper) + ")");
    SeriesOutput upper_out;
    results::PerformanceSummary s = RunPeakSeries(search, search.upper, true, &upper_out);
    UnloadSet(*search.loaded);
    if (abort_.load()) return false;
    if (!s.perf_constraints_met) break;
    search.lower = search.upper;
    search.lower_out = upper_out;
    search.upper = search.lower * (1 + step);
  }
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Found boundaries: [" + QpsText(search.lower) + ", " +
                 QpsText(search.upper) + ")");
  return true;
}

// Bisects [lower, upper) on one set, loaded from the upper bound's settings (as the official
// does), until the bounds agree to server_find_peak_qps_decimals_of_precision decimals.
// Returns false if the test was aborted; the set stays loaded otherwise.
bool Session::FindPeakByBisection(PeakSearch& search) {
  settings::EffectiveSettings e = effective_;
  e.target_qps = search.upper;
  search.sets =
      schedule::GenerateLoadableSets(e, e.performance_sample_count, qsl_->TotalSampleCount());
  search.loaded = &search.sets.front();
  LoadSet(*search.loaded);
  const uint8_t precision =
      static_cast<uint8_t>(effective_.server_find_peak_qps_decimals_of_precision);
  const double scale = std::pow(10.0, precision);
  while (std::floor(search.lower * scale) + 1 < std::floor(search.upper * scale)) {
    const double mid = search.lower + (search.upper - search.lower) / 2;
    LogMessage(Severity::kInfo, "generic_message",
               "FindPeakPerformanceBinarySearch: Testing the mid value of bounds [" +
                   QpsText(search.lower) + ", " + QpsText(search.upper) + "): " + QpsText(mid));
    SeriesOutput mid_out;
    results::PerformanceSummary s = RunPeakSeries(search, mid, false, &mid_out);
    if (abort_.load()) return false;
    if (s.perf_constraints_met) {
      search.lower = mid;
      search.lower_out = mid_out;
    } else {
      search.upper = mid;
    }
  }
  return true;
}

}  // namespace loadgen::session
