// The exception types live in the public header (native harnesses catch them); internal code
// keeps including this one.
#ifndef LOADGEN_COMMON_ERRORS_H_
#define LOADGEN_COMMON_ERRORS_H_

#include "loadgen/errors.h"

#endif  // LOADGEN_COMMON_ERRORS_H_
