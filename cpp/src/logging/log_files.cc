#include "logging/log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/errors.h"

namespace loadgen::logging {
namespace {

// The summary is small and written once; the others can grow to gigabytes.
constexpr size_t kSummaryBufferBytes = size_t{64} << 10;
constexpr size_t kLargeBufferBytes = size_t{1} << 20;

std::string ErrnoText(int err) { return std::strerror(err); }

void CloseQuietly(std::FILE*& file) {
  if (file != nullptr) {
    std::fclose(file);
    file = nullptr;
  }
}

// One file being opened: its descriptor, and whether we created it (so a rollback can remove it).
struct PendingFile {
  const std::string* path;
  int fd = -1;
  bool created = false;
};

void OpenWithoutTruncating(PendingFile& pending, std::string& failures) {
  // Opening without O_TRUNC first lets a failure elsewhere leave existing logs intact.
  pending.fd = ::open(pending.path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  pending.created = pending.fd >= 0;
  if (pending.fd < 0 && errno == EEXIST) {
    pending.fd = ::open(pending.path->c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (pending.fd < 0) {
    failures += "\n  " + *pending.path + ": " + ErrnoText(errno);
  }
}

}  // namespace

LogPaths MakeLogPaths(const mlperf::LogOutputSettings& settings, const std::string& test_datetime) {
  std::string stem = settings.outdir + "/" + settings.prefix;
  if (settings.prefix_with_datetime) stem += test_datetime + "_";
  LogPaths paths;
  paths.summary = stem + "summary" + settings.suffix + ".txt";
  paths.detail = stem + "detail" + settings.suffix + ".txt";
  paths.accuracy = stem + "accuracy" + settings.suffix + ".json";
  paths.trace = stem + "trace" + settings.suffix + ".json";
  return paths;
}

LogFiles::LogFiles(LogFiles&& other) noexcept { *this = std::move(other); }

LogFiles& LogFiles::operator=(LogFiles&& other) noexcept {
  if (this != &other) {
    for (Stream* s : {&summary_, &detail_, &accuracy_, &trace_}) CloseQuietly(s->file);
    paths_ = std::move(other.paths_);
    Stream* mine[] = {&summary_, &detail_, &accuracy_, &trace_};
    Stream* theirs[] = {&other.summary_, &other.detail_, &other.accuracy_, &other.trace_};
    for (int i = 0; i < 4; ++i) {
      mine[i]->file = std::exchange(theirs[i]->file, nullptr);
      mine[i]->buffer = std::move(theirs[i]->buffer);
    }
  }
  return *this;
}

LogFiles::~LogFiles() {
  for (Stream* s : {&summary_, &detail_, &accuracy_, &trace_}) CloseQuietly(s->file);
}

void LogFiles::Close() {
  std::string failures;
  const std::pair<Stream*, const std::string*> streams[] = {{&summary_, &paths_.summary},
                                                            {&detail_, &paths_.detail},
                                                            {&accuracy_, &paths_.accuracy},
                                                            {&trace_, &paths_.trace}};
  for (const auto& [stream, path] : streams) {
    if (stream->file == nullptr) continue;
    // A write error seen earlier leaves the stream's error flag set even if fclose succeeds.
    const bool had_error = std::ferror(stream->file) != 0;
    const int rc = std::fclose(stream->file);
    const int err = errno;
    stream->file = nullptr;
    stream->buffer.reset();
    if (rc != 0 || had_error) {
      failures += "\n  " + *path + ": " + (rc != 0 ? ErrnoText(err) : "write error");
    }
  }
  if (!failures.empty()) {
    throw LogError("LoadGen: could not write the log file(s):" + failures);
  }
}

LogFiles OpenLogFiles(const mlperf::LogOutputSettings& settings, const std::string& test_datetime) {
  LogFiles files;
  files.paths_ = MakeLogPaths(settings, test_datetime);
  PendingFile pending[] = {{&files.paths_.summary},
                           {&files.paths_.detail},
                           {&files.paths_.accuracy},
                           {&files.paths_.trace}};
  std::string failures;
  for (PendingFile& p : pending) OpenWithoutTruncating(p, failures);
  if (failures.empty()) {
    for (PendingFile& p : pending) {
      if (::ftruncate(p.fd, 0) != 0) failures += "\n  " + *p.path + ": " + ErrnoText(errno);
    }
  }
  if (!failures.empty()) {
    for (PendingFile& p : pending) {
      if (p.fd < 0) continue;
      ::close(p.fd);
      if (p.created) ::unlink(p.path->c_str());
    }
    throw LogError("LoadGen: could not open the log file(s):" + failures +
                   "\nThe output directory \"" + settings.outdir +
                   "\" (LogOutputSettings.outdir) must exist and be writable; loadgen does not "
                   "create it.");
  }

  LogFiles::Stream* streams[] = {&files.summary_, &files.detail_, &files.accuracy_, &files.trace_};
  for (int i = 0; i < 4; ++i) {
    LogFiles::Stream& s = *streams[i];
    s.file = ::fdopen(pending[i].fd, "w");
    if (s.file == nullptr) {
      const int err = errno;
      for (int j = i; j < 4; ++j) ::close(pending[j].fd);
      throw LogError("LoadGen: could not open the log file " + *pending[i].path + ": " +
                     ErrnoText(err));  // `files` closes the streams already opened
    }
    const size_t bytes = i == 0 ? kSummaryBufferBytes : kLargeBufferBytes;
    s.buffer.reset(new char[bytes]);
    std::setvbuf(s.file, s.buffer.get(), _IOFBF, bytes);
  }
  return files;
}

std::string FormatTestDatetime(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm local{};
  ::localtime_r(&t, &local);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &local);
  return buf;
}

std::string TestDatetimeNow() { return FormatTestDatetime(std::chrono::system_clock::now()); }

std::string PowerTimeString(std::chrono::system_clock::time_point time) {
  // floor, not truncation, so times before 1970 still get 0..999 milliseconds.
  const int64_t ms = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const int64_t seconds = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%m-%d-%Y %H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>(ms - seconds * 1000));
  return buf;
}

}  // namespace loadgen::logging
