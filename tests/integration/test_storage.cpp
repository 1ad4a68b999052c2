// Storage faults through faultline-lyingfs against real servers: what a crash that loses the
// page cache, a torn write or a corrupted file does to PostgreSQL, Redis and etcd, through the
// example specs; and that no mount outlives its run, even a SIGKILLed one.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string example(const std::string& name) {
  return slurp(FAULTLINE_SOURCE_DIR "/examples/" + name + ".yaml");
}

// The run's faultline-lyingfs mounts still in the host's mount table.
std::string lyingfs_mounts(const std::filesystem::path& under) {
  return lines_containing(lines_containing(slurp("/proc/self/mountinfo"), "faultline-lyingfs"),
                          under.string());
}

// The lyingfs replies of every start of `fault`, for node n1 (or `node`).
std::vector<json> storage_replies(const RunResult& r, const std::string& fault,
                                  const std::string& node = "n1") {
  std::vector<json> out;
  for (const auto& start : nemesis_infos(r.dir / "history.jsonl", "start-" + fault))
    for (const auto& reply : start["value"]["storage"][node]) out.push_back(reply);
  return out;
}

}  // namespace

TEST_CASE("storage: PostgreSQL defaults keep every acknowledged commit when unsynced writes are lost") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, example("postgres-set-lose-unsynced"));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  const json& details = r.results["checks"][0]["details"];
  INFO(details.dump());
  CHECK(details["lost_count"] == 0);
  CHECK(details["acknowledged"].get<int>() > 500);
  auto replies = storage_replies(r, "lose-unsynced");
  REQUIRE(replies.size() == 2);
  INFO(replies[0].dump());
  // The fault took effect: PostgreSQL leaves data files unsynced between checkpoints.
  CHECK(replies[0]["dropped_writes"].get<int>() > 0);
  CHECK(slurp(r.dir / "nodes" / "n1" / "postgres.log").find("redo done") != std::string::npos);
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(lyingfs_mounts("/tmp/faultline-pg-").empty());
}

TEST_CASE("storage: PostgreSQL with fsync off loses committed transactions when unsynced writes are lost") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, example("postgres-set-fsync-off"));
  INFO(r.output.text);
  const json& details = r.results["checks"][0]["details"];
  INFO(details.dump());
  // Either recovery brings the server back without the commits, or it cannot recover at all.
  bool lost = details.value("lost_count", 0) > 0;
  bool unrecoverable = !r.results.value("recovery_problem", std::string()).empty();
  CHECK((lost || unrecoverable));
  CHECK(r.output.exit_code != 0);
  CHECK(r.results["limitations"].contains("fsync"));
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(lyingfs_mounts("/tmp/faultline-pg-").empty());
}

TEST_CASE("storage: Redis with appendfsync everysec loses acknowledged adds when unsynced writes are lost") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, example("redis-set-lose-unsynced"));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 1);
  const json& details = r.results["checks"][0]["details"];
  INFO(details.dump());
  CHECK(details["lost_count"].get<int>() > 0);
  auto replies = storage_replies(r, "lose-unsynced");
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["dropped_writes"].get<int>() > 0);  // the AOF's last second
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(redis_servers(dir.path()).empty());
  CHECK(lyingfs_mounts(dir.path()).empty());
}

TEST_CASE("storage: corrupt truncates etcd's bbolt file while the member is down") {
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, example("etcd-torn-db"));
  INFO(r.output.text);
  auto replies = storage_replies(r, "corrupt", "n3");
  REQUIRE(replies.size() == 1);
  INFO(replies[0].dump());
  CHECK(replies[0]["old_size"].get<long>() - replies[0]["size"].get<long>() == 4096);
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(lyingfs_mounts(dir.path()).empty());
}

TEST_CASE("storage: a SIGKILLed run leaves its mounts dead, clean unmounts them") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write(
      "spec.yaml",
      "name: pg-mount\ntarget: { system: postgres, nodes: 1 }\nworkload: { name: set }\n"
      "clients: { concurrency: 2, rate_per_s: 50, timeout_ms: 1000 }\n"
      "nemesis: { timeline: [ {at_s: 30, fault: lose-unsynced, nodes: [n1]} ] }\n"
      "time_limit_s: 60\n");
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  auto history_path = store / "latest" / "history.jsonl";
  REQUIRE(eventually(60s, [&] {
    return std::filesystem::exists(history_path) && slurp(history_path).size() > 2000;
  }));
  std::string run_id = run_id_of(std::filesystem::canonical(store / "latest"));
  REQUIRE(!run_id.empty());
  std::string mount_root = "/tmp/faultline-pg-" + run_id;
  CHECK(!lyingfs_mounts(mount_root).empty());
  ::kill(harness.id(), SIGKILL);
  harness.wait();
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("unmounted " + mount_root + "/data") != std::string::npos);
  CHECK(lyingfs_mounts(mount_root).empty());
  CHECK(!std::filesystem::exists(mount_root));
  HostState after = run_leftovers(run_id, dir.path());
  CHECK(after.namespaces.empty());
  CHECK(after.journal.empty());
  CHECK(after.host_iptables == rules_before);
}
