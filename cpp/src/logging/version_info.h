// logging stage: the version entries at the top of every detail log
// (docs/official-behaviour.md#logging-version, official loadgen/version.cc LogLoadgenVersion).
#ifndef LOADGEN_LOGGING_VERSION_INFO_H_
#define LOADGEN_LOGGING_VERSION_INFO_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "logging/detail_log.h"

namespace loadgen::logging {

/// SHA-1 of one loadgen source file; `path` is relative to the project root, with a leading "/".
struct FileDigest {
  const char* path;
  const char* sha1;
};

/// What the build recorded about itself.
struct BuildInfo {
  const char* date_local;  ///< "YYYY-MM-DDTHH:MM:SS.ffffff", no zone
  const char* date_utc;
  const FileDigest* files;
  size_t file_count;
};

/// Defined in version_data.cc, which CMake regenerates in the build directory whenever a hashed
/// source changes (cmake/LoadgenVersionInfo.cmake).
const BuildInfo& GetBuildInfo();

/// "6.0.17 @ loadgen-<our version>": starts with the upstream version we are compatible with.
std::string LoadgenVersion();

/// `{"/path":"sha1",...}` without spaces, keys sorted bytewise (the loadgen_file_sha1 value).
std::string FileSha1Json(const FileDigest* files, size_t count);

/// Logs the seven version keys (loadgen_version, loadgen_build_date_local/_utc,
/// loadgen_git_commit_date, loadgen_git_log_message, loadgen_git_status_message,
/// loadgen_file_sha1), all with timestamp `time_ns`. The git keys are "NA": a release is not a
/// git checkout, so the uncommitted-changes error is never emitted.
void LogVersionInfo(DetailLog& log, int64_t time_ns);

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_VERSION_INFO_H_
