// Setup and configuration errors. Thrown before any load is sent; never on the hot path.
#ifndef LOADGEN_COMMON_ERRORS_H_
#define LOADGEN_COMMON_ERRORS_H_

#include <stdexcept>
#include <string>

namespace loadgen {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Settings that cannot produce a meaningful run (e.g. zero samples, NaN QPS).
class SettingsError : public Error {
 public:
  using Error::Error;
};

/// A config file problem in strict mode: names the file, line and key.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& message, std::string file, int line, std::string key)
      : Error(message), file_(std::move(file)), line_(line), key_(std::move(key)) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
};

/// The test was stopped by AbortTestWithError (for example a callback failed on a SUT thread).
class TestAborted : public Error {
 public:
  using Error::Error;
};

/// Log files could not be opened or written.
class LogError : public Error {
 public:
  using Error::Error;
};

}  // namespace loadgen

#endif  // LOADGEN_COMMON_ERRORS_H_
