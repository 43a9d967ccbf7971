/// \file query_dispatch_library.h
/// \brief A SUT reached over the network ("LoadGen over the network"); official name.
#ifndef MLPERF_LOADGEN_QUERY_DISPATCH_LIBRARY_H_
#define MLPERF_LOADGEN_QUERY_DISPATCH_LIBRARY_H_

#include "system_under_test.h"

namespace mlperf {

/// Same contract as SystemUnderTest; a distinct type so harnesses can tell network SUTs apart.
class QueryDispatchLibrary : public SystemUnderTest {
 public:
  virtual ~QueryDispatchLibrary() = default;
};

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_QUERY_DISPATCH_LIBRARY_H_
