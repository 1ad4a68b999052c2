#include "harness/results.h"

#include <sstream>

#include "core/stats.h"
#include "core/store.h"
#include "reports/report.h"

namespace faultline {

using nlohmann::json;

checker::Verdict check_and_write_results(Test& test, const RunFacts& run, const Announcer& announce) {
  const Spec& spec = test.spec;
  announce("checking the history");
  History history = read_history(run.run_dir / "history.jsonl");
  auto checks = test.workload->check(history, CheckLimits{spec.check_time_limit_s});
  checker::Verdict verdict = checker::Verdict::valid;
  json checks_json = json::array();
  for (const auto& c : checks) {
    verdict = checker::worst(verdict, c.verdict);
    checks_json.push_back(checker::to_json(c));
  }
  if (run.interrupted) verdict = checker::worst(verdict, checker::Verdict::unknown);
  HistoryStats stats = compute_stats(history);
  json results = {
      {"name", spec.name},
      {"spec_file", spec.file.string()},
      {"seed", spec.seed},
      {"run_id", run.run_id},
      {"target", {{"system", spec.system}, {"version", test.target->version()}, {"nodes", spec.node_count}}},
      {"workload", spec.workload},
      {"guarantee", test.workload->guarantee()},
      {"verdict", checker::to_string(verdict)},
      {"valid", verdict == checker::Verdict::valid},
      {"interrupted", run.interrupted},
      {"recovery_problem", run.recovery_problem},
      {"checks", checks_json},
      {"stats", to_json(stats)},
      {"limitations", test.target->limitations()},
  };
  write_file(run.run_dir / "results.json", results.dump(2) + "\n");
  std::ostringstream summary;
  summary << "ops: " << stats.ok_ops << " ok, " << stats.fail_ops << " fail, " << stats.info_ops
          << " info in " << static_cast<int>(stats.duration_s) << " s ("
          << static_cast<int>(stats.ops_per_s) << " ops/s); faults:";
  for (const auto& [f, n] : stats.nemesis_ops) summary << " " << f << " x" << n;
  if (stats.nemesis_ops.empty()) summary << " none";
  announce(summary.str());
  for (const auto& c : checks)
    announce(c.checker + " (" + c.model + "): " + std::string(checker::to_string(c.verdict)) +
             " in " + std::to_string(c.check_time_s) + " s — " + c.summary);
  // The reports get the history already in memory rather than parsing the file again.
  announce(report::write_run_reports_line(
      report::RunData{run.run_dir, run.spec_text, std::move(results), std::move(history)}));
  return verdict;
}

}  // namespace faultline
