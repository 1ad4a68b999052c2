#include "harness/cluster_lifetime.h"

#include "cluster/local_cluster.h"
#include "cluster/ssh_cluster.h"
#include "core/log.h"

namespace faultline {

using namespace std::chrono_literals;

ClusterLifetime::ClusterLifetime(Test& test, std::string run_id,
                                 const std::filesystem::path& run_dir, Announcer announce)
    : test_(test),
      run_id_(std::move(run_id)),
      announce_(announce),
      cluster_(test.spec.remote
                   ? make_ssh_cluster({run_id_, run_dir, *test.spec.remote})
                   : make_local_cluster({run_id_, node_names(test.spec.node_count), run_dir})) {}

ClusterLifetime::~ClusterLifetime() {
  if (shut_down_) return;
  heal_quietly();
  shut_down();
}

void ClusterLifetime::bring_up() {
  const Spec& spec = test_.spec;
  NemesisContext context = nemesis_context();
  for (auto& [fault, nemesis] : test_.nemeses) nemesis->setup(context);
  const nlohmann::json notes = limitations(test_);
  for (const auto& [fault, note] : notes.items())
    if (uses_fault(fault) || test_.skipped.contains(fault))
      announce_("note: " + note.get<std::string>());
  announce_("starting " + spec.system + " on " + std::to_string(spec.node_count) + " nodes");
  test_.target->start({*cluster_, run_id_});
  announce_(test_.target->version() + " is up; running " + spec.workload + " for " +
            std::to_string(static_cast<int>(spec.time_limit_s)) + " s");
}

std::string ClusterLifetime::wait_recovered() {
  try {
    test_.target->wait_healthy(60s);
  } catch (const TargetError& e) {
    log::warn(std::string("cluster did not recover after healing: ") + e.what());
    return e.what();
  }
  return "";
}

bool ClusterLifetime::uses_fault(const std::string& fault) const {
  for (const auto& [name, nemesis] : test_.nemeses)
    if (name == fault) return true;
  return false;
}

void ClusterLifetime::heal_quietly() noexcept {
  NemesisContext context = nemesis_context();
  for (auto& [fault, nemesis] : test_.nemeses) {
    try {
      nemesis->stop(context);
    } catch (const std::exception& e) {
      log::warn("heal " + fault + ": " + e.what());
    }
  }
}

std::vector<std::string> ClusterLifetime::shut_down() noexcept {
  shut_down_ = true;
  test_.target->stop();
  return cluster_->teardown();
}

}  // namespace faultline
