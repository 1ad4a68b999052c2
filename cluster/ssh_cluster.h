// Remote hosts over SSH as a NodeControl: node n<i> is the i-th host of the spec's cluster.
//
// On each host the run owns /tmp/faultline-<run id>/ (the node folder <node>/ and uploaded
// files), scratch files /dev/shm/faultline-<run id>-<node>.<name>, the servers it spawned
// (marked FAULTLINE_RUN=<run id> in their environment) and faultline's iptables chains (FL-*,
// with their INPUT jumps). The journal of those lives on the harness, /run/faultline/<run
// id>.journal, one `ssh-host` line per host, written before anything is made there: teardown
// and `faultline clean` log in again and remove exactly those, nothing else of the host's.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cluster/journal.h"
#include "cluster/ssh_connection.h"
#include "core/node_control.h"

namespace faultline {

struct SshHost {
  std::string name;     // for people (reports, messages); nodes are still n1..nN
  std::string address;  // IPv4: iptables rules and the servers' peers use it
};

// The spec's `target.cluster`.
struct SshClusterSpec {
  std::vector<SshHost> hosts;
  SshLogin login;  // everything but the address, shared by every host
};

struct SshClusterOptions {
  std::string run_id;
  std::filesystem::path run_dir;  // logs are fetched into its nodes/<node>/
  SshClusterSpec cluster;
};

// Logs in to every host (one master connection each) and makes the node folders. Throws
// std::runtime_error naming the host when one cannot be reached; what was made is undone.
std::unique_ptr<NodeControl> make_ssh_cluster(const SshClusterOptions& options);

// Undoes a journal entry of an SSH cluster (kinds ssh-host, ssh-master): logs in and removes
// what the run made on the host. Returns what was done, "" for another kind. Never throws.
std::string undo_ssh_entry(const JournalEntry& entry) noexcept;

}  // namespace faultline
