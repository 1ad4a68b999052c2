// The custom etcd example (examples/custom-etcd-register.yaml) turned into a test of the user's
// own servers: its servers block loses command and log and gains `controls`, and the target
// gets `cluster`. Shared by the spec tests and the SSH integration test.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "tests/integration/support.h"

namespace faultline::testing {

// `controls`: name -> argv (each word may hold placeholders). `cluster_yaml`: a flow mapping.
inline YAML::Node user_servers_spec(const std::string& cluster_yaml,
                                    const std::map<std::string, std::vector<std::string>>& controls) {
  YAML::Node root = YAML::Load(slurp(FAULTLINE_SOURCE_DIR "/examples/custom-etcd-register.yaml"));
  root["name"] = "user-servers";
  YAML::Node target = root["target"];
  target.remove("nodes");
  target["cluster"] = YAML::Load(cluster_yaml);
  YAML::Node servers = target["servers"];
  servers.remove("command");
  servers.remove("log");
  for (const auto& [name, argv] : controls)
    for (const auto& word : argv) servers["controls"][name].push_back(word);
  return root;
}

inline std::string dumped(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

}  // namespace faultline::testing
