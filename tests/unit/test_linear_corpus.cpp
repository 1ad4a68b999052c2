// The linearizability checker against the shared corpus: Knossos' own test histories and
// elle-cli's, with the verdicts their projects expect. Skips when the corpus is absent.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checker/linear/linearizability.h"

using namespace faultline;
using namespace faultline::checker;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = FAULTLINE_CORPUS_DIR;

struct Expected {
  fs::path file;
  bool valid;
};

// Rows of an expected_verdicts.tsv whose file exists and whose path contains `filter`.
std::vector<Expected> expected_rows(const fs::path& tsv, int file_column, int valid_column,
                                    const std::string& filter) {
  std::vector<Expected> rows;
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream split(line);
    for (std::string cell; std::getline(split, cell, '\t');) cells.push_back(cell);
    fs::path file = tsv.parent_path() / cells.at(file_column);
    if (cells.at(file_column).find(filter) == std::string::npos || !fs::exists(file)) continue;
    rows.push_back({file, cells.at(valid_column) == "true"});
  }
  return rows;
}

// Knossos' test suite runs its register files with an initial value of 0, nil reads unknown.
LinearOptions knossos_options(const std::string& model) {
  LinearOptions options;
  options.model = model;
  options.initial_value = 0;
  options.nil_read_matches_any = true;
  return options;
}

std::string model_for(const fs::path& file) {
  std::string path = file.string();
  if (path.find("multi-register") != std::string::npos) return "multi-register";
  if (path.find("mutex") != std::string::npos) return "mutex";
  return "cas-register";
}

// Checks every row of `tsv` (relative to the corpus) whose path contains `filter`.
void check_tsv(const fs::path& tsv, int file_column, int valid_column, const std::string& filter,
               std::size_t rows_min) {
  if (!fs::exists(kCorpus / tsv)) {
    WARN("skipped: no corpus at " << kCorpus / tsv);
    return;
  }
  std::vector<Expected> rows = expected_rows(kCorpus / tsv, file_column, valid_column, filter);
  CHECK(rows.size() >= rows_min);
  for (const Expected& row : rows) {
    CheckResult result = check_linearizable(read_history(row.file), knossos_options(model_for(row.file)));
    INFO(row.file.string() << ": " << result.summary);
    CHECK(result.verdict == (row.valid ? Verdict::valid : Verdict::invalid));
  }
}

}  // namespace

TEST_CASE("linear corpus: every Knossos history gets Knossos' verdict") {
  check_tsv("knossos/expected_verdicts.tsv", 0, 1, "data/", 100);
}

TEST_CASE("linear corpus: elle-cli's Knossos histories (EDN and JSON) get their verdicts") {
  check_tsv("elle-cli/expected_verdicts.tsv", 1, 0, "histories/knossos/", 8);
}

TEST_CASE("linear corpus: elle-cli's Jepsen counter and set histories are valid") {
  fs::path dir = kCorpus / "elle-cli" / "histories" / "jepsen";
  if (!fs::exists(dir)) {
    WARN("skipped: no corpus at " << dir);
    return;
  }
  for (const char* name : {"counter.edn", "counter.json"}) {
    LinearOptions options;
    options.model = "counter";
    CheckResult result = check_linearizable(read_history(dir / name), options);
    INFO(name << ": " << result.summary);
    CHECK(result.verdict == Verdict::valid);
  }
  LinearOptions options;
  options.model = "set";
  CheckResult result = check_linearizable(read_history(dir / "set.edn"), options);
  INFO(result.summary);
  CHECK(result.verdict == Verdict::valid);
}
