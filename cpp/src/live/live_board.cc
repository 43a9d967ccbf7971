#include "live/live_board.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/clock.h"
#include "record/response_id.h"
#include "results/early_stopping.h"
#include "results/performance_summary.h"

namespace loadgen::live {

int64_t SampledPercentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[results::PercentileIndex(sorted.size(), p)];
}

void IssueCounter::IssueQuery(const std::vector<mlperf::QuerySample>& samples) {
  if (!samples.empty()) {
    // Positions rise within a batch (coalesced Server queries, Offline's one query).
    const uint64_t end = record::ResponseIdLocal(samples.back().id) + 1;
    uint64_t seen = end_.load(std::memory_order_relaxed);
    while (seen < end && !end_.compare_exchange_weak(seen, end, std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
    }
    samples_.fetch_add(samples.size(), std::memory_order_acq_rel);
  }
  sut_->IssueQuery(samples);
}

void LiveBoard::Begin(const record::SeriesRecorder* recorder, const IssueCounter* counter,
                      const SeriesInfo& info, std::chrono::nanoseconds no_progress_timeout,
                      StallHandler on_stall) {
  End();
  {
    common::MutexLock lock(&mu_);
    recorder_ = recorder;
    counter_ = counter;
    info_ = info;
    ++series_;
    cursor_ = 0;
    stride_ = 1;
    waiting_.clear();
    ready_.clear();
    reservoir_.clear();
    ttft_reservoir_.clear();
    tpot_reservoir_.clear();
    seen_ = 0;
  }
  if (no_progress_timeout.count() > 0 && on_stall) {
    {
      common::MutexLock lock(&watch_mu_);
      watch_stop_ = false;
    }
    watchdog_ = std::thread(&LiveBoard::Watch, this, recorder, counter, no_progress_timeout,
                            std::move(on_stall));
  }
}

void LiveBoard::End() {
  if (watchdog_.joinable()) {
    {
      common::MutexLock lock(&watch_mu_);
      watch_stop_ = true;
    }
    watch_cv_.notify_all();
    watchdog_.join();
  }
  common::MutexLock lock(&mu_);
  if (recorder_ != nullptr) {
    // The series' last counters stay readable, so a display can show how it ended.
    final_ = Counters(NowNs());
  }
  recorder_ = nullptr;
  counter_ = nullptr;
}

Snapshot LiveBoard::Counters(int64_t now_ns) const {
  Snapshot s;
  s.series = series_;
  s.info = info_;
  s.elapsed_ns = now_ns - info_.start_ns;
  s.samples_issued = counter_->samples_issued();
  s.queries_issued = s.samples_issued / std::max<uint64_t>(info_.samples_per_query, 1);
  s.samples_completed = recorder_->completed_samples();
  s.queries_completed = recorder_->completed_queries();
  return s;
}

void LiveBoard::Watch(const record::SeriesRecorder* recorder, const IssueCounter* counter,
                      std::chrono::nanoseconds timeout, StallHandler on_stall) {
  const auto period = std::clamp<std::chrono::nanoseconds>(
      timeout / 8, std::chrono::milliseconds(1), std::chrono::milliseconds(100));
  uint64_t last_completed = recorder->completed_samples();
  int64_t last_change = NowNs();
  while (!WaitForStop(period)) {
    const uint64_t completed = recorder->completed_samples();
    const uint64_t issued = counter->samples_issued();
    const int64_t now = NowNs();
    if (completed != last_completed || issued <= completed) {
      // Progress, or nothing outstanding (a Server gap between queries is not a stall).
      last_completed = completed;
      last_change = now;
      continue;
    }
    if (now - last_change >= timeout.count()) {
      const std::string message =
          StallMessage(*recorder, counter->issued_end(), issued - completed, timeout);
      on_stall(message);
      return;
    }
  }
}

bool LiveBoard::WaitForStop(std::chrono::nanoseconds period) {
  const auto wake = std::chrono::steady_clock::now() + period;
  common::MutexLock lock(&watch_mu_);
  std::unique_lock<std::mutex> native(watch_mu_.native_handle(), std::adopt_lock);
  while (!watch_stop_ && watch_cv_.wait_until(native, wake) == std::cv_status::no_timeout) {
  }
  native.release();  // MutexLock unlocks
  return watch_stop_;
}

std::string LiveBoard::StallMessage(const record::SeriesRecorder& recorder, uint64_t issued_end,
                                    uint64_t outstanding, std::chrono::nanoseconds timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", std::chrono::duration<double>(timeout).count());
  std::string message = "No sample completed for " + std::string(seconds) + " s with " +
                        std::to_string(outstanding) + (outstanding == 1 ? " sample" : " samples") +
                        " outstanding (no_progress_timeout): the SUT stopped completing. "
                        "Outstanding (response id: QSL index):";
  const schedule::SeriesPlan& plan = recorder.plan();
  const uint64_t end = std::min<uint64_t>(issued_end, plan.sample_capacity);
  size_t named = 0;
  for (uint64_t local = 0; local < end && named < kNamedSamples; ++local) {
    if (recorder.SampleCompleted(local)) continue;
    message += (named == 0 ? " " : ", ") + std::to_string(recorder.ResponseIdOf(local)) + ": " +
               std::to_string(plan.sample_index[local]);
    ++named;
  }
  if (outstanding > named) message += " and " + std::to_string(outstanding - named) + " more";
  return message + ".";
}

void LiveBoard::Keep(uint64_t local, int64_t latency) {
  ++seen_;
  size_t slot = reservoir_.size();
  if (slot < kReservoirSize) {
    reservoir_.push_back(latency);
  } else {
    // Algorithm R with xorshift64: every latency drawn so far is kept with equal probability.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    const uint64_t draw = rng_ % seen_;
    if (draw >= kReservoirSize) return;
    slot = static_cast<size_t>(draw);
    reservoir_[slot] = latency;
  }
  if (!info_.use_tokens) return;
  // Same slot as the latency, so the token figures are a sample of the same completions. The
  // recorder stored them before (TTFT) or with (TPOT) the latency: as safe to read here.
  const record::SeriesRecorder& rec = *recorder_;
  const int64_t ttft = rec.ttft(local);
  const int64_t tpot = rec.tpot(local);
  if (slot == ttft_reservoir_.size()) {
    ttft_reservoir_.push_back(ttft);
    tpot_reservoir_.push_back(tpot);
  } else {
    ttft_reservoir_[slot] = ttft;
    tpot_reservoir_[slot] = tpot;
  }
}

void LiveBoard::Sample(int64_t now_ns) {
  const record::SeriesRecorder& rec = *recorder_;
  // A position seen completed at the previous Take has long had its latency stored (the
  // recorder writes it right after marking the sample completed).
  const int64_t max_latency = now_ns - info_.start_ns;
  for (uint64_t local : ready_) {
    const int64_t latency = rec.latency(local);
    if (latency >= 0 && latency <= max_latency) Keep(local, latency);
  }
  ready_.clear();
  size_t still = 0;
  for (uint64_t local : waiting_) {
    if (rec.SampleCompleted(local)) {
      ready_.push_back(local);
    } else {
      waiting_[still++] = local;
    }
  }
  waiting_.resize(still);

  const uint64_t end = std::min<uint64_t>(counter_->issued_end(), rec.plan().sample_capacity);
  if (end <= cursor_) return;
  while ((end - cursor_) / stride_ > kScanBudget) stride_ *= 2;
  uint64_t local = cursor_;
  for (; local < end; local += stride_) {
    if (rec.SampleCompleted(local)) {
      ready_.push_back(local);
    } else if (waiting_.size() < kWaitingLimit) {
      waiting_.push_back(local);
    }
  }
  cursor_ = local;
}

Snapshot LiveBoard::Take() {
  common::MutexLock lock(&mu_);
  Snapshot s;
  if (recorder_ != nullptr) {
    const int64_t now = NowNs();
    s = Counters(now);
    s.running = true;
    Sample(now);
  } else if (series_ != 0) {  // how the last series ended
    s = final_;
  } else {
    return s;
  }
  s.latency_sample = reservoir_;
  std::sort(s.latency_sample.begin(), s.latency_sample.end());
  s.latencies_seen = seen_;
  if (info_.use_tokens) {
    if (info_.scenario != mlperf::TestScenario::Offline) {
      s.ttft_sample = ttft_reservoir_;
      std::sort(s.ttft_sample.begin(), s.ttft_sample.end());
    }
    s.tpot_sample = tpot_reservoir_;
    std::sort(s.tpot_sample.begin(), s.tpot_sample.end());
    s.tokens_seen = seen_;
  }

  if (!info_.accuracy && info_.scenario != mlperf::TestScenario::Offline) {
    const double p = info_.target_latency_percentile;
    if (info_.scenario == mlperf::TestScenario::Server) {
      // Estimate the over-bound count from the sample's share above the bound.
      auto needed = [&](const std::vector<int64_t>& sorted, int64_t bound) {
        int64_t t = 0;
        if (!sorted.empty()) {
          const auto over = sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), bound);
          t = static_cast<int64_t>(
              std::llround(static_cast<double>(over) / static_cast<double>(sorted.size()) *
                           static_cast<double>(s.queries_completed)));
        }
        results::MinPassingFinder finder;  // a fresh cache per estimate, as the official's
        return static_cast<uint64_t>(finder.Find(t, p) + t);
      };
      // With tokens the official stops early on TPOT and TTFT, not on the latency.
      s.early_stopping_queries = info_.use_tokens
                                     ? std::max(needed(s.tpot_sample, info_.target_tpot_ns),
                                                needed(s.ttft_sample, info_.target_ttft_ns))
                                     : needed(s.latency_sample, info_.target_latency_ns);
    } else {
      // The estimate needs one query over the percentile plus the passing ones around it.
      results::MinPassingFinder finder;
      s.early_stopping_queries = static_cast<uint64_t>(finder.Find(1, p) + 1);
    }
  }
  return s;
}

}  // namespace loadgen::live
