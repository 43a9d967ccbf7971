// ":::MLLOG {json}" lines byte for byte against lines of the official detail logs
// (docs/official-behaviour.md#logging-detail-log), and the value formats they use.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "logging/detail_log.h"
#include "logging/format.h"

namespace loadgen::logging {
namespace {

constexpr int64_t kOrigin = 7'000'000'000;

std::string Contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) out.append(buf, n);
  return out;
}

// An official line with its pid replaced by ours (DetailLog always writes the real pid).
std::string WithOurPid(std::string line, int official_pid) {
  const std::string from = "\"pid\": " + std::to_string(official_pid) + ",";
  const size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos);
  line.replace(at, from.size(), "\"pid\": " + std::to_string(::getpid()) + ",");
  return line + "\n";
}

// Logs one entry into a fresh log and returns the line written.
std::string OneLine(std::string_view key, const JsonValue& value, Severity severity,
                    const char* file, int line_no, int64_t time_ns, int tid) {
  std::FILE* f = std::tmpfile();
  DetailLog log(f, false, kOrigin);
  log.Log(key, value, severity, file, line_no, time_ns, tid);
  std::string text = Contents(f);
  std::fclose(f);
  return text;
}

TEST(DetailLogTest, StringLineMatchesOfficial) {
  // tests/data/reference/demo_single_stream/mlperf_log_detail.txt, first line.
  const std::string official =
      R"(:::MLLOG {"key": "loadgen_version", "value": "6.0.17 @ d6147c7eb7", "time_ms": 0.013966, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": false, "is_warning": false, "file": "version.cc", "line_no": 53, "pid": 7560, "tid": 7560}})";
  EXPECT_EQ(OneLine("loadgen_version", JsonValue::String("6.0.17 @ d6147c7eb7"), Severity::kInfo,
                    "version.cc", 53, kOrigin + 13966, 7560),
            WithOurPid(official, 7560));
}

TEST(DetailLogTest, DoublesUseSixSignificantDigits) {
  const std::string expected_latency =
      R"(:::MLLOG {"key": "requested_single_stream_expected_latency_ns", "value": 1e+06, "time_ms": 0.122840, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": false, "is_warning": false, "file": "test_settings_internal.cc", "line_no": 284, "pid": 7560, "tid": 7560}})";
  EXPECT_EQ(OneLine("requested_single_stream_expected_latency_ns", JsonValue::Double(1e6),
                    Severity::kInfo, "test_settings_internal.cc", 284, kOrigin + 122840, 7560),
            WithOurPid(expected_latency, 7560));

  const std::string percentile =
      R"(:::MLLOG {"key": "requested_single_stream_target_latency_percentile", "value": 0.9, "time_ms": 0.122840, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": false, "is_warning": false, "file": "test_settings_internal.cc", "line_no": 286, "pid": 7560, "tid": 7560}})";
  EXPECT_EQ(OneLine("requested_single_stream_target_latency_percentile", JsonValue::Double(0.9),
                    Severity::kInfo, "test_settings_internal.cc", 286, kOrigin + 122840, 7560),
            WithOurPid(percentile, 7560));

  const std::string throughput =
      R"(:::MLLOG {"key": "result_token_throughput", "value": 9.68039e-07, "time_ms": 1093.578761, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": false, "is_warning": false, "file": "results.cc", "line_no": 803, "pid": 8802, "tid": 8802}})";
  // The unrounded value: 6 significant digits are the formatter's job.
  EXPECT_EQ(OneLine("result_token_throughput", JsonValue::Double(9.680393117e-07), Severity::kInfo,
                    "results.cc", 803, kOrigin + 1093578761, 8802),
            WithOurPid(throughput, 8802));

  EXPECT_EQ(FormatG6(288676.4), "288676");
  EXPECT_EQ(FormatG6(2886764.0), "2.88676e+06");
  EXPECT_EQ(FormatG6(1.0), "1");
  EXPECT_EQ(FormatG6(-5.0), "-5");
  EXPECT_EQ(FormatG6(16.65954), "16.6595");
}

TEST(DetailLogTest, TimeMsHasSixDecimalsAndWrapsBeforeTheOrigin) {
  EXPECT_EQ(FormatTimeMs(0), "0.000000");
  EXPECT_EQ(FormatTimeMs(13966), "0.013966");
  EXPECT_EQ(FormatTimeMs(1093578761), "1093.578761");
  EXPECT_EQ(FormatTimeMs(-1), "18446744073709.551615");

  // An official detail log after a failed FromConfig: the error was logged 960693 ns before the
  // origin (docs/official-behaviour.md#settings-config-file).
  const std::string official =
      R"(:::MLLOG {"key": "error_invalid_config", "value": "Invalid value passed to Mode key in config.", "time_ms": 18446744073708.590923, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": true, "is_warning": false, "file": "test_settings_internal.cc", "line_no": 709, "pid": 16073, "tid": 16073}})";
  EXPECT_EQ(OneLine("error_invalid_config",
                    JsonValue::String("Invalid value passed to Mode key in config."),
                    Severity::kError, "test_settings_internal.cc", 709, kOrigin - 960693, 16073),
            WithOurPid(official, 16073));
}

TEST(DetailLogTest, WarningLineMatchesOfficial) {
  // tests/data/reference/probe_audit_test01/mlperf_log_detail.txt.
  const std::string official =
      R"(:::MLLOG {"key": "warning_generic_message", "value": "Found Audit Config file (audit.config). Overriding TestSettings from audit.config file.", "time_ms": 0.061756, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {"is_error": false, "is_warning": true, "file": "loadgen.cc", "line_no": 1235, "pid": 16376, "tid": 16376}})";
  Diagnostic d;
  d.severity = Severity::kWarning;
  d.key = "warning_generic_message";
  d.message =
      "Found Audit Config file (audit.config). Overriding TestSettings from audit.config "
      "file.";
  d.file = "loadgen.cc";
  d.line = 1235;
  std::FILE* f = std::tmpfile();
  DetailLog log(f, false, kOrigin);
  log.Log(d, kOrigin + 61756);
  const std::string text = Contents(f);
  std::fclose(f);
  // Log(Diagnostic) reports the calling thread; compare everything before the tid.
  const std::string expected = WithOurPid(official, 16376);
  const size_t tid_at = expected.find("\"tid\": ");
  EXPECT_EQ(text.substr(0, tid_at), expected.substr(0, tid_at));
  EXPECT_EQ(text.substr(tid_at), "\"tid\": " + std::to_string(CurrentThreadId()) + "}}\n");
  EXPECT_EQ(log.warning_count(), 1u);
  EXPECT_EQ(log.error_count(), 0u);
}

TEST(DetailLogTest, OtherValueKinds) {
  const auto value_of = [](const JsonValue& v) {
    const std::string line = OneLine("k", v, Severity::kInfo, "f.cc", 1, kOrigin, 1);
    const size_t start = line.find("\"value\": ") + 9;
    return line.substr(start, line.find(", \"time_ms\"") - start);
  };
  EXPECT_EQ(value_of(JsonValue::Bool(true)), "true");
  EXPECT_EQ(value_of(JsonValue::Bool(false)), "false");
  EXPECT_EQ(value_of(JsonValue::Uint(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(value_of(JsonValue::Int(-42)), "-42");
  EXPECT_EQ(value_of(JsonValue::IndexList({27, 121, 57})), "[27,121,57]");
  EXPECT_EQ(value_of(JsonValue::Raw(R"({"/a":"1","/b":"2"})")), R"({"/a":"1","/b":"2"})");
}

TEST(DetailLogTest, StringsAreJsonEscaped) {
  // The official log writes these unescaped (an invalid line); ours stays valid JSON.
  EXPECT_EQ(JsonValue::String("SUT \"fast\" C:\\x").text(), R"("SUT \"fast\" C:\\x")");
  EXPECT_EQ(JsonValue::String("a\nb\tc\x01").text(), R"("a\nb\tc\u0001")");
  const std::string line =
      OneLine("k\"ey", JsonValue::String("v\"al"), Severity::kInfo, "f.cc", 1, kOrigin, 1);
  EXPECT_EQ(line.rfind(R"(:::MLLOG {"key": "k\"ey", "value": "v\"al", )", 0), 0u) << line;
}

TEST(DetailLogTest, ErrorLinesReachTheDiskAtOnce) {
  char path[] = "/tmp/loadgen_detail_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::FILE* f = std::fopen(path, "w");
  ASSERT_NE(f, nullptr);
  const auto on_disk = [&] {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  {
    DetailLog log(f, false, kOrigin);
    log.Log("info_key", JsonValue::Int(1), Severity::kInfo, "f.cc", 1, kOrigin, 1);
    EXPECT_EQ(on_disk(), "");  // still in the stdio buffer
    log.Log("error_runtime", JsonValue::String("boom"), Severity::kError, "f.cc", 2, kOrigin, 1);
    const std::string text = on_disk();
    EXPECT_NE(text.find("\"key\": \"info_key\""), std::string::npos);
    EXPECT_NE(text.find("\"key\": \"error_runtime\""), std::string::npos);
    EXPECT_EQ(log.error_count(), 1u);
    EXPECT_EQ(log.warning_count(), 0u);
  }
  std::fclose(f);
  std::remove(path);
}

TEST(DetailLogTest, CopyToStdout) {
  testing::internal::CaptureStdout();
  {
    DetailLog log(nullptr, true, kOrigin);
    log.Log("test_datetime", JsonValue::String("2026-11-28T16:46:00Z"), Severity::kInfo,
            "loadgen.cc", 1, kOrigin + 1, 5);
    log.Flush();
  }
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string start =
      R"(:::MLLOG {"key": "test_datetime", "value": "2026-11-28T16:46:00Z", "time_ms": 0.000001, )";
  EXPECT_EQ(out.rfind(start, 0), 0u) << out;
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace loadgen::logging
