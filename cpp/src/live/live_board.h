// live stage: what a running series looks like from outside, for progress displays and the
// stall watchdog. Readers sample the recorder's counters and arrays from their own thread; the
// completion path is untouched (no lock, no extra store), and issuing pays one relaxed atomic
// add per IssueQuery call.
#ifndef LOADGEN_LIVE_LIVE_BOARD_H_
#define LOADGEN_LIVE_LIVE_BOARD_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"
#include "record/series_recorder.h"
#include "system_under_test.h"
#include "test_settings.h"

namespace loadgen::live {

/// Counts what the engine hands to the SUT, then forwards the call. The count is bumped before
/// forwarding, so a SUT that completes inline never sees completed > issued.
class IssueCounter : public mlperf::SystemUnderTest {
 public:
  explicit IssueCounter(mlperf::SystemUnderTest* sut) : sut_(sut) {}

  const std::string& Name() override { return sut_->Name(); }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override;
  void FlushQueries() override { sut_->FlushQueries(); }

  uint64_t samples_issued() const { return samples_.load(std::memory_order_acquire); }
  /// One past the highest series position handed out so far (queries are issued in order per
  /// thread, so every position below it has been issued, bar multi-thread Server stragglers).
  uint64_t issued_end() const { return end_.load(std::memory_order_acquire); }

 private:
  mlperf::SystemUnderTest* sut_;
  std::atomic<uint64_t> samples_{0};
  std::atomic<uint64_t> end_{0};
};

/// The settings a display needs to put the counters in context.
struct SeriesInfo {
  mlperf::TestScenario scenario = mlperf::TestScenario::SingleStream;
  bool accuracy = false;  // an accuracy series: no duration or count targets
  int64_t start_ns = 0;
  uint64_t min_duration_ms = 0;
  uint64_t max_duration_ms = 0;
  uint64_t min_query_count = 0;
  uint64_t samples_per_query = 1;
  uint64_t generated_queries = 0;
  int64_t target_latency_ns = 0;
  double target_latency_percentile = 0.9;
  double target_qps = 0;
  /// The recorder keeps TTFT, TPOT and token counts (use_token_latencies); TTFT only outside
  /// Offline, as the official records it.
  bool use_tokens = false;
  int64_t target_ttft_ns = 0;  // server_ttft_latency / server_tpot_latency: Server's targets
  int64_t target_tpot_ns = 0;
  /// A load model's series (docs/load-models.md): target_qps is not its schedule.
  bool load_model = false;
};

/// One reading of the board: the running series, or (running = false) how the last one ended.
struct Snapshot {
  bool running = false;
  uint64_t series = 0;  // counts the series recorded in this process, from 1; 0: none yet
  SeriesInfo info;
  int64_t elapsed_ns = 0;
  uint64_t samples_issued = 0;
  uint64_t queries_issued = 0;
  uint64_t samples_completed = 0;
  uint64_t queries_completed = 0;
  /// A uniform-ish sample of completed latencies (ns), ascending, and how many were drawn.
  std::vector<int64_t> latency_sample;
  uint64_t latencies_seen = 0;
  /// Token runs: TTFT and TPOT (ns) of the same sampled completions, each ascending (TTFT is
  /// empty in Offline), and how many were drawn.
  std::vector<int64_t> ttft_sample;
  std::vector<int64_t> tpot_sample;
  uint64_t tokens_seen = 0;
  /// Queries early stopping would need for the current over-latency estimate (0: no early
  /// stopping in this scenario or series).
  uint64_t early_stopping_queries = 0;
};

/// The value at percentile `p` of an ascending sample (latency_sample, ttft_sample,
/// tpot_sample), by the results stage's index rule; 0 for an empty sample.
int64_t SampledPercentile(const std::vector<int64_t>& sorted, double p);

/// The running series, for readers on other threads. Begin/End are called by the session
/// thread around each series; Take and the watchdog only read.
class LiveBoard {
 public:
  using StallHandler = std::function<void(const std::string& message)>;

  LiveBoard() = default;
  LiveBoard(const LiveBoard&) = delete;
  LiveBoard& operator=(const LiveBoard&) = delete;
  ~LiveBoard() { End(); }

  /// Publishes a series. With a positive `no_progress_timeout`, a watchdog thread calls
  /// `on_stall` once if no sample completes for that long while samples are outstanding.
  void Begin(const record::SeriesRecorder* recorder, const IssueCounter* counter,
             const SeriesInfo& info, std::chrono::nanoseconds no_progress_timeout,
             StallHandler on_stall) LOADGEN_EXCLUDES(mu_, watch_mu_);
  /// Withdraws the series (stops the watchdog); after it returns no reader touches the recorder.
  void End() LOADGEN_EXCLUDES(mu_, watch_mu_);

  /// Thread-safe. Cost: a few hundred atomic loads and a sort of at most kReservoirSize values
  /// (three in token runs).
  /// Between series it returns the last series' final counters (running = false).
  Snapshot Take() LOADGEN_EXCLUDES(mu_);

  static constexpr size_t kReservoirSize = 4096;
  static constexpr uint64_t kScanBudget = 512;  // new positions looked at per Take
  static constexpr size_t kWaitingLimit = 2048;

  /// The watchdog's message for a stall: the count and the first `kNamedSamples` outstanding
  /// samples (response id and QSL index). Exposed for tests.
  static std::string StallMessage(const record::SeriesRecorder& recorder, uint64_t issued_end,
                                  uint64_t outstanding, std::chrono::nanoseconds timeout);
  static constexpr size_t kNamedSamples = 10;

 private:
  void Watch(const record::SeriesRecorder* recorder, const IssueCounter* counter,
             std::chrono::nanoseconds timeout, StallHandler on_stall) LOADGEN_EXCLUDES(watch_mu_);
  /// Sleeps up to `period` or until End() asks the watchdog to stop; returns whether it asked.
  bool WaitForStop(std::chrono::nanoseconds period) LOADGEN_EXCLUDES(watch_mu_);
  void Sample(int64_t now_ns) LOADGEN_REQUIRES(mu_);
  Snapshot Counters(int64_t now_ns) const LOADGEN_REQUIRES(mu_);  // and a published series
  void Keep(uint64_t local, int64_t latency) LOADGEN_REQUIRES(mu_);

  // Never taken on the completion path.
  mutable common::Mutex mu_;
  const record::SeriesRecorder* recorder_ LOADGEN_GUARDED_BY(mu_) = nullptr;
  const IssueCounter* counter_ LOADGEN_GUARDED_BY(mu_) = nullptr;
  SeriesInfo info_ LOADGEN_GUARDED_BY(mu_);
  uint64_t series_ LOADGEN_GUARDED_BY(mu_) = 0;
  Snapshot final_ LOADGEN_GUARDED_BY(mu_);  // counters of the last series, taken by End()

  // Sampling state, reset per series.
  uint64_t cursor_ LOADGEN_GUARDED_BY(mu_) = 0;  // positions below it have been considered
  // Grows so one Take looks at <= kScanBudget new positions.
  uint64_t stride_ LOADGEN_GUARDED_BY(mu_) = 1;
  std::vector<uint64_t> waiting_ LOADGEN_GUARDED_BY(mu_);  // sampled, not completed yet
  // Seen completed; latency read on the next Take.
  std::vector<uint64_t> ready_ LOADGEN_GUARDED_BY(mu_);
  std::vector<int64_t> reservoir_ LOADGEN_GUARDED_BY(mu_);
  // Token runs: slot i is the sample of reservoir_[i].
  std::vector<int64_t> ttft_reservoir_ LOADGEN_GUARDED_BY(mu_);
  std::vector<int64_t> tpot_reservoir_ LOADGEN_GUARDED_BY(mu_);
  uint64_t seen_ LOADGEN_GUARDED_BY(mu_) = 0;
  uint64_t rng_ LOADGEN_GUARDED_BY(mu_) = 0x9E3779B97F4A7C15ull;

  common::Mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ LOADGEN_GUARDED_BY(watch_mu_) = false;
  std::thread watchdog_;  // session thread only (Begin/End)
};

/// Begin on construction, End on destruction; does nothing without a board.
class SeriesScope {
 public:
  SeriesScope(LiveBoard* board, const record::SeriesRecorder* recorder, const IssueCounter* counter,
              const SeriesInfo& info, std::chrono::nanoseconds no_progress_timeout,
              LiveBoard::StallHandler on_stall)
      : board_(board) {
    if (board_) board_->Begin(recorder, counter, info, no_progress_timeout, std::move(on_stall));
  }
  SeriesScope(const SeriesScope&) = delete;
  SeriesScope& operator=(const SeriesScope&) = delete;
  ~SeriesScope() {
    if (board_) board_->End();
  }

 private:
  LiveBoard* board_;
};

}  // namespace loadgen::live

#endif  // LOADGEN_LIVE_LIVE_BOARD_H_
