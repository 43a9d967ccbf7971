// results stage: the request-level metrics of docs/metrics.md (E2E, TTFT, TPOT, inter-token
// latency, throughputs, output tokens per second per user, goodput against SLO tiers) over a
// table of completed requests. Pure: the session fills the table from the recorder after a
// series (so C++ harnesses get it in TestOutcome::requests), the typed API computes from it
// with the user's percentiles and tiers, and per stage or per endpoint from a subset.
#ifndef LOADGEN_RESULTS_REQUEST_METRICS_H_
#define LOADGEN_RESULTS_REQUEST_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loadgen::results {

/// One completed sample (request), 48 bytes. Times in ns; -1 where a figure is unknown.
struct RequestRow {
  uint64_t sample_index = 0;  // its QSL index
  int64_t scheduled_ns = 0;   // its scheduled moment, from the series start
  int64_t e2e_ns = 0;         // completion - scheduled moment
  int64_t ttft_ns = -1;       // first token - scheduled moment (token runs)
  int32_t output_tokens = -1;
  int32_t input_tokens = -1;  // the engine never knows it; endpoint rows may
  int32_t stage = -1;         // a load model's stage index, else -1
  bool measured = true;       // false: a warm-up or cool-down stage
  bool failed = false;        // completed as failed (loadgen/failure.h)
};

/// Time per output token after the first, as the recorder and the official compute it:
/// (e2e - ttft) / (output tokens - 1); -1 without a first token or with fewer than 2 tokens.
inline int64_t TpotOf(const RequestRow& r) {
  if (r.ttft_ns < 0 || r.output_tokens < 2) return -1;
  return (r.e2e_ns - r.ttft_ns) / (r.output_tokens - 1);
}

/// An objective tier: a request meets it when it succeeded and every set limit holds.
struct SloTier {
  std::string name;
  int64_t ttft_ns = -1;  // -1: no limit
  int64_t tpot_ns = -1;
  int64_t e2e_ns = -1;
};

struct MetricOptions {
  /// Fractions in (0, 1], e.g. 0.5, 0.9, 0.999.
  std::vector<double> percentiles = {0.5, 0.9, 0.95, 0.99, 0.999};
  std::vector<SloTier> tiers;
  /// Columns longer than this go through a LogHistogram (bounded memory, approximate
  /// percentiles); shorter ones are sorted (exact).
  size_t exact_limit = size_t{1} << 24;
};

/// One figure's distribution over requests (or, for ITL, over token gaps).
struct Distribution {
  uint64_t count = 0;
  double min = 0, max = 0, mean = 0;
  std::vector<std::pair<double, double>> percentiles;  // (fraction, value)
  bool approximate = false;  // from a LogHistogram (relative error <= its kRelativeError)
};

struct TierGoodput {
  std::string name;
  uint64_t met = 0;
  double share = 0;       // met / requests (failed included)
  double rate_per_s = 0;  // met / duration_s
};

struct RequestMetrics {
  uint64_t requests = 0;  // completed, failed included
  uint64_t failed = 0;
  double duration_s = 0;  // first scheduled moment to last completion
  uint64_t output_tokens = 0;
  uint64_t input_tokens = 0;
  bool input_tokens_known = false;  // every successful request had its input count
  double request_throughput = 0;    // successful requests per second
  double output_token_throughput = 0;
  double total_token_throughput = 0;  // (input + output) tokens per second; 0 when unknown
  Distribution e2e_ns;
  Distribution ttft_ns;
  Distribution tpot_ns;
  Distribution itl_ns;
  Distribution output_tokens_per_s_per_user;  // output tokens / e2e, per request
  std::vector<TierGoodput> goodput;           // one per MetricOptions::tiers, in order
};

/// Which rows count: the measured ones, or every row of one stage.
inline constexpr int32_t kMeasuredRows = -1;

/// Throws std::invalid_argument for a percentile outside (0, 1] or an unnamed tier.
void ValidateMetricOptions(const MetricOptions& options);

/// The metrics of the selected rows; `itl_ns` holds the inter-token gaps observed for them
/// (empty when the SUT cannot see chunks: in-process SUTs).
RequestMetrics ComputeRequestMetrics(const std::vector<RequestRow>& rows,
                                     const std::vector<int64_t>& itl_ns,
                                     const MetricOptions& options, int32_t stage = kMeasuredRows);

/// The distribution of `values`: sorted (a copy) when exact, else through a LogHistogram.
Distribution Distribute(const std::vector<int64_t>& values, const MetricOptions& options);
Distribution DistributeDoubles(std::vector<double> values, const std::vector<double>& percentiles);

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_REQUEST_METRICS_H_
