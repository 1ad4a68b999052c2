#include "targets/servers.h"

#include <signal.h>

#include <sstream>

#include "core/log.h"

namespace faultline {

using namespace std::chrono_literals;

void ServerSet::spawn(NodeControl& cluster, const std::string& node, const std::string& role,
                      SpawnOptions options, ServerKind kind,
                      std::optional<SpawnOptions> first_start) {
  auto process = cluster.spawn(node, first_start ? *first_start : options);
  std::lock_guard lock(mutex_);
  servers_.push_back({node, role, std::move(options), kind, &cluster, std::move(process), false});
}

void ServerSet::signal_server(Server& s, int signal_number) {
  if (!s.kind.whole_tree) {
    s.process->signal(signal_number);
    return;
  }
  // The parent is stopped first, so that it forks no child the signal would miss, and gets a
  // SIGCONT last, once its children have theirs.
  int pid = s.process->pid();
  if (signal_number != SIGCONT) s.process->signal(SIGSTOP);
  s.cluster->run(s.node, {"pkill", "-" + std::to_string(signal_number), "-P", std::to_string(pid)});
  s.process->signal(signal_number);
}

bool ServerSet::running(const std::string& node) {
  bool all = true;
  each(node, [&](Server& s, std::vector<int>&) { all = all && s.process->running(); });
  return all;
}

template <class Action>
std::vector<int> ServerSet::each(const std::string& node, Action&& action) {
  std::lock_guard lock(mutex_);
  std::vector<int> pids;
  for (auto& s : servers_)
    if (s.node == node && s.role == killable_role_) action(s, pids);
  return pids;
}

std::vector<int> ServerSet::kill(const std::string& node) {
  return each(node, [](Server& s, std::vector<int>& pids) {
    if (!s.process->running()) return;
    pids.push_back(s.process->pid());
    signal_server(s, SIGKILL);
    s.process->wait_for_exit(5s);
    s.paused = false;
  });
}

std::vector<int> ServerSet::restart(const std::string& node) {
  return each(node, [](Server& s, std::vector<int>& pids) {
    if (s.process->running()) return;
    s.process = s.cluster->spawn(s.node, s.options);
    pids.push_back(s.process->pid());
  });
}

std::vector<int> ServerSet::pause(const std::string& node) {
  return each(node, [](Server& s, std::vector<int>& pids) {
    if (!s.process->running() || s.paused) return;
    signal_server(s, SIGSTOP);
    s.paused = true;
    pids.push_back(s.process->pid());
  });
}

std::vector<int> ServerSet::resume(const std::string& node) {
  return each(node, [](Server& s, std::vector<int>& pids) {
    if (!s.paused) return;
    signal_server(s, SIGCONT);
    s.paused = false;
    pids.push_back(s.process->pid());
  });
}

void ServerSet::stop_all() noexcept {
  std::lock_guard lock(mutex_);
  for (auto& s : servers_) {
    try {
      if (!s.process->running()) continue;
      if (s.paused) signal_server(s, SIGCONT);  // a stopped process cannot act on a stop signal
      s.process->signal(s.kind.stop_signal);
      if (!s.process->wait_for_exit(5s)) s.process->stop(2s);
    } catch (...) {
    }
  }
  for (auto& s : servers_) {
    try {
      s.cluster->files().fetch(s.node, s.options.log_path);
    } catch (const std::exception& e) {
      log::warn("could not fetch " + s.node + ":" + s.options.log_path + ": " + e.what());
    }
  }
  servers_.clear();
}

std::string ServerSet::log_tails(std::size_t lines) const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& s : servers_) out += log_tail(s.cluster->files(), s.node, s.options.log_path, lines);
  return out;
}

std::string log_tail(NodeFiles& files, const std::string& node, const std::string& path,
                     std::size_t lines) {
  constexpr std::size_t kTailBytes = 64 * 1024;  // plenty for the few lines an error shows
  std::string text;
  try {
    text = files.read_file(node, path, kTailBytes);
  } catch (const std::exception& e) {
    text = std::string(e.what()) + "\n";
  }
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += all[i] + "\n";
  return "--- " + node + ":" + path + " (last lines)\n" + out;
}

}  // namespace faultline

namespace faultline {

std::filesystem::path companion_file(const std::string& name, const std::string& needed_for) {
  std::error_code ec;
  auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / name;
  if (!ec && std::filesystem::exists(beside)) return beside;
#ifdef FAULTLINE_CLOCK_LIBRARY  // where the build put the preload library: the build folder
  if (auto built = std::filesystem::path(FAULTLINE_CLOCK_LIBRARY).parent_path() / name;
      std::filesystem::exists(built))
    return built;
#endif
  throw std::runtime_error(name + " not found next to the faultline binary: " + needed_for +
                           " needs it (build target " + name + ")");
}

std::filesystem::path clock_shift_library() {
  return companion_file("libfaultline_clock.so", "the clock nemesis");
}

}  // namespace faultline
