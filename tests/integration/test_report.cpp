// The reports of real runs: a valid 3-node etcd run and the stale-reads example, each report.html
// loaded in headless Chromium (no script errors, every section drawn, a screenshot saved into
// the run folder), plus `faultline analyze` and `faultline compare` on those runs.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;

namespace {

// The page's own scripts ran to the end and drew every chart; nothing was logged as an error.
void check_in_browser(const std::filesystem::path& run_dir) {
  if (chromium_path().empty()) {
    WARN("chromium is not installed (scripts/install-deps.sh installs it): browser checks skipped");
    return;
  }
  Output dom = chromium(run_dir / "report.html", {"--dump-dom"});
  INFO(dom.text.substr(0, 4000));
  CHECK(dom.exit_code == 0);
  CHECK(contains(dom.text, "data-charts=\"drawn\""));
  CHECK(contains(dom.text, "class=\"uplot"));  // uPlot built both charts
  // Chromium logs every console message and uncaught exception as a ":CONSOLE" line; the page
  // logs nothing when all is well.
  CHECK(lines_containing(dom.text, ":CONSOLE").empty());
  Output shot =
      chromium(run_dir / "report.html", {"--screenshot=" + (run_dir / "report.png").string(),
                                         "--window-size=1280,2400", "--hide-scrollbars"});
  INFO(shot.text);
  CHECK(std::filesystem::exists(run_dir / "report.png"));
  CHECK(std::filesystem::file_size(run_dir / "report.png") > 20000);
}

void check_report_files(const std::filesystem::path& run_dir, const std::string& verdict) {
  std::string html = slurp(run_dir / "report.html");
  CHECK(contains(html, "<body class=\"verdict-" + verdict + "\">"));
  CHECK(contains(html, "id=\"dual\""));
  CHECK(contains(html, "partition ×"));
  CHECK(contains(html, "--seed "));
  CHECK(std::filesystem::file_size(run_dir / "report.html") < 3'000'000);
  CHECK(contains(slurp(run_dir / "summary.md"), verdict));
  CHECK(contains(slurp(run_dir / "junit.xml"), "<testcase classname="));
}

// Where the test keeps its run folders: FAULTLINE_REPORT_STORE if set (to look at them after),
// else a temporary folder.
std::filesystem::path store_in(const TempDir& dir) {
  const char* keep = std::getenv("FAULTLINE_REPORT_STORE");
  return keep != nullptr ? std::filesystem::path(keep) : dir.path() / "store";
}

}  // namespace

TEST_CASE("report: a real etcd run and the stale-reads example get readable reports") {
  TempDir dir;
  std::filesystem::path store = store_in(dir);
  std::string spec = dir.write("spec.yaml",
                               "name: it-report\n"
                               "target:   { system: etcd, nodes: 3, read: linearizable }\n"
                               "workload: { name: register, keys: 4 }\n"
                               "clients:  { concurrency: 6, rate_per_s: 150, timeout_ms: 1000 }\n"
                               "nemesis:  { faults: [partition], interval_s: 3 }\n"
                               "time_limit_s: 15\n"
                               "seed: 7\n");
  Output valid = run_faultline({"run", spec, "--store", store.string()});
  INFO(valid.text);
  REQUIRE(valid.exit_code == 0);
  CHECK(contains(valid.text, "reports: "));
  std::filesystem::path valid_dir = std::filesystem::canonical(store / "latest");
  check_report_files(valid_dir, "valid");
  check_in_browser(valid_dir);

  Output stale =
      run_faultline({"run", FAULTLINE_SOURCE_DIR "/examples/etcd-register-stale-reads.yaml",
                     "--store", store.string()});
  INFO(stale.text);
  REQUIRE(stale.exit_code == 1);
  std::filesystem::path stale_dir = std::filesystem::canonical(store / "latest");
  check_report_files(stale_dir, "invalid");
  std::string html = slurp(stale_dir / "report.html");
  CHECK(contains(html, "<svg class=\"anomaly-timeline\""));
  CHECK(contains(html, "nonlinearizable-"));
  CHECK(contains(slurp(stale_dir / "junit.xml"), "<failure type=\"invalid\""));
  check_in_browser(stale_dir);

  // analyze re-checks the stored history and exits with the verdict.
  Output analyzed = run_faultline({"analyze", stale_dir.string()});
  INFO(analyzed.text);
  CHECK(analyzed.exit_code == 1);
  CHECK(contains(analyzed.text, "verdict: invalid"));
  nlohmann::json reanalyzed = read_json(stale_dir / "results.json");
  CHECK(reanalyzed["verdict"] == "invalid");
  // The server version comes from the run record, not the system name.
  CHECK(reanalyzed["target"]["version"].get<std::string>().rfind("etcd 3.", 0) == 0);

  // compare: the stale-reads run regressed against the valid one, not against itself.
  Output compared = run_faultline({"compare", stale_dir.string(), valid_dir.string()});
  INFO(compared.text);
  CHECK(compared.exit_code == 1);
  CHECK(contains(compared.text, "worse: verdict: invalid (baseline valid)"));
  CHECK(contains(compared.text, "worse: new anomaly type: nonlinearizable-"));
  CHECK(run_faultline({"compare", valid_dir.string(), valid_dir.string()}).exit_code == 0);
  CHECK(run_faultline({"analyze", (dir.path() / "nothing").string()}).exit_code == 254);
}
