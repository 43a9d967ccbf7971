// A log folder of the running test's own, named after the test and the process (so tests run
// in parallel, or by two builds at once, never share one), removed at the end, with its files
// read back.
#ifndef LOADGEN_TESTS_CPP_TEST_LOG_DIR_H_
#define LOADGEN_TESTS_CPP_TEST_LOG_DIR_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace loadgen::test_harness {

class TestLogDir {
 public:
  TestLogDir() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("lg_") + test->test_suite_name() + "_" + test->name() + "_" +
                       std::to_string(::getpid());
    std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests' names
    path = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TestLogDir() { std::filesystem::remove_all(path); }
  TestLogDir(const TestLogDir&) = delete;
  TestLogDir& operator=(const TestLogDir&) = delete;

  // A file's text ("" if it was not written).
  std::string Read(const std::string& file) const {
    std::ifstream f(path / file);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::filesystem::path path;
};

}  // namespace loadgen::test_harness

#endif  // LOADGEN_TESTS_CPP_TEST_LOG_DIR_H_
