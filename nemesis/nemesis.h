// A nemesis injects one kind of fault (Jepsen's Nemesis protocol): start it, stop it, and undo
// everything at teardown. What it did is returned as data and recorded in the history.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "harness/node_control.h"
#include "harness/registry.h"
#include "harness/spec_reader.h"
#include "targets/target.h"

namespace faultline {

struct NemesisContext {
  NodeControl& nodes;
  Target& target;
};

class Nemesis {
 public:
  virtual ~Nemesis() = default;
  // Applies a fault chosen with `rng`; returns what it did (the grudge, pids, offsets).
  // REQUIRES: not already started.
  virtual nlohmann::json start(NemesisContext& context, std::mt19937_64& rng) = 0;
  // Undoes the fault; returns what it did. Safe to call when not started.
  virtual nlohmann::json stop(NemesisContext& context) = 0;
  // Short description of the fault in force, for the progress line; empty when none.
  virtual std::string describe_active() const = 0;
};

// Factory arguments: the nemesis options mapping of the spec.
using NemesisRegistry = Registry<Nemesis, FieldReader&>;

}  // namespace faultline
