// Remote hosts for the SSH tests: a local cluster of namespaces (the harness's own NodeControl,
// used here only as a way to get hosts) with Debian's sshd running in each, a host key and a
// client key made for the run, and a known_hosts file that names those hosts' keys.
#pragma once

#include <filesystem>
#include <map>
#include <sstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cluster/local_cluster.h"
#include "harness/spec.h"
#include "tests/integration/support.h"

namespace faultline::testing {

// Every process below `pid` (children, their children, ...), by the parent pids in /proc.
inline std::vector<int> descendants(int pid) {
  std::multimap<int, int> children;  // parent -> child
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp(entry.path() / "stat");
    auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    int parent = 0;
    if (fields >> state >> parent) children.emplace(parent, std::stoi(name));
  }
  std::vector<int> found;
  std::vector<int> todo{pid};
  while (!todo.empty()) {
    int p = todo.back();
    todo.pop_back();
    for (auto [it, end] = children.equal_range(p); it != end; ++it) {
      found.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return found;
}

class SshHosts {
 public:
  explicit SshHosts(int count) {
    std::string id = "s" + std::to_string(std::random_device{}() % 100000);
    hosts_ = make_local_cluster({id, node_names(count), dir_.path() / "hosts"});
    auto keygen = [&](const std::string& name) {
      auto path = dir_.path() / name;
      REQUIRE(run_program("ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-f", path.string()})
                  .exit_code == 0);
      return slurp(path.string() + ".pub");
    };
    std::string host_key = keygen("host_key");
    dir_.write("authorized_keys", keygen("id"));
    dir_.write("sshd_config",
               "HostKey " + (dir_.path() / "host_key").string() + "\n"
               "AuthorizedKeysFile " + (dir_.path() / "authorized_keys").string() + "\n"
               "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
               "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPidFile none\n"
               "MaxSessions 64\nMaxStartups 64\nLogLevel ERROR\n");
    std::filesystem::create_directories("/run/sshd");  // sshd's privilege separation folder
    std::string known;
    for (const auto& node : hosts_->nodes()) {
      known += node.address + " " + host_key;
      sshd_.push_back(hosts_->spawn(
          node.name, {{"/usr/sbin/sshd", "-D", "-e", "-f", (dir_.path() / "sshd_config").string(),
                       "-o", "ListenAddress=" + node.address},
                      {},
                      (dir_.path() / ("sshd-" + node.name + ".log")).string()}));
    }
    dir_.write("known_hosts", known);
    for (const auto& node : hosts_->nodes())
      REQUIRE(eventually(std::chrono::seconds(10), [&] {
        return run_program("ssh", {"-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-i", identity(),
                                   "-o", "UserKnownHostsFile=" + known_hosts(), "root@" + node.address,
                                   "true"})
                   .exit_code == 0;
      }));
  }

  const std::vector<NodeInfo>& nodes() const { return hosts_->nodes(); }
  std::string identity() const { return (dir_.path() / "id").string(); }
  std::string known_hosts() const { return (dir_.path() / "known_hosts").string(); }
  // Runs a command in host `node`'s namespace, as a person logged in there would.
  CommandResult on(const std::string& node, const std::vector<std::string>& argv) {
    return hosts_->run(node, argv);
  }
  // The host stops answering SSH while its servers go on, as when its sshd hangs: the
  // listening sshd is stopped (a new login waits for a banner until ssh's ConnectTimeout) and
  // its sessions, the harness's master connection among them, are killed.
  void stop_sshd(std::size_t index) {
    int listener = sshd_.at(index)->pid();
    sshd_.at(index)->signal(SIGSTOP);
    for (int pid : descendants(listener)) ::kill(pid, SIGKILL);
  }
  // Lets the host's sshd answer again.
  void resume_sshd(std::size_t index) { sshd_.at(index)->signal(SIGCONT); }

  // The spec's target.cluster for these hosts.
  std::string cluster_yaml() const {
    std::string hosts;
    for (const auto& node : nodes()) hosts += (hosts.empty() ? "" : ", ") + node.address;
    return "{ hosts: [" + hosts + "], user: root, identity_file: " + identity() +
           ", known_hosts_file: " + known_hosts() + " }";
  }

 private:
  TempDir dir_;
  std::unique_ptr<NodeControl> hosts_;
  std::vector<std::unique_ptr<NodeProcess>> sshd_;
};

}  // namespace faultline::testing
