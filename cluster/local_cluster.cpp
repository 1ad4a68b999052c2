// The local NodeControl: one network namespace per node, veth pairs on a private bridge.
//
// Layout for run id R with N nodes: bridge flbR (host side, address .254 of the run's /24),
// namespaces flR-n1..flR-nN, each with eth0 at .1...N, and host-side veths flvR-1..N.
// The journal /run/faultline/R.journal lists each resource before it is created; node folders
// are the run folder's nodes/<node>/ and scratch files /run/faultline/R-<node>.<name>
// (cluster/local_files.h).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cassert>
#include <cstdio>
#include <deque>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cluster/local_cluster.h"
#include "cluster/host_command.h"
#include "cluster/local_files.h"
#include "cluster/ssh_cluster.h"
#include "core/log.h"

namespace faultline {

namespace bp = boost::process;

std::vector<std::string> child_environment(const char* const* base,
                                           const std::vector<std::pair<std::string, std::string>>& overrides) {
  auto overridden = [&](const std::string& entry) {
    for (const auto& [key, value] : overrides)
      if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
          entry[key.size()] == '=')
        return true;
    return false;
  };
  std::vector<std::string> entries;
  for (const char* const* e = base; e && *e; ++e)
    if (!overridden(*e)) entries.emplace_back(*e);
  for (const auto& [key, value] : overrides) {
    if (key.empty() || key.find('=') != std::string::npos)
      throw std::invalid_argument("environment variable name '" + key + "' is not valid");
    entries.push_back(key + "=" + value);
  }
  return entries;
}

namespace {

// Where journals and the nodes' scratch files live: tmpfs, as namespaces do not survive a
// reboot either.
std::filesystem::path journal_dir() { return "/run/faultline"; }

// Runs a host command to completion, stdout and stderr together.
CommandResult run_host(const std::vector<std::string>& argv, const std::string& input = {}) {
  HostOutput r = run_host_command({argv, input, {}, HostCommand::Stderr::merged});
  return {r.exit_code, std::move(r.out)};
}

CommandResult must(const std::vector<std::string>& argv, const std::string& input = {}) {
  CommandResult r = run_host(argv, input);
  if (!r.ok()) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (" + std::to_string(r.exit_code) + "): " + cmd +
                             "\n" + r.output);
  }
  return r;
}

void kill_namespace_processes(const std::string& ns) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    CommandResult pids = run_host({"ip", "netns", "pids", ns});
    std::istringstream in(pids.output);
    int pid = 0;
    bool any = false;
    while (in >> pid) {
      any = true;
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
}

// Undoes one journal entry. Never throws: teardown must get as far as it can.
std::string undo(const JournalEntry& entry) noexcept {
  const auto& [kind, name] = entry;
  try {
    if (kind == "netns") {
      kill_namespace_processes(name);
      if (run_host({"ip", "netns", "del", name}).ok()) return "removed namespace " + name;
    } else if (kind == "link") {
      if (run_host({"ip", "link", "del", name}).ok()) return "removed link " + name;
    } else if (kind == "file") {
      return remove_journaled_file(name);
    } else if (kind == "mount") {
      // Lazily: a server that still has a file open there must not keep the mount alive. No
      // `mountpoint` check first: on a mount whose daemon died it fails (ENOTCONN), and that is
      // the mount clean most needs to remove. umount fails on what is not mounted.
      if (run_host({"umount", "-l", name}).ok()) return "unmounted " + name;
    } else {
      return undo_ssh_entry(entry);  // a run on remote hosts journals here too
    }
  } catch (const std::exception& e) {
    log::warn("cleanup of " + kind + " " + name + " failed: " + e.what());
  }
  return {};
}

// Kills the child when the harness dies, even by SIGKILL: no server outlives its run.
struct DieWithParent : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
};

// Gives the child exactly `entries` as its environment. Built by hand rather than through
// bp::environment, whose find() in Boost 1.74 reads past the end of shorter entries.
class ChildEnvironment : public bp::extend::handler {
 public:
  explicit ChildEnvironment(std::vector<std::string> entries) : entries_(std::move(entries)) {
    for (auto& e : entries_) pointers_.push_back(e.data());
    pointers_.push_back(nullptr);
  }
  template <class Executor>
  void on_setup(Executor& executor) const {
    executor.env = const_cast<char**>(pointers_.data());
  }

 private:
  std::vector<std::string> entries_;
  std::vector<char*> pointers_;
};

class LocalProcess final : public NodeProcess {
 public:
  explicit LocalProcess(bp::child child) : child_(std::move(child)) {}
  ~LocalProcess() override {
    // The child is owned by the namespace; never let boost terminate it behind our back.
    if (child_.valid()) child_.detach();
  }
  int pid() const override { return child_.id(); }
  bool running() override {
    std::error_code ec;
    return child_.running(ec);
  }
  void signal(int signal_number) override {
    if (running()) ::kill(child_.id(), signal_number);
  }
  bool wait_for_exit(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

 private:
  bp::child child_;
};

class LocalCluster final : public NodeControl {
 public:
  explicit LocalCluster(const LocalClusterOptions& options)
      : run_id_(options.run_id), journal_(journal_path(options.run_id)) {
    try {
      files_.emplace(LocalFilesOptions{options.run_dir, journal_dir(), run_id_, options.node_names},
                     journal_);
      create(options.node_names);
    } catch (...) {
      teardown();
      throw;
    }
  }

  ~LocalCluster() override { teardown(); }

  const std::vector<NodeInfo>& nodes() const override { return nodes_; }

  CommandResult run(const std::string& node, const std::vector<std::string>& argv,
                    const std::string& input) override {
    std::vector<std::string> full{"ip", "netns", "exec", namespace_of(node)};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_host(full, input);
  }

  // PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process: a
  // server restarted by the nemesis thread would die when that thread ends. So every spawn runs
  // on one thread that lives as long as the cluster.
  std::unique_ptr<NodeProcess> spawn(const std::string& node,
                                     const SpawnOptions& options) override {
    return on_spawner(node, options, Namespace::node);
  }

  std::unique_ptr<NodeProcess> spawn_mount(const std::string& node, const std::string& mount_point,
                                           const SpawnOptions& options) override {
    journal_.add("mount", mount_point);
    auto daemon = on_spawner(node, options, Namespace::host);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!run_host({"mountpoint", "-q", mount_point}).ok()) {
      if (!daemon->running() || std::chrono::steady_clock::now() > deadline) {
        daemon->stop(std::chrono::seconds(1));
        throw std::runtime_error(node + ": " + options.argv[0] + " did not mount " + mount_point +
                                 " (log: " + options.log_path + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return daemon;
  }

  // Which mount namespace a spawned process lives in. `ip netns exec` gives each process a
  // mount namespace of its own, a slave of the host's: a FUSE daemon must mount in the host's,
  // from where the mount propagates into every node process started later.
  enum class Namespace { node, host };

  std::unique_ptr<NodeProcess> on_spawner(const std::string& node, const SpawnOptions& options,
                                          Namespace where) {
    std::packaged_task<std::unique_ptr<NodeProcess>()> task(
        [&] { return spawn_here(node, options, where); });
    auto result = task.get_future();
    {
      std::lock_guard lock(spawner_mutex_);
      if (!spawner_.joinable()) spawner_ = std::thread([this] { spawner_loop(); });
      spawn_queue_.push_back(std::move(task));
    }
    spawner_cv_.notify_one();
    return result.get();
  }

  NodeFiles& files() override { return *files_; }

  std::vector<std::string> teardown() noexcept override {
    std::lock_guard lock(teardown_mutex_);
    if (torn_down_) return {};
    torn_down_ = true;
    stop_spawner();
    for (const auto& line : undo_journal(journal_.path(), undo)) log::debug(line);
    return {};
  }

 private:
  void spawner_loop() {
    std::unique_lock lock(spawner_mutex_);
    for (;;) {
      spawner_cv_.wait(lock, [&] { return spawner_stop_ || !spawn_queue_.empty(); });
      if (spawn_queue_.empty()) return;
      auto task = std::move(spawn_queue_.front());
      spawn_queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  // Ends the spawner thread. Its children are killed with it (PDEATHSIG), as at teardown they
  // must be: by now the namespaces are going.
  void stop_spawner() noexcept {
    {
      std::lock_guard lock(spawner_mutex_);
      spawner_stop_ = true;
    }
    spawner_cv_.notify_all();
    if (spawner_.joinable()) spawner_.join();
  }

  std::unique_ptr<NodeProcess> spawn_here(const std::string& node, const SpawnOptions& options,
                                          Namespace where) {
    assert(!options.argv.empty());
    std::vector<std::string> args{"netns", "exec", namespace_of(node)};
    args.insert(args.end(), options.argv.begin(), options.argv.end());
    auto program = bp::search_path("ip");
    if (where == Namespace::host) {
      args.assign(options.argv.begin() + 1, options.argv.end());
      program = bp::search_path(options.argv[0]);
      if (program.empty()) program = options.argv[0];
    }
    ChildEnvironment env(child_environment(::environ, options.env));
    FILE* log = std::fopen(options.log_path.c_str(), "a");
    if (!log) throw std::runtime_error(node + ": cannot open " + options.log_path);
    std::error_code ec;
    bp::child child(program, bp::args(args), bp::std_out > log, bp::std_err > log,
                    bp::std_in < bp::null, env, DieWithParent{}, ec);
    std::fclose(log);
    if (ec) throw std::runtime_error("cannot start " + options.argv[0] + ": " + ec.message());
    return std::make_unique<LocalProcess>(std::move(child));
  }

  std::string namespace_of(const std::string& node) const { return "fl" + run_id_ + "-" + node; }

  static std::filesystem::path journal_path(const std::string& run_id) {
    std::filesystem::create_directories(journal_dir());
    return journal_dir() / (run_id + ".journal");
  }

  // A /24 in 10.213.0.0/16 that no host interface or route uses yet.
  static std::string free_subnet(const std::string& run_id) {
    std::string routes = run_host({"ip", "-4", "route", "show", "table", "all"}).output +
                         run_host({"ip", "-4", "addr"}).output;
    unsigned start = static_cast<unsigned>(std::hash<std::string>{}(run_id) % 250);
    for (unsigned i = 0; i < 250; ++i) {
      std::string prefix = "10.213." + std::to_string((start + i) % 250 + 1) + ".";
      if (routes.find(prefix) == std::string::npos) return prefix;
    }
    throw std::runtime_error("no free /24 in 10.213.0.0/16 for the cluster");
  }

  void create(const std::vector<std::string>& names) {
    std::string prefix = free_subnet(run_id_);
    std::string bridge = "flb" + run_id_;
    journal_.add("link", bridge);
    must({"ip", "link", "add", bridge, "type", "bridge"});
    must({"ip", "addr", "add", prefix + "254/24", "dev", bridge});
    must({"ip", "link", "set", bridge, "up"});
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string ns = namespace_of(names[i]);
      std::string veth = "flv" + run_id_ + "-" + std::to_string(i + 1);
      std::string address = prefix + std::to_string(i + 1);
      journal_.add("netns", ns);
      must({"ip", "netns", "add", ns});
      journal_.add("link", veth);
      must({"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
      must({"ip", "link", "set", veth, "master", bridge, "up"});
      must({"ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0"});
      must({"ip", "-n", ns, "link", "set", "eth0", "up"});
      must({"ip", "-n", ns, "link", "set", "lo", "up"});
      nodes_.push_back({names[i], address});
    }
    log::info("local cluster " + run_id_ + ": " + std::to_string(names.size()) +
              " namespaces on bridge " + bridge + " (" + prefix + "0/24)");
  }

  std::string run_id_;
  Journal journal_;
  std::optional<LocalFiles> files_;
  std::vector<NodeInfo> nodes_;
  std::mutex teardown_mutex_;
  bool torn_down_ = false;
  std::mutex spawner_mutex_;
  std::condition_variable spawner_cv_;
  std::deque<std::packaged_task<std::unique_ptr<NodeProcess>()>> spawn_queue_;
  bool spawner_stop_ = false;
  std::thread spawner_;
};

}  // namespace

std::unique_ptr<NodeControl> make_local_cluster(const LocalClusterOptions& options) {
  if (::geteuid() != 0)
    throw std::runtime_error("the local cluster needs root (network namespaces, iptables)");
  return std::make_unique<LocalCluster>(options);
}

std::vector<std::string> clean_leftovers(bool include_live_runs) {
  std::vector<std::string> done;
  std::error_code ec;
  if (!std::filesystem::exists(journal_dir(), ec)) return done;
  for (const auto& entry : std::filesystem::directory_iterator(journal_dir(), ec)) {
    if (entry.path().extension() != ".journal") continue;
    JournalContents journal = read_journal(entry.path());
    if (!include_live_runs && owner_alive(journal)) {
      done.push_back("skipped " + entry.path().stem().string() + ": its run (pid " +
                     std::to_string(journal.owner_pid) + ") is still going");
      continue;
    }
    for (auto& line : undo_journal(entry.path(), undo)) done.push_back(std::move(line));
  }
  return done;
}

}  // namespace faultline
