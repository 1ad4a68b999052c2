// Fuzz target: the spec loader (YAML, then each target's, workload's and nemesis' own options).
#include "harness/spec.h"

#include <string>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  faultline::fuzz::expect_result_or_bad_input([&] {
    faultline::load_test_text(std::string(faultline::fuzz::as_text(data, size)), "fuzz.yaml");
  });
  return 0;
}
