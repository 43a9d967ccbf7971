#include "results/request_metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "results/log_histogram.h"
#include "results/performance_summary.h"

namespace loadgen::results {
namespace {

bool Meets(const RequestRow& r, const SloTier& t) {
  if (r.failed) return false;
  // A limit on a figure the request does not have (no first token seen) is not met.
  if (t.ttft_ns >= 0 && (r.ttft_ns < 0 || r.ttft_ns > t.ttft_ns)) return false;
  if (t.tpot_ns >= 0) {
    const int64_t tpot = TpotOf(r);
    if (tpot < 0 || tpot > t.tpot_ns) return false;
  }
  if (t.e2e_ns >= 0 && r.e2e_ns > t.e2e_ns) return false;
  return true;
}

}  // namespace

void ValidateMetricOptions(const MetricOptions& options) {
  for (double p : options.percentiles) {
    if (!(p > 0 && p <= 1)) {
      throw std::invalid_argument("a percentile must be in (0, 100], got " +
                                  std::to_string(p * 100));
    }
  }
  for (const SloTier& t : options.tiers) {
    if (t.name.empty()) throw std::invalid_argument("an SLO tier needs a name");
  }
}

Distribution Distribute(const std::vector<int64_t>& input, const MetricOptions& options) {
  Distribution d;
  d.count = input.size();
  if (input.empty()) return d;
  if (input.size() > options.exact_limit) {
    // Bounded memory: no sorted copy, only the histogram.
    LogHistogram h;
    for (int64_t v : input) h.Record(v);
    d.approximate = true;
    d.min = static_cast<double>(h.min());
    d.max = static_cast<double>(h.max());
    d.mean = h.mean();
    for (double p : options.percentiles) {
      d.percentiles.emplace_back(p, static_cast<double>(h.ValueAt(p)));
    }
    return d;
  }
  std::vector<int64_t> values = input;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (int64_t v : values) sum += static_cast<double>(v);
  d.min = static_cast<double>(values.front());
  d.max = static_cast<double>(values.back());
  d.mean = sum / static_cast<double>(values.size());
  for (double p : options.percentiles) {
    d.percentiles.emplace_back(p, static_cast<double>(values[PercentileIndex(values.size(), p)]));
  }
  return d;
}

Distribution DistributeDoubles(std::vector<double> values, const std::vector<double>& percentiles) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  d.min = values.front();
  d.max = values.back();
  d.mean = sum / static_cast<double>(values.size());
  for (double p : percentiles) {
    d.percentiles.emplace_back(p, values[PercentileIndex(values.size(), p)]);
  }
  return d;
}

RequestMetrics ComputeRequestMetrics(const std::vector<RequestRow>& rows,
                                     const std::vector<int64_t>& itl_ns,
                                     const MetricOptions& options, int32_t stage) {
  ValidateMetricOptions(options);
  RequestMetrics m;
  std::vector<int64_t> e2e, ttft, tpot;
  std::vector<double> per_user;
  m.goodput.resize(options.tiers.size());
  int64_t first_scheduled = 0, last_done = 0;
  bool all_inputs = true;
  for (const RequestRow& r : rows) {
    if (stage == kMeasuredRows ? !r.measured : r.stage != stage) continue;
    const int64_t done = r.scheduled_ns + r.e2e_ns;
    if (m.requests == 0 || r.scheduled_ns < first_scheduled) first_scheduled = r.scheduled_ns;
    if (m.requests == 0 || done > last_done) last_done = done;
    ++m.requests;
    for (size_t t = 0; t < options.tiers.size(); ++t) {
      if (Meets(r, options.tiers[t])) ++m.goodput[t].met;
    }
    if (r.failed) {
      ++m.failed;
      continue;  // its latency is the time to the failure: not a latency of the service
    }
    e2e.push_back(r.e2e_ns);
    if (r.ttft_ns >= 0) ttft.push_back(r.ttft_ns);
    if (const int64_t t = TpotOf(r); t >= 0) tpot.push_back(t);
    if (r.output_tokens > 0) {
      m.output_tokens += static_cast<uint64_t>(r.output_tokens);
      if (r.e2e_ns > 0) {
        per_user.push_back(static_cast<double>(r.output_tokens) * 1e9 /
                           static_cast<double>(r.e2e_ns));
      }
    }
    if (r.input_tokens >= 0) {
      m.input_tokens += static_cast<uint64_t>(r.input_tokens);
    } else {
      all_inputs = false;
    }
  }
  const uint64_t succeeded = m.requests - m.failed;
  m.input_tokens_known = succeeded > 0 && all_inputs;
  m.duration_s = static_cast<double>(last_done - first_scheduled) / 1e9;
  if (m.duration_s > 0) {
    m.request_throughput = static_cast<double>(succeeded) / m.duration_s;
    m.output_token_throughput = static_cast<double>(m.output_tokens) / m.duration_s;
    if (m.input_tokens_known) {
      m.total_token_throughput =
          static_cast<double>(m.input_tokens + m.output_tokens) / m.duration_s;
    }
  }
  for (size_t t = 0; t < options.tiers.size(); ++t) {
    TierGoodput& g = m.goodput[t];
    g.name = options.tiers[t].name;
    if (m.requests > 0) g.share = static_cast<double>(g.met) / static_cast<double>(m.requests);
    if (m.duration_s > 0) g.rate_per_s = static_cast<double>(g.met) / m.duration_s;
  }
  m.e2e_ns = Distribute(e2e, options);
  m.ttft_ns = Distribute(ttft, options);
  m.tpot_ns = Distribute(tpot, options);
  m.itl_ns = Distribute(itl_ns, options);
  m.output_tokens_per_s_per_user = DistributeDoubles(std::move(per_user), options.percentiles);
  return m;
}

}  // namespace loadgen::results
