// Why a key is not linearizable, in words and as data (the "failures" entries of the details).
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "checker/linear/model.h"
#include "checker/linear/search.h"

namespace faultline::checker::linear {

struct Failure {
  std::string reason;  // one sentence, without the key
  nlohmann::json details;
};

// An op as the details show it: indexes, process, f, value, times.
nlohmann::json op_json(const ObjectOp& op);

// REQUIRES: result.verdict is invalid. `sources[i]` is the history op of `ops[i]`. Steps the
// model again (to enumerate what the ops concurrent with the blocked one could do). `subject`
// names the object in the reason: its key, or "the object".
Failure explain_search(std::span<const SearchOp> ops, std::span<const ObjectOp* const> sources,
                       const SearchResult& result, const std::string& subject, Model& model);

Failure explain_direct(const DirectOutcome& outcome);

}  // namespace faultline::checker::linear
