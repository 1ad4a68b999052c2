#include "reports/results.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/store.h"

namespace faultline::report {

using nlohmann::json;

std::vector<std::string> RunRecord::faults_asked() const {
  std::vector<std::string> out = faults;
  for (const auto& step : timeline)
    if (std::find(out.begin(), out.end(), step.fault) == out.end()) out.push_back(step.fault);
  return out;
}

std::int64_t RunRecord::worker_of(std::int64_t process) const {
  return concurrency > 0 && process >= 0 ? process % concurrency : process;
}

void grade(RunResults& results, const checker::Checked& checked, const Grading& grading) {
  results.checks = checked.checks;
  results.finished = grading.finished;
  results.interrupted = grading.interrupted;
  results.history_cut_at_line = grading.history_cut_at_line;
  results.verdict = checked.verdict;
  results.verdict_notes.clear();
  auto cap = [&](const std::string& why) {
    results.verdict = checker::worst(results.verdict, checker::Verdict::unknown);
    results.verdict_notes.push_back(why);
  };
  if (!grading.finished)
    cap("the run did not finish (no end-of-run record: killed, or crashed): what was recorded "
        "was checked, but the schedule did not run to its end");
  if (grading.interrupted) cap("the run was interrupted (Ctrl-C or SIGTERM) before its time limit");
  if (grading.history_cut_at_line > 0)
    cap("the history was cut: its last line (line " + std::to_string(grading.history_cut_at_line) +
        ") was torn and dropped");
  const HistoryStats& s = results.stats;
  if (s.invoke_ops + s.ok_ops + s.fail_ops + s.info_ops == 0 && !grading.allow_empty)
    cap("the history has no client op: nothing was tested");
}

namespace {

json timeline_json(const std::vector<FaultStep>& timeline) {
  json out = json::array();
  for (const auto& s : timeline) {
    json step = {{"fault", s.fault}, {"at_s", s.at_s}};
    if (s.duration_s) step["duration_s"] = *s.duration_s;
    out.push_back(step);
  }
  return out;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

json to_json(const RunRecord& r) {
  return {{"name", r.name},
          {"spec_file", r.spec_file},
          {"run_id", r.run_id},
          {"seed", r.seed},
          {"started_utc", r.started_utc},
          {"target", {{"system", r.system}, {"version", r.version},
                      {"nodes", r.node_names.size()}, {"node_names", r.node_names}}},
          {"workload", r.workload},
          {"guarantee", r.guarantee},
          {"clients", {{"concurrency", r.concurrency}, {"rate_per_s", r.rate_per_s},
                       {"timeout_ms", r.timeout_ms}}},
          {"time_limit_s", r.time_limit_s},
          {"nemesis", {{"faults", r.faults}, {"interval_s", r.interval_s},
                       {"timeline", timeline_json(r.timeline)}}},
          {"fault_vocabulary", r.fault_vocabulary},
          {"limitations", r.limitations}};
}

RunRecord run_record_from_json(const json& o) {
  RunRecord r;
  r.name = o.value("name", std::string());
  r.spec_file = o.value("spec_file", std::string());
  r.run_id = o.value("run_id", std::string());
  r.seed = o.value("seed", std::uint64_t{0});
  r.started_utc = o.value("started_utc", std::string());
  const json& target = o.value("target", json::object());
  r.system = target.value("system", std::string());
  r.version = target.value("version", std::string());
  r.node_names = target.value("node_names", std::vector<std::string>{});
  r.workload = o.value("workload", std::string());
  r.guarantee = o.value("guarantee", std::string());
  const json& clients = o.value("clients", json::object());
  r.concurrency = clients.value("concurrency", 0);
  r.rate_per_s = clients.value("rate_per_s", 0.0);
  r.timeout_ms = clients.value("timeout_ms", 0);
  r.time_limit_s = o.value("time_limit_s", 0.0);
  const json& nemesis = o.value("nemesis", json::object());
  r.faults = nemesis.value("faults", std::vector<std::string>{});
  r.interval_s = nemesis.value("interval_s", 0.0);
  for (const auto& s : nemesis.value("timeline", json::array())) {
    FaultStep step{s.value("fault", std::string()), s.value("at_s", 0.0), std::nullopt};
    if (s.contains("duration_s")) step.duration_s = s["duration_s"].get<double>();
    r.timeline.push_back(step);
  }
  r.fault_vocabulary = o.value("fault_vocabulary", std::vector<std::string>{});
  r.limitations = o.value("limitations", json::object());
  return r;
}

json to_json(const RunResults& r) {
  json checks = json::array();
  for (const auto& c : r.checks) checks.push_back(checker::to_json(c));
  // The top-level fields of schema 1 stay where readers of old runs expect them.
  return {{"schema_version", kResultsSchemaVersion},
          {"name", r.run.name},
          {"spec_file", r.run.spec_file},
          {"seed", r.run.seed},
          {"run_id", r.run.run_id},
          {"target", {{"system", r.run.system}, {"version", r.run.version},
                      {"nodes", r.run.node_names.size()}}},
          {"workload", r.run.workload},
          {"guarantee", r.run.guarantee},
          {"verdict", checker::to_string(r.verdict)},
          {"valid", r.verdict == checker::Verdict::valid},
          {"verdict_notes", r.verdict_notes},
          {"finished", r.finished},
          {"interrupted", r.interrupted},
          {"history_cut_at_line", r.history_cut_at_line},
          {"recovery_problem", r.recovery_problem},
          {"not_healed", r.not_healed},
          {"not_cleaned", r.not_cleaned},
          {"checks", checks},
          {"stats", to_json(r.stats)},
          {"limitations", r.run.limitations},
          {"run", to_json(r.run)}};
}

void write_run_record(const std::filesystem::path& run_dir, const RunRecord& record) {
  write_file(run_dir / "run.json", to_json(record).dump(2) + "\n");
}

std::optional<RunRecord> read_run_record(const std::filesystem::path& run_dir) {
  json o = json::parse(read_text(run_dir / "run.json"), nullptr, false);
  if (!o.is_object()) return std::nullopt;
  return run_record_from_json(o);
}

void write_results(const std::filesystem::path& run_dir, const RunResults& results) {
  write_file(run_dir / "results.json", to_json(results).dump(2) + "\n");
}

bool run_finished(const json& results) {
  if (!results.is_object() || results.empty()) return false;
  auto finished = results.find("finished");
  return finished == results.end() || (finished->is_boolean() && finished->get<bool>());
}

checker::Verdict run_folder_verdict(const std::filesystem::path& run_dir) {
  json o = json::parse(read_text(run_dir / "results.json"), nullptr, false);
  if (!run_finished(o)) return checker::Verdict::unknown;
  return checker::parse_verdict(o.value("verdict", std::string()));
}

}  // namespace faultline::report
