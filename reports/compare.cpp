#include "reports/compare.h"

#include <cstdio>
#include <map>

#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {
namespace {

int verdict_rank(const std::string& verdict) {
  return verdict == "valid" ? 0 : verdict == "invalid" ? 2 : 1;
}

std::string signed_number(double value, const char* unit) {
  char text[48];
  std::snprintf(text, sizeof text, "%+.1f%s", value, unit);
  return text;
}

void compare_phase(const PhaseFigures& now, const PhaseFigures& base, const CompareOptions& options,
                   Comparison& out) {
  std::string where = now.phase == "healthy" ? "when healthy" : "under " + now.phase;
  if (now.total() > 0 && base.total() > 0) {
    double drop_pts = (base.ok_share() - now.ok_share()) * 100;
    std::string line = "availability " + where + ": ok " + format_percent(now.ok_share()) + " vs " +
                       format_percent(base.ok_share()) + " (" +
                       signed_number(-drop_pts, " points") + ")";
    (drop_pts > options.availability_threshold_pts ? out.worse : out.notes).push_back(line);
  }
  if (now.latency_ns_p99 > 0 && base.latency_ns_p99 > 0) {
    double growth_pct =
        (static_cast<double>(now.latency_ns_p99) / static_cast<double>(base.latency_ns_p99) - 1) *
        100;
    std::string line = "p99 latency " + where + ": " + format_ms(now.latency_ns_p99) + " vs " +
                       format_ms(base.latency_ns_p99) + " (" + signed_number(growth_pct, "%") + ")";
    (growth_pct > options.p99_threshold_pct ? out.worse : out.notes).push_back(line);
  }
}

// Schema 1 results carry no typed anomalies: comparing anomaly types would report them gone.
void require_current_schema(const RunData& run) {
  int schema = run.results.value("schema_version", 1);
  if (schema < kResultsSchemaVersion)
    throw RunDirError(run.dir.string() + ": results.json is schema " + std::to_string(schema) +
                      ", too old to compare (written before anomalies were recorded typed); run "
                      "`faultline analyze " + run.dir.string() + "` to re-grade it, then compare");
}

}  // namespace

Comparison compare_runs(const RunData& run, const RunData& baseline,
                        const CompareOptions& options) {
  require_current_schema(run);
  require_current_schema(baseline);
  Comparison out;
  Analysis now = analyze(run), base = analyze(baseline);
  std::string name = run.results.value("name", std::string()),
              base_name = baseline.results.value("name", std::string());
  if (name != base_name)
    out.notes.push_back("different tests: " + name + " vs baseline " + base_name);
  std::string v = verdict_of(run), bv = verdict_of(baseline);
  (verdict_rank(v) > verdict_rank(bv) ? out.worse : out.notes)
      .push_back("verdict: " + v + " (baseline " + bv + ")");
  auto types = anomaly_type_counts(run, now), base_types = anomaly_type_counts(baseline, base);
  for (const auto& [type, n] : types)
    if (!base_types.contains(type))
      out.worse.push_back("new anomaly type: " + type + " ×" + std::to_string(n));
  for (const auto& [type, n] : base_types)
    if (!types.contains(type)) out.notes.push_back("anomaly type gone: " + type);
  for (const auto& p : now.phases) {
    const PhaseFigures* b = find_phase(base, p.phase);
    if (b == nullptr)
      out.notes.push_back("no baseline for " + p.phase + " (the baseline injected none)");
    else
      compare_phase(p, *b, options, out);
  }
  for (const auto& b : base.phases)
    if (find_phase(now, b.phase) == nullptr)
      out.notes.push_back(b.phase +
                          " faults ran in the baseline but not in this run: not compared");
  return out;
}

std::string describe(const Comparison& c) {
  std::string text = c.regressed()
                         ? "regression: " + std::to_string(c.worse.size()) + " thing(s) got worse\n"
                         : "no regression\n";
  for (const auto& line : c.worse) text += "  worse: " + line + "\n";
  for (const auto& line : c.notes) text += "  note:  " + line + "\n";
  return text;
}

}  // namespace faultline::report
