#include "harness/results.h"

#include <sstream>

#include "core/stats.h"
#include "reports/report.h"

namespace faultline {

report::RunRecord write_run_record(const Test& test, const RunFacts& run,
                                   const std::filesystem::path& run_dir) {
  report::RunRecord record = run_record(test);
  record.run_id = run.run_id;
  record.started_utc = run_dir.filename().string();
  record.version = test.target->version();
  report::write_run_record(run_dir, record);
  return record;
}

checker::Verdict check_and_write_results(Test& test, const RunFacts& run, const Announcer& announce) {
  announce("checking the history");
  HistoryRead read = read_history_file(run.run_dir / "history.jsonl");
  report::RunResults results;
  results.run = run.record;
  results.recovery_problem = run.recovery_problem;
  results.not_healed = run.not_healed;
  results.not_cleaned = run.not_cleaned;
  results.stats = compute_stats(read.history);
  report::grade(results,
                checker::check_all(test.workload->checkers(), read.history,
                                   CheckLimits{test.spec.check_time_limit_s}),
                {.finished = true, .interrupted = run.interrupted,
                 .history_cut_at_line = read.torn_line});
  report::write_results(run.run_dir, results);
  const HistoryStats& stats = results.stats;
  std::ostringstream summary;
  summary << "ops: " << stats.ok_ops << " ok, " << stats.fail_ops << " fail, " << stats.info_ops
          << " info in " << static_cast<int>(stats.duration_s) << " s ("
          << static_cast<int>(stats.ops_per_s) << " ops/s); faults:";
  for (const auto& [f, n] : stats.nemesis_ops) summary << " " << f << " x" << n;
  if (stats.nemesis_ops.empty()) summary << " none";
  announce(summary.str());
  for (const auto& c : results.checks)
    announce(c.checker + " (" + c.model + "): " + std::string(checker::to_string(c.verdict)) +
             " in " + std::to_string(c.check_time_s) + " s — " + c.summary);
  for (const auto& note : results.verdict_notes) announce("unknown: " + note);
  // The reports get the history already in memory rather than parsing the file again.
  announce(report::write_run_reports_line(report::RunData{
      run.run_dir, run.spec_text, report::to_json(results), std::move(read.history)}));
  return results.verdict;
}

}  // namespace faultline
