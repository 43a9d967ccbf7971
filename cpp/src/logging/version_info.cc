#include "logging/version_info.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "logging/format.h"

namespace loadgen::logging {
namespace {

// The upstream release whose behaviour and log formats loadgen reproduces.
constexpr char kCompatibleVersion[] = "6.0.17";
// metadata.file / line_no of the official entries, so the lines look the same.
constexpr char kSourceFile[] = "version.cc";

}  // namespace

std::string LoadgenVersion() {
  return std::string(kCompatibleVersion) + " @ loadgen-" + LOADGEN_VERSION_STRING;
}

std::string FileSha1Json(const FileDigest* files, size_t count) {
  std::vector<const FileDigest*> sorted;
  sorted.reserve(count);
  for (size_t i = 0; i < count; ++i) sorted.push_back(&files[i]);
  std::sort(sorted.begin(), sorted.end(), [](const FileDigest* a, const FileDigest* b) {
    return std::strcmp(a->path, b->path) < 0;  // strcmp compares as unsigned char: bytewise
  });
  std::string json = "{";
  for (const FileDigest* f : sorted) {
    if (json.size() > 1) json.push_back(',');
    AppendJsonQuoted(json, f->path);
    json.push_back(':');
    AppendJsonQuoted(json, f->sha1);
  }
  json.push_back('}');
  return json;
}

void LogVersionInfo(DetailLog& log, int64_t time_ns) {
  const BuildInfo& build = GetBuildInfo();
  const auto entry = [&](const char* key, const JsonValue& value, int line) {
    log.Log(key, value, Severity::kInfo, kSourceFile, line, time_ns);
  };
  entry("loadgen_version", JsonValue::String(LoadgenVersion()), 53);
  entry("loadgen_build_date_local", JsonValue::String(build.date_local), 55);
  entry("loadgen_build_date_utc", JsonValue::String(build.date_utc), 56);
  entry("loadgen_git_commit_date", JsonValue::String("NA"), 57);
  entry("loadgen_git_log_message", JsonValue::String("NA"), 58);
  entry("loadgen_git_status_message", JsonValue::String("NA"), 60);
  entry("loadgen_file_sha1", JsonValue::Raw(FileSha1Json(build.files, build.file_count)), 67);
}

}  // namespace loadgen::logging
