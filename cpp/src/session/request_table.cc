#include "session/request_table.h"

#include <algorithm>
#include <limits>

namespace loadgen::session {

std::vector<results::RequestRow> CollectRequestRows(const record::SeriesRecorder& recorder,
                                                    uint64_t queries,
                                                    const schedule::LoadPlan* load, bool tokens,
                                                    bool first_tokens, int64_t* origin_ns,
                                                    std::vector<uint64_t>* ids) {
  const schedule::SeriesPlan& plan = recorder.plan();
  const uint64_t spq = plan.samples_per_query;
  std::vector<results::RequestRow> rows;
  rows.reserve(recorder.completed_samples());  // exact: no growth by doubling
  ids->clear();
  ids->reserve(recorder.completed_samples());
  const int64_t origin = queries > 0 ? recorder.scheduled_ns(0) - plan.scheduled_delta_ns[0] : 0;
  *origin_ns = origin;
  size_t stage = 0;  // stages hold increasing query ranges: walked once
  for (uint64_t q = 0; q < queries; ++q) {
    results::RequestRow row;
    if (load != nullptr) {
      while (stage + 1 < load->stages.size() && q >= load->stages[stage + 1].first_query) ++stage;
      row.stage = static_cast<int32_t>(stage);
      row.measured = load->stages[stage].measured;
    }
    row.scheduled_ns = recorder.scheduled_ns(q) - origin;
    for (uint64_t local = q * spq; local < (q + 1) * spq; ++local) {
      if (!recorder.SampleCompleted(local)) continue;
      row.sample_index = plan.sample_index[local];
      row.e2e_ns = recorder.latency(local);
      row.failed = recorder.SampleFailed(local);
      row.ttft_ns = -1;
      row.output_tokens = -1;
      if (tokens && !row.failed) {
        row.output_tokens = static_cast<int32_t>(
            std::min<int64_t>(recorder.n_tokens(local), std::numeric_limits<int32_t>::max()));
        if (first_tokens && recorder.has_first_token(local)) row.ttft_ns = recorder.ttft(local);
      }
      rows.push_back(row);
      ids->push_back(recorder.ResponseIdOf(local));
    }
  }
  return rows;
}

}  // namespace loadgen::session
