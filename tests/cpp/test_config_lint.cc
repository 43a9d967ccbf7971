// The strict config-file linter (LintConfigText, LintConfigFile): grammar and value traps, key
// structure, and every line the official FromConfig parser rejects.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rules_path.h"
#include "settings/config_file.h"
#include "test_settings.h"

namespace loadgen::settings {
namespace {

namespace fs = std::filesystem;
using mlperf::TestSettings;

// ---------------------------------------------------------------------------------------------
// Linter
// ---------------------------------------------------------------------------------------------

std::vector<ConfigProblem> Lint(const std::string& text) {
  return LintConfigText(text, "user.conf");
}

const ConfigProblem* Find(const std::vector<ConfigProblem>& problems, int line) {
  for (const ConfigProblem& p : problems) {
    if (p.line == line) return &p;
  }
  return nullptr;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ConfigLintTest, CleanFileHasNoProblems) {
  EXPECT_TRUE(Lint("# my settings\n\nresnet50.Offline.target_qps = 1500.5\n"
                   "*.SingleStream.target_latency_percentile = 90\n"
                   "llama2-70b.Server.ttft_latency = 2000\n*.*.min_query_count = 0x10\n"
                   "wan-2.2-t2v-a14b.Offline.min_query_count = 248\n")
                  .empty());
}

TEST(ConfigLintTest, ReportsFileLineKeyAndSuggestion) {
  auto problems = Lint("\n*.*.min_querycount = 5\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, "user.conf");
  EXPECT_EQ(problems[0].line, 2);
  EXPECT_EQ(problems[0].key, "*.*.min_querycount");
  EXPECT_TRUE(Contains(problems[0].message, "unknown key 'min_querycount'"));
  EXPECT_TRUE(Contains(problems[0].message, "did you mean 'min_query_count'"));
  EXPECT_EQ(problems[0].suggestion, "*.*.min_query_count");
}

TEST(ConfigLintTest, UnknownScenario) {
  auto problems = Lint("resnet50.Sever.target_qps = 5\nllama2-70b.Interactive.min_duration = 5\n");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_TRUE(Contains(problems[0].message, "unknown scenario 'Sever'"));
  EXPECT_EQ(problems[0].suggestion, "resnet50.Server.target_qps");
  EXPECT_TRUE(Contains(problems[1].message, "'Interactive' is not a LoadGen scenario"));
  EXPECT_EQ(problems[1].suggestion, "llama2-70b-interactive.Server.min_duration");
}

TEST(ConfigLintTest, GrammarTraps) {
  auto problems = Lint(
      "*.*.min_query_count=5\n"           // 1: silently ignored
      "*.*.min_query_count = 5 # five\n"  // 2: rejected
      "#no space comment\n"               // 3: rejected
      "*.*.min_duration =5\n"             // 4: rejected
      "*.*.max_duration = abc\n"          // 5: rejected
      "*.*.max_query_count = 5 6\n"       // 6: last wins
      "*.*.print_timestamps =\n"          // 7: no value
      "*.*.mode\n");                      // 8: no value
  ASSERT_EQ(problems.size(), 8u);
  EXPECT_TRUE(Contains(Find(problems, 1)->message, "silently ignores"));
  EXPECT_EQ(Find(problems, 1)->suggestion, "*.*.min_query_count = 5");
  EXPECT_TRUE(Contains(Find(problems, 2)->message, "comment after the value"));
  EXPECT_EQ(Find(problems, 2)->suggestion, "*.*.min_query_count = 5");
  EXPECT_TRUE(Contains(Find(problems, 3)->message, "comment without a space"));
  EXPECT_EQ(Find(problems, 3)->suggestion, "# no space comment");
  EXPECT_TRUE(Contains(Find(problems, 4)->message, "spaces on both sides of '='"));
  EXPECT_EQ(Find(problems, 4)->suggestion, "*.*.min_duration = 5");
  EXPECT_TRUE(Contains(Find(problems, 5)->message, "'abc' is not a number"));
  EXPECT_TRUE(Contains(Find(problems, 6)->message, "only the last one ('6')"));
  EXPECT_TRUE(Contains(Find(problems, 7)->message, "no value after '='"));
  EXPECT_TRUE(Contains(Find(problems, 8)->message, "has no '= value'"));
}

TEST(ConfigLintTest, ValueTraps) {
  auto problems = Lint(
      "*.*.min_query_count = 010\n"                  // 1: octal
      "*.Server.target_latency = 1.5\n"              // 2: truncated
      "*.*.min_duration = -5\n"                      // 3: wraps
      "*.*.use_token_latencies = 2\n"                // 4: only 1 is true
      "*.*.mode = 7\n"                               // 5: invalid mode
      "*.Server.max_async_queries = 3000000000\n"    // 6: 32-bit
      "*.Server.target_latency_percentile = 0.99\n"  // 7: percent
      "*.Offline.target_qps = nan\n"                 // 8: not finite
      "*.*.performance_issue_same_index = 09\n");    // 9: octal, reads 0
  ASSERT_EQ(problems.size(), 9u);
  EXPECT_TRUE(Contains(Find(problems, 1)->message, "octal (= 8)"));
  EXPECT_EQ(Find(problems, 1)->suggestion, "*.*.min_query_count = 8");
  EXPECT_TRUE(Contains(Find(problems, 2)->message, "'1.5' is read as 1"));
  EXPECT_TRUE(Contains(Find(problems, 3)->message, "wraps around to 18446744073709551611"));
  EXPECT_TRUE(Contains(Find(problems, 4)->message, "only 1 turns 'use_token_latencies' on"));
  EXPECT_TRUE(Contains(Find(problems, 5)->message, "mode must be 0"));
  EXPECT_TRUE(Contains(Find(problems, 6)->message, "32-bit int"));
  EXPECT_TRUE(Contains(Find(problems, 7)->message, "is a percent"));
  EXPECT_EQ(Find(problems, 7)->suggestion, "*.Server.target_latency_percentile = 99");
  EXPECT_TRUE(Contains(Find(problems, 8)->message, "finite"));
  EXPECT_TRUE(Contains(Find(problems, 9)->message, "read as 0"));
}

TEST(ConfigLintTest, KeyStructureAndScope) {
  auto problems = Lint(
      "min_query_count = 5\n"           // 1: two parts missing
      "*.*.qsl_rng_seed = 1\n"          // 2: reserved
      "*.Offline.target_latency = 5\n"  // 3: never read for Offline
      "*.*.min_duration_ms = 5\n"       // 4: attribute name
      "*.*.min_query_count = 1\n"
      "*.*.min_query_count = 2\n"    // 6: duplicate
      "*.*.target_duration = 0\n");  // 7: unknown
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_TRUE(Contains(Find(problems, 1)->message, "model.scenario.name"));
  EXPECT_EQ(Find(problems, 1)->suggestion, "*.*.min_query_count");
  EXPECT_TRUE(Contains(Find(problems, 2)->message, "reserved to mlperf.conf"));
  EXPECT_TRUE(
      Contains(Find(problems, 3)->message, "only read for SingleStream, MultiStream, Server"));
  EXPECT_TRUE(Contains(Find(problems, 4)->message, "use 'min_duration'"));
  EXPECT_TRUE(Contains(Find(problems, 6)->message, "overrides line 5"));
  EXPECT_TRUE(Contains(Find(problems, 7)->message, "unknown key 'target_duration'"));
}

// Every TestSettings member the key table names differently is recognised as an attribute name,
// with the key to write (scenario and unit included).
TEST(ConfigLintTest, AttributeNamesPointToTheirKey) {
  auto problems = Lint(
      "*.*.server_target_qps = 5\n"
      "*.*.single_stream_expected_latency_ns = 5\n"
      "*.*.server_target_latency_percentile = 99\n"
      "*.*.expected_qps = 5\n");
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_TRUE(Contains(Find(problems, 1)->message, "use 'Server.target_qps'"));
  EXPECT_TRUE(Contains(Find(problems, 2)->message, "use 'SingleStream.target_latency (in ms)'"));
  EXPECT_TRUE(
      Contains(Find(problems, 3)->message, "use 'Server.target_latency_percentile (in %)'"));
  EXPECT_TRUE(Contains(Find(problems, 4)->message, "use 'Offline.target_qps'"));
}

TEST(ConfigLintTest, EveryLineTheOfficialParserRejectsIsReported) {
  const char* rejected[] = {
      "#comment here\n", "k =5\n",       "k= 5\n",        "a.b.c = 5 #\n", "a.b.c = x\n",
      "a.b.c = 5 y\n",   "a.b.c = - \n", "a.b.c d = 5\n", "a.b.c = 0x\n",  "a.b.c = 1e\n",
  };
  for (const char* text : rejected) {
    SCOPED_TRACE(text);
    TestSettings settings;
    ConfigContext ctx;
    fs::path path = fs::temp_directory_path() / ("loadgen_lint_" + std::to_string(::getpid()));
    std::ofstream(path) << text;
    EXPECT_EQ(FromConfig(settings, path.string(), "m", "Server", 2, ctx), -EINVAL);
    fs::remove(path);
    auto problems = Lint(text);
    ASSERT_FALSE(problems.empty());
    EXPECT_TRUE(Contains(problems[0].message, "rejects the whole file"));
  }
}

TEST(ConfigLintTest, LintConfigFileReadsTheFile) {
  EXPECT_EQ(LintConfigFile("/nonexistent/user.conf").at(0).message, "cannot open the file");
  EXPECT_EQ(LintConfigFile(fs::temp_directory_path().string()).at(0).line, 0);
  auto problems = LintConfigFile(kRulesPath);
  // The shipped rules file is clean apart from the keys reserved to it and two inert keys.
  for (const ConfigProblem& p : problems) {
    EXPECT_TRUE(Contains(p.message, "reserved to mlperf.conf") ||
                p.key == "*.Server.target_duration" ||
                p.key == "*.Offline.target_latency_percentile")
        << p.line << ": " << p.message;
  }
  EXPECT_EQ(problems.size(), 8u);
}

}  // namespace
}  // namespace loadgen::settings
