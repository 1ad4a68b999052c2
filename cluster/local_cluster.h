// The local cluster: one network namespace per node on a private bridge (the default
// NodeControl), and the cleanup of what dead runs left behind.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/node_control.h"

namespace faultline {

struct LocalClusterOptions {
  std::string run_id;                    // short, unique: names the namespaces and links
  std::vector<std::string> node_names;   // n1..nN
  std::filesystem::path run_dir;         // the node folders are its nodes/<node>/
};

// One network namespace per node on a private bridge with a /24 of its own. The namespaces
// share the host's filesystem: node paths are host paths, and node folders are the run
// folder's nodes/<node>/. REQUIRES: root.
std::unique_ptr<NodeControl> make_local_cluster(const LocalClusterOptions& options);

// Removes what earlier runs left behind (killed, crashed): every journal whose owner process is
// gone, or every journal at all with `include_live_runs`. Returns one line per resource removed.
std::vector<std::string> clean_leftovers(bool include_live_runs);

// The environment of a spawned process as NAME=VALUE entries: `base` (a null-terminated array,
// as environ) with every variable of `overrides` replaced or added. Throws
// std::invalid_argument for a name that is empty or holds '='.
std::vector<std::string> child_environment(
    const char* const* base, const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace faultline
