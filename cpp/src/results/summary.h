// results stage, writing: renders a computed PerformanceSummary (results/performance_summary.h)
// as the text of mlperf_log_summary.txt and as the detail log's results block, in the official
// format (official loadgen/results.cc, PerformanceSummary::LogSummary and LogDetail; the keys
// are listed in docs/log-format.md). Nothing here decides a number or a check.
#ifndef LOADGEN_RESULTS_SUMMARY_H_
#define LOADGEN_RESULTS_SUMMARY_H_

#include <cstdint>
#include <string>

#include "logging/detail_log.h"
#include "results/performance_summary.h"

namespace loadgen::results {

/// The mlperf_log_summary.txt text from the first banner to the end of "Test Parameters Used"
/// (including its trailing empty line). The logging stage appends RenderSummaryTrailer.
std::string RenderSummary(const PerformanceSummary& summary, const std::string& sut_name);

/// The warning/error count lines that end every summary file.
std::string RenderSummaryTrailer(uint64_t warnings, uint64_t errors);

/// The whole summary file of a test without a performance result (AccuracyOnly, FindPeak on a
/// non-Server scenario): an empty line, then the trailer.
std::string RenderAccuracyOnlySummary(uint64_t warnings, uint64_t errors);

/// Writes the results block (result_validity ... the token throughputs, under one timestamp,
/// attributed to file "results.cc" as the official does). The caller writes num_errors after
/// it.
void LogDetailResults(logging::DetailLog& log, const PerformanceSummary& summary);

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_SUMMARY_H_
