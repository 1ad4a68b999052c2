#include "cluster/ssh_cluster.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/log.h"

namespace faultline {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path journal_dir() { return "/run/faultline"; }

std::string remote_root(const std::string& run_id) { return "/tmp/faultline-" + run_id; }
std::string scratch_prefix(const std::string& run_id) { return "/dev/shm/faultline-" + run_id + "-"; }
std::string run_marker(const std::string& run_id) { return "FAULTLINE_RUN=" + run_id; }

// Removes, on one host, what run `run_id` made there: its processes (found by the marker in
// their environment, so a reused pid is never hit), faultline's iptables chains (FL-*, in the
// filter table for partitions and loss, in nat for the link proxy) and the built-in chains'
// jumps to them, its folder and scratch files. Arguments: $1 the run id.
constexpr const char* kCleanupScript = R"sh(run=$1
for p in /proc/[0-9]*; do
  if grep -qzx "FAULTLINE_RUN=$run" "$p/environ" 2>/dev/null; then
    kill -CONT "${p#/proc/}" 2>/dev/null; kill -KILL "${p#/proc/}" 2>/dev/null; echo "killed ${p#/proc/}"
  fi
done
if command -v iptables >/dev/null; then
  set -f  # a rule is split into words below, never globbed (until set +f)
  for table in filter nat; do
    # Jumps first: a chain still jumped to cannot be deleted.
    iptables -w 5 -t "$table" -S 2>/dev/null | grep -E -- '^-A [A-Z]+ .*-j FL-[A-Za-z0-9-]+$' |
      while read -r rule; do iptables -w 5 -t "$table" -D ${rule#-A }; done
    for chain in $(iptables -w 5 -t "$table" -S 2>/dev/null | sed -n 's/^-N \(FL-[A-Za-z0-9-]*\)$/\1/p'); do
      iptables -w 5 -t "$table" -F "$chain" && iptables -w 5 -t "$table" -X "$chain" &&
        echo "removed chain $chain ($table)"
    done
  done
  set +f
fi
if [ -e "/tmp/faultline-$run" ]; then rm -rf "/tmp/faultline-$run" && echo "removed /tmp/faultline-$run"; fi
for f in /dev/shm/faultline-"$run"-*; do [ -e "$f" ] && rm -f "$f" && echo "removed $f"; done
exit 0
)sh";

// How undo_ssh_entry's line starts when the host could not be cleaned.
constexpr const char* kNotCleaned = "NOT cleaned ";

// ssh's message (lines ending in \r\n) as one line: "a; b".
std::string one_line(std::string text) {
  std::erase(text, '\r');
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

[[noreturn]] void unreachable(const std::string& node, const SshConnection& host,
                              const RemoteOutput& r) {
  throw std::runtime_error(node + " (" + host.login().describe() + ") is not answering: " +
                           one_line(r.err + r.out));
}

// A server started on a host, detached from the ssh session that started it.
class RemoteProcess final : public NodeProcess {
 public:
  RemoteProcess(std::string node, const SshConnection& host, std::string run_id, int pid)
      : node_(std::move(node)), host_(host), run_id_(std::move(run_id)), pid_(pid) {}

  int pid() const override { return pid_; }

  // Running while a process of that pid carries this run's marker: a zombie, or another
  // process that got the pid later, does not count. Throws when the host is not answering.
  bool running() override {
    RemoteOutput r = host_.run({"grep", "-qzx", run_marker(run_id_),
                                "/proc/" + std::to_string(pid_) + "/environ"});
    if (r.unreachable()) unreachable(node_, host_, r);
    return r.exit_code == 0;
  }

  void signal(int signal_number) override {
    RemoteOutput r = host_.run({"kill", "-" + std::to_string(signal_number), std::to_string(pid_)});
    if (r.unreachable()) unreachable(node_, host_, r);
  }

  bool wait_for_exit(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  }

 private:
  std::string node_;
  const SshConnection& host_;
  std::string run_id_;
  int pid_;
};

// Node files on remote hosts. The run may only touch what it owns there: its folder
// /tmp/faultline-<run id>/ and its scratch files; anything else is refused
// (std::invalid_argument), so no journal of single files is needed: the host entry removes
// them all.
class SshFiles final : public NodeFiles {
 public:
  SshFiles(std::string run_id, fs::path run_dir, std::map<std::string, const SshConnection*> hosts)
      : run_id_(std::move(run_id)), run_dir_(std::move(run_dir)), hosts_(std::move(hosts)) {}

  std::string node_dir(const std::string& node) const override {
    host(node);
    return remote_root(run_id_) + "/" + node;
  }

  std::string scratch_path(const std::string& node, const std::string& name) const override {
    host(node);
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      throw std::invalid_argument("scratch file name '" + name + "' is not one path component");
    return scratch_prefix(run_id_) + node + "." + name;
  }

  void write_file(const std::string& node, const std::string& path,
                  const std::string& contents) override {
    std::string p = owned(node, path);
    std::lock_guard lock(write_mutex_);  // the temporary's name is shared
    must(node, {"sh", "-c", "cat > \"$1.tmp\" && chmod 644 \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"",
                "sh", p},
         "write " + p, contents);
  }

  std::string read_file(const std::string& node, const std::string& path,
                        std::size_t last_bytes) override {
    std::string p = absolute(node, path);
    if (last_bytes == std::string::npos) return must(node, {"cat", "--", p}, "read " + p);
    return must(node, {"tail", "-c", std::to_string(last_bytes), "--", p}, "read " + p);
  }

  void make_dir(const std::string& node, const std::string& path,
                const DirOptions& options) override {
    std::string p = owned(node, path);
    must(node, {"mkdir", "-p", "--", p}, "make folder " + p);
    if (!options.owner.empty())
      must(node, {"sh", "-c", "chown \"$1:$(id -gn \"$1\")\" \"$2\"", "sh", options.owner, p},
           "chown " + p);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", options.mode);
    must(node, {"chmod", mode, "--", p}, "chmod " + p);
  }

  void remove(const std::string& node, const std::string& path) override {
    std::string p = owned(node, path);
    must(node, {"rm", "-rf", "--", p}, "remove " + p);
  }

  std::vector<std::string> list_dir(const std::string& node, const std::string& path) override {
    std::string p = absolute(node, path);
    RemoteOutput r = host(node).run({"find", p, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\0"});
    if (r.unreachable()) unreachable(node, host(node), r);
    std::vector<std::string> names;
    if (r.exit_code != 0) return names;  // no such folder
    for (std::size_t at = 0, end; (end = r.out.find('\0', at)) != std::string::npos; at = end + 1)
      names.push_back(r.out.substr(at, end - at));
    std::sort(names.begin(), names.end());
    return names;
  }

  bool exists(const std::string& node, const std::string& path) override {
    std::string p = absolute(node, path);
    RemoteOutput r = host(node).run({"sh", "-c", "test -e \"$1\" || test -L \"$1\"", "sh", p});
    if (r.unreachable()) unreachable(node, host(node), r);
    return r.exit_code == 0;
  }

  // A tar stream of the file or folder, unpacked into the run folder's nodes/<node>/.
  void fetch(const std::string& node, const std::string& path) override {
    fs::path p = absolute(node, path);
    fs::path into = run_dir_ / "nodes" / node;
    fs::create_directories(into);
    fs::path tar = into / (".fetch-" + p.filename().string() + ".tar");
    RemoteOutput r = host(node).run({"tar", "-C", p.parent_path().string(), "-cf", "-", "--",
                                     p.filename().string()},
                                    "", HostCommand::Stderr::separate, tar);
    if (r.exit_code != 0) {
      fs::remove(tar);
      if (r.unreachable()) unreachable(node, host(node), r);
      throw std::runtime_error(node + ": cannot fetch " + p.string() + ": " + one_line(r.err));
    }
    std::error_code ec;
    fs::remove_all(into / p.filename(), ec);
    HostOutput untar = run_host_command(
        {{"tar", "-xf", tar.string(), "-C", into.string()}, "", {}, HostCommand::Stderr::merged});
    fs::remove(tar, ec);
    if (untar.exit_code != 0)
      throw std::runtime_error(node + ": cannot unpack " + p.string() + ": " + untar.out);
  }

  std::string upload(const std::string& node, const fs::path& harness_file) override {
    std::string contents;
    {
      std::ifstream in(harness_file, std::ios::binary);
      if (!in) throw std::runtime_error(node + ": cannot upload " + harness_file.string() + ": no such file");
      contents.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string p = remote_root(run_id_) + "/" + harness_file.filename().string();
    // Beside it, then renamed over it: a copy in use (a proxy running from it, on hosts that
    // share the file) cannot be written in place (ETXTBSY).
    must(node, {"sh", "-c", "cat > \"$1.$2\" && chmod 755 \"$1.$2\" && mv -f \"$1.$2\" \"$1\"",
                "sh", p, node},
         "upload " + p, contents);
    return p;
  }

 private:
  const SshConnection& host(const std::string& node) const {
    auto it = hosts_.find(node);
    if (it == hosts_.end()) throw std::invalid_argument("no node named " + node);
    return *it->second;
  }

  std::string absolute(const std::string& node, const std::string& path) const {
    host(node);
    fs::path p(path);
    if (!p.is_absolute()) throw std::invalid_argument(node + ": path '" + path + "' is not absolute");
    return p.lexically_normal().string();
  }

  // `path`, which must lie inside the run's folder on the host or be one of its scratch files.
  std::string owned(const std::string& node, const std::string& path) const {
    std::string p = absolute(node, path);
    auto rel = fs::path(p).lexically_relative(remote_root(run_id_));
    bool in_root = !rel.empty() && rel != "." && *rel.begin() != "..";
    bool scratch = p.rfind(scratch_prefix(run_id_), 0) == 0 && p.find('/', 9) == std::string::npos;
    if (!in_root && !scratch)
      throw std::invalid_argument(node + ": refusing to change " + p + ", which is outside " +
                                  remote_root(run_id_) + " (on remote hosts the run touches only its own folder)");
    return p;
  }

  std::string must(const std::string& node, const std::vector<std::string>& argv,
                   const std::string& what, const std::string& input = {}) const {
    RemoteOutput r = host(node).run(argv, input);
    if (r.unreachable()) unreachable(node, host(node), r);
    if (r.exit_code != 0) throw std::runtime_error(node + ": cannot " + what + ": " + one_line(r.err));
    return r.out;
  }

  std::string run_id_;
  fs::path run_dir_;
  std::map<std::string, const SshConnection*> hosts_;
  std::mutex write_mutex_;
};

class SshCluster final : public NodeControl {
 public:
  explicit SshCluster(const SshClusterOptions& options)
      : run_id_(options.run_id), journal_(make_journal(options.run_id)) {
    try {
      connect(options);
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~SshCluster() override { teardown(); }

  const std::vector<NodeInfo>& nodes() const override { return nodes_; }

  CommandResult run(const std::string& node, const std::vector<std::string>& argv,
                    const std::string& input) override {
    RemoteOutput r = host(node).run(argv, input, HostCommand::Stderr::merged);
    if (r.unreachable()) unreachable(node, host(node), r);
    return {r.exit_code, std::move(r.out)};
  }

  // The server runs detached (setsid, its output appended to the log on the host) with the
  // run's marker in its environment: `faultline clean` finds it by that after a SIGKILL. It
  // does not die with the harness as a local server does; teardown or clean ends it.
  std::unique_ptr<NodeProcess> spawn(const std::string& node, const SpawnOptions& options) override {
    std::vector<std::string> argv{"sh", "-c", "\"$@\" >> \"$0\" 2>&1 < /dev/null & echo $!",
                                  options.log_path, "setsid", "env", run_marker(run_id_)};
    for (const auto& [key, value] : options.env) {
      if (key.empty() || key.find('=') != std::string::npos)
        throw std::invalid_argument("environment variable name '" + key + "' is not valid");
      argv.push_back(key + "=" + value);
    }
    argv.insert(argv.end(), options.argv.begin(), options.argv.end());
    RemoteOutput r = host(node).run(argv);
    if (r.unreachable()) unreachable(node, host(node), r);
    int pid = 0;
    try {
      pid = std::stoi(r.out);
    } catch (const std::exception&) {
    }
    if (r.exit_code != 0 || pid <= 0)
      throw std::runtime_error("cannot start " + options.argv[0] + " on " + node + ": " +
                               one_line(r.err + r.out));
    return std::make_unique<RemoteProcess>(node, host(node), run_id_, pid);
  }

  // The spec loader refuses storage faults on SSH hosts; this guards other callers.
  std::unique_ptr<NodeProcess> spawn_mount(const std::string& node, const std::string&,
                                           const SpawnOptions&) override {
    throw std::runtime_error("cannot mount a faulty filesystem on " + node +
                             ": storage faults are not supported on SSH hosts");
  }

  NodeFiles& files() override { return *files_; }

  std::vector<std::string> teardown() noexcept override {
    std::lock_guard lock(teardown_mutex_);
    if (torn_down_) return {};
    torn_down_ = true;
    std::vector<JournalEntry> not_cleaned;
    std::vector<std::string> left;
    auto undo = [&](const JournalEntry& entry) {
      std::string line = undo_ssh_entry(entry);
      if (line.rfind(kNotCleaned, 0) == 0) {
        not_cleaned.push_back(entry);
        left.push_back(node_of(entry) + ": " + line.substr(std::string(kNotCleaned).size()) +
                       "; what the run made there (servers marked " + run_marker(run_id_) +
                       ", FL-* iptables chains, " + remote_root(run_id_) + "/, " +
                       scratch_prefix(run_id_) + "*) stays until `faultline clean` reaches it");
      }
      return line;
    };
    for (const auto& line : undo_journal(journal_.path(), undo)) log::debug(line);
    if (not_cleaned.empty()) return left;
    // A host that is not answering keeps its entry, for `faultline clean` once it answers again.
    try {
      Journal again(journal_.path());
      for (const auto& entry : not_cleaned) again.add(entry.kind, entry.name);
      log::warn(std::to_string(not_cleaned.size()) + " host(s) not cleaned; run `faultline clean` "
                "when they answer again (" + journal_.path().string() + ")");
    } catch (const std::exception& e) {
      log::error(std::string("cannot keep the journal of hosts not cleaned: ") + e.what());
      for (auto& line : left) line += " (its journal entry is lost: clean it by hand)";
    }
    return left;
  }

 private:
  static fs::path make_journal(const std::string& run_id) {
    fs::create_directories(journal_dir());
    return journal_dir() / (run_id + ".journal");
  }

  const SshConnection& host(const std::string& node) const {
    auto it = hosts_.find(node);
    if (it == hosts_.end()) throw std::invalid_argument("no node named " + node);
    return it->second;
  }

  // The node of an ssh-host journal entry ("n3"), by the control socket the entry names.
  std::string node_of(const JournalEntry& entry) const {
    for (const auto& [node, connection] : hosts_)
      if (entry.name.find(" " + control_path(node).string() + " ") != std::string::npos) return node;
    return "a host";
  }

  fs::path control_path(const std::string& node) const {
    return journal_dir() / (run_id_ + "-" + node + ".ssh");
  }

  void connect(const SshClusterOptions& options) {
    std::map<std::string, const SshConnection*> by_node;
    for (std::size_t i = 0; i < options.cluster.hosts.size(); ++i) {
      std::string node = "n" + std::to_string(i + 1);
      SshLogin login = options.cluster.login;
      login.address = options.cluster.hosts[i].address;
      fs::path control = control_path(node);
      // Journaled before made; undone newest first: the host's things, then its master.
      journal_.add("ssh-master", control.string() + " " + login.to_line());
      journal_.add("ssh-host", run_id_ + " " + control.string() + " " + login.to_line());
      auto [it, _] = hosts_.try_emplace(node, login, control);
      it->second.open_master();
      by_node[node] = &it->second;
      nodes_.push_back({node, login.address});
    }
    files_ = std::make_unique<SshFiles>(run_id_, options.run_dir, by_node);
    for (const auto& n : nodes_) files_->make_dir(n.name, files_->node_dir(n.name), {});
    std::string names;
    for (const auto& h : options.cluster.hosts) names += (names.empty() ? "" : ", ") + h.name;
    log::info("ssh cluster " + run_id_ + ": " + std::to_string(nodes_.size()) + " hosts (" + names + ")");
  }

  std::string run_id_;
  Journal journal_;
  std::map<std::string, SshConnection> hosts_;
  std::unique_ptr<SshFiles> files_;
  std::vector<NodeInfo> nodes_;
  std::mutex teardown_mutex_;
  bool torn_down_ = false;
};

}  // namespace

std::unique_ptr<NodeControl> make_ssh_cluster(const SshClusterOptions& options) {
  if (options.cluster.hosts.empty()) throw std::invalid_argument("an ssh cluster needs hosts");
  return std::make_unique<SshCluster>(options);
}

std::string undo_ssh_entry(const JournalEntry& entry) noexcept {
  try {
    // ssh-master: CONTROL_PATH LOGIN; ssh-host: RUN_ID CONTROL_PATH LOGIN
    std::istringstream fields(entry.name);
    std::string first, control;
    fields >> first;
    if (entry.kind == "ssh-host") fields >> control;
    std::string login_line;
    std::getline(fields >> std::ws, login_line);
    SshLogin login = SshLogin::from_line(login_line);
    if (entry.kind == "ssh-master") {
      SshConnection(login, first).close_master();
      return {};
    }
    if (entry.kind != "ssh-host") return {};
    SshConnection host(login, control);  // the master if it is still up, else a new login
    RemoteOutput r = host.run({"sh", "-c", kCleanupScript, "sh", first});
    if (r.exit_code != 0) {
      log::warn("could not clean " + login.describe() + ": " + one_line(r.err + r.out));
      return kNotCleaned + login.describe() + " (run " + first + "): " + one_line(r.err);
    }
    std::string done = one_line(r.out);
    return "cleaned " + login.describe() + (done.empty() ? "" : ": " + done);
  } catch (const std::exception& e) {
    log::warn("cleanup of " + entry.kind + " " + entry.name + " failed: " + e.what());
  }
  return {};
}

}  // namespace faultline
