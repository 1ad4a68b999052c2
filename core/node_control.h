// Where nodes run: the one seam between faultline and the operating system (like LevelDB's Env).
//
// A NodeControl owns a set of named nodes (n1..nN) that can reach each other and the harness.
// The local implementation gives each node its own network namespace on a private bridge; an
// SSH implementation would drive remote hosts. Nothing outside a NodeControl spawns processes
// or shells out: targets start servers through spawn(), nemeses act through run().
//
// Every resource is registered in a journal before it is created, so teardown() — or
// `faultline clean` after a crash or SIGKILL — removes exactly what the run made.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct NodeInfo {
  std::string name;     // n1, n2, ...
  std::string address;  // IPv4 address the other nodes and the harness reach it at
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0; }
};

struct SpawnOptions {
  std::vector<std::string> argv;                            // argv[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;     // added to the harness environment
  std::filesystem::path log_path;                           // stdout and stderr appended here
};

// A long-running process started on a node. Destroying it does not stop it: stop explicitly.
class NodeProcess {
 public:
  virtual ~NodeProcess() = default;
  virtual int pid() const = 0;
  virtual bool running() = 0;
  virtual void signal(int signal_number) = 0;
  // True if the process exited within `timeout`.
  virtual bool wait_for_exit(std::chrono::milliseconds timeout) = 0;
  // SIGTERM, then SIGKILL if it has not exited within `grace`.
  void stop(std::chrono::milliseconds grace);
};

class NodeControl {
 public:
  virtual ~NodeControl() = default;
  virtual const std::vector<NodeInfo>& nodes() const = 0;
  const NodeInfo& node(const std::string& name) const;

  // Runs a command on a node to completion, feeding `input` to its stdin. Thread-safe.
  virtual CommandResult run(const std::string& node, const std::vector<std::string>& argv,
                            const std::string& input = {}) = 0;
  // Starts a long-running process on a node; it dies with the harness if the harness dies.
  virtual std::unique_ptr<NodeProcess> spawn(const std::string& node,
                                             const SpawnOptions& options) = 0;
  // Registers a host file (or folder, removed with its contents) for removal at teardown
  // (before the caller creates it).
  virtual void register_file(const std::filesystem::path& path) = 0;
  // Removes every resource this run made. Idempotent; never throws.
  virtual void teardown() noexcept = 0;
};

}  // namespace faultline
