#include "schedule/load_models/load_plan.h"

#include <algorithm>
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

}  // namespace

LoadPlan GenerateLoadPlan(const LoadModel& model, const settings::EffectiveSettings& effective,
                          const LoadableSet& set, SequenceState& sequence) {
  ValidateLoadModel(model);
  if (set.samples.empty() || set.dist_end == 0) {
    throw SettingsError("the loaded sample set is empty: check the QSL sample counts");
  }
  LoadPlan out;
  SeriesPlan& plan = out.plan;
  plan.mode = mlperf::TestMode::PerformanceOnly;
  plan.samples_per_query = 1;
  plan.first_query_seq = sequence.next_query_seq;
  plan.first_sample_seq = sequence.next_sample_seq;

  Mt19937 schedule_rng(effective.schedule_rng_seed);
  SamplePicker picker(set, effective.sample_index_rng_seed);
  int64_t stage_start = 0;
  std::vector<int64_t> offsets;
  for (size_t i = 0; i < model.stages.size(); ++i) {
    const StageSpec& spec = model.stages[i];
    StagePlan stage;
    stage.name = spec.name;
    stage.kind = spec.kind;
    stage.measured = spec.measured;
    stage.concurrency = spec.concurrency;
    stage.first_query = plan.query_count();
    stage.start_ns = stage_start;
    int64_t length = 0;
    switch (spec.kind) {
      case ArrivalKind::kConstantRate:
      case ArrivalKind::kGamma: {
        offsets.clear();
        length = GenerateOpenLoopArrivals(spec, schedule_rng, &offsets);
        for (int64_t offset : offsets) {
          plan.scheduled_delta_ns.push_back(stage_start + offset);
          plan.sample_index.push_back(picker.Random());
        }
        break;
      }
      case ArrivalKind::kTrace: {
        const std::vector<TraceArrival> arrivals = TraceReplayArrivals(spec);
        const bool ids = !spec.trace->sample_ids.empty();
        for (const TraceArrival& a : arrivals) {
          plan.scheduled_delta_ns.push_back(stage_start + a.offset_ns);
          plan.sample_index.push_back(
              ids ? picker.FromTrace(*spec.trace, a.entry, StageName(spec, i)) : picker.Random());
        }
        length = spec.duration_ns > 0 ? spec.duration_ns
                                      : (arrivals.empty() ? 0 : arrivals.back().offset_ns);
        break;
      }
      case ArrivalKind::kConcurrency: {
        const uint64_t queries = spec.queries > 0 ? spec.queries : kClosedLoopQueryBudget;
        for (uint64_t q = 0; q < queries; ++q) {
          plan.scheduled_delta_ns.push_back(stage_start);
          plan.sample_index.push_back(picker.Random());
        }
        stage.ends_by_time = spec.duration_ns > 0;
        length = spec.duration_ns;
        break;
      }
      case ArrivalKind::kConversations: {
        const ConversationSet& set = *spec.conversations;
        auto schedule = std::make_shared<ConversationSchedule>(
            DrawConversationSchedule(set, spec.concurrency, spec.queries, spec.think_time_ns,
                                     spec.exponential_think, schedule_rng));
        for (uint32_t c : schedule->order) {
          for (uint64_t t = 0; t < set.turns(c); ++t) {
            picker.CheckConversationTurn(set.sample(c, t), c, t, StageName(spec, i));
            plan.scheduled_delta_ns.push_back(stage_start);
            plan.sample_index.push_back(set.sample(c, t));
          }
        }
        stage.conversations = std::move(schedule);
        stage.conversation_set = spec.conversations;
        stage.ends_by_time = spec.duration_ns > 0;
        length = spec.duration_ns;
        break;
      }
    }
    stage.end_query = plan.query_count();
    stage.end_ns = stage_start + length;
    stage_start = stage.end_ns;
    out.stages.push_back(std::move(stage));
  }
  if (plan.query_count() == 0) {
    throw SettingsError("the load model plans no queries: check its rates and durations");
  }
  plan.generated_duration_ns = stage_start;

  // Accuracy-log sampling: one draw of the test's accuracy RNG per sample, as every series.
  const uint64_t samples = plan.sample_count();
  plan.accuracy_log_bits.resize((samples + 63) / 64);
  const double probability = effective.accuracy_log_probability;
  Mt19937 offset_rng(effective.accuracy_log_rng_seed);
  const double offset = Canonical(offset_rng);
  for (uint64_t s = 0; s < samples; ++s) {
    const double value = Canonical(sequence.accuracy_rng) + offset;
    const double wrapped = value - static_cast<double>(value >= 1.0);
    const uint64_t logged = wrapped <= probability ? 1 : 0;
    plan.accuracy_log_bits[s >> 6] |= logged << (s & 63);
  }
  sequence.next_query_seq += plan.query_count();
  sequence.next_sample_seq += samples;
  plan.Seal();
  return out;
}

}  // namespace loadgen::schedule
