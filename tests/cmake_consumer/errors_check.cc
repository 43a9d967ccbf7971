// Catches the exception type loadgen.h promises for settings that cannot run, by its own type
// (loadgen/errors.h): across a shared library's boundary this needs the type's information
// exported. Prints the message and exits 0 only if loadgen::SettingsError was caught.
#include <iostream>
#include <string>
#include <vector>

#include "loadgen.h"
#include "loadgen/errors.h"

namespace {

class EmptyQsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 0; }
  size_t PerformanceSampleCount() override { return 0; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "EmptyQSL";
};

class IdleSut : public mlperf::SystemUnderTest {
 public:
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>&) override {}
  void FlushQueries() override {}

 private:
  std::string name_ = "IdleSUT";
};

}  // namespace

int main() {
  EmptyQsl qsl;
  IdleSut sut;
  mlperf::TestSettings settings;
  mlperf::LogSettings log;
  try {
    mlperf::StartTest(&sut, &qsl, settings, log);
  } catch (const loadgen::SettingsError& e) {
    std::cout << "SettingsError: " << e.what() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cout << "other exception: " << e.what() << "\n";
    return 1;
  }
  std::cout << "no exception\n";
  return 1;
}
