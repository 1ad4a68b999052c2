#include "reports/report.h"

#include "harness/store.h"
#include "reports/render.h"

namespace faultline::report {

std::vector<std::filesystem::path> write_run_reports(const std::filesystem::path& run_dir) {
  RunData run = load_run(run_dir);
  Analysis analysis = analyze(run);
  std::vector<std::filesystem::path> written{run_dir / "report.html", run_dir / "summary.md", run_dir / "junit.xml"};
  write_file(written[0], render_html(run, analysis));
  write_file(written[1], render_summary_md(run, analysis));
  write_file(written[2], render_junit(run, analysis));
  return written;
}

}  // namespace faultline::report

namespace faultline::report {

std::string write_run_reports_line(const std::filesystem::path& run_dir) noexcept {
  try {
    auto written = write_run_reports(run_dir);
    std::string line = "reports: " + written[0].string();
    for (std::size_t i = 1; i < written.size(); ++i) line += ", " + written[i].filename().string();
    return line;
  } catch (const std::exception& e) {
    return std::string("reports not written: ") + e.what();
  }
}

}  // namespace faultline::report
