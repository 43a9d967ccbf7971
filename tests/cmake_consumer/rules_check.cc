// Prints what TestSettings::FromConfig makes of a user.conf for resnet50 Offline, so the
// consumer test can check that a native program gets the mlperf.conf rules underneath
// (min_query_count and the seeds come only from mlperf.conf).
//
//   rules_check user.conf
#include <iostream>

#include "test_settings.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: rules_check user.conf\n";
    return 2;
  }
  mlperf::TestSettings settings;
  const int rc = settings.FromConfig(argv[1], "resnet50", "Offline");
  std::cout << "rc=" << rc << " min_query_count=" << settings.min_query_count
            << " min_duration_ms=" << settings.min_duration_ms
            << " qsl_rng_seed=" << settings.qsl_rng_seed
            << " offline_expected_qps=" << settings.offline_expected_qps << "\n";
  return rc == 0 ? 0 : 1;
}
