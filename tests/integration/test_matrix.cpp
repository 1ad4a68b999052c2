// `faultline matrix` end to end on real etcd: a 2 × 2 matrix of short cells (read mode × fault),
// its three reports (matrix.html loaded in headless Chromium), compare against itself (exit 0)
// and against a planted regression (exit 1).
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;

TEST_CASE("matrix: read modes x faults on etcd, its reports, and compare against a baseline") {
  TempDir dir;
  std::string rules_before = host_iptables();
  std::filesystem::copy_file(FAULTLINE_SOURCE_DIR "/examples/etcd-register.yaml",
                             dir.path() / "etcd-register.yaml");
  std::string matrix = dir.write("matrix.yaml", R"(name: it-matrix
spec: etcd-register.yaml
seeds: [7]
time_limit_s: 6
axes:
  - name: read
    set: target.read
    values: [linearizable, serializable]
  - name: fault
    set: nemesis
    values:
      - { label: partition, value: { faults: [partition], interval_s: 2 } }
      - { label: pause, value: { faults: [pause], interval_s: 2 } }
)");
  REQUIRE(run_faultline({"validate", matrix}).exit_code == 0);
  std::filesystem::path store = dir.path() / "store";
  Output out = run_faultline({"matrix", matrix, "--store", store.string(), "--quiet"});
  INFO(out.text);
  CHECK((out.exit_code == 0 || out.exit_code == 1));
  CHECK(contains(out.text, "matrix 4/4"));
  std::filesystem::path mdir = std::filesystem::canonical(store / "latest");
  nlohmann::json record = read_json(mdir / "matrix.json");
  CHECK(record["finished"] == true);
  REQUIRE(record["cells"].size() == 4);
  for (const auto& cell : record["cells"]) {
    INFO(cell.dump());
    CHECK(cell["error"] == "");
    CHECK(std::filesystem::exists(mdir / cell["run_dir"].get<std::string>() / "report.html"));
    CHECK(cell["verdict"] != "unknown");
  }
  // Linearizable reads stay linearizable whatever the fault.
  CHECK(record["cells"][0]["verdict"] == "valid");
  CHECK(record["cells"][1]["verdict"] == "valid");

  std::string html = slurp(mdir / "matrix.html");
  CHECK(contains(html, "id=\"grid\""));
  CHECK(contains(html, "id=\"costs\""));
  CHECK(contains(html, "fault = pause"));
  CHECK(contains(html, "/report.html\""));
  CHECK(contains(slurp(mdir / "matrix.md"), "| linearizable |"));
  CHECK(contains(slurp(mdir / "junit.xml"), "name=\"read=serializable fault=pause\""));
  if (!chromium_path().empty()) {
    Output dom = chromium(mdir / "matrix.html", {"--dump-dom"});
    CHECK(dom.exit_code == 0);
    CHECK(contains(dom.text, "id=\"costs\""));
    CHECK(lines_containing(dom.text, ":CONSOLE").empty());
  }

  // Against itself nothing got worse; a planted invalid verdict in a copy is a regression.
  Output same = run_faultline({"compare", mdir.string(), mdir.string()});
  INFO(same.text);
  CHECK(same.exit_code == 0);
  std::filesystem::path planted = dir.path() / "planted";
  std::filesystem::copy(mdir, planted, std::filesystem::copy_options::recursive);
  std::filesystem::path cell_results =
      planted / record["cells"][0]["run_dir"].get<std::string>() / "results.json";
  nlohmann::json results = read_json(cell_results);
  results["verdict"] = "invalid";
  std::ofstream(cell_results) << results.dump(2);
  Output worse = run_faultline({"compare", planted.string(), mdir.string()});
  INFO(worse.text);
  CHECK(worse.exit_code == 1);
  CHECK(contains(worse.text, "linearizable / partition seed 7: "));
  CHECK(host_iptables() == rules_before);
  CHECK(lines_containing(run_program("ip", {"netns", "list"}).text, "fl").empty());
}
