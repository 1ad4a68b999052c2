// The local cluster: one network namespace per node on a private bridge (the default
// NodeControl), and the cleanup of what dead runs left behind.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/node_control.h"

namespace faultline {

struct LocalClusterOptions {
  std::string run_id;                    // short, unique: names the namespaces and links
  std::vector<std::string> node_names;   // n1..nN
};

// One network namespace per node on a private bridge with a /24 of its own. REQUIRES: root.
std::unique_ptr<NodeControl> make_local_cluster(const LocalClusterOptions& options);

// Removes what earlier runs left behind (killed, crashed): every journal whose owner process is
// gone, or every journal at all with `include_live_runs`. Returns one line per resource removed.
std::vector<std::string> clean_leftovers(bool include_live_runs);

// Where journals live: /run/faultline (tmpfs: namespaces do not survive a reboot either).
std::filesystem::path journal_dir();

}  // namespace faultline
