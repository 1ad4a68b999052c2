#include "harness/analyze.h"

#include <fstream>
#include <sstream>

#include "core/stats.h"
#include "harness/spec.h"
#include "reports/report.h"

namespace faultline::report {

using nlohmann::json;

namespace {

// results.json as an earlier run or analyze left it; an empty object when there is none.
json previous_results(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "results.json");
  if (!in) return json::object();
  json results = json::parse(in, nullptr, false);
  return results.is_object() ? results : json::object();
}

// The record from the spec, completed with what the live run recorded.
RunRecord live_record(const Test& test, const std::filesystem::path& run_dir, const json& previous) {
  RunRecord record = run_record(test);
  record.started_utc = run_dir.filename().string();
  if (auto live = read_run_record(run_dir)) {
    record.run_id = live->run_id;
    record.version = live->version;
    if (!live->started_utc.empty()) record.started_utc = live->started_utc;
  } else if (previous.contains("target")) {  // a run from before run.json
    record.run_id = previous.value("run_id", std::string());
    record.version = previous["target"].value("version", std::string());
  }
  if (record.version.empty()) record.version = "unknown version (the run recorded none)";
  return record;
}

}  // namespace

RunResults recheck_run(const std::filesystem::path& run_dir, const RecheckOptions& options) {
  Test test = load_test(run_dir / "spec.yaml");
  HistoryRead read = read_history_file(run_dir / "history.jsonl");
  json previous = previous_results(run_dir);
  RunResults results;
  results.run = live_record(test, run_dir, previous);
  results.recovery_problem = previous.value("recovery_problem", std::string());
  results.not_healed = previous.value("not_healed", std::vector<std::string>{});
  results.not_cleaned = previous.value("not_cleaned", std::vector<std::string>{});
  results.stats = compute_stats(read.history);
  bool finished = run_finished(previous);
  checker::Checked checked = naming_source((run_dir / "history.jsonl").string(), [&] {
    return checker::check_all(test.workload->checkers(), read.history,
                              CheckLimits{test.spec.check_time_limit_s});
  });
  grade(results, checked,
        {.finished = finished, .interrupted = previous.value("interrupted", false),
         .history_cut_at_line = read.torn_line, .allow_empty = options.allow_empty});
  write_results(run_dir, results);
  std::ifstream spec(run_dir / "spec.yaml");
  std::ostringstream spec_text;
  spec_text << spec.rdbuf();
  write_run_reports(RunData{run_dir, spec_text.str(), to_json(results), std::move(read.history)});
  return results;
}

}  // namespace faultline::report
