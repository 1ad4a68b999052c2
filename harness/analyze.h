// `faultline analyze`: grade a stored run again with its workload's checkers (after a checker
// fix, or with another budget), then rewrite results.json and the reports.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "reports/results.h"

namespace faultline::report {

struct RecheckOptions {
  bool allow_empty = false;  // a history without client ops may be valid (else unknown)
};

// Loads RUN_DIR/spec.yaml with load_test, checks RUN_DIR/history.jsonl with the workload's
// checkers and rewrites results.json (through write_results) and report.html, summary.md and
// junit.xml. What only the live run knew (server version, run id) comes from run.json, or from
// an older results.json. A run that never wrote its results (killed) is unknown at best, as is
// one whose history was cut or is empty. Throws SpecError, HistoryError, or std::runtime_error.
RunResults recheck_run(const std::filesystem::path& run_dir, const RecheckOptions& options = {});

}  // namespace faultline::report
