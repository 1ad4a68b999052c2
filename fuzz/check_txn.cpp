// Fuzz target: a history through Elle's transactional checker, as `faultline check --model W
// --claim C`. The first byte picks the workload and the claim, the rest is the history file.
#include <string>
#include <vector>

#include "checker/txn/elle.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::vector<std::string> claims = faultline::checker::txn_model_names();
  faultline::checker::TxnOptions options;
  options.workload = data[0] % 2 == 0 ? "list-append" : "rw-register";
  options.claim = claims[(data[0] / 2) % claims.size()];
  options.time_limit_s = 1;
  faultline::fuzz::expect_result_or_bad_input([&] {
    auto read =
        faultline::read_history_text_file(faultline::fuzz::as_text(data + 1, size - 1), "fuzz");
    faultline::checker::check_transactions(read.history, options);
  });
  return 0;
}
