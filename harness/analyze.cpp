#include "harness/analyze.h"

#include <fstream>

#include "harness/spec.h"
#include "core/stats.h"
#include "core/store.h"
#include "reports/report.h"

namespace faultline::report {

using nlohmann::json;

Recheck recheck_run(const std::filesystem::path& run_dir) {
  Test test = load_test(run_dir / "spec.yaml");
  History history = read_history(run_dir / "history.jsonl");
  json results = json::object();
  if (std::ifstream in(run_dir / "results.json"); in) {
    results = json::parse(in, nullptr, false);
    if (results.is_discarded()) results = json::object();
  }
  Recheck out;
  out.checks = test.workload->check(history, CheckLimits{test.spec.check_time_limit_s});
  out.verdict = checker::Verdict::valid;
  json checks = json::array();
  for (const auto& c : out.checks) {
    out.verdict = checker::worst(out.verdict, c.verdict);
    checks.push_back(checker::to_json(c));
  }
  bool interrupted = results.value("interrupted", false);
  if (interrupted) out.verdict = checker::worst(out.verdict, checker::Verdict::unknown);
  // Fields only a live run knows (target version, limitations) are kept from the first write.
  if (!results.contains("name")) results["name"] = test.spec.name;
  if (!results.contains("spec_file")) results["spec_file"] = (run_dir / "spec.yaml").string();
  if (!results.contains("target"))
    results["target"] = {
        {"system", test.spec.system}, {"version", test.spec.system}, {"nodes", test.spec.node_count}};
  if (!results.contains("limitations")) results["limitations"] = test.target->limitations();
  results["seed"] = test.spec.seed;
  results["workload"] = test.spec.workload;
  results["guarantee"] = test.workload->guarantee();
  results["verdict"] = checker::to_string(out.verdict);
  results["valid"] = out.verdict == checker::Verdict::valid;
  results["interrupted"] = interrupted;
  if (!results.contains("recovery_problem")) results["recovery_problem"] = "";
  results["checks"] = checks;
  results["stats"] = to_json(compute_stats(history));
  write_file(run_dir / "results.json", results.dump(2) + "\n");
  write_run_reports(run_dir);
  return out;
}

}  // namespace faultline::report
