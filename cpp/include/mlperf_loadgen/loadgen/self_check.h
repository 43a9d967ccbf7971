/// \file loadgen/self_check.h
/// \brief For a SUT that is itself part of the load generator (the endpoint client): the
/// figures of its own I/O that the generator self-check reports (docs/self-check.md).
#ifndef LOADGEN_SELF_CHECK_H_
#define LOADGEN_SELF_CHECK_H_

#include <cstdint>

#include "export.h"

namespace loadgen {

/// Running totals since the client started; the engine takes differences over a series.
struct ClientLoadFigures {
  int64_t io_thread_cpu_ns = 0;  ///< CPU time of the client's I/O thread
  uint64_t queries = 0;          ///< queries handed to the client
  /// Queries that found no free connection and queued for one, and how long they queued.
  uint64_t connection_waits = 0;
  int64_t connection_wait_total_ns = 0;
  int64_t connection_wait_max_ns = 0;
};

/// Implemented by a SUT whose sending is loadgen's own work (loadgen::net::EndpointSut); the
/// engine asks it at the start and end of each performance series.
class LOADGEN_EXPORT SelfCheckingClient {
 public:
  virtual ~SelfCheckingClient();
  /// Any thread; cheap (atomics and one clock read).
  virtual ClientLoadFigures ClientFigures() const = 0;
};

}  // namespace loadgen

#endif  // LOADGEN_SELF_CHECK_H_
