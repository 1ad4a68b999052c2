// `faultline matrix`: one spec run over every combination of axis values × seeds (an evaluation
// of a database: which guarantees hold under which faults, and at what cost).
//
// A matrix file names a base spec and axes; each axis value sets one or more dotted paths of
// the base spec:
//
//   name: matrix-etcd
//   spec: etcd-register.yaml          # relative to this file
//   seeds: [1, 2]                     # or repeat: N (seeds 1..N)
//   time_limit_s: 20                  # optional, every cell
//   axes:
//     - name: read
//       set: [target.read]            # one path or a list, all set to the value
//       values: [linearizable, serializable]
//     - name: fault
//       set: nemesis
//       values:
//         - { label: partition, value: { faults: [partition], interval_s: 5 } }
//         - { label: kill, value: { faults: [kill], interval_s: 5 } }
//
// A value may instead carry its own paths: { label: rr, set: { target.isolation: repeatable-read,
// workload.claim: snapshot-isolation } }. Every cell's spec is built and validated when the
// matrix is loaded, before anything runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "harness/progress.h"

namespace faultline {

struct MatrixCell {
  std::vector<std::string> labels;  // one per axis
  std::uint64_t seed = 0;
  std::string name;                 // the cell's spec name: matrix name, labels, seed
  std::string spec_text;            // the cell's spec (YAML), seed included
};

struct Matrix {
  std::filesystem::path file;
  std::string name;
  std::vector<std::string> axis_names;
  std::vector<std::vector<std::string>> axis_labels;
  std::vector<std::uint64_t> seeds;
  std::vector<MatrixCell> cells;  // axes in order (the last varies fastest), then seeds
};

// A matrix file has a top-level `axes:`; a test spec does not.
bool is_matrix_file(const std::filesystem::path& file);

// Throws SpecError (file:line:column) for the matrix file or for an axis value that makes a
// cell's spec invalid.
Matrix load_matrix(const std::filesystem::path& file,
                   std::optional<double> time_limit_s = std::nullopt);

struct MatrixOptions {
  std::filesystem::path store_dir = "store";
  ProgressStyle progress = ProgressStyle::periodic_lines;  // of each cell's run
};

struct MatrixOutcome {
  checker::Verdict verdict = checker::Verdict::unknown;  // the worst cell's
  std::filesystem::path dir;
};

// Runs every cell, one at a time; a cell that crashes is recorded and the matrix goes on; a stop
// signal ends it after the current cell. Writes matrix.json after each cell, then the reports.
MatrixOutcome run_matrix(const Matrix& matrix, const MatrixOptions& options);

}  // namespace faultline
