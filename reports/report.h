// The run reports: report.html (for a reviewer), summary.md (for a PR comment) and junit.xml
// (for CI), written into a run folder from its spec.yaml, history.jsonl and results.json.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "reports/analysis.h"

namespace faultline::report {

// Reads the run folder and writes report.html, summary.md and junit.xml into it. Returns the
// paths written. Throws HistoryError (bad history) or std::runtime_error (no results.json, or a
// file cannot be written).
std::vector<std::filesystem::path> write_run_reports(const std::filesystem::path& run_dir);
// The same from a run already in memory (the runner holds its history: no second read).
std::vector<std::filesystem::path> write_run_reports(const RunData& run);

}  // namespace faultline::report

namespace faultline::report {

// For the runner: writes the reports and returns the line to print ("reports: <dir>/report.html,
// summary.md, junit.xml"), or why they could not be written. Never throws: a report problem
// must not change a run's verdict.
std::string write_run_reports_line(const std::filesystem::path& run_dir) noexcept;
std::string write_run_reports_line(const RunData& run) noexcept;

}  // namespace faultline::report
