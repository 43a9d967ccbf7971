// session: the request table of a performance series (results::RequestRow per completed
// sample), read from the recorder after the series drained, for results/request_metrics.h.
#ifndef LOADGEN_SESSION_REQUEST_TABLE_H_
#define LOADGEN_SESSION_REQUEST_TABLE_H_

#include <cstdint>
#include <vector>

#include "record/series_recorder.h"
#include "results/request_metrics.h"
#include "schedule/load_models/load_plan.h"

namespace loadgen::session {

/// One row per completed sample of queries [0, queries), in sequence order. `load`: the
/// series' load plan (stage and measured columns), or null. `tokens`: the recorder kept
/// token figures (use_token_latencies); `first_tokens`: and first-token times (non-Offline).
/// `origin_ns`: set to the clock time the rows' scheduled_ns count from (the series start).
/// `ids`: filled with each row's response id.
std::vector<results::RequestRow> CollectRequestRows(const record::SeriesRecorder& recorder,
                                                    uint64_t queries,
                                                    const schedule::LoadPlan* load, bool tokens,
                                                    bool first_tokens, int64_t* origin_ns,
                                                    std::vector<uint64_t>* ids);

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_REQUEST_TABLE_H_
