// Runs one test end to end: cluster up, clients and the fault schedule for the time limit,
// heal, final ops, cluster down, check, store the results. The pieces, one job each:
// cluster_lifetime.h, workers.h, schedule.h + fault_interpreter.h, progress.h, results.h.
#pragma once

#include <filesystem>

#include "checker/checker.h"
#include "harness/progress.h"
#include "harness/spec.h"

namespace faultline {

struct RunOptions {
  std::filesystem::path store_dir = "store";
  ProgressStyle progress = ProgressStyle::live_line;
};

struct RunOutcome {
  checker::Verdict verdict = checker::Verdict::unknown;
  std::filesystem::path run_dir;
  bool interrupted = false;  // Ctrl-C or SIGTERM cut the run short: the verdict is at best unknown
};

// Throws TargetError if the cluster cannot be brought up; the host is left clean either way.
RunOutcome run_test(Test& test, const RunOptions& options);

// Installs SIGINT/SIGTERM handlers that ask a running test to stop early (and heal, tear down,
// check what was recorded). A second signal kills the harness at once; `faultline clean` then
// removes what it left.
void install_stop_handlers();
// Whether a stop signal arrived (a matrix ends after its current cell).
bool stop_requested();

}  // namespace faultline
