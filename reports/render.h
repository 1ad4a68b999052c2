// The report writers: one function per output file, each a pure function of the run's data and
// its analysis. write_run_reports (reports/report.h) calls them and writes the files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reports/analysis.h"

namespace faultline::report {

std::string render_html(const RunData& run, const Analysis& analysis);
std::string render_summary_md(const RunData& run, const Analysis& analysis);
std::string render_junit(const RunData& run, const Analysis& analysis);

// Pieces shared by the writers.
std::string verdict_of(const RunData& run);         // "valid", "invalid", "unknown"
// Why the verdict was capped at unknown (results.json verdict_notes), joined; empty if it was not.
std::string verdict_notes_text(const RunData& run);
// What the run left undone (results.json not_healed, not_cleaned): one line each, "not healed:
// partition …: n3 (…) is not answering: …", "not cleaned: n3 …"; empty when nothing.
std::vector<std::string> left_undone(const RunData& run);
// "faultline run <dir>/spec.yaml --seed N", shell-quoted: safe to paste whatever the names.
std::string reproduce_command(const RunData& run);
std::string one_line_summary(const RunData& run, const Analysis& analysis);
// Anomaly type -> count, over every check (Elle's anomaly_counts, linearizable failures by f).
std::map<std::string, std::int64_t> anomaly_type_counts(const RunData& run,
                                                        const Analysis& analysis);

}  // namespace faultline::report
