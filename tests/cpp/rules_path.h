// The rules file (mlperf.conf) the Python package ships, which the config-file tests read.
#pragma once

#include <string>

namespace loadgen::settings {

inline const std::string kRulesPath = LOADGEN_TEST_DATA_DIR "/../../python/loadgen/mlperf.conf";

}  // namespace loadgen::settings
