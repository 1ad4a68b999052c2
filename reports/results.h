// The typed record of a run, and the one place results.json and run.json are written.
//
// RunRecord is the run as the spec asked for it and as it came up (spec as parsed data, target
// version, run metadata, the fault vocabulary). The runner writes it to run.json as soon as the
// cluster is up, so a run killed later keeps it; results.json carries it again under "run",
// beside the checks and figures. The runner and `faultline analyze` both write results.json
// through write_results; reports read both files back through the readers below.
// Field by field: reports/RESULTS_SCHEMA.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/stats.h"

namespace faultline::report {

// results.json's layout version: 2 added "run", "finished", "history_cut_at_line" and typed
// anomalies in checks[]. Version 1 files (no field) are still read; see compare.
inline constexpr int kResultsSchemaVersion = 2;

// One timeline entry of the spec.
struct FaultStep {
  std::string fault;
  double at_s = 0;
  std::optional<double> duration_s;  // absent: held until the final heal
};

struct RunRecord {
  std::string name;
  std::string spec_file;
  std::string run_id;
  std::uint64_t seed = 0;
  std::string started_utc;  // "20261125T130402.633Z", the run folder's name
  std::string system;       // "etcd"
  std::string version;      // as the server reported it: "etcd 3.4.23"
  std::vector<std::string> node_names;
  std::string workload;
  std::string guarantee;
  int concurrency = 0;
  double rate_per_s = 0;
  int timeout_ms = 0;
  double time_limit_s = 0;
  double interval_s = 0;                 // random faults: quiet time and fault time
  std::vector<std::string> faults;       // random faults asked for; empty with a timeline
  std::vector<FaultStep> timeline;       // the explicit schedule; empty with random faults
  std::vector<std::string> fault_vocabulary;  // every fault the nemesis registry knew
  nlohmann::json limitations = nlohmann::json::object();  // target: {topic: sentence}

  // Every fault the spec asked for, random or on the timeline, each once, in spec order.
  std::vector<std::string> faults_asked() const;
  // The worker (client thread) that ran `process`. Worker w starts as process w and, after an
  // op with an unknown outcome, continues as process + concurrency (Jepsen's rule, applied in
  // harness/runner.cpp); final ops use fresh processes above every worker's.
  std::int64_t worker_of(std::int64_t process) const;
};

struct RunResults {
  RunRecord run;
  checker::Verdict verdict = checker::Verdict::unknown;
  bool finished = false;     // the run reached its end-of-run record (results written by the runner)
  bool interrupted = false;  // Ctrl-C or SIGTERM cut the generator phase short
  std::string recovery_problem;
  std::vector<std::string> not_healed;   // faults the final heal could not undo, with why
  std::vector<std::string> not_cleaned;  // nodes teardown could not reach, with what is left there
  std::size_t history_cut_at_line = 0;  // a torn last line was dropped there; 0: none
  std::vector<std::string> verdict_notes;  // why the verdict is capped at unknown, if it is
  std::vector<checker::CheckResult> checks;
  HistoryStats stats;
};

// What grading a history of a run gives: the worst check, capped at unknown when the run did not
// finish, was interrupted, its history was cut, or it recorded no client op (unless
// `allow_empty`); each cap adds its reason to verdict_notes. REQUIRES: results.stats is set.
struct Grading {
  bool finished = true;
  bool interrupted = false;
  std::size_t history_cut_at_line = 0;
  bool allow_empty = false;
};
void grade(RunResults& results, const checker::Checked& checked, const Grading& grading);

nlohmann::json to_json(const RunRecord& record);
RunRecord run_record_from_json(const nlohmann::json& object);
nlohmann::json to_json(const RunResults& results);

// run.json, written once the cluster is up.
void write_run_record(const std::filesystem::path& run_dir, const RunRecord& record);
// The run folder's run.json, or nullopt when absent or unreadable.
std::optional<RunRecord> read_run_record(const std::filesystem::path& run_dir);
// results.json: the one writer.
void write_results(const std::filesystem::path& run_dir, const RunResults& results);

// THE rule for "did this run finish", for every grader (analyze, compare, the reports, serve):
// `results` is a run folder's results.json as parsed (a discarded parse or an empty object when
// the file is missing or unreadable). A run finished only when the runner's end-of-run write
// reached the disk: no results.json (killed, crashed) or one that says `"finished": false` is
// unfinished. Schema 1 files, written only at the end of a run, have no field and finished.
bool run_finished(const nlohmann::json& results);

// The verdict of a run folder as a listing should show it: results.json's, but unknown when
// the run did not finish (run_finished). For `faultline serve`.
checker::Verdict run_folder_verdict(const std::filesystem::path& run_dir);

}  // namespace faultline::report
