#include "issue/lent_batch.h"

namespace loadgen::issue {
namespace {
thread_local const SharedBatch* lent_batch = nullptr;
}  // namespace

const SharedBatch* LentBatch() { return lent_batch; }

ScopedLentBatch::ScopedLentBatch(const SharedBatch* batch) : previous_(lent_batch) {
  lent_batch = batch;
}

ScopedLentBatch::~ScopedLentBatch() { lent_batch = previous_; }

}  // namespace loadgen::issue
