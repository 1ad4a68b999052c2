// The test spec: a YAML file parsed into plain data, with defaults and the seed filled in, and
// the target, workload and nemeses it names built (which validates their own options).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/ssh_cluster.h"
#include "nemesis/nemesis.h"
#include "reports/results.h"
#include "targets/target.h"
#include "workloads/workload.h"

namespace faultline {

// Which node a worker's ops go to. sticky: worker w always talks to node w mod N (Jepsen's
// default). per-op: each op to a node drawn at random, as behind a load balancer, so a process's
// session spans nodes and session guarantees become the store's job, not the connection's.
enum class Routing { sticky, per_op };

struct Spec {
  std::filesystem::path file;
  std::string name;
  std::string system;          // target system: etcd, ...
  int node_count = 5;          // target.nodes: n1..nN
  std::string workload;        // register, ...
  int concurrency = 10;        // worker threads, each bound to a node round-robin (sticky)
  Routing routing = Routing::sticky;  // clients.routing: sticky | per-op
  double rate_per_s = 200;     // invocations per second across all workers
  int timeout_ms = 1000;       // per op
  std::vector<std::string> faults;  // nemesis faults mixed at random; empty: none
  double interval_s = 10;      // quiet time between faults, and how long each fault lasts
  double time_limit_s = 60;    // length of the generator phase
  double check_time_limit_s = 300;  // past it the check is unknown; 0: no wall-clock limit
  std::uint64_t seed = 0;
  std::optional<SshClusterSpec> remote;  // target.cluster: remote hosts; absent: namespaces
};

// One step of an explicit nemesis timeline (instead of random faults): start the nemesis
// Test::nemeses[nemesis] at at_s, stop it duration_s later (never: at the final heal).
struct TimelineEntry {
  double at_s = 0;
  std::optional<double> duration_s;
  std::size_t nemesis = 0;
};

// Values given on the command line win over the file's.
struct SpecOverrides {
  std::optional<double> time_limit_s;
  std::optional<int> concurrency;
  std::optional<int> node_count;
  std::optional<std::uint64_t> seed;
};

// A test: the spec and the objects it names.
struct Test {
  Spec spec;
  std::unique_ptr<Target> target;
  std::unique_ptr<Workload> workload;
  // Fault name and nemesis: one per fault for random faults, one per entry for a timeline.
  std::vector<std::pair<std::string, std::unique_ptr<Nemesis>>> nemeses;
  std::vector<TimelineEntry> timeline;  // empty: random faults (spec.faults) or none
  YAML::Node resolved;  // the spec as run: defaults and seed filled in; saved as spec.yaml
  // nemesis.unsupported: skip — a fault the target cannot serve is left out, not an error; the
  // ones left out, with why (said in the report's "not exercised").
  bool skip_unsupported = false;
  std::map<std::string, std::string> skipped;
};

// What the run cannot exercise, by topic (a fault's name, or "clock"): the target's
// limitations and the faults skipped.
nlohmann::json limitations(const Test& test);

// The node names of a cluster of `node_count` nodes: n1..nN.
std::vector<std::string> node_names(int node_count);

// The run record as far as the spec tells it: everything but run_id, started_utc and the
// server's version, which only a live run knows. The fault vocabulary is the nemesis registry's.
report::RunRecord run_record(const Test& test);

// Throws SpecError (file:line:column and what was expected) on bad input.
Test load_test(const std::filesystem::path& file, const SpecOverrides& overrides = {});
Test load_test_text(const std::string& yaml, const std::string& file_name,
                    const SpecOverrides& overrides = {});

}  // namespace faultline
