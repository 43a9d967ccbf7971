#include "schedule/load_models/load_plan.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_set>

#include "common/errors.h"
#include "schedule/load_models/open_loop_arrivals.h"
#include "schedule/load_models/trace_arrivals.h"

namespace loadgen::schedule {
namespace {

std::string StageName(const StageSpec& s, size_t i) {
  return s.name.empty() ? "stage " + std::to_string(i) : "stage '" + s.name + "'";
}

// Draws sample indices uniformly from the loaded set, as the Server scenario does.
class SamplePicker {
 public:
  SamplePicker(const LoadableSet& set, uint64_t seed)
      : set_(set), rng_(seed), in_set_(set.samples.begin(), set.samples.begin() + set.dist_end) {}
  uint32_t Random() {
    return static_cast<uint32_t>(set_.samples[UniformInt(rng_, 0, set_.dist_end - 1)]);
  }
  uint32_t FromTrace(const TraceArrivals& trace, uint64_t entry, const std::string& stage) {
    const uint64_t id = trace.sample_ids[entry];
    if (in_set_.count(id) == 0) {
      const std::string where = trace.line.size() > entry
                                    ? "line " + std::to_string(trace.line[entry])
                                    : "entry " + std::to_string(entry + 1);
      throw SettingsError(stage + ": trace " + where + ": sample id " + std::to_string(id) +
                          " is not in the loaded set of " + std::to_string(set_.dist_end) +
                          " samples (the QSL's performance_sample_count; a trace with sample "
                          "ids needs every id it uses loaded)");
    }
    return static_cast<uint32_t>(id);
  }
  void CheckConversationTurn(uint32_t sample, uint64_t conversation, uint64_t turn,
                             const std::string& stage) const {
    if (in_set_.count(sample) != 0) return;
    throw SettingsError(stage + ": turn " + std::to_string(turn) + " of conversation " +
                        std::to_string(conversation) + " is sample " + std::to_string(sample) +
                        ", which is not in the loaded set of " + std::to_string(set_.dist_end) +
                        " samples (a conversation needs every turn loaded: load them all, "
                        "with the QSL's performance_sample_count)");
  }

 private:
  const LoadableSet& set_;
  Mt19937 rng_;
  std::unordered_set<uint64_t> in_set_;
};

// An upper bound of a stage's queries (streamed plans reserve it).
uint64_t StageQueryBound(const StageSpec& s) {
  const uint64_t count_cap = s.queries > 0 ? s.queries : UINT64_MAX;
  switch (s.kind) {
    case ArrivalKind::kConstantRate:
    case ArrivalKind::kGamma: {
      if (s.duration_ns <= 0) return s.queries;
      const double seconds = static_cast<double>(s.duration_ns) / 1e9;
      const double mean =
          s.end_rate_qps >= 0 ? seconds * (s.rate_qps + s.end_rate_qps) / 2 : seconds * s.rate_qps;
      // A gamma count exceeds its mean by 12 standard deviations (its variance is about the
      // mean times the burstiness) with a probability far below 1e-30; generation checks the
      // bound anyway.
      const double bound = s.kind == ArrivalKind::kGamma
                               ? mean + 12 * std::sqrt(mean * std::max(1.0, s.burstiness)) + 1024
                               : std::ceil(mean) + 2;
      return std::min(count_cap, static_cast<uint64_t>(bound));
    }
    case ArrivalKind::kTrace:
      return std::min<uint64_t>(count_cap, s.trace->arrival_s.size());
    case ArrivalKind::kConcurrency:
      return s.queries > 0 ? s.queries : kClosedLoopQueryBudget;
    case ArrivalKind::kConversations:
      return s.conversations->turn_samples.size();
  }
  return 0;
}

}  // namespace

// Where generation is: the stage being generated and how far into it.
struct LoadPlanGenerator::Cursor {
  Cursor(const settings::EffectiveSettings& e, const LoadableSet& set)
      : schedule_rng(e.schedule_rng_seed), picker(set, e.sample_index_rng_seed) {
    Mt19937 offset_rng(e.accuracy_log_rng_seed);
    accuracy_offset = Canonical(offset_rng);
  }
  Mt19937 schedule_rng;
  SamplePicker picker;
  double accuracy_offset = 0;
  uint64_t bits_done = 0;
  size_t stage = 0;  // the stage being generated (= stages.size() when done)
  bool in_stage = false;
  uint64_t stages_ended = 0;
  int64_t stage_start = 0;
  // The stage's arrivals: open loop, one at a time; trace, all (the trace is in memory
  // anyway); closed loops and conversations, a count.
  std::optional<OpenLoopArrivals> open_loop;
  std::vector<TraceArrival> trace;
  uint64_t next = 0;            // arrivals of the stage emitted
  uint64_t total = 0;           // closed loop, conversations: the stage's queries
  std::vector<uint32_t> turns;  // conversations: the samples, in start order
};

LoadPlanGenerator::LoadPlanGenerator(const LoadModel& model,
                                     const settings::EffectiveSettings& effective,
                                     const LoadableSet& set, SequenceState& sequence)
    : model_(model), effective_(effective), sequence_(sequence) {
  ValidateLoadModel(model);
  if (set.samples.empty() || set.dist_end == 0) {
    throw SettingsError("the loaded sample set is empty: check the QSL sample counts");
  }
  SeriesPlan& plan = load_.plan;
  plan.mode = mlperf::TestMode::PerformanceOnly;
  plan.samples_per_query = 1;
  plan.first_query_seq = sequence.next_query_seq;
  plan.first_sample_seq = sequence.next_sample_seq;
  // Sized once: another thread reads the stage table while this one fills it in.
  load_.stages.resize(model.stages.size());
  for (const StageSpec& s : model.stages) {
    bound_ = std::min<uint64_t>(bound_ + StageQueryBound(s), uint64_t{1} << 40);
  }
  cursor_ = std::make_unique<Cursor>(effective, set);
}

LoadPlanGenerator::~LoadPlanGenerator() = default;

bool LoadPlanGenerator::ShouldStream(uint64_t threshold) const {
  return bound_ > threshold && effective_.accuracy_log_probability <= 0.0;
}

void LoadPlanGenerator::PrepareForStreaming() {
  SeriesPlan& plan = load_.plan;
  plan.scheduled_delta_ns.reserve(bound_);
  plan.sample_index.reserve(bound_);
  plan.accuracy_log_bits.reserve((bound_ + 63) / 64 + 1);
  plan.scheduled_delta_ns.freeze();
  plan.sample_index.freeze();
  plan.accuracy_log_bits.freeze();
  plan.query_capacity = bound_;
  plan.sample_capacity = bound_;
  // Probability 0 sets a bit only if a draw lands exactly on 1 - offset: room for a few.
  plan.accuracy_log_capacity = 64;
  streaming_ = true;
}

void LoadPlanGenerator::StartStage() {
  Cursor& c = *cursor_;
  const StageSpec& spec = model_.stages[c.stage];
  StagePlan& stage = load_.stages[c.stage];
  stage.name = spec.name;
  stage.kind = spec.kind;
  stage.measured = spec.measured;
  stage.concurrency = spec.concurrency;
  stage.first_query = load_.plan.query_count();
  stage.end_query = stage.first_query;
  stage.start_ns = c.stage_start;
  stage.end_ns = c.stage_start;
  c.next = 0;
  c.total = 0;
  switch (spec.kind) {
    case ArrivalKind::kConstantRate:
    case ArrivalKind::kGamma:
      c.open_loop.emplace(spec, c.schedule_rng);
      break;
    case ArrivalKind::kTrace:
      c.trace = TraceReplayArrivals(spec);
      c.total = c.trace.size();
      break;
    case ArrivalKind::kConcurrency:
      c.total = spec.queries > 0 ? spec.queries : kClosedLoopQueryBudget;
      stage.ends_by_time = spec.duration_ns > 0;
      break;
    case ArrivalKind::kConversations: {
      const ConversationSet& set = *spec.conversations;
      auto schedule = std::make_shared<ConversationSchedule>(
          DrawConversationSchedule(set, spec.concurrency, spec.queries, spec.think_time_ns,
                                   spec.exponential_think, c.schedule_rng));
      c.turns.clear();
      for (uint32_t conversation : schedule->order) {
        for (uint64_t t = 0; t < set.turns(conversation); ++t) {
          c.turns.push_back(set.sample(conversation, t));
        }
      }
      c.total = c.turns.size();
      stage.conversations = std::move(schedule);
      stage.conversation_set = spec.conversations;
      stage.ends_by_time = spec.duration_ns > 0;
      break;
    }
  }
  // A stage that ends by time has its end from the start (the issuer needs it then).
  if (stage.ends_by_time) stage.end_ns = c.stage_start + spec.duration_ns;
  c.in_stage = true;
}

void LoadPlanGenerator::EndStage(int64_t length) {
  Cursor& c = *cursor_;
  StagePlan& stage = load_.stages[c.stage];
  stage.end_query = load_.plan.query_count();
  // A stage ending by time has had its end since its start (the issuer may be reading it).
  if (!stage.ends_by_time) stage.end_ns = c.stage_start + length;
  c.stage_start = stage.end_ns;
  c.open_loop.reset();
  c.trace.clear();
  c.in_stage = false;
  ++c.stage;
  ++c.stages_ended;
}

bool LoadPlanGenerator::Generate(uint64_t max_queries) {
  if (complete()) return true;
  Cursor& c = *cursor_;
  SeriesPlan& plan = load_.plan;
  uint64_t produced = 0;
  auto append = [&](int64_t offset, uint32_t sample) {
    if (streaming_ && plan.query_count() >= bound_) {
      throw SettingsError("internal: the streamed load plan outgrew its bound of " +
                          std::to_string(bound_) + " queries");
    }
    plan.scheduled_delta_ns.push_back(offset);
    plan.sample_index.push_back(sample);
    ++produced;
  };
  while (produced < max_queries && c.stage < model_.stages.size()) {
    if (!c.in_stage) StartStage();
    const StageSpec& spec = model_.stages[c.stage];
    switch (spec.kind) {
      case ArrivalKind::kConstantRate:
      case ArrivalKind::kGamma: {
        int64_t offset;
        while (produced < max_queries) {
          if (!c.open_loop->Next(&offset)) {
            EndStage(c.open_loop->Length());
            break;
          }
          append(c.stage_start + offset, c.picker.Random());
        }
        break;
      }
      case ArrivalKind::kTrace: {
        const bool ids = !spec.trace->sample_ids.empty();
        for (; produced < max_queries && c.next < c.total; ++c.next) {
          const TraceArrival& a = c.trace[c.next];
          append(c.stage_start + a.offset_ns,
                 ids ? c.picker.FromTrace(*spec.trace, a.entry, StageName(spec, c.stage))
                     : c.picker.Random());
        }
        if (c.next == c.total) {
          EndStage(spec.duration_ns > 0 ? spec.duration_ns
                                        : (c.trace.empty() ? 0 : c.trace.back().offset_ns));
        }
        break;
      }
      case ArrivalKind::kConcurrency:
        for (; produced < max_queries && c.next < c.total; ++c.next) {
          append(c.stage_start, c.picker.Random());
        }
        if (c.next == c.total) EndStage(spec.duration_ns);
        break;
      case ArrivalKind::kConversations: {
        const ConversationSchedule& schedule = *load_.stages[c.stage].conversations;
        const ConversationSet& set = *spec.conversations;
        for (; produced < max_queries && c.next < c.total; ++c.next) {
          if (c.next == 0) {  // every turn of the stage must be loaded
            for (size_t p = 0; p < schedule.order.size(); ++p) {
              const uint32_t conversation = schedule.order[p];
              for (uint64_t t = 0; t < set.turns(conversation); ++t) {
                c.picker.CheckConversationTurn(set.sample(conversation, t), conversation, t,
                                               StageName(spec, c.stage));
              }
            }
          }
          append(c.stage_start, c.turns[c.next]);
        }
        if (c.next == c.total) EndStage(spec.duration_ns);
        break;
      }
    }
  }
  DrawAccuracyLogBits();
  const bool done = c.stage == model_.stages.size();
  if (done) {
    if (plan.query_count() == 0) {
      throw SettingsError("the load model plans no queries: check its rates and durations");
    }
    plan.generated_duration_ns = c.stage_start;
    sequence_.next_query_seq += plan.query_count();
    sequence_.next_sample_seq += plan.sample_count();
    if (!streaming_) plan.Seal();
  }
  Publish();
  if (done) complete_.store(true, std::memory_order_release);
  return done;
}

// Accuracy-log sampling: one draw of the test's accuracy RNG per sample, in order, as every
// series.
void LoadPlanGenerator::DrawAccuracyLogBits() {
  Cursor& c = *cursor_;
  SeriesPlan& plan = load_.plan;
  const uint64_t samples = plan.sample_count();
  plan.accuracy_log_bits.resize((samples + 63) / 64);
  const double probability = effective_.accuracy_log_probability;
  for (uint64_t s = c.bits_done; s < samples; ++s) {
    const double value = Canonical(sequence_.accuracy_rng) + c.accuracy_offset;
    const double wrapped = value - static_cast<double>(value >= 1.0);
    const uint64_t logged = wrapped <= probability ? 1 : 0;
    plan.accuracy_log_bits[s >> 6] |= logged << (s & 63);
  }
  c.bits_done = samples;
}

// The stage table first, then the queries: a reader that sees a count sees the stages too.
void LoadPlanGenerator::Publish() {
  const Cursor& c = *cursor_;
  started_stages_.store(c.stages_ended + (c.in_stage ? 1 : 0), std::memory_order_release);
  complete_stages_.store(c.stages_ended, std::memory_order_release);
  published_.store(load_.plan.query_count(), std::memory_order_release);
}

void LoadPlanGenerator::Truncate() {
  if (complete()) return;
  Cursor& c = *cursor_;
  const uint64_t end = load_.plan.query_count();
  for (size_t i = c.stage; i < load_.stages.size(); ++i) {
    StagePlan& stage = load_.stages[i];
    if (i > c.stage || !c.in_stage) {
      stage.name = model_.stages[i].name;
      stage.kind = model_.stages[i].kind;
      stage.measured = model_.stages[i].measured;
      stage.first_query = end;
      stage.start_ns = c.stage_start;
    }
    stage.end_query = end;
    stage.end_ns = std::max(stage.end_ns, stage.start_ns);
  }
  load_.plan.generated_duration_ns = c.stage_start;
}

LoadPlan GenerateLoadPlan(const LoadModel& model, const settings::EffectiveSettings& effective,
                          const LoadableSet& set, SequenceState& sequence) {
  LoadPlanGenerator generator(model, effective, set, sequence);
  generator.Finish();
  return std::move(generator.load());
}

}  // namespace loadgen::schedule
