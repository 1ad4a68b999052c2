// Fuzz target: a history through the linearizability checker, as `faultline check --model M`.
// The first byte picks the model (and nil-read mode), the rest is the history file. Budgets are
// small so that a slow input is a quick `unknown`, not a libFuzzer timeout.
#include <string>
#include <vector>

#include "checker/linear/linearizability.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::vector<std::string> models = faultline::checker::linear_model_names();
  faultline::checker::LinearOptions options;
  options.model = models[data[0] % models.size()];
  options.nil_read_matches_any = (data[0] / models.size()) % 2 == 1;
  options.time_limit_s = 1;
  options.threads = 1;
  options.max_memory_bytes = 16 << 20;
  faultline::fuzz::expect_result_or_bad_input([&] {
    auto read =
        faultline::read_history_text_file(faultline::fuzz::as_text(data + 1, size - 1), "fuzz");
    faultline::checker::check_linearizable(read.history, options);
  });
  return 0;
}
