// `faultline compare RUN BASELINE`: what got worse in a run against a baseline run of the same
// test — verdict, anomaly types, availability under each fault, p99 latency.
#pragma once

#include <string>
#include <vector>

#include "reports/analysis.h"

namespace faultline::report {

struct CompareOptions {
  // A phase's p99 latency regresses when it grows by more than this many percent. The default
  // is wide: p99 on a shared 2-core machine moves by tens of percent between identical runs.
  double p99_threshold_pct = 50;
  // A phase's availability (share of ok ops) regresses when it drops by more than this many
  // percentage points.
  double availability_threshold_pts = 5;
};

struct Comparison {
  std::vector<std::string> worse;  // one line per regression
  std::vector<std::string> notes;  // what held or improved, and what could not be compared
  bool regressed() const { return !worse.empty(); }
};

// A run that did not finish has verdict unknown. Throws RunDirError when either results.json is
// older than kResultsSchemaVersion (the message says to re-run `faultline analyze`).
Comparison compare_runs(const RunData& run, const RunData& baseline, const CompareOptions& options);

// The comparison as lines for a terminal or a PR comment.
std::string describe(const Comparison& comparison);

}  // namespace faultline::report
