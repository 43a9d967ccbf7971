// mlperf_log_accuracy.json byte for byte against the official LoadGen's files
// (tests/data/reference; docs/official-behaviour.md#logging-accuracy-log).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "logging/accuracy_log.h"

namespace loadgen::logging {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ReferenceFile(const std::string& name) {
  return ReadAll(std::string(LOADGEN_TEST_DATA_DIR) + "/reference/" + name +
                 "/mlperf_log_accuracy.json");
}

// Everything written to `file` so far.
std::string Contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) out.append(buf, n);
  return out;
}

std::vector<uint8_t> Unhex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

struct Entry {
  uint64_t seq_id;
  uint64_t qsl_idx;
  std::vector<uint8_t> data;
  std::optional<std::vector<uint8_t>> token_data;
  std::optional<int64_t> token_count;
};

// The entries of an official accuracy log, in file order.
std::vector<Entry> ParseEntries(const std::string& text) {
  static const std::regex kEntry(
      R"re(\{ "seq_id" : (\d+), "qsl_idx" : (\d+), "data" : "([0-9A-F]*)"(?:, "token_data" : "([0-9A-F]*)")?(?:, "token_count" : (-?\d+))? \})re");
  std::vector<Entry> entries;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kEntry);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    Entry e{std::stoull(m[1]), std::stoull(m[2]), Unhex(m[3]), std::nullopt, std::nullopt};
    if (m[4].matched) e.token_data = Unhex(m[4]);
    if (m[5].matched) e.token_count = std::stoll(m[5]);
    entries.push_back(std::move(e));
  }
  return entries;
}

// Rewrites `reference` through the writer (optionally with a tiny flush threshold, so that the
// output goes out in many chunks) and returns what the writer produced.
std::string Rewrite(const std::string& reference, bool offline, size_t flush_threshold) {
  const std::vector<Entry> entries = ParseEntries(reference);
  EXPECT_FALSE(entries.empty());
  std::FILE* file = std::tmpfile();
  std::string out;
  {
    AccuracyLogWriter writer(file, flush_threshold);
    for (const Entry& e : entries) {
      if (e.token_count) {
        const uint8_t* token = e.token_data ? e.token_data->data() : nullptr;
        const size_t token_size = e.token_data ? e.token_data->size() : 0;
        writer.AddWithTokens(e.seq_id, e.qsl_idx, e.data.data(), e.data.size(), token, token_size,
                             *e.token_count, offline);
      } else {
        writer.Add(e.seq_id, e.qsl_idx, e.data.data(), e.data.size());
      }
    }
    writer.Finish();
    EXPECT_EQ(writer.entry_count(), entries.size());
    EXPECT_EQ(writer.error(), "");
    out = Contents(file);
  }
  std::fclose(file);
  return out;
}

TEST(AccuracyLogTest, SingleStreamDemoIsByteExact) {
  const std::string reference = ReferenceFile("demo_single_stream_accuracy");
  EXPECT_EQ(Rewrite(reference, false, size_t{1} << 20), reference);
  EXPECT_EQ(Rewrite(reference, false, 64), reference);
}

TEST(AccuracyLogTest, EmptyResponsesAreEmptyStrings) {
  const std::string reference = ReferenceFile("demo_multi_stream_accuracy");
  ASSERT_NE(reference.find("\"data\" : \"\""), std::string::npos);
  EXPECT_EQ(Rewrite(reference, false, 1), reference);
}

TEST(AccuracyLogTest, TokenEntriesOutsideOfflineHaveTokenDataAndCount) {
  const std::string reference = ReferenceFile("token_single_stream_accuracy");
  ASSERT_NE(reference.find("\"token_data\" : "), std::string::npos);
  EXPECT_EQ(Rewrite(reference, false, 1000), reference);
}

TEST(AccuracyLogTest, OfflineTokenEntriesHaveOnlyTokenCount) {
  const std::string reference = ReferenceFile("token_offline_accuracy");
  ASSERT_EQ(reference.find("token_data"), std::string::npos);
  EXPECT_EQ(Rewrite(reference, true, 1000), reference);

  // The first-token bytes are not written in Offline even when given.
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file);
    const uint8_t byte = 0xAB;
    writer.AddWithTokens(3, 545, &byte, 1, &byte, 1, 22, /*offline=*/true);
  }
  EXPECT_EQ(Contents(file),
            "[\n{ \"seq_id\" : 3, \"qsl_idx\" : 545, \"data\" : \"AB\", "
            "\"token_count\" : 22 }\n]\n");
  std::fclose(file);
}

TEST(AccuracyLogTest, MissingFirstTokenIsEmptyTokenData) {
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file);
    writer.AddWithTokens(0, 7, nullptr, 0, nullptr, 0, 5, /*offline=*/false);
  }
  EXPECT_EQ(Contents(file),
            "[\n{ \"seq_id\" : 0, \"qsl_idx\" : 7, \"data\" : \"\", "
            "\"token_data\" : \"\", \"token_count\" : 5 }\n]\n");
  std::fclose(file);
}

TEST(AccuracyLogTest, EmptyLogIsFourBytes) {
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file);
    writer.Finish();
    EXPECT_EQ(Contents(file), "[\n]\n");
  }
  std::fclose(file);
}

TEST(AccuracyLogTest, Int32IsLittleEndianUppercaseHex) {
  const int32_t value = static_cast<int32_t>(0xDEADBEEFu);
  uint8_t bytes[4];
  std::memcpy(bytes, &value, 4);
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file);
    writer.Add(0, 0, bytes, 4);
    writer.Add(18446744073709551615ull, 1, bytes, 4);
  }
  EXPECT_EQ(Contents(file),
            "[\n{ \"seq_id\" : 0, \"qsl_idx\" : 0, \"data\" : \"EFBEADDE\" },\n"
            "{ \"seq_id\" : 18446744073709551615, \"qsl_idx\" : 1, \"data\" : \"EFBEADDE\" }\n]\n");
  std::fclose(file);
}

TEST(AccuracyLogTest, ExtremeValues) {
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file, 1);
    const std::vector<uint8_t> big(100000, 0xA5);
    writer.AddWithTokens(18446744073709551615ull, 18446744073709551615ull, big.data(), big.size(),
                         big.data(), big.size(), std::numeric_limits<int64_t>::min(), false);
  }
  const std::string text = Contents(file);
  std::fclose(file);
  std::string hex;
  for (int i = 0; i < 100000; ++i) hex += "A5";
  EXPECT_EQ(text,
            "[\n{ \"seq_id\" : 18446744073709551615, \"qsl_idx\" : 18446744073709551615, "
            "\"data\" : \"" +
                hex + "\", \"token_data\" : \"" + hex +
                "\", \"token_count\" : -9223372036854775808 }\n]\n");
}

TEST(AccuracyLogTest, FlushWritesWhatIsBufferedAndFinishIsIdempotent) {
  std::FILE* file = std::tmpfile();
  {
    AccuracyLogWriter writer(file);
    const uint8_t byte = 1;
    writer.Add(4, 2, &byte, 1);
    EXPECT_EQ(Contents(file), "");  // below the flush threshold: still buffered
    writer.Flush();
    EXPECT_EQ(Contents(file), "[\n{ \"seq_id\" : 4, \"qsl_idx\" : 2, \"data\" : \"01\" }");
    writer.Finish();
    writer.Finish();
    writer.Add(5, 3, &byte, 1);  // ignored after Finish
    writer.Flush();
    EXPECT_EQ(writer.entry_count(), 1u);
  }
  EXPECT_EQ(Contents(file), "[\n{ \"seq_id\" : 4, \"qsl_idx\" : 2, \"data\" : \"01\" }\n]\n");
  std::fclose(file);
}

TEST(AccuracyLogTest, DestructorClosesTheArray) {
  std::FILE* file = std::tmpfile();
  { AccuracyLogWriter writer(file); }
  EXPECT_EQ(Contents(file), "[\n]\n");
  std::fclose(file);
}

TEST(AccuracyLogTest, WriteErrorIsKeptNotThrown) {
  std::FILE* file = std::fopen("/dev/full", "w");
  if (file == nullptr) GTEST_SKIP() << "/dev/full is not available";
  AccuracyLogWriter writer(file, 16);
  const uint8_t bytes[64] = {};
  writer.Add(0, 0, bytes, sizeof(bytes));
  writer.Flush();
  EXPECT_NE(writer.error().find("No space left on device"), std::string::npos) << writer.error();
  writer.Finish();
  std::fclose(file);
}

}  // namespace
}  // namespace loadgen::logging
