// mlperf_log_trace.json: the official layout (docs/official-behaviour.md#logging-trace), but
// strict JSON.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "logging/trace_writer.h"

namespace loadgen::logging {
namespace {

std::string Contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) out.append(buf, n);
  return out;
}

// A minimal strict JSON (RFC 8259) parser: rejects anything Python's json.loads would reject
// (bare control characters in strings, "" "" sequences, trailing commas, NaN...).
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
  bool boolean = false;
  std::string text;  // number literal or decoded string
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* Get(const std::string& key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  const std::string& Str(const std::string& key) const {
    static const std::string kMissing = "<missing>";
    const Json* v = Get(key);
    return v != nullptr ? v->text : kMissing;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string s) : s_(std::move(s)) {}

  // Parses the whole input; on failure returns false and sets error().
  bool Parse(Json& out) {
    SkipSpace();
    if (!Value(out)) return false;
    SkipSpace();
    if (pos_ != s_.size()) return Fail("trailing characters");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(pos_);
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return Fail("bad literal");
    pos_ += w.size();
    return true;
  }
  bool Value(Json& out) {
    if (pos_ >= s_.size()) return Fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return Object(out);
    if (c == '[') return Array(out);
    if (c == '"') {
      out.type = Json::Type::kString;
      return String(out.text);
    }
    if (c == 't' || c == 'f') {
      out.type = Json::Type::kBool;
      out.boolean = c == 't';
      return Literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') return Literal("null");
    return Number(out);
  }
  bool Number(Json& out) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      return Fail("bad number");
    }
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Fail("bad fraction");
      }
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Fail("bad exponent");
      }
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    out.type = Json::Type::kNumber;
    out.text = s_.substr(start, pos_ - start);
    return true;
  }
  bool String(std::string& out) {
    ++pos_;  // opening quote
    out.clear();
    while (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return Fail("control character in string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return Fail("short \\u escape");
          const unsigned long code = std::strtoul(s_.substr(pos_, 4).c_str(), nullptr, 16);
          pos_ += 4;
          if (code >= 0x80) return Fail("non-ASCII \\u escape is not used by the writer");
          out.push_back(static_cast<char>(code));
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
    return Fail("unterminated string");
  }
  bool Array(Json& out) {
    out.type = Json::Type::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      out.items.emplace_back();
      if (!Value(out.items.back())) return false;
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected , or ]");
    }
  }
  bool Object(Json& out) {
    out.type = Json::Type::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected key");
      std::string key;
      if (!String(key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected :");
      ++pos_;
      SkipSpace();
      Json value;
      if (!Value(value)) return false;
      out.members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected , or }");
    }
  }

  const std::string s_;
  size_t pos_ = 0;
  std::string error_;
};

Json ParseOrFail(const std::string& text) {
  Json root;
  JsonParser parser(text);
  EXPECT_TRUE(parser.Parse(root)) << parser.error();
  return root;
}

TEST(TraceWriterTest, JsonParserRejectsTheOfficialDoubleQuoting) {
  // The official LogDetail event (docs/official-behaviour.md#logging-trace) is what made the
  // official trace invalid.
  Json root;
  JsonParser parser(R"({"args":{"key":""loadgen_version""}})");
  EXPECT_FALSE(parser.Parse(root));
  JsonParser trailing(R"([1,2,])");
  EXPECT_FALSE(trailing.Parse(root));
}

// The official demo_single_stream / demo_server traces, pid and timestamps reused as inputs.
constexpr int64_t kOrigin = 5'000'000'000;
constexpr int64_t kOriginUnixNs = 1795884109961158500;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

TEST(TraceWriterTest, EventLinesMatchTheOfficialLayout) {
  std::FILE* file = std::tmpfile();
  {
    TraceWriter trace(file, kOrigin, kOriginUnixNs, 7560);
    trace.Complete("IssueQuery", 7560, kOrigin + 496291, 505728);
    TraceSample sample;
    sample.sample_seq = 0;
    sample.query_seq = 0;
    sample.sample_idx = 83;
    sample.scheduled_ns = kOrigin + 496080;
    sample.completed_ns = kOrigin + 496080 + 1635869;
    sample.issue_delay_ns = 0;
    trace.AsyncSample(TraceSampleKind::kSample, sample);
    trace.Complete("TlsLogger:ContentionCounters", 7562, kOrigin + 2231776, 30,
                   {{"log_cas_fail_count", 0}, {"swap_buffers_slot_retry_count", 0}});
    trace.Complete("Thread", 8544, kOrigin + 9487317, 607710, {{"tid", 8543}});
    trace.LatencyCounter(TraceSampleKind::kSample, kOrigin + 227878, 100, 2154131);
    EXPECT_EQ(trace.event_count(), 6u);
  }
  const std::vector<std::string> lines = Lines(Contents(file));
  std::fclose(file);
  const std::vector<std::string> expected = {
      R"({"traceEvents":[)",
      R"({"name":"IssueQuery","ph":"X","pid":7560,"tid":7560,"ts":496.291,"dur":505.728,"args":{}},)",
      R"({"name":"Sample","cat":"default","ph":"b","pid":7560,"id":0,"ts":496.080,"args":{"sample_seq":0,"query_seq":0,"sample_idx":83,"issue_start_ns":0,"complete_ns":1635869}},)",
      R"({"name":"Sample","cat":"default","ph":"e", "pid":7560,"id":0,"ts":2131.949},)",
      R"({"name":"TlsLogger:ContentionCounters","ph":"X","pid":7560,"tid":7562,"ts":2231.776,"dur":0.030,"args":{"log_cas_fail_count":0,"swap_buffers_slot_retry_count":0}},)",
      // demo_server's lines, written with demo_single_stream's pid.
      R"({"name":"Thread","ph":"X","pid":7560,"tid":8544,"ts":9487.317,"dur":607.710,"args":{"tid":8543}},)",
      R"({"name":"Latency","ph": "C","pid":7560,"ts":227.878,"args":{ "issue_delay":100,"issue_to_done":2154131}},)",
      R"({"name":"LastTrace"})",
      R"(],)",
      R"("displayTimeUnit":"ns",)",
      R"("otherData":{)",
      R"("ts":1795884109961158.500,)",
      R"("version":"MLPerf LoadGen v1.0")",
      R"(})",
      R"(})",
  };
  EXPECT_EQ(lines, expected);
}

TEST(TraceWriterTest, OutputIsStrictJsonWithTheExpectedFields) {
  std::FILE* file = std::tmpfile();
  {
    TraceWriter trace(file, kOrigin, kOriginUnixNs, 42);
    trace.Complete("LogDetail", 43, kOrigin + 1000, 2000, {{"key", "loadgen_version"}});
    trace.Complete("LogSummary", 43, kOrigin + 4000, 1,
                   {{"message", "a \"quoted\" \\ path\nnext"}});
    trace.Complete("LoadSamples", 42, kOrigin - 1500, 1'234'567'890'123,
                   {{"count", uint64_t{1024}}});
    TraceSample token;
    token.sample_seq = 18446744073709551615ull;
    token.query_seq = 9;
    token.sample_idx = 3;
    token.scheduled_ns = kOrigin + 10;
    token.completed_ns = kOrigin + 5010;
    token.issue_delay_ns = 7;
    trace.AsyncSample(TraceSampleKind::kToken, token);
    trace.LatencyCounter(TraceSampleKind::kToken, kOrigin + 10, 7, 5000);
  }
  const std::string text = Contents(file);
  std::fclose(file);

  const Json root = ParseOrFail(text);
  ASSERT_EQ(root.type, Json::Type::kObject);
  EXPECT_EQ(root.Str("displayTimeUnit"), "ns");
  const Json* other = root.Get("otherData");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->Str("ts"), "1795884109961158.500");
  EXPECT_EQ(other->Str("version"), "MLPerf LoadGen v1.0");

  const Json* events = root.Get("traceEvents");
  ASSERT_NE(events, nullptr);
  ASSERT_EQ(events->items.size(), 7u);
  const std::vector<Json>& e = events->items;

  EXPECT_EQ(e[0].Str("name"), "LogDetail");
  EXPECT_EQ(e[0].Str("ph"), "X");
  EXPECT_EQ(e[0].Str("pid"), "42");
  EXPECT_EQ(e[0].Str("tid"), "43");
  EXPECT_EQ(e[0].Str("ts"), "1.000");
  EXPECT_EQ(e[0].Str("dur"), "2.000");
  EXPECT_EQ(e[0].Get("args")->Str("key"), "loadgen_version");

  EXPECT_EQ(e[1].Get("args")->Str("message"), "a \"quoted\" \\ path\nnext");

  EXPECT_EQ(e[2].Str("ts"), "-1.500");  // before the origin
  EXPECT_EQ(e[2].Str("dur"), "1234567890.123");
  EXPECT_EQ(e[2].Get("args")->Str("count"), "1024");

  EXPECT_EQ(e[3].Str("name"), "Token");
  EXPECT_EQ(e[3].Str("cat"), "default");
  EXPECT_EQ(e[3].Str("ph"), "b");
  EXPECT_EQ(e[3].Str("id"), "18446744073709551615");
  EXPECT_EQ(e[3].Str("ts"), "0.010");
  const Json* args = e[3].Get("args");
  ASSERT_NE(args, nullptr);
  EXPECT_EQ(args->Str("sample_seq"), "18446744073709551615");
  EXPECT_EQ(args->Str("query_seq"), "9");
  EXPECT_EQ(args->Str("sample_idx"), "3");
  EXPECT_EQ(args->Str("issue_start_ns"), "7");
  EXPECT_EQ(args->Str("complete_ns"), "5000");
  EXPECT_EQ(e[4].Str("name"), "Token");
  EXPECT_EQ(e[4].Str("ph"), "e");
  EXPECT_EQ(e[4].Str("id"), "18446744073709551615");
  EXPECT_EQ(e[4].Str("ts"), "5.010");

  EXPECT_EQ(e[5].Str("name"), "Token_Latency");
  EXPECT_EQ(e[5].Str("ph"), "C");
  EXPECT_EQ(e[5].Get("args")->Str("issue_delay"), "7");
  EXPECT_EQ(e[5].Get("args")->Str("issue_to_done"), "5000");

  EXPECT_EQ(e[6].Str("name"), "LastTrace");
}

TEST(TraceWriterTest, ManySamplesInSmallChunksStayValid) {
  std::FILE* file = std::tmpfile();
  constexpr uint64_t kSamples = 20000;
  {
    TraceWriter trace(file, kOrigin, kOriginUnixNs, 1, /*flush_threshold_bytes=*/4096);
    for (uint64_t i = 0; i < kSamples; ++i) {
      TraceSample s;
      s.sample_seq = i;
      s.query_seq = i / 4;
      s.sample_idx = i % 1024;
      s.scheduled_ns = kOrigin + static_cast<int64_t>(i) * 1000;
      s.completed_ns = s.scheduled_ns + 123456;
      s.issue_delay_ns = 55;
      trace.AsyncSample(TraceSampleKind::kSample, s);
    }
    EXPECT_EQ(trace.event_count(), 2 * kSamples);
    trace.Finish();
    EXPECT_EQ(trace.error(), "");
  }
  const std::string text = Contents(file);
  std::fclose(file);
  const Json root = ParseOrFail(text);
  const Json* events = root.Get("traceEvents");
  ASSERT_NE(events, nullptr);
  ASSERT_EQ(events->items.size(), 2 * kSamples + 1);
  const Json& last_begin = events->items[2 * kSamples - 2];
  EXPECT_EQ(last_begin.Str("id"), std::to_string(kSamples - 1));
  EXPECT_EQ(last_begin.Str("ts"), "19999.000");
  EXPECT_EQ(events->items[2 * kSamples - 1].Str("ts"), "20122.456");
}

TEST(TraceWriterTest, ExtremeValuesStayValid) {
  // Every number at its longest, to check the space reserved per event (run under ASan).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr uint64_t kMaxU = std::numeric_limits<uint64_t>::max();
  std::FILE* file = std::tmpfile();
  {
    TraceWriter trace(file, std::numeric_limits<int64_t>::max(), kMin,
                      std::numeric_limits<int>::min(), 1);
    TraceSample s;
    s.sample_seq = kMaxU;
    s.query_seq = kMaxU;
    s.sample_idx = kMaxU;
    s.scheduled_ns = kMin;
    s.completed_ns = kMin;
    s.issue_delay_ns = kMin;
    trace.AsyncSample(TraceSampleKind::kToken, s);
    trace.LatencyCounter(TraceSampleKind::kToken, kMin, kMin, kMin);
    const std::string nasty(300, '\x01');
    trace.Complete(nasty, std::numeric_limits<int>::min(), kMin, kMin,
                   {{nasty, nasty}, {"u", kMaxU}, {"i", kMin}});
  }
  const std::string text = Contents(file);
  std::fclose(file);
  const Json root = ParseOrFail(text);
  const Json* events = root.Get("traceEvents");
  ASSERT_NE(events, nullptr);
  ASSERT_EQ(events->items.size(), 5u);
  EXPECT_EQ(events->items[0].Str("id"), "18446744073709551615");
  EXPECT_EQ(events->items[0].Str("ts"), "0.001");  // kMin - kMax wraps to 1 ns
  EXPECT_EQ(events->items[3].Str("dur"), "-9223372036854775.808");
  EXPECT_EQ(events->items[3].Str("name"), std::string(300, '\x01'));
  EXPECT_EQ(root.Get("otherData")->Str("ts"), "-9223372036854775.808");
}

TEST(TraceWriterTest, DisabledWriterWritesNothing) {
  std::FILE* file = std::tmpfile();
  {
    TraceWriter trace;
    EXPECT_FALSE(trace.enabled());
    trace.Complete("IssueQuery", 1, 2, 3);
    trace.AsyncSample(TraceSampleKind::kSample, TraceSample{});
    trace.LatencyCounter(TraceSampleKind::kSample, 1, 2, 3);
    trace.Flush();
    trace.Finish();
    EXPECT_EQ(trace.event_count(), 0u);
  }
  EXPECT_EQ(Contents(file), "");
  std::fclose(file);
}

TEST(TraceWriterTest, FinishIsIdempotentAndEndsTheFile) {
  std::FILE* file = std::tmpfile();
  {
    TraceWriter trace(file, 0, 1000, 1);
    trace.Finish();
    trace.Finish();
    trace.Complete("late", 1, 0, 0);  // ignored
  }
  const std::string text = Contents(file);
  std::fclose(file);
  EXPECT_EQ(text,
            "{\"traceEvents\":[\n{\"name\":\"LastTrace\"}\n],\n\"displayTimeUnit\":\"ns\",\n"
            "\"otherData\":{\n\"ts\":1.000,\n\"version\":\"MLPerf LoadGen v1.0\"\n}\n}\n");
}

TEST(TraceWriterTest, WriteErrorIsKeptNotThrown) {
  std::FILE* file = std::fopen("/dev/full", "w");
  if (file == nullptr) GTEST_SKIP() << "/dev/full is not available";
  TraceWriter trace(file, 0, 0, 1, 64);
  trace.Complete("IssueQuery", 1, 0, 1);
  trace.Flush();
  EXPECT_NE(trace.error().find("No space left on device"), std::string::npos) << trace.error();
  trace.Finish();
  std::fclose(file);
}

}  // namespace
}  // namespace loadgen::logging
