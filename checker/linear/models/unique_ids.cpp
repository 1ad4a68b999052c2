// unique-ids: every ok generate returned a value no other ok generate returned. No search:
// ids are opaque, so the only linearizability condition is distinctness.
#include <unordered_map>

#include "checker/linear/models/models.h"

namespace faultline::checker::linear {

DirectOutcome check_unique_ids(std::span<const ObjectOp> ops, const LinearOptions&) {
  std::unordered_map<std::string, const ObjectOp*> first_with;  // by the id's compact dump
  for (const ObjectOp& op : ops) {
    if (op.invoke->f != "generate") bad_op(op, "unknown f for the unique-ids model (expected generate)");
    if (!op.is_ok()) continue;
    auto [it, inserted] = first_with.emplace(op.output().dump(), &op);
    if (!inserted) {
      return {Verdict::invalid, "two generate ops returned the same id " + op.output().dump(),
              {it->second, &op}};
    }
  }
  return {};
}

}  // namespace faultline::checker::linear
