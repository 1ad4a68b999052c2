// Remote hosts over SSH: real sshd in namespaces (tests/integration/ssh_hosts.h), the SSH
// NodeControl against them directly, then faultline runs in remote mode.
#include <catch2/catch.hpp>

#include "cluster/ssh_cluster.h"
#include "tests/integration/ssh_hosts.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;

namespace {

SshClusterOptions options_for(const SshHosts& hosts, const std::filesystem::path& run_dir,
                              const std::string& run_id) {
  SshClusterOptions options{run_id, run_dir, {}};
  for (const auto& node : hosts.nodes()) options.cluster.hosts.push_back({node.name, node.address});
  options.cluster.login.user = "root";
  options.cluster.login.identity_file = hosts.identity();
  options.cluster.login.known_hosts_file = hosts.known_hosts();
  return options;
}

// What run `run_id` left on the hosts: FL chains, processes with its marker, its files.
std::string host_leftovers(SshHosts& hosts, const std::string& run_id) {
  std::string out;
  for (const auto& node : hosts.nodes()) {
    CommandResult r = hosts.on(
        node.name,
        {"sh", "-c",
         "iptables -S | grep -- FL- ; grep -lzx FAULTLINE_RUN=$1 /proc/[0-9]*/environ 2>/dev/null;"
         " ls -d /tmp/faultline-$1 /dev/shm/faultline-$1-* 2>/dev/null; true",
         "sh", run_id});
    if (!r.output.empty()) out += node.name + ":\n" + r.output;
  }
  return out;
}

// The register spec of test_etcd.cpp against the hosts.
std::string remote_register_spec(const SshHosts& hosts, const std::string& read_mode,
                                 int time_limit_s) {
  return "name: it-etcd-remote\n"
         "target:   { system: etcd, read: " + read_mode + ", cluster: " + hosts.cluster_yaml() + " }\n"
         "workload: { name: register, keys: 4 }\n"
         "clients:  { concurrency: 6, rate_per_s: 150, timeout_ms: 1000 }\n"
         "nemesis:  { faults: [partition], interval_s: 4 }\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 11\n";
}

std::string fresh_run_id() { return "t" + std::to_string(std::random_device{}() % 100000); }

}  // namespace

TEST_CASE("ssh: commands, files and processes on a real sshd, all undone at teardown") {
  SshHosts hosts(2);
  TempDir run;
  std::string id = fresh_run_id();
  auto cluster = make_ssh_cluster(options_for(hosts, run.path(), id));
  REQUIRE(cluster->nodes().size() == 2);
  CHECK(cluster->nodes()[1].address == hosts.nodes()[1].address);

  // Quoting over a real login shell: each word arrives as one argv word, nothing is run.
  std::vector<std::string> words{"a b", "x; touch /tmp/" + id + "-pwned", "$(id)", "`id`",
                                 "it's", "\"q\"", "line\nnext", "$HOME", "*", ""};
  std::vector<std::string> argv{"printf", "[%s]"};
  argv.insert(argv.end(), words.begin(), words.end());
  CommandResult echoed = cluster->run("n1", argv);
  REQUIRE(echoed.ok());
  std::string expected;
  for (const auto& w : words) expected += "[" + w + "]";
  CHECK(echoed.output == expected);
  CHECK(!std::filesystem::exists("/tmp/" + id + "-pwned"));
  CHECK(cluster->run("n2", {"sh", "-c", "exit 3"}).exit_code == 3);
  CHECK(cluster->run("n1", {"cat"}, "stdin reaches it").output == "stdin reaches it");

  NodeFiles& files = cluster->files();
  std::string dir = files.node_dir("n1");
  CHECK(dir == "/tmp/faultline-" + id + "/n1");
  files.write_file("n1", dir + "/conf", "one\ntwo\n");
  CHECK(files.read_file("n1", dir + "/conf") == "one\ntwo\n");
  CHECK(files.read_file("n1", dir + "/conf", 4) == "two\n");
  files.make_dir("n1", dir + "/data/sub");
  CHECK(files.list_dir("n1", dir) == std::vector<std::string>{"conf", "data"});
  CHECK(files.exists("n1", dir + "/data/sub"));
  files.remove("n1", dir + "/data");
  CHECK(!files.exists("n1", dir + "/data"));
  CHECK_THROWS_AS(files.write_file("n1", "/etc/faultline-test", "x"), std::invalid_argument);
  CHECK_THROWS_AS(files.remove("n1", "/tmp"), std::invalid_argument);
  std::string scratch = files.scratch_path("n2", "clock");
  files.write_file("n2", scratch, "+1.5");
  CHECK(files.read_file("n2", scratch) == "+1.5");

  auto process = cluster->spawn("n2", {{"sh", "-c", "echo started \"$GREETING\"; exec sleep 600"},
                                       {{"GREETING", "hello; world"}},
                                       files.node_dir("n2") + "/sleep.log"});
  CHECK(process->running());
  CHECK(eventually(5s, [&] {
    return files.read_file("n2", files.node_dir("n2") + "/sleep.log") == "started hello; world\n";
  }));
  process->signal(SIGSTOP);
  CHECK(hosts.on("n2", {"grep", "State", "/proc/" + std::to_string(process->pid()) + "/status"})
            .output.find("stopped") != std::string::npos);
  files.fetch("n2", files.node_dir("n2") + "/sleep.log");
  CHECK(slurp(run.path() / "nodes" / "n2" / "sleep.log") == "started hello; world\n");

  auto survivor = cluster->spawn("n1", {{"sleep", "600"}, {}, dir + "/survivor.log"});
  int survivor_pid = survivor->pid();
  cluster->teardown();  // the run's processes, folders and scratch files go with it
  // Gone, or a zombie (no environment left) where the sandbox's init does not reap.
  auto alive = [&](const std::string& node, int pid) {
    return hosts.on(node, {"grep", "-qzx", "FAULTLINE_RUN=" + id,
                           "/proc/" + std::to_string(pid) + "/environ"}).exit_code == 0;
  };
  CHECK(!alive("n1", survivor_pid));
  CHECK(!alive("n2", process->pid()));
  CHECK(!std::filesystem::exists("/tmp/faultline-" + id));
  CHECK(!std::filesystem::exists(scratch));
  CHECK(!std::filesystem::exists("/run/faultline/" + id + ".journal"));
  CHECK(!std::filesystem::exists("/run/faultline/" + id + "-n1.ssh"));  // master closed
}

TEST_CASE("ssh: host keys are strict by default; accept-new must be asked for") {
  SshHosts hosts(1);
  TempDir run;
  auto options = options_for(hosts, run.path(), fresh_run_id());
  options.cluster.login.known_hosts_file = run.write("empty_known_hosts", "");
  CHECK_THROWS_WITH(make_ssh_cluster(options), Catch::Contains("Host key verification failed"));
  options.cluster.login.host_keys = HostKeyPolicy::accept_new;
  auto cluster = make_ssh_cluster(options);
  CHECK(cluster->run("n1", {"true"}).ok());
  CHECK(slurp(run.path() / "empty_known_hosts").find(hosts.nodes()[0].address) != std::string::npos);
}

TEST_CASE("ssh: etcd register on remote hosts under partitions is linearizable, hosts left clean") {
  SshHosts hosts(3);
  std::string rules_before = host_iptables();
  TempDir dir;
  RunResult r = run_spec(dir, remote_register_spec(hosts, "linearizable", 20));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  CHECK(r.results["stats"]["ok_ops"].get<int>() > 300);
  auto starts = nemesis_infos(r.dir / "history.jsonl", "start-partition");
  CHECK(starts.size() >= 2);
  CHECK(starts.size() == nemesis_infos(r.dir / "history.jsonl", "stop-partition").size());
  for (const auto& op : starts) CHECK(op.value("error", "").empty());
  // The servers' logs were fetched from the hosts into the run folder.
  CHECK(std::filesystem::file_size(r.dir / "nodes" / "n1" / "etcd.log") > 0);
  std::string run_id = run_id_of(r.dir);
  REQUIRE(!run_id.empty());
  CHECK(host_leftovers(hosts, run_id) == "");
  CHECK(!std::filesystem::exists("/run/faultline/" + run_id + ".journal"));
  CHECK(host_iptables() == rules_before);
}

TEST_CASE("ssh: serializable reads on remote hosts are caught as stale (the example spec)") {
  SshHosts hosts(5);
  std::string spec = slurp(FAULTLINE_SOURCE_DIR "/examples/etcd-register-stale-reads.yaml");
  auto at = spec.find("nodes: 5");
  REQUIRE(at != std::string::npos);
  spec.replace(at, 8, "cluster: " + hosts.cluster_yaml());
  TempDir dir;
  RunResult r = run_spec(dir, spec, {"--time-limit", "30"});
  INFO(r.output.text);
  CHECK(r.output.exit_code == 1);
  CHECK(r.results["verdict"] == "invalid");
  CHECK(host_leftovers(hosts, run_id_of(r.dir)) == "");
}

TEST_CASE("ssh: a harness SIGKILLed mid-partition leaves remote state that clean removes") {
  SshHosts hosts(3);
  TempDir dir;
  std::string spec = dir.write("spec.yaml", remote_register_spec(hosts, "linearizable", 60));
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  REQUIRE(wait_for_nemesis(store / "latest" / "history.jsonl", "start-partition", 60s));
  ::kill(harness.id(), SIGKILL);
  harness.wait();
  std::string run_id = run_id_of(store / "latest");
  REQUIRE(!run_id.empty());
  std::string left = host_leftovers(hosts, run_id);
  CHECK(left.find("FL-PARTITION") != std::string::npos);  // the partition in force
  CHECK(left.find("/tmp/faultline-" + run_id) != std::string::npos);

  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("cleaned root@" + hosts.nodes()[2].address) != std::string::npos);
  CHECK(host_leftovers(hosts, run_id) == "");
  CHECK(!std::filesystem::exists("/run/faultline/" + run_id + ".journal"));
  CHECK(!std::filesystem::exists("/run/faultline/" + run_id + "-n1.ssh"));
}
