// The server processes a target started, by node and role, with what it takes to start each
// again: shared by targets for stop (and fetching the logs), kill / restart, pause / resume and
// log tails. Thread-safe: the nemesis thread and the runner use it at once.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/node_control.h"

namespace faultline {

// How a server's processes are stopped and faulted. PostgreSQL's fast shutdown is SIGINT (its
// SIGTERM waits for every client), and its backends are children that keep serving their
// connections, and keep its shared memory, after the postmaster alone is stopped or killed: a
// kill or pause must take the whole tree, as a crash or a frozen machine would.
struct ServerKind {
  int stop_signal = SIGTERM;
  bool whole_tree = false;  // kill / pause / resume reach the server's children too
};

class ServerSet {
 public:
  explicit ServerSet(std::string role_killed) : killable_role_(std::move(role_killed)) {}
  ~ServerSet() { stop_all(); }

  // Spawns a server on `node`; `role` names it ("etcd", "redis", "sentinel"). `first_start`,
  // when given, is what this first start runs instead of `options`, which restarts run (a
  // cluster's bootstrap node: Galera's --wsrep-new-cluster must not be repeated on rejoin).
  // Throws std::runtime_error when it cannot be started.
  void spawn(NodeControl& cluster, const std::string& node, const std::string& role,
             SpawnOptions options, ServerKind kind = {},
             std::optional<SpawnOptions> first_start = std::nullopt);
  // Act on the node's servers of the killable role. Return the pids acted on.
  std::vector<int> kill(const std::string& node);
  std::vector<int> restart(const std::string& node);
  std::vector<int> pause(const std::string& node);
  std::vector<int> resume(const std::string& node);
  // Whether every server of the killable role on `node` is running.
  bool running(const std::string& node);
  // SIGCONT + the kind's stop signal, then SIGKILL, for every server; then fetches their logs into the run
  // folder. Idempotent; never throws. REQUIRES: the NodeControl is not torn down yet.
  void stop_all() noexcept;
  // The last lines of every server log, for errors that must show why a cluster did not come up.
  std::string log_tails(std::size_t lines = 8) const;

 private:
  struct Server {
    std::string node, role;
    SpawnOptions options;
    ServerKind kind;
    NodeControl* cluster = nullptr;
    std::unique_ptr<NodeProcess> process;
    bool paused = false;
  };
  template <class Action>
  std::vector<int> each(const std::string& node, Action&& action);
  // Sends `signal_number` to the server, and to its children when its kind says so.
  static void signal_server(Server& s, int signal_number);

  std::string killable_role_;
  mutable std::mutex mutex_;
  std::vector<Server> servers_;
};

}  // namespace faultline

namespace faultline {

// The last `lines` lines of the log at `path` on `node`, headed by its path, for errors that
// must show why a server did not come up. Never throws (an unreadable log says so).
std::string log_tail(NodeFiles& files, const std::string& node, const std::string& path,
                     std::size_t lines);

// A file the harness ships beside its binary (`name`: libfaultline_clock.so,
// faultline-lyingfs): next to the faultline binary, else in the build folder. Throws
// std::runtime_error naming `needed_for` when it is nowhere.
std::filesystem::path companion_file(const std::string& name, const std::string& needed_for);

// libfaultline_clock.so (preload/clock_shift.cpp), the clock nemesis' preload library.
std::filesystem::path clock_shift_library();

}  // namespace faultline
