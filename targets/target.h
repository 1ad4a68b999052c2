// A target: the system under test. It starts its servers on the nodes of a NodeControl, opens
// clients to them, and stops them. Optional abilities (kill/restart, pause, a known primary)
// are separate small interfaces, as Jepsen's protocols are.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/history.h"
#include "core/node_control.h"
#include "core/registry.h"
#include "core/spec_reader.h"

namespace faultline {

// How an invocation ended. ok: took effect. fail: certainly did not (refused before it could
// act, or a compare that did not match). info: unknown — sent, then timeout or connection loss.
struct Completion {
  OpType type = OpType::info;
  nlohmann::json value;  // the result (a read's value); null when none
  std::string error;     // why it failed or is unknown
};

// One logical client connection, used by one worker thread at a time (open = construct,
// close = destroy). Database errors are data: invoke() never throws for them.
class Client {
 public:
  virtual ~Client() = default;
  virtual Completion invoke(const Op& op) = 0;
};

struct ClientOptions {
  int timeout_ms = 1000;  // per op; past it the op is indeterminate (info) unless it is a read
};

// What a target needs to bring a cluster up. Server configuration, data and logs go to each
// node's folder (cluster.files().node_dir(node)); logs that must outlive the run are fetched.
struct ClusterContext {
  NodeControl& cluster;
  std::string run_id;  // unique per run: cluster tokens, names
};

class TargetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Target {
 public:
  virtual ~Target() = default;
  // The op names (f) its clients understand.
  virtual std::vector<std::string> supported_ops() const = 0;
  // Starts the servers on every node and waits until the cluster serves. On failure throws
  // TargetError carrying the tail of the server logs. REQUIRES: called once.
  virtual void start(const ClusterContext& context) = 0;
  // Waits until every node serves again (after faults healed). Throws TargetError on timeout.
  virtual void wait_healthy(std::chrono::seconds timeout) = 0;
  virtual std::unique_ptr<Client> open_client(const NodeInfo& node,
                                              const ClientOptions& options) = 0;
  // Stops every server (SIGTERM, then SIGKILL). Idempotent; never throws.
  virtual void stop() noexcept = 0;
  // Server name and version, for the report.
  virtual std::string version() const = 0;
  // Facts the report must state about what this target cannot exercise ("clock faults not
  // effective"), keyed by fault name.
  virtual nlohmann::json limitations() const { return nlohmann::json::object(); }
  // Why this target cannot serve `fault` although it has the ability's interface (a declared
  // target's own servers given without the controls a kill needs), for the spec loader. Empty:
  // nothing against it here (the fault's nemesis still checks the abilities it needs).
  virtual std::string unable(const std::string& fault) const {
    (void)fault;
    return {};
  }
};

// Optional abilities, as Jepsen's separate protocols: a nemesis that needs one finds it with
// dynamic_cast, and a spec asking for a fault the target cannot serve is an error at load time.

// Kill / restart and pause / resume of a node's server processes (the ones the run started).
class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // SIGKILLs the node's servers; returns their pids. Nothing to do when already down.
  virtual std::vector<int> kill(const std::string& node) = 0;
  // Starts the node's killed servers again on their data; returns the new pids.
  virtual std::vector<int> restart(const std::string& node) = 0;
  // SIGSTOP / SIGCONT of the node's servers; return the pids signalled.
  virtual std::vector<int> pause(const std::string& node) = 0;
  virtual std::vector<int> resume(const std::string& node) = 0;
  // What kill and pause act on ("etcd", "redis-server (not the sentinel)"), for the report.
  virtual std::string process_description() const = 0;
};

// The nodes that currently lead (etcd's Raft leader, Redis' master), as the servers say.
class PrimaryAware {
 public:
  virtual ~PrimaryAware() = default;
  // May be empty (an election under way). Never throws for an unreachable node.
  virtual std::vector<std::string> primaries() = 0;
};

// Servers that follow a per-node clock offset file (decimal seconds, "+1.5", "-0.25": the
// format libfaketime reads from FAKETIME_TIMESTAMP_FILE, re-read while the server runs).
class ClockControl {
 public:
  virtual ~ClockControl() = default;
  // Called before start(): each node's servers must follow the offset in the file at
  // files.at(node), a path on that node.
  virtual void use_clock_files(std::map<std::string, std::string> files) = 0;
  // The node's clock minus the harness's wall clock in ms, as the server reports its time
  // (Redis TIME, PostgreSQL now()); nullopt when it cannot be measured right now.
  virtual std::optional<double> measure_clock_offset_ms(const std::string& node) = 0;
};

// Servers whose data folder can sit on a filesystem that lies (the storage nemeses: lost
// unsynced writes, torn writes, corrupted files). The faults are applied while the node's
// servers are killed (ProcessControl), as a crash would leave the disk.
class StorageControl {
 public:
  virtual ~StorageControl() = default;
  // Mounts a filesystem at `data_dir` (an empty folder the target made) that keeps its files in
  // `backing_dir` (made by the target, with the owner and mode the data folder needs).
  using Mount = std::function<void(const std::string& node, const std::string& backing_dir,
                                   const std::string& data_dir)>;
  // Called before start(): the target calls `mount` on each node it runs a server on, before
  // anything is written into its data folder.
  virtual void use_data_mount(Mount mount) = 0;
  // The node's data folder, the mount point given to `mount`. REQUIRES: start() has run.
  virtual std::string data_dir(const std::string& node) const = 0;
};

// Factory arguments: the target's mapping of the spec (system and nodes already read) and the
// node count. The factory reads its own options and must not start anything.
using TargetRegistry = Registry<Target, FieldReader&, int>;

}  // namespace faultline
