// Grading stored runs again: a killed run (no results.json), a torn history and an empty one
// are unknown, never valid; the server version comes from run.json, not the system name.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "harness/analyze.h"
#include "reports/compare.h"
#include "tests/unit/report_test_support.h"

using namespace faultline;
using namespace faultline::testing;
namespace fs = std::filesystem;

namespace {

// A run folder holding spec.yaml and the given history lines, removed at the end.
class RunFolder {
 public:
  explicit RunFolder(const std::string& history_text) {
    dir_ = fs::temp_directory_path() / ("faultline-analyze-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "spec.yaml") << kUnitSpec;
    std::ofstream(dir_ / "history.jsonl") << history_text;
  }
  ~RunFolder() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// A valid register history: write 1, read 1 (JSONL, one op a line).
std::string register_lines() {
  History h = HistoryBuilder()
                  .op(0, "write", "k0", 0, 1, OpType::ok, 1)
                  .op(1, "read", "k0", 2, 3, OpType::ok, 1)
                  .build();
  std::string text;
  for (const Op& op : h) text += op_to_line(op) + "\n";
  return text;
}

void write_finished_results(const fs::path& dir) {
  std::ofstream(dir / "results.json") << nlohmann::json{{"finished", true}, {"verdict", "valid"}}.dump();
}

}  // namespace

TEST_CASE("analyze: a finished run with a whole history is graded by its checker") {
  RunFolder run(register_lines());
  write_finished_results(run.dir());
  report::RunResults r = report::recheck_run(run.dir());
  CHECK(r.verdict == checker::Verdict::valid);
  CHECK(r.verdict_notes.empty());
  CHECK(fs::exists(run.dir() / "report.html"));
}

TEST_CASE("analyze: a killed run (no results.json) is unknown and says it did not finish") {
  RunFolder run(register_lines());
  report::RunResults r = report::recheck_run(run.dir());
  CHECK(r.verdict == checker::Verdict::unknown);
  CHECK_FALSE(r.finished);
  REQUIRE(r.verdict_notes.size() == 1);
  CHECK(r.verdict_notes[0].find("did not finish") != std::string::npos);
  // Still unknown when analyzed again: the first analyze's results.json keeps finished false.
  CHECK(report::recheck_run(run.dir()).verdict == checker::Verdict::unknown);
  CHECK(report::run_folder_verdict(run.dir()) == checker::Verdict::unknown);
}

TEST_CASE("analyze: the server version comes from run.json, never the system name") {
  RunFolder run(register_lines());
  report::RunRecord live;
  live.version = "etcd 3.4.23";
  live.run_id = "abc123";
  report::write_run_record(run.dir(), live);
  report::RunResults r = report::recheck_run(run.dir());
  CHECK(r.run.version == "etcd 3.4.23");
  CHECK(r.run.run_id == "abc123");
  RunFolder without(register_lines());
  CHECK(report::recheck_run(without.dir()).run.version != "etcd");
}

TEST_CASE("analyze: a torn last line is dropped, and the result says the history was cut") {
  std::string lines = register_lines();
  RunFolder run(lines + R"({"index":4,"time_ns":5000000,"process":0,"ty)");
  write_finished_results(run.dir());
  report::RunResults r = report::recheck_run(run.dir());
  CHECK(r.history_cut_at_line == 5);
  CHECK(r.verdict == checker::Verdict::unknown);
  REQUIRE(r.verdict_notes.size() == 1);
  CHECK(r.verdict_notes[0].find("line 5") != std::string::npos);
  HistoryRead read = read_history_file(run.dir() / "history.jsonl");
  CHECK(read.history.size() == 4);
  CHECK(read.torn_line == 5);
  CHECK(read_history_text_file(lines, "whole").torn_line == 0);
}

TEST_CASE("analyze: an empty history is unknown unless allowed") {
  RunFolder run("");
  write_finished_results(run.dir());
  report::RunResults r = report::recheck_run(run.dir());
  CHECK(r.verdict == checker::Verdict::unknown);
  REQUIRE(r.verdict_notes.size() == 1);
  CHECK(r.verdict_notes[0].find("no client op") != std::string::npos);
  CHECK(report::recheck_run(run.dir(), {.allow_empty = true}).verdict == checker::Verdict::valid);
}

TEST_CASE("compare: a killed run is unknown, and an old results.json is refused by name") {
  RunFolder killed(register_lines()), baseline(register_lines());
  write_finished_results(baseline.dir());
  report::recheck_run(baseline.dir());
  report::RunData now = report::load_run(killed.dir()), base = report::load_run(baseline.dir());
  report::Comparison c = report::compare_runs(now, base, {});
  CHECK(c.regressed());
  CHECK(c.worse.front() == "verdict: unknown (baseline valid)");
  base.results.erase("schema_version");
  CHECK_THROWS_WITH(report::compare_runs(now, base, {}),
                    Catch::Contains("too old to compare") && Catch::Contains("faultline analyze"));
}

TEST_CASE("run_finished: only a results.json the runner finished is a finished run") {
  using nlohmann::json;
  CHECK_FALSE(report::run_finished(json::object()));                            // no results.json
  CHECK_FALSE(report::run_finished(json::parse("{", nullptr, false)));          // torn results.json
  CHECK_FALSE(report::run_finished(json{{"finished", false}, {"verdict", "valid"}}));
  CHECK_FALSE(report::run_finished(json{{"finished", "yes"}}));                 // not a boolean
  CHECK(report::run_finished(json{{"finished", true}, {"verdict", "valid"}}));
  CHECK(report::run_finished(json{{"verdict", "valid"}}));  // schema 1: written only at the end
  RunFolder killed(register_lines());
  CHECK(report::run_folder_verdict(killed.dir()) == checker::Verdict::unknown);
  std::ofstream(killed.dir() / "results.json") << json{{"finished", false}, {"verdict", "valid"}}.dump();
  CHECK(report::run_folder_verdict(killed.dir()) == checker::Verdict::unknown);
}
