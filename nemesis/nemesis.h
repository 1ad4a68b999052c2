// A nemesis injects one kind of fault (Jepsen's Nemesis protocol): start it, stop it, and undo
// everything at teardown. What it did is returned as data and recorded in the history.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/node_control.h"
#include "core/registry.h"
#include "core/spec_reader.h"
#include "targets/target.h"

namespace faultline {

struct NemesisContext {
  NodeControl& cluster;
  Target& target;
  std::string run_id;  // names per-run files (clock offsets)
};

class Nemesis {
 public:
  virtual ~Nemesis() = default;
  // Called once after the nodes exist and before the target starts (a clock nemesis makes the
  // offset files the servers are started with). Must be idempotent across nemesis instances.
  virtual void setup(NemesisContext&) {}
  // Applies a fault chosen with `rng`; returns what it did (the grudge, pids, offsets).
  // REQUIRES: not already started.
  virtual nlohmann::json start(NemesisContext& context, std::mt19937_64& rng) = 0;
  // Undoes the fault; returns what it did. Safe to call when not started.
  virtual nlohmann::json stop(NemesisContext& context) = 0;
  // Short description of the fault in force, for the progress line; empty when none.
  virtual std::string describe_active() const = 0;
};

// What a nemesis factory may look at besides its options: the target (for its abilities) and
// the node names. The factory starts nothing.
struct NemesisEnv {
  Target& target;
  std::vector<std::string> node_names;
  bool remote = false;  // the nodes are SSH hosts (target.cluster), not local namespaces
};

// The target lacks an ability the fault needs (kill, pause, a known primary): the spec loader
// reports it at the fault's name, as bad input.
class NemesisUnsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Factory arguments: the nemesis options mapping of the spec, and the environment.
using NemesisRegistry = Registry<Nemesis, FieldReader&, const NemesisEnv&>;

// Which nodes a fault acts on (option `nodes`): a selector — one, minority, majority, all,
// primaries — or a list of selectors to pick from at random each time, or a list of node
// names ([n1, n3]) meaning exactly those.
class NodeSelector {
 public:
  // Reads option `key`; `fallback` is a list of selectors. Validates names and abilities.
  NodeSelector(FieldReader& options, const std::string& key, const NemesisEnv& env,
               std::vector<std::string> fallback);
  // The chosen nodes, sorted. Throws std::runtime_error when none can be chosen (no primary).
  std::vector<std::string> choose(NemesisContext& context, std::mt19937_64& rng) const;

 private:
  std::vector<std::string> kinds_;  // selectors to pick from
  std::vector<std::string> names_;  // or exact nodes
};

// The target's ability `T`, or NemesisUnsupported naming what `fault` needs.
template <class T>
T& require_ability(Target& target, const std::string& fault, const std::string& what) {
  if (auto* ability = dynamic_cast<T*>(&target)) return *ability;
  throw NemesisUnsupported("fault '" + fault + "' needs a target that can " + what +
                           "; this target cannot");
}

// The target's primaries, asked again for up to 2 s while the answer is empty (a probe timed
// out, an election is under way): evidence of who leads when a fault is healed.
std::vector<std::string> settled_primaries(PrimaryAware& aware);

// "n1,n3".
std::string join_nodes(const std::vector<std::string>& nodes);

}  // namespace faultline
