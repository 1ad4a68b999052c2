#include "reports/matrix.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/store.h"
#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMatrixSchemaVersion = 1;

int verdict_rank(const std::string& verdict) {
  return verdict == "valid" ? 0 : verdict == "invalid" ? 2 : 1;
}

// One cell of the grid: every seed's run of one combination of axis values, with the figures a
// reviewer compares across cells. Latencies are over ok ops; -1 when no seed had any.
struct CellSummary {
  std::vector<std::string> labels;
  std::vector<const MatrixCellRecord*> seeds;
  std::string verdict = "valid";  // the worst over the seeds (unknown when none ran)
  std::map<std::string, int> verdict_counts;
  std::set<std::string> anomaly_kinds;
  std::int64_t ok = 0, fail = 0, info = 0;
  std::int64_t healthy_p50_ns = -1, healthy_p99_ns = -1;
  std::string worst_fault;  // the fault phase with the lowest availability over the seeds
  double worst_fault_ok_share = 1;
  std::int64_t worst_fault_p99_ns = -1;

  std::int64_t total() const { return ok + fail + info; }
  double ok_share() const { return total() == 0 ? 0 : static_cast<double>(ok) / total(); }
  double fail_share() const { return total() == 0 ? 0 : static_cast<double>(fail) / total(); }
  std::string verdict_text() const {
    int n = static_cast<int>(seeds.size());
    auto count = [&](const std::string& v) {
      auto it = verdict_counts.find(v);
      return it == verdict_counts.end() ? 0 : it->second;
    };
    if (count(verdict) == n) return verdict + (n > 1 ? " (every seed)" : "");
    return std::to_string(count(verdict)) + " of " + std::to_string(n) + " seeds " + verdict;
  }
};

void add_run(CellSummary& cell, const fs::path& run_dir) {
  RunData run = load_run(run_dir);
  Analysis analysis = analyze(run);
  for (const auto& [kind, n] : anomaly_type_counts(run, analysis))
    if (n > 0) cell.anomaly_kinds.insert(kind);
  for (const auto& phase : analysis.phases) {
    cell.ok += phase.ok;
    cell.fail += phase.fail;
    cell.info += phase.info;
    if (phase.phase == "healthy") {
      cell.healthy_p50_ns = std::max(cell.healthy_p50_ns, phase.latency_ns_p50);
      cell.healthy_p99_ns = std::max(cell.healthy_p99_ns, phase.latency_ns_p99);
    } else if (phase.phase.rfind("after ", 0) != 0 && phase.total() > 0 &&
               phase.ok_share() <= cell.worst_fault_ok_share) {
      cell.worst_fault = phase.phase;
      cell.worst_fault_ok_share = phase.ok_share();
      cell.worst_fault_p99_ns = phase.latency_ns_p99;
    }
  }
}

// Reads every cell's run folder. A run folder that cannot be read leaves the cell's figures
// out and its verdict as recorded (unknown unless the runner said otherwise).
std::vector<CellSummary> summarize(const fs::path& dir, const MatrixRecord& record) {
  std::map<std::vector<std::string>, CellSummary> by_labels;
  for (const auto& cell : record.cells) {
    CellSummary& summary = by_labels[cell.labels];
    summary.labels = cell.labels;
    summary.seeds.push_back(&cell);
    ++summary.verdict_counts[cell.verdict];
    if (verdict_rank(cell.verdict) > verdict_rank(summary.verdict))
      summary.verdict = verdict_rank(cell.verdict) == 1 ? "unknown" : cell.verdict;
    if (cell.run_dir.empty()) continue;
    try {
      add_run(summary, dir / cell.run_dir);
    } catch (const std::exception&) {
      // The verdict stays; the figures lack this seed.
    }
  }
  std::vector<CellSummary> out;
  for (auto& [labels, summary] : by_labels) out.push_back(std::move(summary));
  return out;
}

const CellSummary* find_cell(const std::vector<CellSummary>& cells,
                             const std::vector<std::string>& labels) {
  for (const auto& c : cells)
    if (c.labels == labels) return &c;
  return nullptr;
}

// Rows are the combinations of every axis but the last, columns the last axis's values.
std::vector<std::vector<std::string>> row_keys(const MatrixRecord& record) {
  std::vector<std::vector<std::string>> rows = {{}};
  for (std::size_t a = 0; a + 1 < record.axis_labels.size(); ++a) {
    std::vector<std::vector<std::string>> next;
    for (const auto& row : rows)
      for (const auto& label : record.axis_labels[a]) {
        next.push_back(row);
        next.back().push_back(label);
      }
    rows = std::move(next);
  }
  return rows;
}

std::string cell_title(const MatrixRecord& record, const std::vector<std::string>& labels) {
  std::vector<std::string> parts;
  for (std::size_t a = 0; a < labels.size() && a < record.axis_names.size(); ++a)
    parts.push_back(record.axis_names[a] + "=" + labels[a]);
  return join(parts, " ");
}

std::string kinds_text(const CellSummary& cell) {
  std::vector<std::string> kinds(cell.anomaly_kinds.begin(), cell.anomaly_kinds.end());
  return kinds.empty() ? "no anomaly" : join(kinds, ", ");
}

std::string figures_text(const CellSummary& cell) {
  std::string text = "ok " + format_percent(cell.ok_share()) + ", healthy p99 " +
                     format_ms(cell.healthy_p99_ns);
  if (!cell.worst_fault.empty())
    text += "; under " + cell.worst_fault + ": ok " + format_percent(cell.worst_fault_ok_share) +
            ", p99 " + format_ms(cell.worst_fault_p99_ns);
  return text;
}

// The dual of each guarantee: for each value of the first axis, how often it held and what it
// cost, against the axis's last value (list the strongest level first, the weakest last).
struct LevelCost {
  std::string label;
  int cells = 0, held = 0;
  std::int64_t p50_ns = -1, p99_ns = -1;  // the worst healthy figures over its cells
  std::int64_t ok = 0, fail = 0, total = 0;
};

std::vector<LevelCost> level_costs(const MatrixRecord& record, const std::vector<CellSummary>& cells) {
  std::vector<LevelCost> out;
  if (record.axis_labels.empty() || record.axis_labels[0].size() < 2) return out;
  for (const auto& label : record.axis_labels[0]) {
    LevelCost cost{label};
    for (const auto& c : cells) {
      if (c.labels.empty() || c.labels[0] != label) continue;
      ++cost.cells;
      if (c.verdict == "valid") ++cost.held;
      cost.p50_ns = std::max(cost.p50_ns, c.healthy_p50_ns);
      cost.p99_ns = std::max(cost.p99_ns, c.healthy_p99_ns);
      cost.ok += c.ok;
      cost.fail += c.fail;
      cost.total += c.total();
    }
    out.push_back(cost);
  }
  return out;
}

double share(std::int64_t part, std::int64_t total) {
  return total == 0 ? 0 : static_cast<double>(part) / static_cast<double>(total);
}

std::string ratio_text(std::int64_t now, std::int64_t base) {
  if (now <= 0 || base <= 0) return "–";
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << static_cast<double>(now) / static_cast<double>(base) << "×";
  return out.str();
}

std::string verdict_class(const std::string& verdict) {
  return verdict == "valid" ? "valid" : verdict == "invalid" ? "invalid" : "unknown";
}

std::string render_matrix_html(const MatrixRecord& record, const std::vector<CellSummary>& cells) {
  std::ostringstream out;
  out << "<!doctype html><html><head><meta charset=\"utf-8\"><title>" << html_escape(record.name)
      << " — faultline matrix</title><style>"
         "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.5em;"
         "vertical-align:top;text-align:left}.valid{background:#e6f4ea}.invalid{background:#fce8e6}"
         ".unknown{background:#fef7e0}.small{font-size:.85em;color:#555}</style></head><body>\n";
  out << "<h1>Matrix " << html_escape(record.name) << "</h1>\n<p class=\"small\">"
      << html_escape(record.matrix_file) << ", started " << html_escape(record.started_utc) << ", "
      << record.cells.size() << " runs" << (record.finished ? "" : " (did not finish)")
      << "</p>\n";
  const std::string& column_axis = record.axis_names.empty() ? "" : record.axis_names.back();
  out << "<table id=\"grid\"><tr>";
  for (std::size_t a = 0; a + 1 < record.axis_names.size(); ++a)
    out << "<th>" << html_escape(record.axis_names[a]) << "</th>";
  for (const auto& label : record.axis_labels.empty() ? std::vector<std::string>{}
                                                      : record.axis_labels.back())
    out << "<th>" << html_escape(column_axis + " = " + label) << "</th>";
  out << "</tr>\n";
  for (const auto& row : row_keys(record)) {
    out << "<tr>";
    for (const auto& label : row) out << "<th>" << html_escape(label) << "</th>";
    for (const auto& column : record.axis_labels.back()) {
      std::vector<std::string> labels = row;
      labels.push_back(column);
      const CellSummary* cell = find_cell(cells, labels);
      if (cell == nullptr) {
        out << "<td class=\"unknown\">not in this matrix run</td>";
        continue;
      }
      out << "<td class=\"" << verdict_class(cell->verdict) << "\"><b>"
          << html_escape(cell->verdict_text()) << "</b><br>" << html_escape(kinds_text(*cell))
          << "<br><span class=\"small\">" << html_escape(figures_text(*cell)) << "</span><br>";
      for (const auto* seed : cell->seeds) {
        std::string text = "seed " + std::to_string(seed->seed) + ": " + seed->verdict;
        if (seed->run_dir.empty())
          out << "<span class=\"small\">" << html_escape(text) << "</span> ";
        else
          out << "<a class=\"small\" href=\"" << html_escape(seed->run_dir + "/report.html")
              << "\">" << html_escape(text) << "</a> ";
        if (!seed->error.empty())
          out << "<span class=\"small\">(" << html_escape(seed->error) << ")</span>";
      }
      out << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
  auto costs = level_costs(record, cells);
  if (!costs.empty()) {
    const LevelCost& base = costs.back();
    out << "<h2>What each " << html_escape(record.axis_names[0])
        << " cost (the dual), against " << html_escape(base.label) << "</h2>\n"
        << "<table id=\"costs\"><tr><th>" << html_escape(record.axis_names[0])
        << "</th><th>held (valid cells)</th><th>healthy p50</th><th>healthy p99</th>"
           "<th>refused (fail)</th><th>ok ops</th></tr>\n";
    for (const auto& c : costs)
      out << "<tr><th>" << html_escape(c.label) << "</th><td>" << c.held << " of " << c.cells
          << "</td><td>" << format_ms(c.p50_ns) << " (" << ratio_text(c.p50_ns, base.p50_ns)
          << ")</td><td>" << format_ms(c.p99_ns) << " (" << ratio_text(c.p99_ns, base.p99_ns)
          << ")</td><td>" << format_percent(share(c.fail, c.total)) << "</td><td>"
          << format_percent(share(c.ok, c.total)) << "</td></tr>\n";
    out << "</table>\n";
  }
  out << "<h2>Reproduce one cell</h2>\n<ul>";
  for (const auto& cell : record.cells)
    out << "<li>" << html_escape(cell_title(record, cell.labels)) << " seed " << cell.seed
        << ": <code>" << html_escape(cell.command) << "</code></li>\n";
  out << "</ul></body></html>\n";
  return out.str();
}

std::string render_matrix_md(const MatrixRecord& record, const std::vector<CellSummary>& cells) {
  std::ostringstream out;
  out << "## faultline matrix " << markdown_cell(record.name) << "\n\n"
      << record.cells.size() << " runs" << (record.finished ? "" : " (the matrix did not finish)")
      << ".\n\n| ";
  for (std::size_t a = 0; a + 1 < record.axis_names.size(); ++a)
    out << markdown_cell(record.axis_names[a]) << " | ";
  for (const auto& label : record.axis_labels.back())
    out << markdown_cell(record.axis_names.back() + " = " + label) << " | ";
  out << "\n|";
  for (std::size_t i = 0; i + 1 < record.axis_names.size() + record.axis_labels.back().size(); ++i)
    out << "---|";
  out << "\n";
  for (const auto& row : row_keys(record)) {
    out << "| ";
    for (const auto& label : row) out << markdown_cell(label) << " | ";
    for (const auto& column : record.axis_labels.back()) {
      std::vector<std::string> labels = row;
      labels.push_back(column);
      const CellSummary* cell = find_cell(cells, labels);
      out << (cell == nullptr ? "not run"
                              : "**" + markdown_cell(cell->verdict_text()) + "** " +
                                    markdown_cell(kinds_text(*cell)) + "; " +
                                    markdown_cell(figures_text(*cell)))
          << " | ";
    }
    out << "\n";
  }
  return out.str();
}

std::string render_matrix_junit(const MatrixRecord& record, const std::vector<CellSummary>& cells) {
  std::ostringstream cases;
  int failures = 0, errors = 0;
  std::string suite = "faultline.matrix." + record.name;
  for (const auto& cell : cells) {
    double time_s = 0;
    std::string runs;
    for (const auto* seed : cell.seeds) {
      time_s += seed->elapsed_s;
      runs += "seed " + std::to_string(seed->seed) + ": " + seed->verdict +
              (seed->error.empty() ? "" : " (" + seed->error + ")") + "; reproduce: " +
              seed->command + "\n";
    }
    cases << "    <testcase classname=\"" << html_escape(suite) << "\" name=\""
          << html_escape(cell_title(record, cell.labels)) << "\" time=\"" << time_s << "\">\n";
    if (cell.verdict != "valid") {
      std::string element = cell.verdict == "invalid" ? "failure" : "error";
      (cell.verdict == "invalid" ? failures : errors)++;
      cases << "      <" << element << " type=\"" << cell.verdict << "\" message=\""
            << html_escape(cell.verdict_text() + ": " + kinds_text(cell)) << "\">"
            << html_escape(runs) << "</" << element << ">\n";
    }
    cases << "    </testcase>\n";
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"faultline\" tests=\""
      << cells.size() << "\" failures=\"" << failures << "\" errors=\"" << errors << "\">\n"
      << "  <testsuite name=\"" << html_escape(suite) << "\" tests=\"" << cells.size()
      << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" skipped=\"0\">\n"
      << cases.str() << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

json to_json(const MatrixCellRecord& c) {
  return {{"labels", c.labels}, {"seed", c.seed},         {"run_dir", c.run_dir},
          {"verdict", c.verdict}, {"error", c.error},     {"elapsed_s", c.elapsed_s},
          {"command", c.command}};
}

MatrixCellRecord cell_from_json(const json& o) {
  MatrixCellRecord c;
  c.labels = o.value("labels", std::vector<std::string>{});
  c.seed = o.value("seed", std::uint64_t{0});
  c.run_dir = o.value("run_dir", std::string());
  c.verdict = o.value("verdict", std::string("unknown"));
  c.error = o.value("error", std::string());
  c.elapsed_s = o.value("elapsed_s", 0.0);
  c.command = o.value("command", std::string());
  return c;
}

std::string cell_key(const MatrixCellRecord& cell) {
  return join(cell.labels, " / ") + " seed " + std::to_string(cell.seed);
}

}  // namespace

void write_matrix_record(const fs::path& matrix_dir, const MatrixRecord& r) {
  json cells = json::array();
  for (const auto& c : r.cells) cells.push_back(to_json(c));
  json out = {{"schema_version", kMatrixSchemaVersion},
              {"name", r.name},
              {"matrix_file", r.matrix_file},
              {"started_utc", r.started_utc},
              {"axis_names", r.axis_names},
              {"axis_labels", r.axis_labels},
              {"seeds", r.seeds},
              {"cells", cells},
              {"finished", r.finished}};
  write_file(matrix_dir / "matrix.json", out.dump(2) + "\n");
}

std::optional<MatrixRecord> read_matrix_record(const fs::path& matrix_dir) {
  std::ifstream in(matrix_dir / "matrix.json");
  if (!in) return std::nullopt;
  json o = json::parse(in, nullptr, false);
  if (!o.is_object() || !o.contains("cells")) return std::nullopt;
  MatrixRecord r;
  r.name = o.value("name", std::string());
  r.matrix_file = o.value("matrix_file", std::string());
  r.started_utc = o.value("started_utc", std::string());
  r.axis_names = o.value("axis_names", std::vector<std::string>{});
  r.axis_labels = o.value("axis_labels", std::vector<std::vector<std::string>>{});
  r.seeds = o.value("seeds", std::vector<std::uint64_t>{});
  for (const auto& c : o["cells"]) r.cells.push_back(cell_from_json(c));
  r.finished = o.value("finished", false);
  if (r.axis_names.empty() || r.axis_names.size() != r.axis_labels.size()) return std::nullopt;
  return r;
}

std::vector<fs::path> write_matrix_reports(const fs::path& matrix_dir) {
  auto record = read_matrix_record(matrix_dir);
  if (!record) throw RunDirError(matrix_dir.string() + ": no readable matrix.json");
  auto cells = summarize(matrix_dir, *record);
  std::vector<fs::path> written = {matrix_dir / "matrix.html", matrix_dir / "matrix.md",
                                   matrix_dir / "junit.xml"};
  write_file(written[0], render_matrix_html(*record, cells));
  write_file(written[1], render_matrix_md(*record, cells));
  write_file(written[2], render_matrix_junit(*record, cells));
  return written;
}

Comparison compare_matrices(const fs::path& matrix_dir, const fs::path& baseline_dir,
                            const CompareOptions& options) {
  auto now = read_matrix_record(matrix_dir), base = read_matrix_record(baseline_dir);
  if (!now) throw RunDirError(matrix_dir.string() + ": no readable matrix.json");
  if (!base) throw RunDirError(baseline_dir.string() + ": no readable matrix.json");
  std::map<std::string, const MatrixCellRecord*> current;
  for (const auto& c : now->cells) current[cell_key(c)] = &c;
  Comparison out;
  for (const auto& b : base->cells) {
    std::string key = cell_key(b);
    auto it = current.find(key);
    if (it == current.end() || it->second->run_dir.empty()) {
      std::string what = it == current.end() ? "missing" : "did not run (" + it->second->error + ")";
      (b.run_dir.empty() ? out.notes : out.worse).push_back(key + ": " + what);
      continue;
    }
    if (b.run_dir.empty()) {
      out.notes.push_back(key + ": not in the baseline's runs; nothing to compare");
      continue;
    }
    Comparison cell = compare_runs(load_run(matrix_dir / it->second->run_dir),
                                   load_run(baseline_dir / b.run_dir), options);
    for (const auto& line : cell.worse) out.worse.push_back(key + ": " + line);
    for (const auto& line : cell.notes) out.notes.push_back(key + ": " + line);
  }
  return out;
}

}  // namespace faultline::report
