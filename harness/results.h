// The end of a run, once the cluster is down: check the history, write results.json
// (reports/RESULTS_SCHEMA.md) and the reports, and print the summary lines.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "harness/progress.h"
#include "harness/spec.h"
#include "reports/results.h"

namespace faultline {

// What the results record about the run besides the history.
struct RunFacts {
  std::filesystem::path run_dir;
  std::string run_id;
  std::string spec_text;         // spec.yaml as written
  bool interrupted = false;      // the verdict is at best unknown
  std::string recovery_problem;  // why the cluster did not recover after the heal; empty: it did
  std::vector<std::string> not_healed;   // faults the final heal could not undo, with why
  std::vector<std::string> not_cleaned;  // nodes teardown could not reach, with what is left
  report::RunRecord record;      // run.json as written once the cluster was up
};

// Writes run.json once the target is up (its version is known): a run killed from then on
// keeps it. Returns the record written.
report::RunRecord write_run_record(const Test& test, const RunFacts& run,
                                   const std::filesystem::path& run_dir);

// Reads run_dir/history.jsonl back and grades it (reports/results.h grade()). Returns the
// verdict: the worst of the workload's checks, at best unknown when the run was interrupted or
// its history cut.
checker::Verdict check_and_write_results(Test& test, const RunFacts& run, const Announcer& announce);

}  // namespace faultline
