// The seven version entries at the top of the detail log (docs/official-behaviour.md
// #logging-version).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "logging/version_info.h"

namespace loadgen::logging {
namespace {

std::vector<std::string> LoggedLines(int64_t origin, int64_t time_ns) {
  std::FILE* f = std::tmpfile();
  {
    DetailLog log(f, false, origin);
    LogVersionInfo(log, time_ns);
    log.Flush();
  }
  std::rewind(f);
  std::vector<std::string> lines;
  char buf[1 << 16];
  std::string text;
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Field(const std::string& line, const std::string& name, const std::string& end) {
  const std::string open = "\"" + name + "\": ";
  const size_t start = line.find(open) + open.size();
  return line.substr(start, line.find(end, start) - start);
}

TEST(VersionInfoTest, SevenKeysWithOneTimestamp) {
  const std::vector<std::string> lines = LoggedLines(1000, 1000 + 13966);
  ASSERT_EQ(lines.size(), 7u);
  const char* keys[] = {"loadgen_version",         "loadgen_build_date_local",
                        "loadgen_build_date_utc",  "loadgen_git_commit_date",
                        "loadgen_git_log_message", "loadgen_git_status_message",
                        "loadgen_file_sha1"};
  const int line_numbers[] = {53, 55, 56, 57, 58, 60, 67};
  for (size_t i = 0; i < 7; ++i) {
    SCOPED_TRACE(keys[i]);
    EXPECT_EQ(Field(lines[i], "key", ","), "\"" + std::string(keys[i]) + "\"");
    EXPECT_EQ(Field(lines[i], "time_ms", ","), "0.013966");
    EXPECT_EQ(Field(lines[i], "file", ","), "\"version.cc\"");
    EXPECT_EQ(Field(lines[i], "line_no", ","), std::to_string(line_numbers[i]));
    EXPECT_EQ(Field(lines[i], "is_error", ","), "false");
  }
  EXPECT_EQ(Field(lines[0], "value", ", \"time_ms\""), "\"" + LoadgenVersion() + "\"");
  const std::regex date(R"("\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")");
  EXPECT_TRUE(std::regex_match(Field(lines[1], "value", ", \"time_ms\""), date)) << lines[1];
  EXPECT_TRUE(std::regex_match(Field(lines[2], "value", ", \"time_ms\""), date)) << lines[2];
  for (int i = 3; i < 6; ++i) EXPECT_EQ(Field(lines[i], "value", ", \"time_ms\""), "\"NA\"");
}

TEST(VersionInfoTest, LoadgenVersionStartsWithTheCompatibleRelease) {
  // The upstream version first (tools compare it), then ours: "6.0.17 @ loadgen-X.Y.Z".
  const std::regex expected(R"(6\.0\.17 @ loadgen-\d+\.\d+\.\d+.*)");
  EXPECT_TRUE(std::regex_match(LoadgenVersion(), expected)) << LoadgenVersion();
}

TEST(VersionInfoTest, BuildRecordsOurSources) {
  const BuildInfo& build = GetBuildInfo();
  ASSERT_GT(build.file_count, 0u);
  const std::regex sha1("[0-9a-f]{40}");
  bool found_self = false;
  for (size_t i = 0; i < build.file_count; ++i) {
    EXPECT_EQ(build.files[i].path[0], '/') << build.files[i].path;
    EXPECT_TRUE(std::regex_match(build.files[i].sha1, sha1)) << build.files[i].path;
    found_self |= std::strcmp(build.files[i].path, "/cpp/src/logging/version_info.cc") == 0;
  }
  EXPECT_TRUE(found_self);
}

TEST(VersionInfoTest, FileSha1JsonIsCompactAndSortedBytewise) {
  const FileDigest files[] = {
      {"/loadgen.cc", "bb"}, {"/bindings/c_api.cc", "aa"}, {"/B.h", "cc"}, {"/we\"ird", "dd"}};
  EXPECT_EQ(FileSha1Json(files, 4),
            R"({"/B.h":"cc","/bindings/c_api.cc":"aa","/loadgen.cc":"bb","/we\"ird":"dd"})");
  EXPECT_EQ(FileSha1Json(files, 0), "{}");
}

}  // namespace
}  // namespace loadgen::logging
