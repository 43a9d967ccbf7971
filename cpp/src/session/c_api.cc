// The official function-pointer API (bindings/c_api.h) over the same engine.
#include "bindings/c_api.h"

#include <string>
#include <vector>

#include "loadgen.h"
#include "query_sample_library.h"
#include "system_under_test.h"

namespace mlperf {
namespace c {
namespace {

class FunctionSut : public SystemUnderTest {
 public:
  FunctionSut(ClientData client_data, std::string name, IssueQueryCallback issue,
              FlushQueriesCallback flush)
      : client_data_(client_data), name_(std::move(name)), issue_(issue), flush_(flush) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<QuerySample>& samples) override {
    issue_(client_data_, samples.data(), samples.size());
  }
  void FlushQueries() override {
    if (flush_) flush_();
  }

 private:
  ClientData client_data_;
  std::string name_;
  IssueQueryCallback issue_;
  FlushQueriesCallback flush_;
};

class FunctionQsl : public QuerySampleLibrary {
 public:
  FunctionQsl(ClientData client_data, std::string name, size_t total, size_t performance,
              LoadSamplesToRamCallback load, UnloadSamplesFromRamCallback unload)
      : client_data_(client_data),
        name_(std::move(name)),
        total_(total),
        performance_(performance),
        load_(load),
        unload_(unload) {}
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return total_; }
  size_t PerformanceSampleCount() override { return performance_; }
  void LoadSamplesToRam(const std::vector<QuerySampleIndex>& samples) override {
    if (load_) load_(client_data_, samples.data(), samples.size());
  }
  void UnloadSamplesFromRam(const std::vector<QuerySampleIndex>& samples) override {
    if (unload_) unload_(client_data_, samples.data(), samples.size());
  }

 private:
  ClientData client_data_;
  std::string name_;
  size_t total_;
  size_t performance_;
  LoadSamplesToRamCallback load_;
  UnloadSamplesFromRamCallback unload_;
};

}  // namespace

void* ConstructSUT(ClientData client_data, const char* name, size_t name_length,
                   IssueQueryCallback issue_cb, FlushQueriesCallback flush_queries_cb) {
  return new FunctionSut(client_data, std::string(name, name_length), issue_cb, flush_queries_cb);
}

void DestroySUT(void* sut) { delete static_cast<FunctionSut*>(sut); }

void* ConstructQSL(ClientData client_data, const char* name, size_t name_length,
                   size_t total_sample_count, size_t performance_sample_count,
                   LoadSamplesToRamCallback load_samples_to_ram_cb,
                   UnloadSamplesFromRamCallback unload_samples_from_ram_cb) {
  return new FunctionQsl(client_data, std::string(name, name_length), total_sample_count,
                         performance_sample_count, load_samples_to_ram_cb,
                         unload_samples_from_ram_cb);
}

void DestroyQSL(void* qsl) { delete static_cast<FunctionQsl*>(qsl); }

void StartTest(void* sut, void* qsl, const TestSettings& settings,
               const std::string& audit_config_filename) {
  LogSettings log_settings;
  mlperf::StartTest(static_cast<FunctionSut*>(sut), static_cast<FunctionQsl*>(qsl), settings,
                    log_settings, audit_config_filename);
}

void QuerySamplesComplete(QuerySampleResponse* responses, size_t response_count) {
  mlperf::QuerySamplesComplete(responses, response_count);
}

void QuerySamplesCompleteResponseCb(QuerySampleResponse* responses, size_t response_count,
                                    ResponseCallback response_cb, ClientData client_data) {
  mlperf::QuerySamplesComplete(
      responses, response_count,
      [response_cb, client_data](QuerySampleResponse* r) { response_cb(client_data, r); });
}

void FirstTokenComplete(QuerySampleResponse* responses, size_t response_count) {
  mlperf::FirstTokenComplete(responses, response_count);
}

void FirstTokenCompleteResponseCb(QuerySampleResponse* responses, size_t response_count,
                                  ResponseCallback response_cb, ClientData client_data) {
  mlperf::FirstTokenComplete(
      responses, response_count,
      [response_cb, client_data](QuerySampleResponse* r) { response_cb(client_data, r); });
}

void RegisterIssueQueryThread() { mlperf::RegisterIssueQueryThread(); }

}  // namespace c
}  // namespace mlperf
