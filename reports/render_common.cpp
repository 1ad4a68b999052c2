#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {

using nlohmann::json;

std::string verdict_of(const RunData& run) {
  if (!run_finished(run.results)) return "unknown";  // never a pass
  return std::string(checker::to_string(
      checker::parse_verdict(run.results.value("verdict", std::string("unknown")))));
}

std::string verdict_notes_text(const RunData& run) {
  std::vector<std::string> notes;
  for (const auto& note : run.results.value("verdict_notes", json::array()))
    if (note.is_string()) notes.push_back(note.get<std::string>());
  return join(notes, "; ");
}

std::vector<std::string> left_undone(const RunData& run) {
  std::vector<std::string> lines;
  for (const auto& [field, label] : {std::pair{"not_healed", "not healed: "},
                                      std::pair{"not_cleaned", "not cleaned: "}})
    for (const auto& item : run.results.value(field, json::array()))
      if (item.is_string()) lines.push_back(label + item.get<std::string>());
  return lines;
}

std::string reproduce_command(const RunData& run) {
  return "faultline run " + shell_quote((run.dir / "spec.yaml").string()) + " --seed " +
         std::to_string(run.results.value("seed", std::uint64_t{0}));
}

std::map<std::string, std::int64_t> anomaly_type_counts(const RunData& run,
                                                        const Analysis& analysis) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& check : run.results.value("checks", json::array())) {
    const json& details = check.value("details", json::object());
    if (details.contains("anomaly_counts") && details["anomaly_counts"].is_object()) {
      for (const auto& [type, n] : details["anomaly_counts"].items())
        if (n.is_number_integer()) counts[type] += n.get<std::int64_t>();
      continue;
    }
    std::string checker = check.value("checker", "");
    for (const auto& a : analysis.anomalies)
      if (a.checker == checker) ++counts[a.type];
  }
  return counts;
}

std::string one_line_summary(const RunData& run, const Analysis& analysis) {
  const json& target = run.results.value("target", json::object());
  std::string faults;
  for (const auto& fault : analysis.faults_injected)
    faults += (faults.empty() ? "" : ", ") + fault + " ×" +
              std::to_string(find_phase(analysis, fault)->windows);
  std::string text = target.value("version", target.value("system", std::string("?"))) + ", " +
                     std::to_string(target.value("nodes", 0)) +
                     (target.value("nodes", 0) == 1 ? " node, " : " nodes, ") +
                     run.results.value("workload", std::string("?")) + " workload, " +
                     format_s(analysis.end_ns) + ", faults: " + (faults.empty() ? "none" : faults) +
                     " — " + verdict_of(run);
  auto counts = anomaly_type_counts(run, analysis);
  if (!counts.empty()) {
    std::vector<std::string> types;
    for (const auto& [type, n] : counts) types.push_back(type + " ×" + std::to_string(n));
    text += " (" + join(types, ", ") + ")";
  }
  return text;
}

}  // namespace faultline::report
