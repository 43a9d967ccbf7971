// EndpointSut: a SystemUnderTest that sends each sample's prebuilt request body to an HTTP
// endpoint (OpenAI-compatible, KServe v2, Triton generate_stream) and completes the sample
// from the response, all in C++: IssueQuery only queues the samples for the client's I/O
// thread, which writes the requests, parses the responses and calls FirstTokenComplete /
// QuerySamplesComplete. See docs/net.md for the threads and where time is stamped.
#ifndef LOADGEN_NET_ENDPOINT_SUT_H_
#define LOADGEN_NET_ENDPOINT_SUT_H_

#include <memory>
#include <string>
#include <vector>

#include "loadgen/failure.h"
#include "loadgen/self_check.h"
#include "net/endpoint_config.h"
#include "system_under_test.h"

namespace loadgen::net {

class Client;  // the I/O thread, connection pools and per-query state (Boost.Asio inside)

class EndpointSut final : public mlperf::SystemUnderTest,
                          public CancellableSut,
                          public SelfCheckingClient {
 public:
  /// `bodies[i]` is the request body of QSL sample i. `json_lengths`, if not empty, gives per
  /// sample the size of the JSON part of a KServe binary-tensor request (sent as
  /// Inference-Header-Content-Length; 0 for a plain JSON body).
  /// Resolves the host names (throws std::invalid_argument on a bad URL, std::runtime_error if a
  /// host does not resolve) and starts the I/O thread.
  EndpointSut(EndpointConfig config, std::vector<std::string> bodies,
              std::vector<size_t> json_lengths = {});
  ~EndpointSut() override;

  const std::string& Name() override { return name_; }
  /// Never blocks on the network: stamps the time, queues the samples, wakes the I/O thread.
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override;
  void FlushQueries() override {}

  /// Totals so far (safe during a run).
  EndpointStats Stats() const;
  /// Per-query records and the chunk arrival times they index, in completion order, since the
  /// last ClearRecords.
  void CopyRecords(std::vector<QueryRecord>* records, std::vector<int64_t>* chunk_times) const;
  void ClearRecords();
  /// Requests in flight or queued.
  size_t Outstanding() const;
  /// Fails every queued and in-flight request (reason kCancelled) and closes their
  /// connections; returns once done. After an interrupted run nothing is left on the network.
  void CancelAll();
  /// The engine's call when a test stops early (loadgen/failure.h): CancelAll.
  void CancelOutstanding() override { CancelAll(); }
  /// The generator self-check's figures (loadgen/self_check.h).
  ClientLoadFigures ClientFigures() const override;

 private:
  std::string name_;
  std::unique_ptr<Client> client_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_ENDPOINT_SUT_H_
