// Link faults against a real etcd cluster, through the per-node proxies: latency shows in the
// phase figures and goes away with the heal, a timeout on the leader's links costs it its
// leadership, and a SIGKILLed harness leaves no proxy and no NAT rule once `faultline clean` ran.
#include <catch2/catch.hpp>

#include "reports/analysis.h"
#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string etcd_spec(const std::string& nemesis, int time_limit_s) {
  return "name: it-links\n"
         "target:   { system: etcd, nodes: 3 }\n"
         "workload: { name: register, keys: 4 }\n"
         "clients:  { concurrency: 6, rate_per_s: 100, timeout_ms: 3000 }\n"
         "nemesis:  " + nemesis + "\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 11\n";
}

// Median latency (ms) of the ok client ops invoked within [from_s, to_s).
double p50_ms(const History& history, double from_s, double to_s) {
  std::map<std::int64_t, const Op*> invoked;
  std::vector<double> ms;
  for (const auto& op : history) {
    if (op.is_nemesis()) continue;
    if (op.type == OpType::invoke) {
      invoked[op.process] = &op;
      continue;
    }
    const Op* inv = invoked[op.process];
    double t = static_cast<double>(inv ? inv->time_ns : 0) / 1e9;
    if (inv && op.type == OpType::ok && t >= from_s && t < to_s)
      ms.push_back(static_cast<double>(op.time_ns - inv->time_ns) / 1e6);
  }
  if (ms.empty()) return -1;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// The link proxies of run `run_id` still running (pgrep lines).
std::string proxies_of(const std::string& run_id) {
  return run_program("pgrep", {"-af", "faultline-proxy .*/run/faultline/" + run_id + "-"}).text;
}

}  // namespace

TEST_CASE("links: etcd under latency 200 ms ± 50 is slower while it lasts, linearizable, and heals") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec("{ timeline: [ {at_s: 4, fault: latency, nodes: all, "
                                   "latency_ms: 200, jitter_ms: 50, duration_s: 8} ] }", 22));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  FaultAction latency = one_action(r, "latency");
  CHECK(latency.start["links"].size() == 6);  // every direction of every link of 3 nodes

  // The report's phase figures: a write commits after a round trip to a follower (two delayed
  // hops), a linearizable read after a heartbeat round (two too).
  report::Analysis analysis = report::analyze(report::load_run(r.dir));
  const report::PhaseFigures* healthy = report::find_phase(analysis, "healthy");
  const report::PhaseFigures* slow = report::find_phase(analysis, "latency");
  REQUIRE(healthy);
  REQUIRE(slow);
  INFO("p50 healthy " << healthy->latency_ns_p50 / 1e6 << " ms, under latency "
                      << slow->latency_ns_p50 / 1e6 << " ms");
  CHECK(slow->latency_ns_p50 > healthy->latency_ns_p50 + 250'000'000);

  // Healed: back to the latency before the fault, once held bytes have drained.
  double before = p50_ms(r.history, 1, 4), after = p50_ms(r.history, 15, 22);
  INFO("p50 before " << before << " ms, after the heal " << after << " ms");
  CHECK(after >= 0);
  CHECK(after < before + 50);
  CHECK(slurp(r.dir / "nodes" / "n1" / "proxy.log").find("toxics in force") != std::string::npos);
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(proxies_of(run_id_of(r.dir)) == "");
}

TEST_CASE("links: a timeout on the leader's links makes etcd elect another leader") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 3, fault: timeout, nodes: primaries, duration_s: 6} ] }", 13));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  require_leader_moved(r, "timeout", "nodes");
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("links: SIGKILL of the harness mid-latency, then clean, leaves no proxy and no NAT rule") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write("spec.yaml", etcd_spec(
      "{ timeline: [ {at_s: 3, fault: latency, nodes: all, latency_ms: 50} ] }", 60));
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  REQUIRE(wait_for_nemesis(store / "latest" / "history.jsonl", "start-latency", 60s));
  std::string run_id = run_id_of(store / "latest");
  REQUIRE(!run_id.empty());
  // In force: a proxy per node, and the NAT chain in each namespace.
  CHECK(!proxies_of(run_id).empty());
  CHECK(run_program("ip", {"netns", "exec", "fl" + run_id + "-n1", "iptables", "-t", "nat", "-S"})
            .text.find("FL-PROXY") != std::string::npos);
  ::kill(harness.id(), SIGKILL);
  harness.wait();

  // The proxies die with the harness, as its servers do; the rest waits for clean.
  CHECK(eventually(10s, [&] { return proxies_of(run_id).empty(); }));
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("removed namespace") != std::string::npos);
  require_no_leftovers(rules_before, store / "latest", dir.path());
  CHECK(proxies_of(run_id) == "");
  for (const char* node : {"n1", "n2", "n3"})
    CHECK(!std::filesystem::exists("/run/faultline/" + run_id + "-" + node + ".proxy"));
}
