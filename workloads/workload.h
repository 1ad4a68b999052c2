// A workload: the ops clients perform, how they are generated, and which checkers grade the history.
// One file per workload declares all three (FoundationDB's simulation workloads).
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/history.h"
#include "core/registry.h"
#include "core/spec_reader.h"

namespace faultline {

using Rng = std::mt19937_64;

using checker::CheckLimits;

class Workload {
 public:
  virtual ~Workload() = default;
  // The op names (f) it generates: the target's client must support all of them.
  virtual std::vector<std::string> ops() const = 0;
  // The next invocation (type invoke; f, key, value set). Each worker has its own seeded
  // generator, so a worker's op sequence is reproducible from the seed. Thread-safe.
  virtual Op generate(Rng& rng) = 0;
  // Ops run once before the clients start (opening accounts), one at a time, recorded like
  // every op so that a checker learns the starting state from the history.
  virtual std::vector<Op> initial_ops() const { return {}; }
  // Ops run once after the faults are healed (final reads), one at a time.
  virtual std::vector<Op> final_ops() const { return {}; }
  // What a worker sends next after `done` (the completion as recorded; its value is the
  // invocation's unless the client returned one): a resend of the same request when the
  // workload models at-least-once delivery, which retries what it does not know happened;
  // nullopt (the default): a fresh op from generate. Thread-safe.
  virtual std::optional<Op> retry(const Op& done) { (void)done; return std::nullopt; }
  // The checkers that grade a history against the claimed model, run together by
  // checker::check_all (the worst verdict wins).
  virtual checker::Checkers checkers() const = 0;
  // The claimed model, as the report names the guarantee ("linearizable register").
  virtual std::string guarantee() const = 0;
};

// Factory arguments: the workload's mapping of the spec (name already read).
using WorkloadRegistry = Registry<Workload, FieldReader&>;

}  // namespace faultline
