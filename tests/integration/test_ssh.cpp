// Remote hosts over SSH: real sshd in namespaces (tests/integration/ssh_hosts.h), the SSH
// NodeControl against them directly, then faultline runs in remote mode.
#include <catch2/catch.hpp>
#include <thread>

#include "cluster/ssh_cluster.h"
#include "tests/integration/ssh_hosts.h"
#include "tests/integration/user_servers_spec.h"

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
         "iptables -S | grep -- FL- ; iptables -t nat -S | grep -- FL- ; grep -lzx FAULTLINE_RUN=$1 /proc/[0-9]*/environ 2>/dev/null;"
         " ls -d /tmp/faultline-$1 /dev/shm/faultline-$1-* 2>/dev/null; true",
         "sh", run_id});
    if (!r.output.empty()) out += node.name + ":\n" + r.output;
  }
  return out;
}

// `faultline clean` after run `run_id` died or could not reach a host: it logs in to every host
// (the last one named) and leaves nothing of the run there, nor its journal.
void check_clean_finishes(SshHosts& hosts, const std::string& run_id) {
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("cleaned root@" + hosts.nodes().back().address) != std::string::npos);
  CHECK(host_leftovers(hosts, run_id) == "");
  CHECK(!std::filesystem::exists("/run/faultline/" + run_id + ".journal"));
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
  // Found by ssh-keygen: Debian's ssh_config hashes the names it adds (HashKnownHosts yes).
  CHECK(run_program("ssh-keygen", {"-F", hosts.nodes()[0].address, "-f",
                                   (run.path() / "empty_known_hosts").string()})
            .exit_code == 0);
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

// The user's own service manager, for the test below: etcd started, killed, paused, resumed by
// pid file, as a staging host's scripts would. faultline acts on the servers only through it.
const char* const kEtcdControl = R"sh(#!/bin/sh
dir=$(dirname "$0"); node=$2
case $1 in
  start)
    setsid etcd --name "$node" --data-dir "$dir/$node.etcd" \
      --listen-client-urls "http://$3:2379" --advertise-client-urls "http://$3:2379" \
      --listen-peer-urls "http://$3:2380" --initial-advertise-peer-urls "http://$3:2380" \
      --initial-cluster "$4" --initial-cluster-state new --initial-cluster-token user-servers \
      >>"$dir/$node.log" 2>&1 </dev/null &
    echo $! >"$dir/$node.pid" ;;
  kill) kill -KILL "$(cat "$dir/$node.pid")" ;;
  pause) kill -STOP "$(cat "$dir/$node.pid")" ;;
  resume) kill -CONT "$(cat "$dir/$node.pid")" ;;
  logs) cat "$dir/$node.log" ;;
  *) exit 2 ;;
esac
)sh";

TEST_CASE("ssh: servers faultline did not start are killed, paused and partitioned only through the spec's controls, and left running") {
  SshHosts hosts(3);
  TempDir dir;
  std::string control = dir.write("etcd-control", kEtcdControl);
  std::filesystem::permissions(control, std::filesystem::perms::owner_all);
  std::string peers;
  for (const auto& node : hosts.nodes())
    peers += (peers.empty() ? "" : ",") + node.name + "=http://" + node.address + ":2380";
  auto pid_of = [&](const std::string& node) {
    std::string pid = slurp(dir.path() / (node + ".pid"));
    return pid.substr(0, pid.find('\n'));
  };
  for (const auto& node : hosts.nodes())
    REQUIRE(hosts.on(node.name, {control, "start", node.name, node.address, peers}).ok());
  std::string n1_before = pid_of("n1");

  const std::string& c = control;
  YAML::Node spec = user_servers_spec(hosts.cluster_yaml(),
                                      {{"start", {c, "start", "{node}", "{address}", "{peers}"}},
                                       {"kill", {c, "kill", "{node}"}},
                                       {"pause", {c, "pause", "{node}"}},
                                       {"resume", {c, "resume", "{node}"}},
                                       {"logs", {c, "logs", "{node}"}}});
  spec["nemesis"] = YAML::Load(
      "{ timeline: [{at_s: 2, fault: kill, duration_s: 3, nodes: [n1]},"
      "             {at_s: 7, fault: pause, duration_s: 3, nodes: [n2]},"
      "             {at_s: 12, fault: partition, duration_s: 3}] }");
  spec["time_limit_s"] = 18;
  spec["seed"] = 5;
  RunResult r = run_spec(dir, dumped(spec));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  CHECK(r.results["stats"]["ok_ops"].get<int>() > 200);
  for (const char* fault : {"kill", "pause", "partition"}) {
    auto starts = nemesis_infos(r.dir / "history.jsonl", std::string("start-") + fault);
    auto stops = nemesis_infos(r.dir / "history.jsonl", std::string("stop-") + fault);
    INFO(fault);
    REQUIRE(starts.size() == 1);
    REQUIRE(stops.size() == 1);
    CHECK(starts[0].value("error", "").empty());
    CHECK(stops[0].value("error", "").empty());
  }
  // The logs control's output, collected into the run folder.
  CHECK(contains(slurp(r.dir / "nodes" / "n1" / "etcd.log"), "n1"));
  // The user's servers run on after the run: n1's was killed and started again by its control.
  CHECK(pid_of("n1") != n1_before);
  for (const auto& node : hosts.nodes())
    CHECK(hosts.on(node.name, {"kill", "-0", pid_of(node.name)}).ok());
  CHECK(host_leftovers(hosts, run_id_of(r.dir)) == "");
  for (const auto& node : hosts.nodes()) hosts.on(node.name, {control, "kill", node.name});
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

  check_clean_finishes(hosts, run_id);
  CHECK(!std::filesystem::exists("/run/faultline/" + run_id + "-n1.ssh"));
}

TEST_CASE("ssh: a host that stops answering mid-partition is recorded and the run completes and clean finishes it later") {
  SshHosts hosts(3);
  const std::string n3 = "n3 (root@" + hosts.nodes()[2].address + ":22)";
  TempDir dir;
  std::string spec = dir.write(
      "spec.yaml",
      "name: it-etcd-remote-host-lost\n"
      "target:   { system: etcd, read: linearizable, cluster: " + hosts.cluster_yaml() + " }\n"
      "workload: { name: register, keys: 4 }\n"
      "clients:  { concurrency: 6, rate_per_s: 150, timeout_ms: 1000 }\n"
      "nemesis:\n"
      "  timeline:\n"
      "    - { at_s: 1, fault: partition, nodes: [n3], duration_s: 3 }\n"
      "time_limit_s: 6\n"
      "seed: 5\n");
  auto store = dir.path() / "store";
  auto started = std::chrono::steady_clock::now();
  bp::ipstream out;
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string()}),
                    (bp::std_out & bp::std_err) > out);
  std::string output;
  std::thread drain([&] {  // the harness must never block on a full pipe
    for (std::string line; std::getline(out, line);) output += line + "\n";
  });
  bool partitioned = wait_for_nemesis(store / "latest" / "history.jsonl", "start-partition", 60s);
  hosts.stop_sshd(2);  // n3 stops answering while it is cut off: its heal cannot reach it
  harness.wait();
  drain.join();
  INFO(output);
  double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(partitioned);
  CHECK(harness.exit_code() == 0);  // a verdict, not a crash (255)
  // Bounded: each try on the silent host costs at most ssh's ConnectTimeout (5 s; tries here: the
  // scheduled stop, the fetch of its log, its cleanup) and etcd's leader, unable to hand over to
  // the cut-off member, takes its 7 s stop grace. 23 s on a quiet machine, 50 s at load 12.
  CHECK(run_s < 70);
  auto run_dir = store / "latest";
  nlohmann::json results = read_json(run_dir / "results.json");
  CHECK(results["verdict"] == "valid");

  // The failed heals are nemesis infos naming the host, with ssh's error.
  auto stops = nemesis_infos(run_dir / "history.jsonl", "stop-partition");
  REQUIRE(!stops.empty());
  for (const auto& op : stops)
    CHECK(op.value("error", "").find(n3 + " is not answering") != std::string::npos);
  REQUIRE(results["not_healed"].size() == 1);
  CHECK(results["not_healed"][0].get<std::string>().find(n3) != std::string::npos);
  CHECK(results["recovery_problem"].get<std::string>().find("not awaited") != std::string::npos);
  REQUIRE(results["not_cleaned"].size() == 1);
  std::string not_cleaned = results["not_cleaned"][0];
  CHECK(not_cleaned.rfind("n3: root@" + hosts.nodes()[2].address, 0) == 0);
  CHECK(slurp(run_dir / "summary.md").find("not cleaned: n3") != std::string::npos);
  CHECK(slurp(run_dir / "report.html").find("Left undone") != std::string::npos);
  CHECK(slurp(run_dir / "junit.xml").find("not healed: partition") != std::string::npos);

  // The others were healed and cleaned; n3 keeps its partition rules until clean. (These hosts
  // share one filesystem and process table, so n1's cleanup also took n3's folder and server.)
  std::string run_id = run_id_of(run_dir);
  REQUIRE(!run_id.empty());
  std::string left = host_leftovers(hosts, run_id);
  CHECK(left.rfind("n3:\n", 0) == 0);
  CHECK(left.find("FL-PARTITION") != std::string::npos);
  CHECK(std::filesystem::exists("/run/faultline/" + run_id + ".journal"));

  hosts.resume_sshd(2);
  check_clean_finishes(hosts, run_id);
}

namespace {

struct Millis {
  double p50 = 0, p95 = 0;
};

Millis percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  if (ms.empty()) return {};
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 95 / 100)]};
}

// Milliseconds per call of `action` over `n` calls.
template <class Action>
Millis time_each(int n, Action&& action) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    action(i);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return percentiles(ms);
}

// invoke -> info of nemesis action `f` in a run's history, in milliseconds.
Millis nemesis_latency(const History& history, const std::string& f) {
  std::vector<double> ms;
  std::int64_t invoked = -1;
  for (const auto& op : history) {
    if (!op.is_nemesis() || op.f != f) continue;
    if (op.type == OpType::invoke) invoked = op.time_ns;
    else if (invoked >= 0) ms.push_back((op.time_ns - invoked) / 1e6);
  }
  return percentiles(ms);
}

void print_row(const std::string& action, const Millis& m) {
  std::printf("| %-58s | %7.1f | %7.1f |\n", action.c_str(), m.p50, m.p95);
}

}  // namespace

// Not part of the suite (hidden tag): `./tests/integration_tests "[.ssh-bench]"` prints the
// per-action latency table of README "Testing your staging cluster".
TEST_CASE("ssh: per-action latency over a multiplexed connection", "[.ssh-bench]") {
  SshHosts hosts(3);
  TempDir run;
  std::string id = fresh_run_id();
  auto cluster = make_ssh_cluster(options_for(hosts, run.path(), id));
  NodeFiles& files = cluster->files();
  std::string dir = files.node_dir("n1");
  std::printf("| action (one host unless said) | p50 ms | p95 ms |\n|---|---:|---:|\n");
  Millis master = time_each(50, [&](int) { REQUIRE(cluster->run("n1", {"true"}).ok()); });
  print_row("command `true` through the master connection", master);
  SshLogin login = options_for(hosts, run.path(), id).cluster.login;
  login.address = hosts.nodes()[0].address;
  SshConnection fresh(login, run.path() / "no-master.ssh");  // no socket there: a full login each time
  Millis handshake = time_each(20, [&](int) { REQUIRE(fresh.run({"true"}).exit_code == 0); });
  print_row("command `true` with a new login each time (no master)", handshake);
  print_row("file write, 100 bytes (write_file)", time_each(50, [&](int i) {
              files.write_file("n1", dir + "/f", std::string(100, 'a' + i % 26));
            }));
  print_row("file read (read_file)", time_each(50, [&](int) { files.read_file("n1", dir + "/f"); }));
  auto sleeper = cluster->spawn("n1", {{"sleep", "600"}, {}, dir + "/sleep.log"});
  print_row("process signal (SIGSTOP or SIGCONT)", time_each(50, [&](int i) {
              sleeper->signal(i % 2 ? SIGCONT : SIGSTOP);
            }));
  print_row("process liveness check (running)", time_each(50, [&](int) { sleeper->running(); }));
  std::string restore = "*filter\n:FL-BENCH - [0:0]\n-A FL-BENCH -s 192.0.2.1/32 -j DROP\nCOMMIT\n";
  print_row("iptables-restore of one chain (a partition's step per host)", time_each(50, [&](int) {
              REQUIRE(cluster->run("n1", {"iptables-restore", "-w", "5", "--noflush"}, restore).ok());
            }));
  print_row("process start (spawn sleep, detached)", time_each(10, [&](int) {
              cluster->spawn("n2", {{"sleep", "600"}, {}, files.node_dir("n2") + "/s.log"});
            }));
  cluster->teardown();
  CHECK(master.p50 < handshake.p50);  // the master saves the handshake

  // A partition's start and stop on all 3 hosts, from a run's history (invoke -> info), remote
  // and, for comparison, in local namespaces. A stop first asks etcd who leads (HTTP).
  auto spec = [&](const std::string& where) {
    return "name: bench-partition\n"
           "target:   { system: etcd, " + where + " }\n"
           "workload: { name: register, keys: 4 }\n"
           "clients:  { concurrency: 2, rate_per_s: 20, timeout_ms: 1000 }\n"
           "nemesis:  { faults: [partition], interval_s: 1, partition: { shapes: [one] } }\n"
           "time_limit_s: 12\nseed: 3\n";
  };
  for (const auto& [label, where] : {std::pair<std::string, std::string>{"remote", "cluster: " + hosts.cluster_yaml()},
                                     {"local", "nodes: 3"}}) {
    TempDir d;
    RunResult r = run_spec(d, spec(where));
    INFO(r.output.text);
    REQUIRE(r.output.exit_code == 0);
    print_row("start-partition, 3 hosts (" + label + ")", nemesis_latency(r.history, "start-partition"));
    print_row("stop-partition, 3 hosts, with leader query (" + label + ")",
              nemesis_latency(r.history, "stop-partition"));
  }
}

// Not part of the suite (hidden tag): each fault kind once on remote hosts, printing whether its
// start and stop took effect, what it recorded and what was left on the hosts: the fault x
// remote capability table of README "Testing your staging cluster".
TEST_CASE("ssh: each fault kind on remote hosts", "[.ssh-bench]") {
  SshHosts hosts(3);
  struct Probe {
    std::string fault, system, workload, entry;
  };
  const std::vector<Probe> probes = {
      {"partition", "etcd", "register", "nodes: [n1]"},
      {"packet-loss", "etcd", "register", "nodes: [n1], probability: 0.3"},
      {"kill", "etcd", "register", "nodes: [n1]"},
      {"pause", "etcd", "register", "nodes: [n1]"},
      {"latency", "etcd", "register", "nodes: all, latency_ms: 100"},
      {"timeout", "etcd", "register", "nodes: [n1]"},
      {"clock", "redis", "set", "nodes: [n2], modes: [bump], delta_ms: 3000"},
      {"clock", "etcd", "register", "nodes: [n2], modes: [bump], delta_ms: 3000"},
      {"lose-unsynced", "etcd", "register", "nodes: [n1]"},
  };
  for (const auto& p : probes) {
    TempDir dir;
    RunResult r = run_spec(
        dir, "name: probe\ntarget: { system: " + p.system + ", cluster: " + hosts.cluster_yaml() +
                 " }\nworkload: { name: " + p.workload + " }\n"
                 "clients: { concurrency: 3, rate_per_s: 50, timeout_ms: 1000 }\n"
                 "nemesis: { timeline: [ { at_s: 1, fault: " + p.fault + ", " + p.entry +
                 ", duration_s: 3 } ] }\ntime_limit_s: 6\nseed: 1\n");
    auto starts = nemesis_infos(r.dir / "history.jsonl", "start-" + p.fault);
    auto stops = nemesis_infos(r.dir / "history.jsonl", "stop-" + p.fault);
    std::string first_line = r.output.text.substr(0, r.output.text.find('\n'));
    std::printf("%s on %s: exit %d; start %s; stop %s; left on hosts: %s%s\n", p.fault.c_str(),
                p.system.c_str(), r.output.exit_code,
                starts.empty() ? "none" : starts[0].dump().substr(0, 400).c_str(),
                stops.empty() ? "none" : stops[0].dump().substr(0, 300).c_str(),
                r.dir.empty() || run_id_of(r.dir).empty()
                    ? "?"
                    : (host_leftovers(hosts, run_id_of(r.dir)).empty() ? "nothing" : "SOMETHING"),
                r.output.exit_code == 254 ? ("; " + first_line).c_str() : "");
    if (!r.dir.empty() && !run_id_of(r.dir).empty())
      CHECK(host_leftovers(hosts, run_id_of(r.dir)) == "");
  }
}
