// The server processes a target started, by node and role, with what it takes to start each
// again: shared by targets for stop (and fetching the logs), kill / restart, pause / resume and
// log tails. Thread-safe: the nemesis thread and the runner use it at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/node_control.h"

namespace faultline {

class ServerSet {
 public:
  explicit ServerSet(std::string role_killed) : killable_role_(std::move(role_killed)) {}
  ~ServerSet() { stop_all(); }

  // Spawns a server on `node`; `role` names it ("etcd", "redis", "sentinel").
  void spawn(NodeControl& cluster, const std::string& node, const std::string& role,
             SpawnOptions options);
  // Act on the node's servers of the killable role. Return the pids acted on.
  std::vector<int> kill(const std::string& node);
  std::vector<int> restart(const std::string& node);
  std::vector<int> pause(const std::string& node);
  std::vector<int> resume(const std::string& node);
  // SIGCONT + SIGTERM, then SIGKILL, for every server; then fetches their logs into the run
  // folder. Idempotent; never throws. REQUIRES: the NodeControl is not torn down yet.
  void stop_all() noexcept;
  // The last lines of every server log, for errors that must show why a cluster did not come up.
  std::string log_tails(std::size_t lines = 8) const;

 private:
  struct Server {
    std::string node, role;
    SpawnOptions options;
    NodeControl* cluster = nullptr;
    std::unique_ptr<NodeProcess> process;
    bool paused = false;
  };
  template <class Action>
  std::vector<int> each(const std::string& node, Action&& action);

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

// libfaultline_clock.so (preload/clock_shift.cpp), a file of the harness: next to the faultline
// binary, else where the build put it. Throws std::runtime_error when it is nowhere.
std::filesystem::path clock_shift_library();

}  // namespace faultline
