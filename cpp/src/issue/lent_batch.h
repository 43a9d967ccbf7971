// The batch an issuing thread is passing to SystemUnderTest::IssueQuery, shared, so that an
// adapter may keep it alive beyond the call: the typed API's zero-copy numpy view stays valid
// for as long as Python holds it (a SUT that hands the view to worker threads), instead of
// pointing into a vector the issuer reuses or frees.
#ifndef LOADGEN_ISSUE_LENT_BATCH_H_
#define LOADGEN_ISSUE_LENT_BATCH_H_

#include <memory>
#include <vector>

#include "query_sample.h"

namespace loadgen::issue {

using SharedBatch = std::shared_ptr<std::vector<mlperf::QuerySample>>;

/// The issuing thread's batch during its IssueQuery call, or null. An adapter that keeps a
/// copy of the pointer (checking that `samples.data()` is its data) keeps the batch alive; the
/// issuer then gives the next query a new vector.
const SharedBatch* LentBatch();

/// Sets LentBatch() for the calling thread for the lifetime of the object.
class ScopedLentBatch {
 public:
  explicit ScopedLentBatch(const SharedBatch* batch);
  ~ScopedLentBatch();
  ScopedLentBatch(const ScopedLentBatch&) = delete;
  ScopedLentBatch& operator=(const ScopedLentBatch&) = delete;

 private:
  const SharedBatch* previous_;
};

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_LENT_BATCH_H_
