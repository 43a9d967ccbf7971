#include "schedule/load_models/trace_arrivals.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/errors.h"
#include "logging/format.h"
#include "schedule/random.h"

namespace loadgen::schedule {
namespace {

std::string LineOf(const TraceArrivals& t, uint64_t entry) {
  return t.line.size() > entry ? "line " + std::to_string(t.line[entry])
                               : "entry " + std::to_string(entry + 1);
}

}  // namespace

std::vector<TraceArrival> TraceReplayArrivals(const StageSpec& stage) {
  const TraceArrivals& trace = *stage.trace;
  const std::vector<double>& t = trace.arrival_s;
  std::vector<uint64_t> order(t.size());
  for (uint64_t i = 0; i < t.size(); ++i) {
    order[i] = i;
    if (!std::isfinite(t[i])) {
      throw SettingsError("trace " + LineOf(trace, i) + ": the timestamp is not a finite number");
    }
    if (i > 0 && t[i] < t[i - 1] && !stage.sort_trace) {
      throw SettingsError("trace " + LineOf(trace, i) + ": the timestamp " +
                          logging::FormatG6(t[i]) + " goes backwards (the previous one is " +
                          logging::FormatG6(t[i - 1]) +
                          "); sort the file, or ask for the trace to be sorted");
    }
  }
  // Stable: equal timestamps keep their file order.
  if (stage.sort_trace) {
    std::stable_sort(order.begin(), order.end(),
                     [&](uint64_t a, uint64_t b) { return t[a] < t[b]; });
  }
  std::vector<TraceArrival> out;
  if (order.empty()) return out;
  const double origin = t[order.front()];
  const uint64_t max_queries = stage.queries > 0 ? stage.queries : UINT64_MAX;
  out.reserve(std::min<uint64_t>(order.size(), max_queries));
  for (uint64_t entry : order) {
    if (out.size() >= max_queries) break;
    const int64_t offset = SecondsToNs((t[entry] - origin) * stage.time_scale);
    if (stage.duration_ns > 0 && offset >= stage.duration_ns) break;
    out.push_back({offset, entry});
  }
  return out;
}

}  // namespace loadgen::schedule
