// The nemesis suite against a real etcd cluster: each fault, applied through its timeline entry,
// must visibly take effect (a killed node restarts and serves again, a paused node stops
// answering, a cut-off leader loses leadership, packet loss raises the failure rate), and every
// run must leave the host as it found it.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string etcd_spec(const std::string& nemesis, int time_limit_s, int rate = 150) {
  return "name: it-nemesis\n"
         "target:   { system: etcd, nodes: 3 }\n"
         "workload: { name: register, keys: 4 }\n"
         "clients:  { concurrency: 6, rate_per_s: " + std::to_string(rate) + ", timeout_ms: 500 }\n"
         "nemesis:  " + nemesis + "\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 5\n";
}

double seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Client ops on `node` invoked within [from_s, to_s): completion counts by type.
std::map<OpType, int> outcomes(const History& history, const std::string& node, double from_s,
                               double to_s) {
  std::map<OpType, int> counts;
  std::map<std::int64_t, const Op*> invoked;
  for (const auto& op : history) {
    if (op.is_nemesis()) continue;
    if (op.type == OpType::invoke) {
      invoked[op.process] = &op;
      continue;
    }
    const Op* inv = invoked[op.process];
    if (!inv || (!node.empty() && inv->node != node)) continue;
    double t = seconds(inv->time_ns);
    if (t >= from_s && t < to_s) ++counts[op.type];
  }
  return counts;
}

}  // namespace

TEST_CASE("nemesis: kill SIGKILLs an etcd node, restart brings it back on its data") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 3, fault: kill, nodes: [n1], duration_s: 4} ] }", 12));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  FaultAction kill = one_action(r, "kill");
  CHECK(kill.start["killed"]["n1"].size() == 1);
  CHECK(kill.stop["restarted"]["n1"].size() == 1);
  CHECK(kill.stop["restarted"]["n1"][0] != kill.start["killed"]["n1"][0]);
  // Down: nothing on n1 succeeds while it is dead. Back: n1 serves again, same data dir.
  CHECK(outcomes(r.history, "n1", 3.5, 7)[OpType::ok] == 0);
  CHECK(outcomes(r.history, "n1", 9, 12)[OpType::ok] > 20);
  CHECK(r.results["recovery_problem"] == "");
  CHECK(slurp(r.dir / "nodes" / "n1" / "etcd.log").find("restarting member") != std::string::npos);
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("nemesis: a paused etcd node stops answering, and answers again once resumed") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 3, fault: pause, nodes: [n2], duration_s: 4} ] }", 11));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(one_action(r, "pause").start["paused"]["n2"].size() == 1);
  CHECK(outcomes(r.history, "n2", 0, 3)[OpType::ok] > 20);
  CHECK(outcomes(r.history, "n2", 3.2, 6.5)[OpType::ok] == 0);
  CHECK(outcomes(r.history, "n2", 8, 11)[OpType::ok] > 20);
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("nemesis: partitioning the primaries cuts off etcd's leader, which loses leadership") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 3, fault: partition, nodes: primaries, duration_s: 6} ] }", 12));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  require_leader_moved(r, "partition", "isolated");
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("nemesis: packet loss on every node raises the failure rate, and heals") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 4, fault: packet-loss, nodes: all, probability: 0.5, duration_s: 6} ] }",
      19));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  auto rate = [&](double from, double to) {
    auto c = outcomes(r.history, "", from, to);
    double total = c[OpType::ok] + c[OpType::fail] + c[OpType::info];
    return total == 0 ? 0.0 : (c[OpType::fail] + c[OpType::info]) / total;
  };
  // Six seconds of 50% loss can cost etcd its leader; give the election a few seconds after the
  // heal at 10 s before asking for recovery.
  double quiet = rate(0, 4), lossy = rate(4.5, 9.5), after = rate(14, 19);
  INFO("not-ok rate before " << quiet << ", during " << lossy << ", after " << after);
  CHECK(lossy > quiet + 0.1);
  CHECK(after < lossy);
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("nemesis: random kill, pause, partition and packet loss on etcd stay linearizable") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec("{ faults: [kill, pause, partition, packet-loss], interval_s: 2 }", 18));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  int starts = 0;
  for (const char* f : {"kill", "pause", "partition", "packet-loss"}) {
    auto s = nemesis_infos(r.dir / "history.jsonl", std::string("start-") + f);
    CHECK(s.size() == nemesis_infos(r.dir / "history.jsonl", std::string("stop-") + f).size());
    starts += static_cast<int>(s.size());
  }
  CHECK(starts >= 3);
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("nemesis: clock faults on etcd are recorded as not effective, and the results say so") {
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 2, fault: clock, nodes: [n1], modes: [bump], delta_ms: 5000, duration_s: 2} ] }",
      6));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.output.text.find("clock faults not effective on etcd") != std::string::npos);
  CHECK(r.results["limitations"]["clock"].get<std::string>().find("not effective") != std::string::npos);
  CHECK(one_action(r, "clock").start["effective"] == false);
}
