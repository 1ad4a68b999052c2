// Shared by the spec tests: the error a spec text gets at load time.
#pragma once

#include <string>

#include "harness/spec.h"

namespace faultline::testing {

// The error message load_test_text throws for `yaml`, or "" if it loads.
inline std::string error_of(const std::string& yaml) {
  try {
    load_test_text(yaml, "spec.yaml");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

}  // namespace faultline::testing
