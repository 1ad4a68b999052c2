// junit.xml: one testcase per checker, so CI systems show the verdict where they show tests.
// invalid: <failure> carrying the explanation; unknown (never a pass): <error>.
#include <sstream>

#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {

using nlohmann::json;

std::string render_junit(const RunData& run, const Analysis& a) {
  std::string suite = "faultline." + run.results.value("name", std::string("run"));
  std::ostringstream cases;
  int tests = 0, failures = 0, errors = 0;
  double total_s = 0;
  for (const auto& check : run.results.value("checks", json::array())) {
    ++tests;
    std::string checker = check.value("checker", std::string("?"));
    std::string verdict = check.value("verdict", std::string("unknown"));
    double time_s = check.value("check_time_s", 0.0);
    total_s += time_s;
    cases << "    <testcase classname=\"" << html_escape(suite) << "\" name=\""
          << html_escape(checker + " (" + check.value("model", std::string("?")) +
                         "): " + run.results.value("guarantee", std::string("?")))
          << "\" time=\"" << time_s << "\">\n";
    std::string summary = check.value("summary", std::string());
    if (verdict != "valid") {
      std::string body = summary + "\n";
      for (const auto& an : a.anomalies) {
        if (an.checker != checker) continue;
        body += "\n[" + an.type + "] " + join(an.sentences, " ") + "\n";
      }
      body += "\nrun folder: " + run.dir.string() + "\nreproduce: " + reproduce_command(run) + "\n";
      std::string element = verdict == "invalid" ? "failure" : "error";
      (verdict == "invalid" ? failures : errors)++;
      cases << "      <" << element << " type=\"" << verdict << "\" message=\""
            << html_escape(summary) << "\">" << html_escape(body) << "</" << element << ">\n";
    }
    cases << "    </testcase>\n";
  }
  std::string problem;
  // Why the verdict is capped at unknown: interrupted, unfinished, cut or empty history.
  for (const auto& note : run.results.value("verdict_notes", nlohmann::json::array()))
    if (note.is_string()) problem += (problem.empty() ? "" : "; ") + note.get<std::string>();
  if (problem.empty() && run.results.value("interrupted", false))
    problem = "the run was interrupted before its time limit";
  std::string recovery = run.results.value("recovery_problem", std::string());
  if (!recovery.empty())
    problem += (problem.empty() ? "" : "; ") + ("the cluster did not recover: " + recovery);
  for (const auto& line : left_undone(run)) problem += (problem.empty() ? "" : "; ") + line;
  if (!problem.empty() || tests == 0) {
    ++tests;
    ++errors;
    if (problem.empty()) problem = "no checker ran";
    cases << "    <testcase classname=\"" << html_escape(suite)
          << "\" name=\"run completed\" time=\"0\">\n"
          << "      <error type=\"run\" message=\"" << html_escape(problem) << "\">"
          << html_escape(problem) << "</error>\n    </testcase>\n";
  }
  const json& target = run.results.value("target", json::object());
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"faultline\" tests=\""
      << tests << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" time=\""
      << total_s << "\">\n"
      << "  <testsuite name=\"" << html_escape(suite) << "\" tests=\"" << tests << "\" failures=\""
      << failures << "\" errors=\"" << errors << "\" skipped=\"0\" time=\"" << total_s
      << "\">\n    <properties>\n";
  auto property = [&](const std::string& name, const std::string& value) {
    out << "      <property name=\"" << name << "\" value=\"" << html_escape(value) << "\"/>\n";
  };
  property("system", target.value("system", std::string("?")));
  property("version", target.value("version", std::string("?")));
  property("seed", std::to_string(run.results.value("seed", std::uint64_t{0})));
  property("verdict", verdict_of(run));
  property("run_dir", run.dir.string());
  out << "    </properties>\n"
      << cases.str() << "    <system-out>" << html_escape(one_line_summary(run, a))
      << "</system-out>\n  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace faultline::report
