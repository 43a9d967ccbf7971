// The one spelling of scenarios and modes (common/enum_names.h).
#include <gtest/gtest.h>

#include <string>

#include "common/enum_names.h"

namespace loadgen {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;

TEST(EnumNamesTest, ScenariosAreSpelledAsTheirEnumerators) {
  EXPECT_STREQ(ScenarioName(TestScenario::SingleStream), "SingleStream");
  EXPECT_STREQ(ScenarioName(TestScenario::MultiStream), "MultiStream");
  EXPECT_STREQ(ScenarioName(TestScenario::Server), "Server");
  EXPECT_STREQ(ScenarioName(TestScenario::Offline), "Offline");
}

TEST(EnumNamesTest, ModesAreSpelledAsTheirEnumerators) {
  EXPECT_STREQ(ModeName(TestMode::SubmissionRun), "SubmissionRun");
  EXPECT_STREQ(ModeName(TestMode::AccuracyOnly), "AccuracyOnly");
  EXPECT_STREQ(ModeName(TestMode::PerformanceOnly), "PerformanceOnly");
  EXPECT_STREQ(ModeName(TestMode::FindPeakPerformance), "FindPeakPerformance");
}

// A C++ caller can cast any integer to the enums; the names say so instead of looking valid.
TEST(EnumNamesTest, ValuesOutsideTheEnumHaveOneFallback) {
  EXPECT_STREQ(ScenarioName(static_cast<TestScenario>(7)), "InvalidScenario");
  EXPECT_STREQ(ModeName(static_cast<TestMode>(-1)), "InvalidMode");
}

TEST(EnumNamesTest, TheListsHoldEveryValueInOrder) {
  int expected = 0;
  for (TestScenario scenario : kAllScenarios) EXPECT_EQ(static_cast<int>(scenario), expected++);
  EXPECT_EQ(expected, 4);
  expected = 0;
  for (TestMode mode : kAllModes) EXPECT_EQ(static_cast<int>(mode), expected++);
  EXPECT_EQ(expected, 4);
}

}  // namespace
}  // namespace loadgen
