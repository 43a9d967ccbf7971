// The generator self-check of one performance series (docs/self-check.md): readings at the
// series start, then the figures, the verdict and the detail log's loadgen_generator_check.
#include <algorithm>

#include "common/clock.h"
#include "logging/format.h"
#include "session/log_pump.h"
#include "session/session.h"

namespace loadgen::session {

Session::GeneratorCheckStart Session::StartGeneratorCheck() {
  GeneratorCheckStart start;
  start.log_cpu_ns = pump_->CpuNs();
  if (const auto* client = dynamic_cast<const SelfCheckingClient*>(sut_)) {
    start.has_client = true;
    start.client = client->ClientFigures();
  }
  return start;
}

void Session::FinishGeneratorCheck(const GeneratorCheckStart& start,
                                   const issue::IssueShared& shared,
                                   const record::SeriesRecorder& recorder,
                                   const results::PerformanceResult& result) {
  selfcheck::SeriesMeasures m;
  m.issue = &shared.check;
  m.recorder = &recorder;
  m.queries = shared.any_issued ? shared.last_query + 1 : 0;
  m.start_ns = shared.start_ns;
  m.end_ns = std::max(recorder.max_completion_ns(), m.start_ns);
  m.log_thread_cpu_ns = pump_->CpuNs() - start.log_cpu_ns;
  if (start.has_client) {
    const ClientLoadFigures now = dynamic_cast<const SelfCheckingClient*>(sut_)->ClientFigures();
    m.has_client = true;
    m.client.io_thread_cpu_ns = now.io_thread_cpu_ns - start.client.io_thread_cpu_ns;
    m.client.queries = now.queries - start.client.queries;
    m.client.connection_waits = now.connection_waits - start.client.connection_waits;
    m.client.connection_wait_total_ns =
        now.connection_wait_total_ns - start.client.connection_wait_total_ns;
    m.client.connection_wait_max_ns = now.connection_wait_max_ns;  // a running maximum
  }
  if (!result.sample_latencies.empty()) {
    long double sum = 0;
    for (int64_t lat : result.sample_latencies) sum += lat;
    m.mean_latency_ns =
        static_cast<int64_t>(sum / static_cast<long double>(result.sample_latencies.size()));
  }
  selfcheck::GeneratorCheck check = selfcheck::Evaluate(m);
  // Info even when flagged: a warning would change the official summary's warning line.
  detail_->Log("loadgen_generator_check", logging::JsonValue::Raw(selfcheck::ToJson(check)),
               Severity::kInfo, "loadgen.cc");
  outcome_.generator = std::move(check);
}

}  // namespace loadgen::session
