// Fuzz target: the history readers. One source, three targets (history_edn, history_jsonl,
// history_json_array, fuzz/CMakeLists.txt): the reader picks the format from the content, so the
// targets differ in their seeds, which steer the fuzzer into one format's parser each.
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  faultline::fuzz::expect_result_or_bad_input([&] {
    auto read = faultline::read_history_text_file(faultline::fuzz::as_text(data, size), "fuzz");
    // Pairing is every checker's first step and has its own errors.
    faultline::pair_ops(read.history, "fuzz");
  });
  return 0;
}
