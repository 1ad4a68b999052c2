// The local NodeControl: one network namespace per node, veth pairs on a private bridge.
//
// Layout for run id R with N nodes: bridge flbR (host side, address .254 of the run's /24),
// namespaces flR-n1..flR-nN, each with eth0 at .1...N, and host-side veths flvR-1..N.
// The journal /run/faultline/R.journal lists each resource before it is created.
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
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/log.h"
#include "cluster/local_cluster.h"

namespace faultline {

namespace bp = boost::process;

void NodeProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  signal(SIGCONT);  // a paused process cannot act on SIGTERM
  signal(SIGTERM);
  if (wait_for_exit(grace)) return;
  signal(SIGKILL);
  wait_for_exit(std::chrono::seconds(5));
}

const NodeInfo& NodeControl::node(const std::string& name) const {
  for (const auto& n : nodes())
    if (n.name == name) return n;
  throw std::invalid_argument("no node named " + name);
}

std::filesystem::path journal_dir() { return "/run/faultline"; }

namespace {

// Runs a host command to completion. Used only by this file: the one place that shells out.
CommandResult run_host(const std::vector<std::string>& argv, const std::string& input = {}) {
  assert(!argv.empty());
  auto program = bp::search_path(argv[0]);
  if (program.empty()) return CommandResult{127, argv[0] + ": not found in PATH"};
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::ipstream out;
  bp::opstream in;
  bp::child child(program, bp::args(args), (bp::std_out & bp::std_err) > out, bp::std_in < in);
  in << input;
  in.flush();
  in.pipe().close();
  CommandResult result;
  std::string line;
  while (std::getline(out, line)) result.output += line + "\n";
  child.wait();
  result.exit_code = child.exit_code();
  return result;
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

// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat): with the pid
// it identifies a process even after its pid is reused.
long long process_start_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoll(field);
  return -1;
}

bool process_alive(int pid, long long start_ticks) {
  return pid > 0 && ::kill(pid, 0) == 0 && process_start_ticks(pid) == start_ticks;
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
std::string undo(const std::string& kind, const std::string& name) noexcept {
  try {
    if (kind == "netns") {
      kill_namespace_processes(name);
      if (run_host({"ip", "netns", "del", name}).ok()) return "removed namespace " + name;
    } else if (kind == "link") {
      if (run_host({"ip", "link", "del", name}).ok()) return "removed link " + name;
    } else if (kind == "file") {
      if (std::filesystem::remove_all(name) > 0) return "removed file " + name;  // or folder
    }
  } catch (const std::exception& e) {
    log::warn("cleanup of " + kind + " " + name + " failed: " + e.what());
  }
  return {};
}

struct JournalEntry {
  std::string kind, name;
};

std::vector<JournalEntry> read_journal(const std::filesystem::path& path, int& owner_pid,
                                       long long& owner_start) {
  std::ifstream in(path);
  std::vector<JournalEntry> entries;
  std::string kind, name;
  owner_pid = -1;
  owner_start = -1;
  while (in >> kind >> name) {
    if (kind == "owner") {
      owner_pid = std::stoi(name);
      in >> owner_start;
    } else {
      entries.push_back({kind, name});
    }
  }
  return entries;
}

std::vector<std::string> undo_journal(const std::filesystem::path& path) {
  int owner_pid;
  long long owner_start;
  auto entries = read_journal(path, owner_pid, owner_start);
  std::vector<std::string> done;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    std::string line = undo(it->kind, it->name);
    if (!line.empty()) done.push_back(line);
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return done;
}

// Kills the child when the harness dies, even by SIGKILL: no server outlives its run.
struct DieWithParent : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
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
  explicit LocalCluster(const LocalClusterOptions& options) : run_id_(options.run_id) {
    std::filesystem::create_directories(journal_dir());
    journal_path_ = journal_dir() / (run_id_ + ".journal");
    {
      std::ofstream journal(journal_path_, std::ios::app);
      journal << "owner " << ::getpid() << " " << process_start_ticks(::getpid()) << "\n";
    }
    try {
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
    std::packaged_task<std::unique_ptr<NodeProcess>()> task([&] { return spawn_here(node, options); });
    auto result = task.get_future();
    {
      std::lock_guard lock(spawner_mutex_);
      if (!spawner_.joinable()) spawner_ = std::thread([this] { spawner_loop(); });
      spawn_queue_.push_back(std::move(task));
    }
    spawner_cv_.notify_one();
    return result.get();
  }

  void register_file(const std::filesystem::path& path) override { journal("file", path.string()); }

  void teardown() noexcept override {
    std::lock_guard lock(teardown_mutex_);
    if (torn_down_) return;
    torn_down_ = true;
    stop_spawner();
    for (const auto& line : undo_journal(journal_path_)) log::debug(line);
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

  std::unique_ptr<NodeProcess> spawn_here(const std::string& node, const SpawnOptions& options) {
    assert(!options.argv.empty());
    std::vector<std::string> args{"netns", "exec", namespace_of(node)};
    args.insert(args.end(), options.argv.begin(), options.argv.end());
    bp::environment env = boost::this_process::environment();
    for (const auto& [k, v] : options.env) env[k] = v;
    FILE* log = std::fopen(options.log_path.c_str(), "a");
    if (!log) throw std::runtime_error("cannot open " + options.log_path.string());
    std::error_code ec;
    bp::child child(bp::search_path("ip"), bp::args(args), bp::std_out > log, bp::std_err > log,
                    bp::std_in < bp::null, bp::env(env), DieWithParent{}, ec);
    std::fclose(log);
    if (ec) throw std::runtime_error("cannot start " + options.argv[0] + ": " + ec.message());
    return std::make_unique<LocalProcess>(std::move(child));
  }

  std::string namespace_of(const std::string& node) const { return "fl" + run_id_ + "-" + node; }

  void journal(const std::string& kind, const std::string& name) {
    std::ofstream out(journal_path_, std::ios::app);
    out << kind << " " << name << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write journal " + journal_path_.string());
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
    journal("link", bridge);
    must({"ip", "link", "add", bridge, "type", "bridge"});
    must({"ip", "addr", "add", prefix + "254/24", "dev", bridge});
    must({"ip", "link", "set", bridge, "up"});
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string ns = namespace_of(names[i]);
      std::string veth = "flv" + run_id_ + "-" + std::to_string(i + 1);
      std::string address = prefix + std::to_string(i + 1);
      journal("netns", ns);
      must({"ip", "netns", "add", ns});
      journal("link", veth);
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
  std::filesystem::path journal_path_;
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
    int owner_pid;
    long long owner_start;
    read_journal(entry.path(), owner_pid, owner_start);
    if (!include_live_runs && process_alive(owner_pid, owner_start)) {
      done.push_back("skipped " + entry.path().stem().string() + ": its run (pid " +
                     std::to_string(owner_pid) + ") is still going");
      continue;
    }
    for (auto& line : undo_journal(entry.path())) done.push_back(std::move(line));
  }
  return done;
}

}  // namespace faultline
