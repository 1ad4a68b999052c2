// `faultline analyze`: grade a stored run again with its workload's checker (after a checker
// fix, or with another budget), then rewrite results.json and the reports.
#pragma once

#include <filesystem>
#include <vector>

#include "checker/checker.h"

namespace faultline::report {

struct Recheck {
  checker::Verdict verdict =
      checker::Verdict::unknown;  // worst check; at best unknown if interrupted
  std::vector<checker::CheckResult> checks;
};

// Loads RUN_DIR/spec.yaml with load_test, checks RUN_DIR/history.jsonl with the workload's
// checker, updates results.json (checks, verdict, valid, stats, guarantee; the rest is kept) and
// rewrites report.html, summary.md and junit.xml. Throws SpecError, HistoryError, or
// std::runtime_error (files).
Recheck recheck_run(const std::filesystem::path& run_dir);

}  // namespace faultline::report
