// Redis with Sentinel in network namespaces: the set workload loses acknowledged writes when
// the master is cut off, clock skew is measured through TIME, a killed master comes back as a
// replica, a lock is caught with two holders, and a SIGKILLed run is cleaned up.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string redis_spec(const std::string& workload, const std::string& nemesis, int time_limit_s) {
  return "name: it-redis\n"
         "target:   { system: redis, nodes: 3 }\n"
         "workload: " + workload + "\n"
         "clients:  { concurrency: 6, rate_per_s: 150, timeout_ms: 500 }\n"
         "nemesis:  " + nemesis + "\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 9\n";
}


}  // namespace

TEST_CASE("redis: cutting off the master loses acknowledged adds (examples/redis-set-failover.yaml)") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/redis-set-failover.yaml"),
                    {"--time-limit", "15"});
  INFO(r.output.text);
  CHECK(r.output.exit_code == 1);
  REQUIRE(r.results.is_object());
  json details = r.results["checks"][0]["details"];
  INFO(details.dump());
  CHECK(details["lost_count"].get<int>() > 0);
  CHECK(details["ok"].get<int>() > 0);
  CHECK(r.output.text.find("acknowledged adds lost") != std::string::npos);
  require_leader_moved(r, "partition", "isolated");  // Sentinel failed over
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(redis_servers(dir.path()).empty());
}

TEST_CASE("redis: a clock bump and a strobe are seen by redis TIME, reset brings it back") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, redis_spec("{ name: set }",
      "{ timeline: [ {at_s: 1, fault: clock, nodes: [n2], modes: [bump], delta_ms: 3000, duration_s: 2},"
      " {at_s: 4, fault: clock, nodes: [n1, n3], modes: [bump], delta_ms: -1500, duration_s: 2} ] }",
      7));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  auto bumps = nemesis_infos(r.dir / "history.jsonl", "start-clock");
  auto resets = nemesis_infos(r.dir / "history.jsonl", "stop-clock");
  REQUIRE(bumps.size() == 2);
  REQUIRE(resets.size() == 2);
  INFO(bumps[0].dump() << "\n" << bumps[1].dump() << "\n" << resets[0].dump());
  CHECK(bumps[0]["value"]["measured_ms"]["n2"].get<double>() == Approx(3000).margin(250));
  CHECK(bumps[1]["value"]["measured_ms"]["n1"].get<double>() == Approx(-1500).margin(250));
  CHECK(bumps[1]["value"]["measured_ms"]["n3"].get<double>() == Approx(-1500).margin(250));
  CHECK(resets[0]["value"]["measured_ms"]["n2"].get<double>() == Approx(0).margin(250));
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(redis_servers(dir.path()).empty());
}

// Clocks lie (examples/redis-timestamps-skew.yaml): the master's clock 2 s ahead, then stepped
// back. 10 s; the control run without faults 6 s.
TEST_CASE("redis: timestamps under a clock step on the master show inversions and writes LWW would lose and none without skew") {
  std::string rules_before = host_iptables();
  SECTION("a 2 s step back: inversions, explained") {
    TempDir dir;
    auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/redis-timestamps-skew.yaml"), {});
    INFO(r.output.text);
    CHECK(r.output.exit_code == 1);
    REQUIRE(r.results["checks"].size() == 1);
    const json& check = r.results["checks"][0];
    CHECK(check["checker"] == "timestamps");
    CHECK(check["verdict"] == "invalid");
    INFO(check["details"].dump());
    CHECK(check["details"]["inversions"].get<int>() > 0);
    CHECK(check["details"]["lww_lost"].get<int>() > 0);
    // About the 2 s the master's clock was stepped back; ~2 s of writes (300 at 150/s) inverted.
    CHECK(check["details"]["max_inversion_us"].get<double>() == Approx(2e6).margin(2e5));
    CHECK(check["details"]["lww_lost"].get<int>() > 100);
    std::string html = slurp(r.dir / "report.html");
    CHECK(contains(html, "A last-write-wins store ordering by these times would have silently dropped"));
    CHECK(contains(html, "a last-write-wins rule keeps A"));
    CHECK(contains(slurp(r.dir / "summary.md"), "would keep A and drop B"));
    require_no_leftovers(rules_before, r.dir, dir.path());
    CHECK(redis_servers(dir.path()).empty());
  }
  SECTION("no fault: every server time follows real time") {
    TempDir dir;
    auto r = run_spec(dir, redis_spec("{ name: timestamps }", "{ faults: [] }", 6), {});
    INFO(r.output.text);
    CHECK(r.output.exit_code == 0);
    CHECK(r.results["checks"][0]["verdict"] == "valid");
    CHECK(r.results["checks"][0]["details"]["writes"].get<int>() > 300);
    require_no_leftovers(rules_before, r.dir, dir.path());
  }
}

TEST_CASE("redis: a killed master restarts on its data and rejoins as a replica") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, redis_spec("{ name: set }",
      "{ timeline: [ {at_s: 2, fault: kill, nodes: primaries, duration_s: 6} ] }", 12));
  INFO(r.output.text);
  CHECK((r.output.exit_code == 0 || r.output.exit_code == 1));  // async replication may lose adds
  FaultAction kill = one_action(r, "kill");
  std::string old_master = kill.start["nodes"][0];
  CHECK(kill.stop["restarted"][old_master].size() == 1);
  // The final phase waits until every node replicates from one master: the old one rejoined.
  CHECK(r.results["recovery_problem"] == "");
  std::string log = slurp(r.dir / "nodes" / old_master / "redis.log");
  CHECK(log.find("MASTER <-> REPLICA sync") != std::string::npos);
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(redis_servers(dir.path()).empty());
}

TEST_CASE("redis: the lock example is caught with two holders at once (examples/redis-lock.yaml)") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/redis-lock.yaml"),
                    {"--time-limit", "22"});
  INFO(r.output.text);
  CHECK(r.output.exit_code == 1);
  CHECK(r.results["checks"][0]["model"] == "mutex");
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(redis_servers(dir.path()).empty());
}

TEST_CASE("redis: SIGKILL of the harness mid-pause and mid-skew, clean leaves nothing behind") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write("spec.yaml", redis_spec("{ name: set }",
      "{ timeline: [ {at_s: 1, fault: pause, nodes: [n1]}, "
      "{at_s: 1, fault: clock, nodes: [n2], modes: [bump], delta_ms: 60000} ] }", 60));
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  auto history_path = store / "latest" / "history.jsonl";
  REQUIRE(eventually(60s, [&] {
    return std::filesystem::exists(history_path) &&
           !nemesis_infos(history_path, "start-pause").empty() &&
           !nemesis_infos(history_path, "start-clock").empty();
  }));
  std::string id = run_id_of(store / "latest");
  CHECK(std::filesystem::exists("/run/faultline/" + id + "-n2.clock"));
  CHECK(!redis_servers(dir.path()).empty());  // the check below can see them
  ::kill(harness.id(), SIGKILL);
  harness.wait();
  CHECK(eventually(10s, [&] { return redis_servers(dir.path()).empty(); }));  // paused ones too
  CHECK(read_history(history_path).size() > 10);
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find(".clock") != std::string::npos);
  CHECK(redis_servers(dir.path()).empty());
  require_no_leftovers(rules_before, store / "latest", dir.path());
  CHECK(redis_servers(dir.path()).empty());
}
