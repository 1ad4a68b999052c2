// Process faults (Jepsen's kill and pause nemeses), through the target's ProcessControl:
//  kill   SIGKILL the servers on the chosen nodes; stop restarts them on their data.
//  pause  SIGSTOP them; stop sends SIGCONT.
// Option (nemesis.kill / nemesis.pause): nodes — a selector or node list (default one, minority,
// and primaries where the target knows its primary). A paused server is always sent SIGCONT
// before it is killed at teardown, and dies with the harness (PDEATHSIG) if it is killed.
#include <map>

#include "nemesis/nemesis.h"

namespace faultline {
namespace {

using nlohmann::json;

struct ProcessFault {
  const char* name;        // kill, pause
  const char* ability;     // for the unsupported message
  const char* done_key;    // killed, paused
  const char* undone_key;  // restarted, resumed
  std::vector<int> (ProcessControl::*apply)(const std::string&);
  std::vector<int> (ProcessControl::*undo)(const std::string&);
};

const ProcessFault kKill{"kill", "kill and restart its servers", "killed", "restarted",
                         &ProcessControl::kill, &ProcessControl::restart};
const ProcessFault kPause{"pause", "pause and resume its servers", "paused", "resumed",
                          &ProcessControl::pause, &ProcessControl::resume};

class ProcessNemesis final : public Nemesis {
 public:
  ProcessNemesis(const ProcessFault& fault, NodeSelector selector)
      : fault_(fault), selector_(std::move(selector)) {}

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    auto& control = dynamic_cast<ProcessControl&>(context.target);
    std::vector<std::string> nodes = selector_.choose(context, rng);
    json pids = json::object();
    for (const auto& node : nodes) {
      affected_.push_back(node);  // before acting: stop() must undo even a half-done start
      pids[node] = (control.*fault_.apply)(node);
    }
    description_ = join_nodes(nodes);
    return {{"nodes", nodes}, {fault_.done_key, pids}, {"process", control.process_description()}};
  }

  json stop(NemesisContext& context) override {
    auto& control = dynamic_cast<ProcessControl&>(context.target);
    json pids = json::object();
    for (const auto& node : affected_) pids[node] = (control.*fault_.undo)(node);
    affected_.clear();
    description_.clear();
    return {{fault_.undone_key, pids}};
  }

  std::string describe_active() const override { return description_; }

 private:
  const ProcessFault& fault_;
  NodeSelector selector_;
  std::vector<std::string> affected_;
  std::string description_;
};

std::vector<std::string> default_selectors(const NemesisEnv& env) {
  std::vector<std::string> kinds{"one", "minority"};
  if (dynamic_cast<PrimaryAware*>(&env.target)) kinds.push_back("primaries");
  return kinds;
}

std::unique_ptr<Nemesis> make(const ProcessFault& fault, FieldReader& options,
                              const NemesisEnv& env) {
  require_ability<ProcessControl>(env.target, fault.name, fault.ability);
  NodeSelector selector(options, "nodes", env, default_selectors(env));
  return std::make_unique<ProcessNemesis>(fault, std::move(selector));
}

const bool registered_kill = NemesisRegistry::add(
    "kill", [](FieldReader& options, const NemesisEnv& env) { return make(kKill, options, env); });
const bool registered_pause = NemesisRegistry::add(
    "pause", [](FieldReader& options, const NemesisEnv& env) { return make(kPause, options, env); });

}  // namespace
}  // namespace faultline
