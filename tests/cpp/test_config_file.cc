// Config files: the official FromConfig grammar and semantics (the linter: test_config_lint.cc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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
using mlperf::TestMode;
using mlperf::TestSettings;

constexpr uint64_t kQslSeed = 2085463073848966840ULL;
constexpr uint64_t kSampleIndexSeed = 2747215439041700203ULL;
constexpr uint64_t kScheduleSeed = 16159082839903944936ULL;

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetMlperfConfPath(kRulesPath);
    dir_ = fs::temp_directory_path() /
           ("loadgen_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Applies `text` as a user.conf to settings_ on the test's own context.
  int Apply(const std::string& text, const std::string& model = "resnet50",
            const std::string& scenario = "Offline", int conf_type = 1) {
    return FromConfig(settings_, Write("user.conf", text), model, scenario, conf_type, ctx_);
  }

  std::vector<std::string> Messages() {
    std::vector<std::string> out;
    for (auto& [time, d] : ctx_.TakePending()) out.push_back(d.message);
    return out;
  }

  fs::path dir_;
  TestSettings settings_;
  ConfigContext ctx_;
};

// ---------------------------------------------------------------------------------------------
// Rules file (mlperf.conf) values
// ---------------------------------------------------------------------------------------------

TEST_F(ConfigFileTest, Resnet50OfflineGetsTheRules) {
  ASSERT_EQ(Apply(""), 0);
  EXPECT_EQ(settings_.min_duration_ms, 600000u);
  EXPECT_EQ(settings_.min_query_count, 24576u);
  EXPECT_EQ(settings_.performance_sample_count_override, 1024u);
  EXPECT_EQ(settings_.qsl_rng_seed, kQslSeed);
  EXPECT_EQ(settings_.sample_index_rng_seed, kSampleIndexSeed);
  EXPECT_EQ(settings_.schedule_rng_seed, kScheduleSeed);
  EXPECT_EQ(settings_.test05_qsl_rng_seed, 7975553102935885558ULL);
  EXPECT_EQ(settings_.test05_sample_index_rng_seed, 11403566307062068064ULL);
  EXPECT_EQ(settings_.test05_schedule_rng_seed, 15816800565822761601ULL);
  EXPECT_FALSE(settings_.test05);
  // Fixed-scenario keys apply whatever scenario was asked for.
  EXPECT_EQ(settings_.single_stream_expected_latency_ns, 1e7);
  EXPECT_EQ(settings_.multi_stream_expected_latency_ns, 8e7);
  EXPECT_EQ(settings_.server_target_latency_ns, 15000000u);
  EXPECT_EQ(settings_.offline_expected_qps, 1.0);
  EXPECT_EQ(settings_.single_stream_target_latency_percentile, 0.9);
  EXPECT_EQ(settings_.multi_stream_target_latency_percentile, 0.99);
  EXPECT_EQ(settings_.multi_stream_samples_per_query, 8u);
  EXPECT_TRUE(Messages().empty());
}

TEST_F(ConfigFileTest, Llama2ServerGetsTokenLatencies) {
  ASSERT_EQ(Apply("", "llama2-70b", "Server"), 0);
  EXPECT_TRUE(settings_.use_token_latencies);
  EXPECT_EQ(settings_.server_ttft_latency, 2000000000u);
  EXPECT_EQ(settings_.server_tpot_latency, 200000000u);
  EXPECT_EQ(settings_.server_target_latency_ns, 0u);
  EXPECT_TRUE(settings_.sample_concatenate_permutation);
  EXPECT_EQ(settings_.performance_sample_count_override, 24576u);
  EXPECT_EQ(settings_.min_duration_ms, 600000u);
}

TEST_F(ConfigFileTest, GptjInfersTokenLatencies) {
  ASSERT_EQ(Apply("", "gptj", "Offline"), 0);
  EXPECT_TRUE(settings_.infer_token_latencies);
  EXPECT_EQ(settings_.token_latency_scaling_factor, 69u);
  EXPECT_EQ(settings_.server_target_latency_ns, 20000000000u);
  EXPECT_EQ(settings_.min_query_count, 13368u);
}

TEST_F(ConfigFileTest, PointpaintingPercentIsTimesOneHundredth) {
  ASSERT_EQ(Apply("", "pointpainting", "SingleStream"), 0);
  EXPECT_EQ(settings_.single_stream_target_latency_percentile, 0.9990000000000001);
}

TEST_F(ConfigFileTest, UnknownModelAndInteractiveScenario) {
  ASSERT_EQ(Apply("", "my-model", "Interactive"), 0);
  // Nothing scenario-specific matches "Interactive"; wildcards and fixed scenarios still do.
  EXPECT_EQ(settings_.min_duration_ms, 10000u);
  EXPECT_EQ(settings_.min_query_count, 100u);
  EXPECT_EQ(settings_.performance_sample_count_override, 0u);
  EXPECT_EQ(settings_.qsl_rng_seed, kQslSeed);
  EXPECT_EQ(settings_.server_target_latency_ns, 10000000u);
  EXPECT_EQ(settings_.multi_stream_samples_per_query, 8u);
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

TEST_F(ConfigFileTest, PercentKeysMultiplyByOneHundredth) {
  ASSERT_EQ(Apply("*.SingleStream.target_latency_percentile = 95\n"
                  "*.MultiStream.target_latency_percentile = 99.9\n"
                  "*.Server.target_latency_percentile = 90\n"),
            0);
  EXPECT_EQ(settings_.single_stream_target_latency_percentile, 0.9500000000000001);
  EXPECT_EQ(settings_.multi_stream_target_latency_percentile, 0.9990000000000001);
  EXPECT_EQ(settings_.server_target_latency_percentile, 0.9);
}

TEST_F(ConfigFileTest, IntegersAreBaseZeroAndTruncatedBeforeScaling) {
  struct Case {
    const char* text;
    uint64_t count;
    uint64_t latency_ns;
  };
  const Case cases[] = {
      {"010", 8, 8000000}, {"0x10", 16, 16000000},
      {"09", 0, 0},  // strtod accepts it; strtoull stops at the 9
      {"1e3", 1, 1000000}, {"1.5", 1, 1000000},
      {"2.5", 2, 2000000}, {"-5", 18446744073709551611ULL, 18446744073704551616ULL},
      {"nan", 0, 0},       {"inf", 0, 0},
      {"+7", 7, 7000000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ConfigContext ctx;
    TestSettings settings;
    std::string text = std::string("*.*.min_query_count = ") + c.text +
                       "\n*.Server.target_latency = " + c.text + "\n";
    ASSERT_EQ(FromConfig(settings, Write("int.conf", text), "m", "Server", 2, ctx), 0);
    EXPECT_EQ(settings.min_query_count, c.count);
    EXPECT_EQ(settings.server_target_latency_ns, c.latency_ns);
  }
}

TEST_F(ConfigFileTest, DoublesUseStrtodTimesMultiplier) {
  ASSERT_EQ(Apply("*.Server.target_qps = 0x10\n*.Offline.target_qps = 010\n"
                  "*.SingleStream.target_latency = 0.25\n*.MultiStream.target_latency = 1.5e3\n",
                  "m", "Server", 2),
            0);
  EXPECT_EQ(settings_.server_target_qps, 16.0);
  EXPECT_EQ(settings_.offline_expected_qps, 10.0);
  EXPECT_EQ(settings_.single_stream_expected_latency_ns, 250000.0);
  EXPECT_EQ(settings_.multi_stream_expected_latency_ns, 1.5e9);
}

TEST_F(ConfigFileTest, MaxAsyncQueriesGoesThroughA32BitInt) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"5", 5},
      {"2147483647", 2147483647},
      {"2147483648", 18446744071562067968ULL},
      {"4294967295", 18446744073709551615ULL},
      {"4294967296", 0},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    TestSettings settings;
    ASSERT_EQ(
        FromConfig(settings,
                   Write("a.conf", std::string("*.Server.max_async_queries = ") + text + "\n"), "m",
                   "Offline", 2, ctx_),
        0);
    EXPECT_EQ(settings.server_max_async_queries, expected);
  }
}

TEST_F(ConfigFileTest, FlagsAreEqualsOneOrNonZero) {
  ASSERT_EQ(Apply("*.*.use_token_latencies = 2\n*.*.infer_token_latencies = 2\n"
                  "*.*.sample_concatenate_permutation = 2\n*.*.performance_issue_unique = 2\n"
                  "*.*.performance_issue_same = 2\n*.*.print_timestamps = 2\n"
                  "*.Server.coalesce_queries = 2\n",
                  "m", "Server", 2),
            0);
  EXPECT_FALSE(settings_.use_token_latencies);
  EXPECT_FALSE(settings_.infer_token_latencies);
  EXPECT_FALSE(settings_.sample_concatenate_permutation);
  EXPECT_TRUE(settings_.performance_issue_unique);
  EXPECT_TRUE(settings_.performance_issue_same);
  EXPECT_TRUE(settings_.print_timestamps);
  EXPECT_TRUE(settings_.server_coalesce_queries);
}

TEST_F(ConfigFileTest, ModeValues) {
  const std::pair<const char*, TestMode> cases[] = {
      {"0", TestMode::SubmissionRun},         {"1", TestMode::AccuracyOnly},
      {"2", TestMode::PerformanceOnly},       {"3", TestMode::FindPeakPerformance},
      {"3.9", TestMode::FindPeakPerformance}, {"0x2", TestMode::PerformanceOnly},
  };
  for (const auto& [text, mode] : cases) {
    SCOPED_TRACE(text);
    TestSettings settings;
    ASSERT_EQ(FromConfig(settings, Write("m.conf", std::string("*.*.mode = ") + text + "\n"), "m",
                         "Server", 2, ctx_),
              0);
    EXPECT_EQ(settings.mode, mode);
  }
  EXPECT_TRUE(Messages().empty());
}

TEST_F(ConfigFileTest, InvalidModeLogsAndKeepsTheMode) {
  settings_.mode = TestMode::AccuracyOnly;
  // Only the winning line is looked up, so two bad lines give one message.
  ASSERT_EQ(Apply("*.*.mode = 7\nm.*.mode = 4\n", "m", "Server", 2), 0);
  EXPECT_EQ(settings_.mode, TestMode::AccuracyOnly);
  auto pending = ctx_.TakePending();
  ASSERT_EQ(pending.size(), 1u);
  const Diagnostic& d = pending[0].second;
  EXPECT_EQ(d.message, "Invalid value passed to Mode key in config.");
  EXPECT_EQ(d.key, "error_invalid_config");
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_STREQ(d.file, "test_settings_internal.cc");
  EXPECT_EQ(d.line, 709);
}

// ---------------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------------

TEST_F(ConfigFileTest, LastValueOnALineAndLastLineWin) {
  ASSERT_EQ(Apply("*.*.min_query_count = 5 6\n*.*.max_query_count = 1\n"
                  "*.*.max_query_count = 2\n",
                  "m", "Server", 2),
            0);
  EXPECT_EQ(settings_.min_query_count, 6u);
  EXPECT_EQ(settings_.max_query_count, 2u);
}

TEST_F(ConfigFileTest, WhitespaceCommentsAndIgnoredLines) {
  ASSERT_EQ(Apply("\n   \n\t*.*.min_query_count\t=\t5\r\n  # comment\n#comment\n"
                  "*.*.max_query_count=9\n*.*.min_duration # = 3\n*.*.max_duration =\n"
                  "min_duration = 4\n*.*.print_timestamps\v=\f1",
                  "m", "Server", 2),
            0);
  EXPECT_EQ(settings_.min_query_count, 5u);
  EXPECT_EQ(settings_.max_query_count, 0u);  // "key=9" is one token: silently ignored
  EXPECT_EQ(settings_.min_duration_ms, 10000u);
  EXPECT_EQ(settings_.max_duration_ms, 0u);
  EXPECT_TRUE(settings_.print_timestamps);
  EXPECT_TRUE(Messages().empty());
}

TEST_F(ConfigFileTest, SyntaxErrorsRejectTheWholeFileWithLineNumbers) {
  ASSERT_EQ(Apply("*.*.min_query_count = 5\nbad line here\n*.*.min_duration = x\n"
                  "*.*.max_duration = 7 # c\n*.*.max_query_count = 8\n#no space\n"
                  "*.*.mode =1\n",
                  "m", "Server", 2),
            -EINVAL);
  EXPECT_EQ(settings_.min_query_count, 100u);
  EXPECT_EQ(settings_.max_query_count, 0u);
  auto pending = ctx_.TakePending();
  std::vector<std::pair<std::string, int>> got;
  for (auto& [time, d] : pending) got.emplace_back(d.message, d.line);
  std::vector<std::pair<std::string, int>> want = {
      {"expected 'key=value', line=2", 674},
      {"value needs to be integer or double, line=3", 661},
      {"value needs to be integer or double, line=4", 661},
      {"expected 'key=value', line=6", 674},
      {"expected 'key=value', line=7", 674},
  };
  EXPECT_EQ(got, want);
}

TEST_F(ConfigFileTest, SyntaxErrorAfterTheRulesStep) {
  // The first user.conf call applies mlperf.conf before it parses the user file.
  ASSERT_EQ(Apply("*.*.min_query_count = 5 # five\n"), -EINVAL);
  EXPECT_EQ(settings_.min_query_count, 24576u);
  EXPECT_EQ(settings_.qsl_rng_seed, kQslSeed);
  EXPECT_EQ(Messages(), std::vector<std::string>{"value needs to be integer or double, line=1"});
}

TEST_F(ConfigFileTest, MissingFile) {
  std::string missing = (dir_ / "missing.conf").string();
  ASSERT_EQ(FromConfig(settings_, missing, "resnet50", "Offline", 1, ctx_), -ENOENT);
  EXPECT_EQ(settings_.min_query_count, 24576u);  // rules applied first
  auto pending = ctx_.TakePending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].second.message, "can't open file " + missing);
  EXPECT_EQ(pending[0].second.line, 620);
}

// ---------------------------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------------------------

TEST_F(ConfigFileTest, LookupPrecedence) {
  const char* lines[] = {"*.*.min_query_count = 4\n", "resnet50.*.min_query_count = 3\n",
                         "*.Offline.min_query_count = 2\n",
                         "resnet50.Offline.min_query_count = 1\n"};
  for (int forms = 4; forms >= 1; --forms) {
    std::string text;
    for (int i = 0; i < forms; ++i) text += lines[i];
    TestSettings settings;
    ASSERT_EQ(FromConfig(settings, Write("p.conf", text), "resnet50", "Offline", 2, ctx_), 0);
    EXPECT_EQ(settings.min_query_count, static_cast<uint64_t>(5 - forms)) << forms;
  }
  // *.Scenario beats model.*
  ASSERT_EQ(
      Apply("resnet50.*.min_duration = 5\n*.Offline.min_duration = 6\n", "resnet50", "Offline", 2),
      0);
  EXPECT_EQ(settings_.min_duration_ms, 6u);
}

TEST_F(ConfigFileTest, FixedScenarioKeysIgnoreTheScenarioArgument) {
  ASSERT_EQ(Apply("*.SingleStream.target_latency = 0.25\n*.MultiStream.samples_per_query = 16\n"
                  "*.Server.target_latency = 2.5\n*.Server.target_qps = 123.25\n"
                  "*.Offline.target_qps = 4567.125\n*.Server.coalesce_queries = 1\n"
                  "*.Server.max_async_queries = 3\n*.SingleStream.min_query_count = 78\n",
                  "m", "Offline", 2),
            0);
  EXPECT_EQ(settings_.single_stream_expected_latency_ns, 250000.0);
  EXPECT_EQ(settings_.multi_stream_samples_per_query, 16u);
  EXPECT_EQ(settings_.server_target_latency_ns, 2000000u);
  EXPECT_EQ(settings_.server_target_qps, 123.25);
  EXPECT_EQ(settings_.offline_expected_qps, 4567.125);
  EXPECT_TRUE(settings_.server_coalesce_queries);
  EXPECT_EQ(settings_.server_max_async_queries, 3u);
  EXPECT_EQ(settings_.min_query_count, 100u);  // scenario-bound key, other scenario
}

TEST_F(ConfigFileTest, TokenKeysDependOnTheFlagSoFar) {
  ASSERT_EQ(Apply("*.Server.ttft_latency = 5\n*.Server.tpot_latency = 6\n"
                  "*.*.token_latency_scaling_factor = 7\n",
                  "m", "Server", 2),
            0);
  EXPECT_EQ(settings_.server_ttft_latency, 100000000u);
  EXPECT_EQ(settings_.server_tpot_latency, 100000000u);
  EXPECT_EQ(settings_.token_latency_scaling_factor, 0u);

  ASSERT_EQ(Apply("*.*.use_token_latencies = 1\n*.Server.ttft_latency = 5\n"
                  "*.Offline.tpot_latency = 6\n*.*.infer_token_latencies = 1\n"
                  "*.*.token_latency_scaling_factor = 7\n",
                  "m", "Offline", 2),
            0);
  EXPECT_EQ(settings_.server_ttft_latency, 5000000u);
  EXPECT_EQ(settings_.server_tpot_latency, 100000000u);  // fixed scenario Server, not Offline
  EXPECT_EQ(settings_.token_latency_scaling_factor, 7u);

  TestSettings preset;
  preset.use_token_latencies = true;
  ASSERT_EQ(
      FromConfig(preset, Write("t.conf", "*.Server.tpot_latency = 9\n"), "m", "Offline", 2, ctx_),
      0);
  EXPECT_EQ(preset.server_tpot_latency, 9000000u);
}

TEST_F(ConfigFileTest, UserConfCanOverrideTokenBoundsTheRulesEnable) {
  ASSERT_EQ(Apply("llama2-70b.Server.ttft_latency = 1000\n", "llama2-70b", "Server"), 0);
  EXPECT_EQ(settings_.server_ttft_latency, 1000000000u);
  EXPECT_EQ(settings_.server_tpot_latency, 200000000u);
}

// ---------------------------------------------------------------------------------------------
// conf_type and the process-wide counter
// ---------------------------------------------------------------------------------------------

TEST_F(ConfigFileTest, ReservedKeysOnlyFromTheRulesFile) {
  const std::string text =
      "*.*.qsl_rng_seed = 1\n*.*.sample_index_rng_seed = 2\n*.*.schedule_rng_seed = 3\n"
      "*.*.accuracy_log_probability = 50\n*.*.test05 = 1\n*.*.test05_qsl_rng_seed = 4\n"
      "*.*.test05_sample_index_rng_seed = 5\n*.*.test05_schedule_rng_seed = 6\n";
  ASSERT_EQ(Apply(text, "m", "Server", 2), 0);
  EXPECT_EQ(settings_.qsl_rng_seed, 0u);
  EXPECT_EQ(settings_.accuracy_log_probability, 0.0);
  EXPECT_FALSE(settings_.test05);
  EXPECT_EQ(settings_.test05_qsl_rng_seed, 0u);

  // conf_type 0 ignores the path and reads the rules file, reserved keys included.
  TestSettings rules;
  ASSERT_EQ(FromConfig(rules, Write("ignored.conf", text), "m", "Server", 0, ctx_), 0);
  EXPECT_EQ(rules.qsl_rng_seed, kQslSeed);
  EXPECT_EQ(rules.test05_schedule_rng_seed, 15816800565822761601ULL);
  EXPECT_FALSE(rules.test05);
  EXPECT_TRUE(Messages().empty());
}

TEST_F(ConfigFileTest, FirstUserConfAppliesTheRulesLaterOnesComplain) {
  ASSERT_EQ(Apply("*.*.min_query_count = 5\n"), 0);
  EXPECT_EQ(settings_.qsl_rng_seed, kQslSeed);
  EXPECT_EQ(settings_.min_query_count, 5u);
  EXPECT_TRUE(Messages().empty());

  TestSettings second;  // another object: no rules for it
  ASSERT_EQ(FromConfig(second, Write("s.conf", "*.*.max_query_count = 6\n"), "resnet50", "Offline",
                       1, ctx_),
            0);
  EXPECT_EQ(second.qsl_rng_seed, 0u);
  EXPECT_EQ(second.min_query_count, 100u);
  EXPECT_EQ(second.max_query_count, 6u);
  auto pending = ctx_.TakePending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].second.message,
            "Multiple conf files are used. This is not valid for official submission.");
  EXPECT_EQ(pending[0].second.line, 562);

  // The error comes before the file is even opened.
  std::string missing = (dir_ / "missing.conf").string();
  EXPECT_EQ(FromConfig(second, missing, "resnet50", "Offline", 1, ctx_), -ENOENT);
  EXPECT_EQ(Messages(), (std::vector<std::string>{
                            "Multiple conf files are used. This is not valid for official "
                            "submission.",
                            "can't open file " + missing}));
}

TEST_F(ConfigFileTest, OtherConfTypesDoNotCount) {
  ASSERT_EQ(Apply("*.*.min_query_count = 5\n", "resnet50", "Offline", 2), 0);
  ASSERT_EQ(Apply("*.*.min_query_count = 6\n", "resnet50", "Offline", -1), 0);
  ASSERT_EQ(Apply("", "resnet50", "Offline", 0), 0);
  EXPECT_EQ(settings_.min_query_count, 24576u);
  ASSERT_EQ(Apply("*.*.max_query_count = 7\n", "resnet50", "Offline", 1), 0);
  EXPECT_TRUE(Messages().empty());  // still the first conf_type-1 call
  EXPECT_EQ(settings_.max_query_count, 7u);
}

TEST_F(ConfigFileTest, MissingRulesFileIsReported) {
  SetMlperfConfPath((dir_ / "no-rules.conf").string());
  EXPECT_EQ(FromConfig(settings_, "", "m", "Server", 0, ctx_), -ENOENT);
  auto messages = Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].rfind("can't open file " + (dir_ / "no-rules.conf").string(), 0), 0u);
}

TEST_F(ConfigFileTest, RulesPathPrecedence) {
  SetMlperfConfPath("/explicit/mlperf.conf");
  ::setenv("LOADGEN_MLPERF_CONF", "/from/env/mlperf.conf", 1);
  EXPECT_EQ(MlperfConfPath(), "/explicit/mlperf.conf");
  SetMlperfConfPath("");
  EXPECT_EQ(MlperfConfPath(), "/from/env/mlperf.conf");
  ::unsetenv("LOADGEN_MLPERF_CONF");
  std::string fallback = MlperfConfPath();
  EXPECT_TRUE(fallback == LOADGEN_TEST_DATA_DIR "/../../python/loadgen/mlperf.conf" ||
              fs::path(fallback).filename() == "mlperf.conf")
      << fallback;
  EXPECT_TRUE(fs::exists(fallback)) << fallback;
  SetMlperfConfPath(kRulesPath);
}

TEST_F(ConfigFileTest, PublicMemberUsesTheProcessContext) {
  EXPECT_EQ(&ConfigContext::Process(), &ConfigContext::Process());
  // conf_type 2 leaves the process-wide counter alone.
  ASSERT_EQ(settings_.FromConfig(Write("u.conf", "*.*.min_query_count = 12\n"), "m", "Server", 2),
            0);
  EXPECT_EQ(settings_.min_query_count, 12u);
}

}  // namespace
}  // namespace loadgen::settings
