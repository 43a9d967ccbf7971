// mlperf::TestSettings::FromConfig, the official member, on the process-wide config context.
#include "test_settings.h"

#include "settings/config_file.h"

namespace mlperf {

int TestSettings::FromConfig(const std::string& path, const std::string& model,
                             const std::string& scenario, int conf_type) {
  return loadgen::settings::FromConfig(*this, path, model, scenario, conf_type,
                                       loadgen::settings::ConfigContext::Process());
}

}  // namespace mlperf
