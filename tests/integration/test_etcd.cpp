// A real etcd cluster in network namespaces, partitioned by the real nemesis, checked for real.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "core/history.h"
#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;

namespace {

std::string register_spec(const std::string& read_mode, int time_limit_s) {
  return "name: it-etcd\n"
         "target:   { system: etcd, nodes: 3, read: " + read_mode + " }\n"
         "workload: { name: register, keys: 4 }\n"
         "clients:  { concurrency: 6, rate_per_s: 150, timeout_ms: 1000 }\n"
         "nemesis:  { faults: [partition], interval_s: 4 }\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 11\n";
}

}  // namespace

TEST_CASE("etcd: 3 nodes under partitions with linearizable reads is linearizable") {
  std::string rules_before = host_iptables();
  TempDir dir;
  Output run = run_faultline({"run", dir.write("spec.yaml", register_spec("linearizable", 20)),
                          "--store", (dir.path() / "store").string()});
  INFO(run.text);
  CHECK(run.exit_code == 0);
  auto run_dir = dir.path() / "store" / "latest";
  nlohmann::json results = read_json(run_dir / "results.json");
  CHECK(results["verdict"] == "valid");
  CHECK(results["stats"]["ok_ops"].get<int>() > 500);
  History history = read_history(run_dir / "history.jsonl");
  CHECK(count_nemesis(history, "start-partition") >= 2);
  CHECK(count_nemesis(history, "start-partition") == count_nemesis(history, "stop-partition"));
  CHECK(std::filesystem::file_size(run_dir / "nodes" / "n1" / "etcd.log") > 0);
  CHECK(slurp(run_dir / "spec.yaml").find("seed: 11") != std::string::npos);
  require_host_clean(dir, rules_before);
}

TEST_CASE("etcd: serializable reads under partitions are caught as stale (the example spec)") {
  std::string rules_before = host_iptables();
  TempDir dir;
  Output run = run_faultline({"run", FAULTLINE_SOURCE_DIR "/examples/etcd-register-stale-reads.yaml",
                          "--store", (dir.path() / "store").string()});
  INFO(run.text);
  CHECK(run.exit_code == 1);
  nlohmann::json results = read_json(dir.path() / "store" / "latest" / "results.json");
  CHECK(results["verdict"] == "invalid");
  CHECK(results["checks"][0]["summary"].get<std::string>().find("read") != std::string::npos);
  // The counterexample a reviewer reads: a handful of ops of thousands, heading the report.
  const nlohmann::json& shrunk = results["checks"][0]["details"]["counterexample"];
  INFO(shrunk.dump());
  std::size_t kept = shrunk["ops"].size(), from_ops = shrunk["from_ops"].get<std::size_t>();
  CHECK(kept >= 2);
  CHECK(from_ops > 1000);
  // A refuted stale read shrinks to its witness; one the search found keeps every info write of
  // a value a kept read saw (it may be that read's source), so only a fraction is promised.
  std::string method;
  for (const auto& key : results["checks"][0]["details"]["per_key"])
    if (key["key"] == shrunk["key"]) method = key["method"].get<std::string>();
  INFO("method " << method);
  CHECK(kept <= from_ops);
  // The shrink runs within a time budget; a loaded machine may stop it early (either method),
  // which the result must then say. Only a finished shrink promises a size.
  if (shrunk["minimal"] == true) {
    CHECK(kept * 10 <= from_ops);
    if (method == "refuted") CHECK(kept <= 20);
  } else {
    CHECK(shrunk["note"].get<std::string>().find("time budget") != std::string::npos);
  }
  CHECK(contains(slurp(dir.path() / "store" / "latest" / "report.html"), "id=\"counterexample-1\""));
  require_host_clean(dir, rules_before);
}

// Per-op routing (a load balancer): a process's ops reach different nodes, and serializable
// reads from a node cut off from the majority go back in time. 20 s each, 3 nodes.
TEST_CASE("etcd: per-op routing under partitions breaks monotonic reads with serializable reads and not with linearizable reads") {
  std::string rules_before = host_iptables();
  SECTION("serializable: the example spec finds monotonic-read cycles") {
    TempDir dir;
    RunResult r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/etcd-sessions-per-op.yaml"),
                           {"--time-limit", "20", "--nodes", "3"});
    INFO(r.output.text);
    CHECK(r.output.exit_code == 1);
    REQUIRE(r.results["checks"].size() == 1);
    const nlohmann::json& check = r.results["checks"][0];
    CHECK(check["checker"] == "session");
    CHECK(check["verdict"] == "invalid");
    INFO(check["details"].dump());
    CHECK(check["details"]["cycles_by_kind"].value("monotonic-reads", 0) > 0);
    // Ops really went to several nodes per process.
    std::map<std::int64_t, std::set<std::string>> nodes_of;
    for (const Op& op : r.history)
      if (!op.is_nemesis()) nodes_of[op.process].insert(op.node);
    CHECK(std::any_of(nodes_of.begin(), nodes_of.end(), [](const auto& p) { return p.second.size() == 3; }));
    CHECK(contains(slurp(r.dir / "summary.md"), "monotonic reads violated on k"));
    CHECK(contains(slurp(r.dir / "report.html"), ": by monotonic reads, the write of"));
    require_host_clean(dir, rules_before);
  }
  SECTION("linearizable: every guarantee holds") {
    TempDir dir;
    std::string spec = slurp(FAULTLINE_SOURCE_DIR "/examples/etcd-sessions-per-op.yaml");
    spec.replace(spec.find("read: serializable"), 18, "read: linearizable");
    RunResult r = run_spec(dir, spec, {"--time-limit", "20", "--nodes", "3"});
    INFO(r.output.text);
    CHECK(r.output.exit_code == 0);
    CHECK(r.results["checks"][0]["verdict"] == "valid");
    CHECK(r.results["checks"][0]["details"]["reads"].get<int>() > 300);
    require_host_clean(dir, rules_before);
  }
}

TEST_CASE("etcd: a run killed with SIGKILL mid-partition leaves a readable history, clean removes the rest") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write("spec.yaml", register_spec("linearizable", 60));
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  auto history_path = store / "latest" / "history.jsonl";
  // Inside the partition: a node's namespace holds DROP rules now.
  REQUIRE(wait_for_nemesis(history_path, "start-partition", 60s));
  ::kill(harness.id(), SIGKILL);
  harness.wait();

  // Servers die with the harness; the namespaces wait for `faultline clean`.
  std::string run_id = run_id_of(store / "latest");
  CHECK(eventually(10s, [&] { return run_leftovers(run_id, dir.path()).servers.empty(); }));
  CHECK(!run_leftovers(run_id, dir.path()).namespaces.empty());
  History prefix = read_history(history_path);
  CHECK(prefix.size() > 10);

  // Graded again, a killed run is unknown, never a pass, and keeps the server's real version.
  Output analyze = run_faultline({"analyze", (store / "latest").string()});
  INFO(analyze.text);
  CHECK(analyze.exit_code == 2);
  CHECK(analyze.text.find("verdict: unknown") != std::string::npos);
  CHECK(analyze.text.find("did not finish") != std::string::npos);
  nlohmann::json results = read_json(store / "latest" / "results.json");
  CHECK(results["finished"] == false);
  CHECK(results["target"]["version"].get<std::string>().rfind("etcd 3.", 0) == 0);

  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("removed namespace") != std::string::npos);
  require_host_clean(dir, rules_before);
}

TEST_CASE("etcd: Ctrl-C mid-run heals, tears down and checks what was recorded") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write("spec.yaml", register_spec("linearizable", 60));
  auto store = dir.path() / "store";
  bp::ipstream out;
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string()}),
                    (bp::std_out & bp::std_err) > out);
  auto history_path = store / "latest" / "history.jsonl";
  REQUIRE(wait_for_nemesis(history_path, "start-partition", 60s));
  ::kill(harness.id(), SIGINT);
  std::string text;
  for (std::string line; std::getline(out, line);) text += line + "\n";
  harness.wait();
  INFO(text);
  CHECK(harness.exit_code() == 2);  // interrupted: at best unknown, never a pass
  CHECK(text.find("interrupted") != std::string::npos);
  nlohmann::json results = read_json(store / "latest" / "results.json");
  CHECK(results["interrupted"] == true);
  require_host_clean(dir, rules_before);
}

TEST_CASE("etcd: transfers resent under their idempotency key apply exactly once across leader pauses and a kill") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_transfer_example(dir, "etcd-transfer-keys", TransferKeys::per_transfer,
                                /*resend_must_hit=*/false);
  require_no_leftovers(rules_before, std::filesystem::canonical(r.dir), dir.path());
}

TEST_CASE("etcd: transfers resent without a key: a commit whose answer a leader pause lost is applied twice") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_transfer_example(dir, "etcd-transfer-no-keys", TransferKeys::none,
                                /*resend_must_hit=*/false);
  require_no_leftovers(rules_before, std::filesystem::canonical(r.dir), dir.path());
}
