// Servers faultline did not start: a staging cluster's own, run by its own service manager.
// The spec says how to act on each node's server (target.servers.controls, or a systemd unit),
// and faultline acts only through those commands, on the node, through NodeControl: it never
// starts a server at the beginning of a run or stops one at the end. A fault whose controls the
// spec did not give is refused when the spec is loaded (ProcessControl::unable).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/node_control.h"
#include "targets/custom/template.h"

namespace faultline::custom {

struct UserControls {
  std::vector<Template> start, kill, pause, resume, logs;  // empty: not given
  // What the spec must add for `fault` (kill, pause), e.g. "controls kill and start"; empty
  // when it can be done.
  std::string missing_for(const std::string& fault) const;
};

// target.servers.controls: {start, kill, pause, resume, logs} (each an argv), or
// target.servers.unit: NAME (systemctl and journalctl for that unit). nullopt when neither is
// given: faultline starts the servers itself. `allowed`: the placeholders of a node's command.
std::optional<UserControls> read_user_controls(FieldReader& servers, const std::string& context,
                                               const std::set<std::string>& allowed);

// Acts on the user's servers through the controls, remembering what it left killed or paused
// so that the end of the run gives every node back running. Thread-safe: the nemesis thread and
// the runner use it at once.
class UserServers {
 public:
  UserServers(std::string name, UserControls controls) : name_(std::move(name)), controls_(std::move(controls)) {}

  // Each runs the control on the node; throws std::runtime_error when it exits non-zero. The
  // pids are not known (the service manager owns them): the results are empty.
  std::vector<int> kill(NodeControl& cluster, const std::string& node, const Values& v);
  std::vector<int> restart(NodeControl& cluster, const std::string& node, const Values& v);
  std::vector<int> pause(NodeControl& cluster, const std::string& node, const Values& v);
  std::vector<int> resume(NodeControl& cluster, const std::string& node, const Values& v);
  // Resumes what is paused and starts what is killed (a run that ended mid-fault); then saves
  // each node's log (the logs control's output) into the run folder's nodes/<node>/NAME.log.
  // Never throws: what fails is logged.
  void restore_and_collect(NodeControl& cluster, const std::map<std::string, Values>& nodes) noexcept;
  const std::string& name() const { return name_; }

 private:
  void act(NodeControl& cluster, const std::string& node, const std::vector<Template>& control,
           const char* what, const Values& v);
  void apply(std::set<std::string>& marked, NodeControl& cluster, const std::string& node,
             const std::vector<Template>& control, const char* what, const Values& v);
  void undo(std::set<std::string>& marked, NodeControl& cluster, const std::string& node,
            const std::vector<Template>& control, const char* what, const Values& v);

  std::string name_;
  UserControls controls_;
  std::mutex mutex_;
  std::set<std::string> killed_, paused_;
};

}  // namespace faultline::custom
