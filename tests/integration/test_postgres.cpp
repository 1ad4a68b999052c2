// A real PostgreSQL 15 in a network namespace, driven with Elle-style list-append txns at each
// isolation level through the example specs (shortened with --time-limit), checked for real.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

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

bool contains(const json& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

struct PgRun {
  std::shared_ptr<TempDir> dir = std::make_shared<TempDir>();  // kept while the run is looked at
  std::filesystem::path run_dir;
  json results;
  json details;  // the Elle check's
};

struct Expected {
  int exit_code = 0;
  std::string verdict;
  std::vector<std::string> found_any;  // at least one of them found (none listed: no demand)
  std::vector<std::string> not_found;  // forbidden at the level run: a false alarm if found
  std::string ruled_out;               // a model expected in details.not ("": none)
};

// Runs the example spec of `level` (shortened), grades its results against `expected`, and
// checks that the run left nothing behind.
PgRun run_example(const std::string& level, const Expected& expected) {
  PgRun r;
  std::string rules_before = host_iptables();
  Output output = run_faultline({"run", example(level), "--time-limit", kTimeLimit, "--store",
                                 (r.dir->path() / "store").string()});
  INFO(output.text);
  r.run_dir = std::filesystem::canonical(r.dir->path() / "store" / "latest");
  r.results = read_json(r.run_dir / "results.json");
  r.details = r.results["checks"][0]["details"];
  INFO(r.results["checks"][0].dump(1).substr(0, 4000));
  CHECK(output.exit_code == expected.exit_code);
  CHECK(r.results["verdict"] == expected.verdict);
  CHECK(r.details["claim"] == level);
  const json& found = r.details["anomaly_types"];
  if (!expected.found_any.empty())
    CHECK(std::any_of(expected.found_any.begin(), expected.found_any.end(),
                      [&](const std::string& a) { return contains(found, a); }));
  for (const std::string& anomaly : expected.not_found) {
    INFO(anomaly << " found: " << r.details["anomalies"].value(anomaly, json()).dump().substr(0, 2000));
    CHECK_FALSE(contains(found, anomaly));
  }
  if (expected.ruled_out.empty())
    CHECK(r.details["not"].empty());
  else
    CHECK(contains(r.details["not"], expected.ruled_out));
  require_postgres_run_clean(r.results.value("run_id", ""), r.dir->path(), rules_before);
  return r;
}

}  // namespace

TEST_CASE("postgres: serializable list-append is serializable") {
  PgRun run = run_example("serializable", {0, "valid", {}, {}, ""});
  CHECK(run.results["checks"][0]["checker"] == "elle-list-append");
  CHECK(run.details["anomaly_types"].empty());
  CHECK(run.results["stats"]["ok_ops"].get<int>() > 500);
  CHECK(run.results["stats"]["fail_ops"].get<int>() > 0);  // serialization failures
  CHECK(run.results["target"]["version"].get<std::string>().find("PostgreSQL 15") != std::string::npos);
  CHECK(std::filesystem::file_size(run.run_dir / "nodes" / "n1" / "postgres.log") > 0);
}

TEST_CASE("postgres: repeatable read is snapshot isolation: G2-item, never G1 or G-single") {
  PgRun run = run_example("repeatable-read",
                          {1, "invalid", {"G2-item"},
                           {"G0", "G1a", "G1b", "G1c", "G-single", "G-nonadjacent", "lost-update",
                            "internal", "dirty-update"},
                           "repeatable-read"});
  CHECK(contains(run.details["anomaly_types"], "G2-item"));
  CHECK(run.details["strongest_satisfied"].dump().find("snapshot-isolation") != std::string::npos);
}

TEST_CASE("postgres: read committed is read committed, with the anomalies it allows seen") {
  // G-single and G2-item are allowed at read committed: seen, they rule out repeatable read.
  run_example("read-committed", {0, "valid", {"G-single", "G2-item"},
                                 {"G0", "G1a", "G1b", "G1c", "dirty-update"}, "repeatable-read"});
}

TEST_CASE("postgres: a SIGKILLed run takes its server along, clean removes the rest") {
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

namespace {

// A one-node PostgreSQL set spec: `target_extra` adds target options, `timeline` the faults.
std::string pg_set_spec(const std::string& target_extra, const std::string& timeline, int seconds) {
  return "name: pg-set\n"
         "target: { system: postgres, nodes: 1" + target_extra + " }\n"
         "workload: { name: set }\n"
         "clients: { concurrency: 6, rate_per_s: 400, timeout_ms: 1000 }\n"
         "nemesis: " + timeline + "\n"
         "time_limit_s: " + std::to_string(seconds) + "\n";
}

// Client ops of `history` completed ok whose invocation lies in [from_ns, to_ns).
int ok_ops_invoked_between(const History& history, std::int64_t from_ns, std::int64_t to_ns) {
  std::map<std::int64_t, std::int64_t> invoked_at;  // process → time of its open invocation
  int ok = 0;
  for (const Op& op : history) {
    if (op.is_nemesis()) continue;
    if (op.type == OpType::invoke) {
      invoked_at[op.process] = op.time_ns;
    } else if (op.type == OpType::ok) {
      std::int64_t t = invoked_at[op.process];
      ok += t >= from_ns && t < to_ns;
    }
  }
  return ok;
}

// The time of the info entry of nemesis action `f` (its n-th, from 0).
std::int64_t nemesis_time_ns(const RunResult& r, const std::string& f, std::size_t n = 0) {
  auto infos = nemesis_infos(r.dir / "history.jsonl", f);
  REQUIRE(infos.size() > n);
  return infos[n]["time_ns"].get<std::int64_t>();
}

}  // namespace

TEST_CASE("postgres: kill -9 of the server and restart keep every acknowledged commit") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/postgres-set-kill.yaml"));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  const json& details = r.results["checks"][0]["details"];
  INFO(details.dump());
  CHECK(details["lost_count"] == 0);
  CHECK(details["acknowledged"].get<int>() > 1000);
  auto kills = nemesis_infos(r.dir / "history.jsonl", "start-kill");
  auto restarts = nemesis_infos(r.dir / "history.jsonl", "stop-kill");
  REQUIRE(kills.size() == 2);
  REQUIRE(restarts.size() == 2);
  CHECK(kills[0]["value"]["killed"]["n1"].size() == 1);
  CHECK(restarts[0]["value"]["restarted"]["n1"].size() == 1);
  // Killed: nothing commits while it is down; restarted: WAL recovery ran, and it serves again.
  std::int64_t down = nemesis_time_ns(r, "start-kill"), up = nemesis_time_ns(r, "stop-kill");
  CHECK(ok_ops_invoked_between(r.history, down + 200'000'000, up) == 0);
  CHECK(ok_ops_invoked_between(r.history, up, nemesis_time_ns(r, "start-kill", 1)) > 100);
  std::string log = slurp(r.dir / "nodes" / "n1" / "postgres.log");
  CHECK(log.find("database system was interrupted") != std::string::npos);
  CHECK(log.find("redo done") != std::string::npos);
  require_postgres_run_clean(r.results.value("run_id", ""), dir.path(), rules_before);
}

TEST_CASE("postgres: synchronous_commit off loses acknowledged commits on kill, and names the trade") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/postgres-set-kill-async-commit.yaml"));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 1);
  CHECK(r.results["verdict"] == "invalid");
  const json& details = r.results["checks"][0]["details"];
  INFO(details.dump());
  CHECK(details["lost_count"].get<int>() > 0);
  std::string trade = r.results["limitations"].value("durability", "");
  INFO(trade);
  CHECK(trade.find("commit p50") != std::string::npos);
  CHECK(r.results["target"]["version"].get<std::string>().find("synchronous_commit off") !=
        std::string::npos);
  CHECK(slurp(r.dir / "report.html").find("synchronous_commit off") != std::string::npos);
  require_postgres_run_clean(r.results.value("run_id", ""), dir.path(), rules_before);
}

TEST_CASE("postgres: a paused server stops committing until resumed; now() follows a clock bump") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, pg_set_spec("",
      "{ timeline: [ {at_s: 2, fault: pause, nodes: [n1], duration_s: 5},"
      " {at_s: 9, fault: clock, nodes: [n1], modes: [bump], delta_ms: 3000, duration_s: 2} ] }",
      13));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  FaultAction pause = one_action(r, "pause");
  CHECK(pause.start["paused"]["n1"].size() == 1);
  CHECK(pause.stop["resumed"]["n1"].size() == 1);
  std::int64_t paused = nemesis_time_ns(r, "start-pause"), resumed = nemesis_time_ns(r, "stop-pause");
  // An op invoked up to 3 s before the resume may still succeed after it: the kernel queues
  // its connection while the postmaster is stopped (connect budget 2 s, then the 1 s op).
  CHECK(ok_ops_invoked_between(r.history, paused + 100'000'000, resumed - 3'100'000'000) == 0);
  CHECK(ok_ops_invoked_between(r.history, resumed, nemesis_time_ns(r, "start-clock")) > 100);
  FaultAction clock = one_action(r, "clock");
  INFO(clock.start.dump() << "\n" << clock.stop.dump());
  CHECK(clock.start["measured_ms"]["n1"].get<double>() == Approx(3000).margin(250));
  CHECK(clock.stop["measured_ms"]["n1"].get<double>() == Approx(0).margin(250));
  require_postgres_run_clean(r.results.value("run_id", ""), dir.path(), rules_before);
}

namespace {

// Runs a transfer example; returns the run and the exactly-once check's details.
RunResult run_transfer_example(const TempDir& dir, const std::string& name) {
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/" + name + ".yaml"));
  INFO(r.output.text);
  REQUIRE(r.results.contains("checks"));
  REQUIRE(r.results["checks"][0]["checker"] == "exactly-once-transfer");
  return r;
}

// Transfers the pauses left with an unknown outcome that were resent afterwards: what makes
// the run a test of dedupe at all.
std::int64_t resent_after_info(const History& h) {
  std::set<std::int64_t> unknown, resent;
  for (const auto& pair : pair_ops(h, kInMemoryHistory)) {
    const Op& in = h[pair.invoke];
    if (in.f != "transfer") continue;
    std::int64_t id = in.value["id"].get<std::int64_t>();
    if (pair.outcome(h) == OpType::info) unknown.insert(id);
    if (in.value["attempt"].get<int>() > 1 && unknown.contains(id)) resent.insert(id);
  }
  return static_cast<std::int64_t>(resent.size());
}

}  // namespace

TEST_CASE("postgres: transfers resent under their idempotency key apply exactly once across pauses and a kill") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_transfer_example(dir, "postgres-transfer-keys");
  const json& details = r.results["checks"][0]["details"];
  INFO(r.output.text << "\n" << details.dump(1).substr(0, 4000));
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  CHECK(details["keys"] == "per-transfer");
  CHECK(details["acknowledged"].get<int>() > 500);
  // The faults did what the test needs: answers lost after COMMIT, resends that the store
  // recognised as applied (only a COMMIT applied after its client gave up makes one).
  CHECK(resent_after_info(r.history) > 0);
  CHECK(details["acknowledged_duplicate"].get<int>() > 0);
  CHECK(details["double_applied_count"] == 0);
  CHECK(details["total_final"] == details["total_initial"]);
  CHECK(slurp(r.dir / "report.html").find("dedupe store") != std::string::npos);
  require_postgres_run_clean(r.results.value("run_id", ""), dir.path(), rules_before);
}

TEST_CASE("postgres: transfers resent without a key are applied twice after a pause and the report shows them") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_transfer_example(dir, "postgres-transfer-no-keys");
  const json& details = r.results["checks"][0]["details"];
  INFO(r.output.text << "\n" << details.dump(1).substr(0, 4000));
  CHECK(r.output.exit_code == 1);
  CHECK(r.results["verdict"] == "invalid");
  CHECK(details["keys"] == "none");
  CHECK(details["double_applied_count"].get<int>() > 0);
  // Double application, not broken bookkeeping: the balances agree with the log, the total holds.
  CHECK(details["unexplained_accounts"].empty());
  CHECK(details["total_final"] == details["total_initial"]);
  CHECK(details["lost"].empty());
  // Each double application explained with its attempts, in the page and the PR summary.
  CHECK(slurp(r.dir / "report.html").find("the resend was applied as a new transfer") != std::string::npos);
  CHECK(slurp(r.dir / "summary.md").find("`double-applied` transfer") != std::string::npos);
  require_postgres_run_clean(r.results.value("run_id", ""), dir.path(), rules_before);
}
