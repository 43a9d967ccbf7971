// Error events beyond the error queue's capacity are counted, not lost silently: the queue
// counts what it refuses and the detail log reports the count (loadgen_error_events_dropped).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "loadgen.h"
#include "loadgen/session.h"
#include "record/bounded_queue.h"

namespace {

namespace fs = std::filesystem;

TEST(ErrorQueueTest, CountsEveryRefusedEvent) {
  loadgen::record::BoundedMpmcQueue<uint64_t> queue(8);
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(queue.TryPush(i));
  EXPECT_EQ(queue.dropped(), 0u);
  for (uint64_t i = 0; i < 5; ++i) EXPECT_FALSE(queue.TryPush(i));
  EXPECT_EQ(queue.dropped(), 5u);
  uint64_t value = 0;
  ASSERT_TRUE(queue.TryPop(value));
  EXPECT_TRUE(queue.TryPush(99));
  EXPECT_EQ(queue.dropped(), 5u);  // a push that fits is not counted
}

class Qsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 8; }
  size_t PerformanceSampleCount() override { return 8; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "OverflowQSL";
};

// On its first query, completes far more bogus ids than the error queue holds (in one call, so
// the log writer cannot keep up), then completes every sample properly.
class StormSut : public mlperf::SystemUnderTest {
 public:
  explicit StormSut(size_t bogus) : bogus_ids_(bogus, 0) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    if (!stormed_) {
      stormed_ = true;
      storm_status = loadgen::CompleteSampleIds(bogus_ids_.data(), bogus_ids_.size());
    }
    std::vector<mlperf::QuerySampleResponse> responses;
    for (const auto& s : samples) responses.emplace_back(s.id, 0, 0);
    mlperf::QuerySamplesComplete(responses.data(), responses.size());
  }
  void FlushQueries() override {}
  loadgen::CompletionStatus storm_status;

 private:
  std::string name_ = "StormSUT";
  std::vector<uint64_t> bogus_ids_;  // id 0 is never valid
  bool stormed_ = false;
};

// The last value logged under `key` (the log's lines are ":::MLLOG {json}").
std::string Field(const std::string& line, const std::string& name) {
  const std::string tag = "\"" + name + "\": ";
  const size_t at = line.find(tag);
  if (at == std::string::npos) return "";
  const size_t begin = at + tag.size();
  return line.substr(begin, line.find_first_of(",}", begin) - begin);
}

TEST(ErrorOverflowTest, DroppedErrorEventsAreCountedInTheDetailLog) {
  constexpr uint64_t kQueueCapacity = 1 << 16;  // session's error queue
  constexpr uint64_t kBogus = 3 * kQueueCapacity;
  const fs::path dir = fs::temp_directory_path() / "lg_error_overflow";
  fs::remove_all(dir);
  fs::create_directories(dir);
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::SingleStream;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.min_query_count = 16;
  settings.min_duration_ms = 0;
  mlperf::LogSettings log;
  log.log_output.outdir = dir.string();
  Qsl qsl;
  StormSut sut(kBogus);
  mlperf::StartTest(&sut, &qsl, settings, log);
  EXPECT_EQ(sut.storm_status.unknown, kBogus);

  std::ifstream detail(dir / "mlperf_log_detail.txt");
  std::string line;
  uint64_t logged = 0;
  uint64_t drop_lines = 0;
  uint64_t dropped = 0;
  uint64_t num_errors = 0;
  while (std::getline(detail, line)) {
    const std::string key = Field(line, "key");
    if (key == "\"error_runtime\"" && line.find("unknown response id") != std::string::npos) {
      ++logged;
    } else if (key == "\"loadgen_error_events_dropped\"") {
      EXPECT_EQ(Field(line, "is_error"), "true");
      const uint64_t total = std::stoull(Field(line, "value"));
      EXPECT_GT(total, dropped);  // a running total, logged when it grows
      dropped = total;
      ++drop_lines;
    } else if (key == "\"num_errors\"") {
      num_errors = std::stoull(Field(line, "value"));
    }
  }
  EXPECT_GE(dropped, kBogus - 2 * kQueueCapacity);  // the writer drains far less in between
  EXPECT_EQ(logged + dropped, kBogus);              // every event is either logged or counted
  EXPECT_GE(drop_lines, 1u);
  EXPECT_EQ(num_errors, logged + drop_lines);
  fs::remove_all(dir);
}

}  // namespace
