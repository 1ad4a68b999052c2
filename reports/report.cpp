#include "reports/report.h"

#include "core/store.h"
#include "reports/render.h"

namespace faultline::report {

std::vector<std::filesystem::path> write_run_reports(const std::filesystem::path& run_dir) {
  return write_run_reports(load_run(run_dir));
}

std::vector<std::filesystem::path> write_run_reports(const RunData& run) {
  Analysis analysis = analyze(run);
  std::vector<std::filesystem::path> written{run.dir / "report.html", run.dir / "summary.md",
                                             run.dir / "junit.xml"};
  write_file(written[0], render_html(run, analysis));
  write_file(written[1], render_summary_md(run, analysis));
  write_file(written[2], render_junit(run, analysis));
  return written;
}

}  // namespace faultline::report

namespace faultline::report {

namespace {

// Runs `write` and describes what it wrote, or why it could not.
template <class Write>
std::string reports_line(Write&& write) noexcept {
  try {
    auto written = write();
    std::string line = "reports: " + written[0].string();
    for (std::size_t i = 1; i < written.size(); ++i) line += ", " + written[i].filename().string();
    return line;
  } catch (const std::exception& e) {
    return std::string("reports not written: ") + e.what();
  }
}

}  // namespace

std::string write_run_reports_line(const std::filesystem::path& run_dir) noexcept {
  return reports_line([&] { return write_run_reports(run_dir); });
}

std::string write_run_reports_line(const RunData& run) noexcept {
  return reports_line([&] { return write_run_reports(run); });
}

}  // namespace faultline::report
