// The native gRPC client (cpp/src/net/grpc) against an in-process gRPC C++ server that speaks
// our v2 .proto: what reaches the server and in which order, unary and streamed outputs in the
// accuracy log, and every failure the start and the run can meet (unreachable, model missing,
// deadline, server gone, an aborted test). The real Triton server is in tests/python.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "inference_v2.grpc.pb.h"
#include "loadgen.h"
#include "net/grpc/grpc_endpoint_sut.h"
#include "net/grpc/v2_outputs.h"
#include "query_sample_library.h"
#include "test_log_dir.h"
#include "test_settings.h"

namespace loadgen::net {
namespace {

// A request's marker: its first input's raw bytes as an int32 (the sample's index here).
int32_t Marker(const inference::ModelInferRequest& request) {
  int32_t marker = -1;
  if (request.raw_input_contents_size() > 0 && request.raw_input_contents(0).size() >= 4) {
    std::memcpy(&marker, request.raw_input_contents(0).data(), 4);
  }
  return marker;
}

std::string RequestBytes(int32_t marker, const std::string& model, bool stream) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("INT32");
  input->add_shape(1);
  request.add_raw_input_contents(std::string(reinterpret_cast<const char*>(&marker), 4));
  if (stream)
    (*request.mutable_parameters())["triton_enable_empty_final_response"].set_bool_param(true);
  return request.SerializeAsString();
}

// Model "m" echoes its input (unary) or streams `marker % 4` tokens "t<k>" and a final empty
// response; a request whose marker is 99 is never answered (until the call is cancelled).
class V2Service final : public inference::GRPCInferenceService::Service {
 public:
  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* response) override {
    response->set_ready(true);
    return grpc::Status::OK;
  }
  grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest* request,
                          inference::ModelReadyResponse* response) override {
    if (request->name() != "m") return {grpc::StatusCode::NOT_FOUND, "no model " + request->name()};
    response->set_ready(true);
    return grpc::Status::OK;
  }
  grpc::Status ModelInfer(grpc::ServerContext* context, const inference::ModelInferRequest* request,
                          inference::ModelInferResponse* response) override {
    Arrived(*request);
    if (request->model_name() != "m") return {grpc::StatusCode::NOT_FOUND, "unknown model"};
    if (Marker(*request) == 99) return Stall(context);
    auto* output = response->add_outputs();
    output->set_name("OUTPUT0");
    output->set_datatype("INT32");
    response->add_raw_output_contents(request->raw_input_contents(0));
    return grpc::Status::OK;
  }
  grpc::Status ModelStreamInfer(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<inference::ModelStreamInferResponse, inference::ModelInferRequest>*
          stream) override {
    inference::ModelInferRequest request;
    while (stream->Read(&request)) {
      Arrived(request);
      const int32_t marker = Marker(request);
      if (marker == 99) return Stall(context);
      for (int k = 0; k < marker % 4; ++k) {
        inference::ModelStreamInferResponse message;
        auto* out = message.mutable_infer_response();
        auto* tensor = out->add_outputs();
        tensor->set_name("text_output");
        tensor->set_datatype("BYTES");
        const std::string token = "t" + std::to_string(k);
        const uint32_t n = static_cast<uint32_t>(token.size());
        out->add_raw_output_contents(std::string(reinterpret_cast<const char*>(&n), 4) + token);
        stream->Write(message);
      }
      inference::ModelStreamInferResponse final_message;
      (*final_message.mutable_infer_response()->mutable_parameters())["triton_final_response"]
          .set_bool_param(true);
      stream->Write(final_message);
    }
    return grpc::Status::OK;
  }

  std::vector<int32_t> arrivals() {
    std::lock_guard<std::mutex> lock(mu_);
    return arrivals_;
  }
  std::atomic<int> stalled{0};

 private:
  void Arrived(const inference::ModelInferRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    arrivals_.push_back(Marker(request));
  }
  grpc::Status Stall(grpc::ServerContext* context) {
    ++stalled;
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return {grpc::StatusCode::CANCELLED, "cancelled"};
  }
  std::mutex mu_;
  std::vector<int32_t> arrivals_;
};

class V2Server {
 public:
  V2Server() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~V2Server() { Stop(); }
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  V2Service& service() { return service_; }

 private:
  V2Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

class MarkerQsl : public mlperf::QuerySampleLibrary {
 public:
  explicit MarkerQsl(size_t n) : n_(n) {}
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return n_; }
  size_t PerformanceSampleCount() override { return n_; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  size_t n_;
  std::string name_ = "MarkerQsl";
};

GrpcEndpointConfig Config(const std::string& target, bool stream = false) {
  GrpcEndpointConfig config;
  config.targets = {target};
  config.model = "m";
  config.stream = stream;
  config.connect_timeout_ns = 5'000'000'000;
  return config;
}

// Requests whose marker is their sample index, or `marker` for every sample.
std::vector<std::string> Requests(size_t n, bool stream, int32_t marker = -1,
                                  const std::string& model = "m") {
  std::vector<std::string> requests;
  for (size_t i = 0; i < n; ++i) {
    requests.push_back(RequestBytes(marker >= 0 ? marker : static_cast<int32_t>(i), model, stream));
  }
  return requests;
}

class GrpcRunTest : public ::testing::Test {
 protected:
  GrpcRunTest() { log_settings_.log_output.outdir = logs_.path.string(); }
  std::string Read(const char* name) const { return logs_.Read(name); }
  // (qsl_idx, data hex) of each accuracy-log entry, in log order.
  std::vector<std::pair<int, std::string>> AccuracyEntries() const {
    std::vector<std::pair<int, std::string>> entries;
    const std::string text = Read("mlperf_log_accuracy.json");
    const std::regex entry(R"re("qsl_idx"\s*:\s*(\d+)\s*,\s*"data"\s*:\s*"([0-9A-Fa-f]*)")re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), entry);
         it != std::sregex_iterator(); ++it) {
      entries.emplace_back(std::stoi((*it)[1]), (*it)[2]);
    }
    return entries;
  }
  test_harness::TestLogDir logs_;
  mlperf::LogSettings log_settings_;
};

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

std::string Int32Bytes(int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

TEST_F(GrpcRunTest, EverySampleReachesTheServerInTheEnginesOrderWithItsEchoLogged) {
  V2Server server;
  constexpr size_t kSamples = 24;
  GrpcEndpointSut sut(Config(server.target()), Requests(kSamples, false));
  MarkerQsl qsl(kSamples);
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::SingleStream;
  settings.mode = mlperf::TestMode::AccuracyOnly;
  settings.qsl_rng_seed = 12345;
  settings.sample_index_rng_seed = 67890;
  mlperf::StartTest(&sut, &qsl, settings, log_settings_);

  const auto entries = AccuracyEntries();
  ASSERT_EQ(entries.size(), kSamples);
  const std::vector<int32_t> arrivals = server.service().arrivals();
  ASSERT_EQ(arrivals.size(), kSamples);  // each sample sent once, none retried or lost
  std::vector<int32_t> logged;
  for (const auto& [index, hex] : entries) {
    logged.push_back(index);
    EXPECT_EQ(hex, Hex(Int32Bytes(index)));  // the server's echo of that sample's request
  }
  // SingleStream: one query at a time, so the server saw them in the engine's (seeded) order.
  EXPECT_EQ(arrivals, logged);
  std::vector<int32_t> sorted = logged;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < kSamples; ++i) EXPECT_EQ(sorted[i], static_cast<int32_t>(i));
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.issued, kSamples);
  EXPECT_EQ(stats.completed, kSamples);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_NE(Read("mlperf_log_summary.txt").find("No errors encountered"), std::string::npos);
}

TEST_F(GrpcRunTest, StreamedResponsesAreTokensAndTheirTextIsLogged) {
  V2Server server;
  constexpr size_t kSamples = 8;
  GrpcEndpointSut sut(Config(server.target(), /*stream=*/true), Requests(kSamples, true));
  MarkerQsl qsl(kSamples);
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::Offline;
  settings.mode = mlperf::TestMode::AccuracyOnly;
  mlperf::StartTest(&sut, &qsl, settings, log_settings_);

  const auto entries = AccuracyEntries();
  ASSERT_EQ(entries.size(), kSamples);
  for (const auto& [index, hex] : entries) {
    std::string text;
    for (int k = 0; k < index % 4; ++k) text += "t" + std::to_string(k);
    EXPECT_EQ(hex, Hex(text)) << "sample " << index;
  }
  std::vector<GrpcQueryRecord> records;
  std::vector<int64_t> chunk_times;
  sut.CopyRecords(&records, &chunk_times);
  ASSERT_EQ(records.size(), kSamples);
  for (const GrpcQueryRecord& g : records) {
    const QueryRecord& r = g.query;
    EXPECT_EQ(r.failure, FailureReason::kNone);
    EXPECT_EQ(r.tokens, static_cast<int64_t>(r.sample_index % 4));
    EXPECT_EQ(r.chunk_count, r.sample_index % 4);
    EXPECT_EQ(r.token_source, TokenSource::kCountedChunks);
    if (r.tokens > 0) {
      EXPECT_EQ(chunk_times[r.chunk_begin], r.first_token_ns);
      EXPECT_LE(r.issued_ns, r.first_token_ns);
      EXPECT_LE(r.first_token_ns, r.done_ns);
    }
  }
  EXPECT_EQ(sut.Stats().tokens_from_chunks, kSamples);
}

TEST(GrpcClientStart, AnUnreachableServerIsAStartError) {
  std::string target;
  {
    V2Server gone;  // a port that was just free
    target = gone.target();
  }
  GrpcEndpointConfig config = Config(target);
  config.connect_timeout_ns = 300'000'000;
  try {
    GrpcEndpointSut sut(config, Requests(1, false));
    FAIL() << "no error";
  } catch (const GrpcStartError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to the gRPC endpoint " + target),
              std::string::npos)
        << e.what();
  }
}

TEST(GrpcClientStart, AMissingModelIsAStartErrorWhenChecked) {
  V2Server server;
  GrpcEndpointConfig config = Config(server.target());
  config.model = "nope";
  config.check_model = true;
  try {
    GrpcEndpointSut sut(config, Requests(1, false, -1, "nope"));
    FAIL() << "no error";
  } catch (const GrpcStartError& e) {
    EXPECT_NE(std::string(e.what()).find("model 'nope' not found or not ready"), std::string::npos)
        << e.what();
  }
  config.model = "m";
  EXPECT_NO_THROW(GrpcEndpointSut(config, Requests(1, false)));
  EXPECT_TRUE(server.service().arrivals().empty());  // checks send no inference request
}

TEST_F(GrpcRunTest, ARequestPastItsDeadlineIsATimeoutAndTheRunIsInvalid) {
  V2Server server;
  for (bool stream : {false, true}) {
    GrpcEndpointConfig config = Config(server.target(), stream);
    config.total_timeout_ns = 100'000'000;
    GrpcEndpointSut sut(config, Requests(1, stream, /*marker=*/99));
    MarkerQsl qsl(1);
    mlperf::TestSettings settings;
    settings.mode = mlperf::TestMode::PerformanceOnly;
    settings.min_query_count = 2;
    settings.min_duration_ms = 0;
    mlperf::StartTest(&sut, &qsl, settings, log_settings_);
    const EndpointStats stats = sut.Stats();
    EXPECT_EQ(stats.failed, 2u);
    EXPECT_EQ(stats.failures_by_reason[static_cast<size_t>(FailureReason::kTotalTimeout)], 2u);
    std::vector<GrpcQueryRecord> records;
    std::vector<int64_t> chunk_times;
    sut.CopyRecords(&records, &chunk_times);
    for (const GrpcQueryRecord& g : records) {
      EXPECT_STREQ(GrpcStatusName(g.status_code), "DEADLINE_EXCEEDED");
    }
    const std::string detail = Read("mlperf_log_detail.txt");
    EXPECT_NE(detail.find("\"key\": \"result_validity\", \"value\": \"INVALID\","),
              std::string::npos);
    EXPECT_NE(detail.find("\"timeout_total\":2"), std::string::npos) << detail;
  }
}

TEST_F(GrpcRunTest, AServerGoneMidRunFailsTheCallsInFlightAndNothingHangs) {
  auto server = std::make_unique<V2Server>();
  constexpr size_t kSamples = 4;
  GrpcEndpointSut sut(Config(server->target()), Requests(kSamples, false, /*marker=*/99));
  MarkerQsl qsl(kSamples);
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::Offline;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.min_query_count = kSamples;
  settings.min_duration_ms = 0;
  settings.offline_expected_qps = kSamples;
  std::thread killer([&server] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (server->service().stalled < static_cast<int>(kSamples) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    server->Stop();  // every call in flight is cut
  });
  mlperf::StartTest(&sut, &qsl, settings, log_settings_);
  killer.join();
  EXPECT_EQ(sut.Outstanding(), 0u);
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.issued, kSamples);
  EXPECT_EQ(stats.failed, kSamples);
  EXPECT_EQ(stats.failures_by_reason[static_cast<size_t>(FailureReason::kConnectionClosed)],
            kSamples);
  const std::string detail = Read("mlperf_log_detail.txt");
  EXPECT_NE(detail.find("\"connection_closed\":4"), std::string::npos) << detail;
}

TEST_F(GrpcRunTest, AnAbortedTestCancelsTheCallsInFlight) {
  V2Server server;
  GrpcEndpointSut sut(Config(server.target(), /*stream=*/true), Requests(3, true, /*marker=*/99));
  MarkerQsl qsl(3);
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::Offline;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.min_query_count = 3;
  settings.min_duration_ms = 0;
  settings.offline_expected_qps = 3;
  std::thread aborter([&server] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (server.service().stalled < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    mlperf::AbortTest();
  });
  mlperf::StartTest(&sut, &qsl, settings, log_settings_);
  aborter.join();
  EXPECT_EQ(sut.Outstanding(), 0u);
  EXPECT_EQ(sut.Stats().failures_by_reason[static_cast<size_t>(FailureReason::kConnectionClosed)],
            3u);
}

TEST(GrpcV2Outputs, TypedUnaryContentsBecomeLittleEndianElements) {
  inference::ModelInferResponse response;
  auto* ints = response.add_outputs();
  ints->set_datatype("INT16");
  ints->mutable_contents()->add_int_contents(-2);
  ints->mutable_contents()->add_int_contents(300);
  auto* text = response.add_outputs();
  text->set_datatype("BYTES");
  text->mutable_contents()->add_bytes_contents("ab");
  auto* floats = response.add_outputs();
  floats->set_datatype("FP32");
  floats->mutable_contents()->add_fp32_contents(1.5f);
  std::string out;
  grpc_v2::AppendUnaryOutputs(response, &out);
  const int16_t a = -2, b = 300;
  const uint32_t n = 2;
  const float f = 1.5f;
  std::string expected(reinterpret_cast<const char*>(&a), 2);
  expected.append(reinterpret_cast<const char*>(&b), 2);
  expected.append(reinterpret_cast<const char*>(&n), 4);
  expected += "ab";
  expected.append(reinterpret_cast<const char*>(&f), 4);
  EXPECT_EQ(out, expected);
  // Raw contents, when present, are taken as they are.
  response.add_raw_output_contents("raw");
  out.clear();
  grpc_v2::AppendUnaryOutputs(response, &out);
  EXPECT_EQ(out, "raw");
}

TEST(GrpcV2Outputs, AStreamPieceIsTheBytesElementsWithoutTheirLengths) {
  inference::ModelInferResponse response;
  auto* text = response.add_outputs();
  text->set_datatype("BYTES");
  const uint32_t two = 2, one = 1;
  response.add_raw_output_contents(std::string(reinterpret_cast<const char*>(&two), 4) + "hi" +
                                   std::string(reinterpret_cast<const char*>(&one), 4) + "!");
  std::string out;
  grpc_v2::StreamPiece piece = grpc_v2::AppendStreamPiece(response, &out);
  EXPECT_EQ(out, "hi!");
  EXPECT_TRUE(piece.has_outputs);
  EXPECT_FALSE(piece.final);
  inference::ModelInferResponse final_response;
  (*final_response.mutable_parameters())["triton_final_response"].set_bool_param(true);
  piece = grpc_v2::AppendStreamPiece(final_response, &out);
  EXPECT_TRUE(piece.final);
  EXPECT_FALSE(piece.has_outputs);
  EXPECT_EQ(out, "hi!");
}

}  // namespace
}  // namespace loadgen::net
