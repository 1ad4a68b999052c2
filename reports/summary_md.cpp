// summary.md: the run in a PR comment — verdict, the dual table, anomalies one line each.
#include <sstream>

#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {
namespace {

using nlohmann::json;

constexpr std::size_t kAnomalyLinesMax = 20;

std::string verdict_mark(const std::string& verdict) {
  if (verdict == "valid") return "✅ valid";
  if (verdict == "invalid") return "❌ invalid";
  return "⚠️ " + verdict;
}

// "healthy: ok 98.0%, p99 17 ms; partition ×4: ok 61.2%, fail 30.1%, info 8.7%, p99 1.00 s"
std::string cost_cell(const Analysis& a) {
  std::vector<std::string> parts;
  for (const auto& p : a.phases) {
    parts.push_back(p.phase + (p.windows > 0 ? " ×" + std::to_string(p.windows) : "") + ": ok " +
                    format_percent(p.ok_share()) + ", fail " + format_percent(p.fail_share()) +
                    ", info " + format_percent(p.info_share()) + ", " +
                    std::to_string(static_cast<std::int64_t>(p.ok_per_s() + 0.5)) + " ok/s, p99 " +
                    format_ms(p.latency_ns_p99));
  }
  return join(parts, "; ");
}

}  // namespace

std::string render_summary_md(const RunData& run, const Analysis& a) {
  std::ostringstream out;
  std::string verdict = verdict_of(run);
  out << "## faultline: " << markdown_cell(run.results.value("name", std::string("run"))) << " — "
      << verdict_mark(verdict) << "\n\n"
      << markdown_cell(one_line_summary(run, a)) << "\n\n";
  if (std::string notes = verdict_notes_text(run); !notes.empty())
    out << "Unknown: " << markdown_cell(notes) << ".\n\n";
  if (auto undone = left_undone(run); !undone.empty()) {
    out << "**Left undone:**\n\n";
    for (const auto& line : undone) out << "- " << markdown_cell(line) << "\n";
    out << "\n";
  }
  out << "| Guarantee claimed | Observed | What it cost | Not exercised |\n|---|---|---|---|\n";
  std::vector<std::string> gaps;
  for (const auto& n : a.not_exercised) gaps.push_back(n.what);
  for (const auto& check : run.results.value("checks", json::array())) {
    std::string v = check.value("verdict", std::string("unknown"));
    out << "| " << markdown_cell(run.results.value("guarantee", std::string("?"))) << " ("
        << markdown_cell(check.value("checker", std::string("?"))) << ") | "
        << (v == "valid"     ? "held"
            : v == "invalid" ? "**violated**"
                             : "undecided")
        << ": " << markdown_cell(check.value("summary", std::string())) << " | "
        << markdown_cell(cost_cell(a)) << " | "
        << markdown_cell(gaps.empty() ? std::string("—") : join(gaps, "; ")) << " |\n";
  }
  out << "\n| phase | time | ops | ok | fail | info | ok/s | p50 | p95 | p99 "
         "|\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : a.phases) {
    out << "| " << markdown_cell(p.phase) << (p.windows > 0 ? " ×" + std::to_string(p.windows) : "") << " | "
        << format_s(static_cast<std::int64_t>(p.duration_s * 1e9)) << " | " << p.total() << " | "
        << format_percent(p.ok_share()) << " | " << format_percent(p.fail_share()) << " | "
        << format_percent(p.info_share()) << " | " << static_cast<std::int64_t>(p.ok_per_s() + 0.5)
        << " | " << format_ms(p.latency_ns_p50) << " | " << format_ms(p.latency_ns_p95) << " | "
        << format_ms(p.latency_ns_p99) << " |\n";
  }
  out << "\n";
  if (a.anomalies.empty()) {
    out << "No anomalies.\n";
  } else {
    out << "**Anomalies (" << a.anomalies.size() << "):**\n\n";
    for (const auto& shrunk : a.counterexamples) {
      std::vector<std::string> ops;
      for (std::int64_t op : shrunk.ops) ops.push_back(std::to_string(op));
      out << "- " << markdown_cell(shrunk.headline) << " (key " << markdown_code(shrunk.key)
          << ", ops " << join(ops, ", ") << ")\n";
    }
    for (std::size_t i = 0; i < a.anomalies.size() && i < kAnomalyLinesMax; ++i)
      out << "- " << markdown_code(a.anomalies[i].type) << " " << markdown_cell(a.anomalies[i].headline)
          << "\n";
    if (a.anomalies.size() > kAnomalyLinesMax)
      out << "- … and " << a.anomalies.size() - kAnomalyLinesMax << " more in report.html\n";
  }
  out << "\nRun folder: " << markdown_code(run.dir.string())
      << " (report.html, results.json, history.jsonl)  \n"
      << "Reproduce: " << markdown_code(reproduce_command(run)) << "\n";
  return out.str();
}

}  // namespace faultline::report
