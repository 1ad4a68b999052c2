// A real PostgreSQL 15 in a network namespace, driven with Elle-style list-append txns at each
// isolation level through the example specs (shortened with --time-limit), checked for real.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kTimeLimit = "15";

std::string example(const std::string& level) {
  return FAULTLINE_SOURCE_DIR "/examples/postgres-append-" + level + ".yaml";
}

// Processes of the run's PostgreSQL: the postmaster and every backend run in its data folder,
// /tmp/faultline-pg-<run id>/data (their command lines do not all name it).
std::string postgres_processes(const std::string& run_id) {
  std::string found;
  std::string prefix = "/tmp/faultline-pg-" + run_id;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_error;
    std::string cwd = std::filesystem::read_symlink(e.path() / "cwd", link_error).string();
    if (!link_error && cwd.rfind(prefix, 0) == 0) found += pid + " " + cwd + "\n";
  }
  return found;
}

// Nothing of the run is left: the support's per-run checks (namespaces, links, journal, host
// iptables), plus what is PostgreSQL's own: its processes and its data folder in /tmp.
void require_postgres_run_clean(const std::string& run_id, const std::filesystem::path& root,
                                const std::string& host_rules_before) {
  REQUIRE(run_id.size() == 6);
  INFO("run id " << run_id);
  HostState after = run_leftovers(run_id, root);
  CHECK(after.namespaces.empty());
  CHECK(after.links.empty());
  CHECK(after.servers.empty());
  CHECK(after.journal.empty());
  CHECK(after.host_iptables == host_rules_before);
  CHECK(postgres_processes(run_id).empty());
  CHECK(!std::filesystem::exists("/tmp/faultline-pg-" + run_id));
}

struct PgRun {
  std::string host_rules_before = host_iptables();
  Output output;
  std::filesystem::path run_dir;
  json results;
  json check;  // the Elle check's result
  std::string run_id;
};

PgRun run_example(const TempDir& dir, const std::string& level) {
  PgRun r;
  r.output = run_faultline({"run", example(level), "--time-limit", kTimeLimit, "--store",
                            (dir.path() / "store").string()});
  r.run_dir = std::filesystem::canonical(dir.path() / "store" / "latest");
  r.results = read_json(r.run_dir / "results.json");
  r.check = r.results["checks"][0];
  r.run_id = r.results.value("run_id", "");
  return r;
}

bool contains(const json& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

TEST_CASE("postgres: serializable list-append is serializable") {
  TempDir dir;
  PgRun run = run_example(dir, "serializable");
  INFO(run.output.text);
  CHECK(run.output.exit_code == 0);
  CHECK(run.results["verdict"] == "valid");
  CHECK(run.check["checker"].get<std::string>().find("list-append") != std::string::npos);
  CHECK(run.check["model"] == "serializable");
  CHECK(run.check["details"]["anomaly_types"].empty());
  CHECK(run.results["stats"]["ok_ops"].get<int>() > 500);
  CHECK(run.results["stats"]["fail_ops"].get<int>() > 0);  // serialization failures
  CHECK(run.results["target"]["version"].get<std::string>().find("PostgreSQL 15") != std::string::npos);
  CHECK(std::filesystem::file_size(run.run_dir / "nodes" / "n1" / "postgres.log") > 0);
  require_postgres_run_clean(run.run_id, dir.path(), run.host_rules_before);
}

TEST_CASE("postgres: repeatable read is snapshot isolation: G2-item, never G1 or G-single") {
  TempDir dir;
  PgRun run = run_example(dir, "repeatable-read");
  INFO(run.output.text);
  INFO(run.check.dump(1).substr(0, 4000));
  CHECK(run.output.exit_code == 1);
  CHECK(run.results["verdict"] == "invalid");
  const json& details = run.check["details"];
  CHECK(contains(details["anomaly_types"], "G2-item"));
  for (const char* forbidden_by_si : {"G0", "G1a", "G1b", "G1c", "G-single", "G-nonadjacent",
                                      "lost-update", "internal", "dirty-update"})
    CHECK_FALSE(contains(details["anomaly_types"], forbidden_by_si));
  CHECK(contains(details["not"], "repeatable-read"));
  std::string strongest = details["strongest_satisfied"].dump();
  CHECK(strongest.find("snapshot-isolation") != std::string::npos);
  require_postgres_run_clean(run.run_id, dir.path(), run.host_rules_before);
}

TEST_CASE("postgres: read committed is read committed; host clean after") {
  TempDir dir;
  PgRun run = run_example(dir, "read-committed");
  INFO(run.output.text);
  INFO(run.check.dump(1).substr(0, 4000));
  CHECK(run.output.exit_code == 0);
  CHECK(run.results["verdict"] == "valid");
  const json& details = run.check["details"];
  for (const char* forbidden_by_rc : {"G0", "G1a", "G1b", "G1c", "dirty-update"})
    CHECK_FALSE(contains(details["anomaly_types"], forbidden_by_rc));
  CHECK(contains(details["not"], "repeatable-read"));  // RC allows G-single / G2-item: seen
  require_postgres_run_clean(run.run_id, dir.path(), run.host_rules_before);
}

TEST_CASE("postgres: a SIGKILLed run takes its server along; clean removes the rest") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN,
                    bp::args({"run", example("serializable"), "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  auto history_path = store / "latest" / "history.jsonl";
  REQUIRE(eventually(60s, [&] {
    return std::filesystem::exists(history_path) && slurp(history_path).size() > 10000;
  }));
  std::string run_id = run_id_of(std::filesystem::canonical(store / "latest"));
  REQUIRE(!run_id.empty());
  CHECK(std::filesystem::exists("/tmp/faultline-pg-" + run_id));
  CHECK(!postgres_processes(run_id).empty());
  ::kill(harness.id(), SIGKILL);
  harness.wait();
  // The postmaster dies with the harness (setpriv --pdeathsig keep), its backends with it.
  CHECK(eventually(10s, [&] { return postgres_processes(run_id).empty(); }));
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  require_postgres_run_clean(run_id, dir.path(), rules_before);
}
