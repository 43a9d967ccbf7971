// Log file names, creation and failures (docs/official-behaviour.md#logging-files), and the two
// wall-clock formats.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "common/errors.h"
#include "logging/log_files.h"

namespace loadgen::logging {
namespace {

// A fresh directory, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/loadgen_logw_XXXXXX";
    path_ = ::mkdtemp(templ.data()) != nullptr ? templ : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(LogFilesTest, DefaultNames) {
  const LogPaths paths = MakeLogPaths(mlperf::LogOutputSettings{}, "2026-11-28T16:46:00Z");
  EXPECT_EQ(paths.summary, "./mlperf_log_summary.txt");
  EXPECT_EQ(paths.detail, "./mlperf_log_detail.txt");
  EXPECT_EQ(paths.accuracy, "./mlperf_log_accuracy.json");
  EXPECT_EQ(paths.trace, "./mlperf_log_trace.json");
}

TEST(LogFilesTest, PrefixSuffixAndDatetime) {
  // The names in tests/data/reference_runs/probe_logsettings_prefix_suffix_datetime.
  mlperf::LogOutputSettings settings;
  settings.outdir = "sub";
  settings.prefix = "pre_";
  settings.suffix = "_suf";
  settings.prefix_with_datetime = true;
  const LogPaths paths = MakeLogPaths(settings, "2026-11-28T16:46:00Z");
  EXPECT_EQ(paths.summary, "sub/pre_2026-11-28T16:46:00Z_summary_suf.txt");
  EXPECT_EQ(paths.detail, "sub/pre_2026-11-28T16:46:00Z_detail_suf.txt");
  EXPECT_EQ(paths.accuracy, "sub/pre_2026-11-28T16:46:00Z_accuracy_suf.json");
  EXPECT_EQ(paths.trace, "sub/pre_2026-11-28T16:46:00Z_trace_suf.json");

  settings.prefix_with_datetime = false;
  EXPECT_EQ(MakeLogPaths(settings, "2026-11-28T16:46:00Z").detail, "sub/pre_detail_suf.txt");
}

TEST(LogFilesTest, OpensAllFourAndTruncatesOldLogs) {
  TempDir dir;
  mlperf::LogOutputSettings settings;
  settings.outdir = dir.path();
  const LogPaths paths = MakeLogPaths(settings, "");
  for (const std::string& p : {paths.summary, paths.detail, paths.accuracy, paths.trace}) {
    WriteFile(p, "left over from an earlier test\n");
  }

  LogFiles files = OpenLogFiles(settings, "");
  ASSERT_TRUE(files.is_open());
  EXPECT_EQ(files.paths().trace, dir.path() + "/mlperf_log_trace.json");
  std::fputs("summary\n", files.summary());
  std::fputs("detail\n", files.detail());
  std::fputs("[\n]\n", files.accuracy());
  files.Close();
  files.Close();  // idempotent
  EXPECT_FALSE(files.is_open());

  EXPECT_EQ(ReadAll(paths.summary), "summary\n");
  EXPECT_EQ(ReadAll(paths.detail), "detail\n");
  EXPECT_EQ(ReadAll(paths.accuracy), "[\n]\n");
  // Tracing off: the trace file is still created (or truncated), and left empty.
  EXPECT_TRUE(Exists(paths.trace));
  EXPECT_EQ(ReadAll(paths.trace), "");
}

TEST(LogFilesTest, MissingOutdirNamesEveryPathAndCreatesNothing) {
  TempDir dir;
  mlperf::LogOutputSettings settings;
  settings.outdir = dir.path() + "/not_there";
  try {
    OpenLogFiles(settings, "");
    FAIL() << "expected LogError";
  } catch (const LogError& e) {
    const std::string message = e.what();
    const LogPaths paths = MakeLogPaths(settings, "");
    for (const std::string& p : {paths.summary, paths.detail, paths.accuracy, paths.trace}) {
      EXPECT_NE(message.find(p + ": No such file or directory"), std::string::npos) << message;
    }
    EXPECT_NE(message.find("\"" + settings.outdir + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("must exist"), std::string::npos) << message;
  }
  EXPECT_FALSE(Exists(settings.outdir));
}

TEST(LogFilesTest, OneFailureLeavesTheOtherFilesAsTheyWere) {
  TempDir dir;
  mlperf::LogOutputSettings settings;
  settings.outdir = dir.path();
  const LogPaths paths = MakeLogPaths(settings, "");
  WriteFile(paths.detail, "previous detail log\n");
  ASSERT_EQ(::mkdir(paths.trace.c_str(), 0755), 0);  // cannot be opened as a file

  try {
    OpenLogFiles(settings, "");
    FAIL() << "expected LogError";
  } catch (const LogError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(paths.trace + ": Is a directory"), std::string::npos) << message;
    EXPECT_EQ(message.find(paths.summary), std::string::npos) << message;
  }
  EXPECT_EQ(ReadAll(paths.detail), "previous detail log\n");  // not truncated
  EXPECT_FALSE(Exists(paths.summary));                        // created, then removed
  EXPECT_FALSE(Exists(paths.accuracy));
}

TEST(LogFilesTest, MoveTransfersOwnership) {
  TempDir dir;
  mlperf::LogOutputSettings settings;
  settings.outdir = dir.path();
  LogFiles files = OpenLogFiles(settings, "");
  std::FILE* detail = files.detail();
  LogFiles moved = std::move(files);
  EXPECT_EQ(moved.detail(), detail);
  EXPECT_EQ(files.detail(), nullptr);  // NOLINT(bugprone-use-after-move): checks the moved-from
  EXPECT_NO_THROW(files.Close());
  std::fputs("x", moved.detail());
  moved.Close();
  EXPECT_EQ(ReadAll(dir.path() + "/mlperf_log_detail.txt"), "x");
}

// Sets TZ for the scope of a test, restoring the previous value.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

std::chrono::system_clock::time_point FromUnixMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

TEST(LogFilesTest, TestDatetimeIsLocalTimeWithAZ) {
  const auto t = FromUnixMs(int64_t{1795884360} * 1000 + 999);  // 2026-11-28 16:46:00.999 UTC
  {
    ScopedTimeZone utc("UTC0");
    EXPECT_EQ(FormatTestDatetime(t), "2026-11-28T16:46:00Z");
  }
  {
    // Three hours east of UTC: local time, yet still marked "Z", as the official LoadGen does.
    ScopedTimeZone east("<+03>-3");
    EXPECT_EQ(FormatTestDatetime(t), "2026-11-28T19:46:00Z");
  }
  EXPECT_EQ(TestDatetimeNow().size(), std::string("2026-11-28T16:46:00Z").size());
}

TEST(LogFilesTest, PowerTimeIsUtcWithMilliseconds) {
  ScopedTimeZone east("<+03>-3");                      // must not matter
  const int64_t base_ms = int64_t{1795884110} * 1000;  // 2026-11-28 16:41:50 UTC
  EXPECT_EQ(PowerTimeString(FromUnixMs(base_ms + 317)), "11-28-2026 16:41:50.317");
  EXPECT_EQ(PowerTimeString(FromUnixMs(base_ms + 7)), "11-28-2026 16:41:50.007");
  EXPECT_EQ(PowerTimeString(FromUnixMs(base_ms)), "11-28-2026 16:41:50.000");
  // Sub-millisecond parts are dropped, not rounded.
  const auto almost = FromUnixMs(base_ms + 999) + std::chrono::microseconds(999);
  EXPECT_EQ(
      PowerTimeString(std::chrono::time_point_cast<std::chrono::system_clock::duration>(almost)),
      "11-28-2026 16:41:50.999");
}

}  // namespace
}  // namespace loadgen::logging
