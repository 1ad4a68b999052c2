// The evaluation matrix's record and reports: matrix.json (which cells ran, with which labels and
// seed, where their run folder is), and from it and each cell's run folder matrix.html (one
// offline page for a design review), matrix.md (for a PR) and junit.xml (a testcase per cell).
// Like the run reports, a pure function of the matrix folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "reports/compare.h"

namespace faultline::report {

// One run of the matrix: one combination of axis values, one seed.
struct MatrixCellRecord {
  std::vector<std::string> labels;  // one per axis, in axis order
  std::uint64_t seed = 0;
  std::string run_dir;      // relative to the matrix folder; empty when the run never started
  std::string verdict = "unknown";  // "valid", "invalid", "unknown"; "not run" if skipped
  std::string error;        // why the cell crashed (target did not come up, ...); empty if none
  double elapsed_s = 0;
  std::string command;      // the command that reproduces this cell alone
};

struct MatrixRecord {
  std::string name;
  std::string matrix_file;
  std::string started_utc;
  std::vector<std::string> axis_names;
  std::vector<std::vector<std::string>> axis_labels;  // per axis, its labels in spec order
  std::vector<std::uint64_t> seeds;
  std::vector<MatrixCellRecord> cells;  // in run order
  bool finished = false;                // false: interrupted, or still running
};

// matrix.json, rewritten after every cell so a killed matrix keeps what ran.
void write_matrix_record(const std::filesystem::path& matrix_dir, const MatrixRecord& record);
std::optional<MatrixRecord> read_matrix_record(const std::filesystem::path& matrix_dir);

// Writes matrix.html, matrix.md and junit.xml into the matrix folder; returns their paths.
std::vector<std::filesystem::path> write_matrix_reports(const std::filesystem::path& matrix_dir);

// Cell by cell (same labels and seed): what got worse in `matrix_dir` against `baseline_dir`,
// each run compared as `faultline compare` compares two runs. A cell that ran in the baseline
// but crashed, was skipped or is missing now is a regression.
Comparison compare_matrices(const std::filesystem::path& matrix_dir,
                            const std::filesystem::path& baseline_dir,
                            const CompareOptions& options);

}  // namespace faultline::report
