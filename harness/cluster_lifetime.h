// The cluster's lifetime: nodes made (journal first), nemeses set up, target started; at the
// end, or on any exception, every fault undone before the target stops and the nodes are torn
// down (a strobing clock must end before teardown removes its files). The host is left as it
// was either way.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/node_control.h"
#include "harness/progress.h"
#include "harness/spec.h"
#include "nemesis/nemesis.h"

namespace faultline {

class ClusterLifetime {
 public:
  // Makes the nodes of `test` for run `run_id`; node files fetched at the end (server logs) land
  // in run_dir/nodes/<node>/. Throws if they cannot be made (nothing is left).
  ClusterLifetime(Test& test, std::string run_id, const std::filesystem::path& run_dir,
                  Announcer announce);
  // Unless shut_down() ran: heals quietly, then shuts down.
  ~ClusterLifetime();
  ClusterLifetime(const ClusterLifetime&) = delete;
  ClusterLifetime& operator=(const ClusterLifetime&) = delete;

  // Sets the nemeses up, then starts the target's servers and waits until they serve. Throws
  // TargetError.
  void bring_up();
  // After the faults are healed: waits until the cluster serves again. Returns why it did not
  // (logged), empty when it recovered.
  std::string wait_recovered();
  // Stops the target, then tears the nodes down (journal undone in reverse). Never throws.
  // Returns what could not be cleaned (NodeControl::teardown).
  std::vector<std::string> shut_down() noexcept;

  NodeControl& cluster() { return *cluster_; }
  NemesisContext nemesis_context() { return NemesisContext{*cluster_, *test_.target, run_id_}; }

 private:
  bool uses_fault(const std::string& fault) const;
  void heal_quietly() noexcept;

  Test& test_;
  std::string run_id_;  // names the run's namespaces, links and journal
  Announcer announce_;
  std::unique_ptr<NodeControl> cluster_;
  bool shut_down_ = false;
};

}  // namespace faultline
