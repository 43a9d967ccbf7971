// The endpoint client's part of the generator self-check (docs/self-check.md): its I/O
// thread's CPU time and the time queries queued for a free connection.
#include <algorithm>

#include "common/clock.h"
#include "net/client.h"
#include "net/endpoint_sut.h"
#include "selfcheck/generator_check.h"

namespace loadgen::net {

void Client::EndConnectionWait(Query* q) {
  if (q->waiting_since_ns == 0) return;
  const int64_t waited = NowNs() - q->waiting_since_ns;
  q->waiting_since_ns = 0;
  // One writer (this thread): plain load + store, no read-modify-write needed.
  connection_waits_.store(connection_waits_.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  connection_wait_total_ns_.store(
      connection_wait_total_ns_.load(std::memory_order_relaxed) + waited,
      std::memory_order_relaxed);
  if (waited > connection_wait_max_ns_.load(std::memory_order_relaxed)) {
    connection_wait_max_ns_.store(waited, std::memory_order_relaxed);
  }
}

ClientLoadFigures Client::SelfCheckFigures() const {
  ClientLoadFigures f;
  f.io_thread_cpu_ns = selfcheck::ThreadCpuNs(const_cast<std::thread&>(io_thread_).native_handle());
  f.queries = Stats().issued;
  f.connection_waits = connection_waits_.load(std::memory_order_relaxed);
  f.connection_wait_total_ns = connection_wait_total_ns_.load(std::memory_order_relaxed);
  f.connection_wait_max_ns = connection_wait_max_ns_.load(std::memory_order_relaxed);
  return f;
}

ClientLoadFigures EndpointSut::ClientFigures() const { return client_->SelfCheckFigures(); }

}  // namespace loadgen::net
