/// \file bindings/c_api.h
/// \brief The official function-pointer API (namespace mlperf::c), for harnesses that cannot use
/// the C++ interfaces. Same engine and contracts as loadgen.h.
#ifndef MLPERF_LOADGEN_BINDINGS_C_API_H_
#define MLPERF_LOADGEN_BINDINGS_C_API_H_

#include <stddef.h>
#include <stdint.h>

#include <string>

#include "../loadgen/errors.h"
#include "../loadgen/export.h"
#include "../query_sample.h"
#include "../test_settings.h"

namespace mlperf {
namespace c {

/// Opaque value passed back to every callback.
typedef uintptr_t ClientData;

typedef void (*IssueQueryCallback)(ClientData, const QuerySample*, size_t);
typedef void (*FlushQueriesCallback)();
typedef void (*ResponseCallback)(ClientData, QuerySampleResponse*);
typedef void (*LoadSamplesToRamCallback)(ClientData, const QuerySampleIndex*, size_t);
typedef void (*UnloadSamplesFromRamCallback)(ClientData, const QuerySampleIndex*, size_t);

/// Returns an opaque SUT handle; `name` is copied.
LOADGEN_EXPORT void* ConstructSUT(ClientData client_data, const char* name, size_t name_length,
                                  IssueQueryCallback issue_cb,
                                  FlushQueriesCallback flush_queries_cb);
LOADGEN_EXPORT void DestroySUT(void* sut);

LOADGEN_EXPORT void* ConstructQSL(ClientData client_data, const char* name, size_t name_length,
                                  size_t total_sample_count, size_t performance_sample_count,
                                  LoadSamplesToRamCallback load_samples_to_ram_cb,
                                  UnloadSamplesFromRamCallback unload_samples_from_ram_cb);
LOADGEN_EXPORT void DestroyQSL(void* qsl);

/// Runs a test with default LogSettings. Throws loadgen::TestAlreadyRunningError if a test is
/// already running in this process (see mlperf::StartTest).
LOADGEN_EXPORT void StartTest(void* sut, void* qsl, const TestSettings& settings,
                              const std::string& audit_config_filename = "audit.config");

LOADGEN_EXPORT void QuerySamplesComplete(QuerySampleResponse* responses, size_t response_count);
LOADGEN_EXPORT void QuerySamplesCompleteResponseCb(QuerySampleResponse* responses,
                                                   size_t response_count,
                                                   ResponseCallback response_cb,
                                                   ClientData client_data);
LOADGEN_EXPORT void FirstTokenComplete(QuerySampleResponse* responses, size_t response_count);
LOADGEN_EXPORT void FirstTokenCompleteResponseCb(QuerySampleResponse* responses,
                                                 size_t response_count,
                                                 ResponseCallback response_cb,
                                                 ClientData client_data);

LOADGEN_EXPORT void RegisterIssueQueryThread();

}  // namespace c
}  // namespace mlperf

#endif  // MLPERF_LOADGEN_BINDINGS_C_API_H_
