#include "checker/linear/explain.h"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace faultline::checker::linear {
namespace {

constexpr std::size_t kConcurrentOpsShown = 32;
constexpr std::size_t kConcurrentOpsExplored = 12;  // every order of up to 2^12 subsets
constexpr std::size_t kReachableShown = 8;
constexpr std::size_t kPrefixShown = 1000;          // the tail of a long prefix

nlohmann::json time_or_null(const Op* op) {
  return op != nullptr && op->time_ns >= 0 ? nlohmann::json(op->time_ns) : nlohmann::json(nullptr);
}

// The states reachable from `start` by taking effect, in any order, any subset of `concurrent`.
// Empty when there are too many ops to try them all.
std::vector<State> reachable_states(std::span<const SearchOp> ops, const std::vector<std::uint32_t>& concurrent,
                                    State start, Model& model) {
  if (concurrent.size() > kConcurrentOpsExplored) return {};
  std::set<std::pair<std::uint32_t, State>> seen;  // (subset taken, state)
  std::vector<std::pair<std::uint32_t, State>> todo{{0, start}};
  std::set<State> states;
  while (!todo.empty()) {
    auto [taken, state] = todo.back();
    todo.pop_back();
    if (!seen.insert({taken, state}).second) continue;
    states.insert(state);
    for (std::uint32_t i = 0; i < concurrent.size(); ++i) {
      State next;
      if ((taken >> i & 1) == 0 && model.step(state, ops[concurrent[i]].call, &next))
        todo.emplace_back(taken | 1u << i, next);
    }
  }
  return {states.begin(), states.end()};
}

std::string describe_states(const std::vector<State>& states, const Model& model) {
  std::string text;
  for (std::size_t i = 0; i < states.size() && i < kReachableShown; ++i)
    text += (i == 0 ? "" : i + 1 == states.size() ? " or " : ", ") + model.describe_state(states[i]);
  if (states.size() > kReachableShown) text += " or " + std::to_string(states.size() - kReachableShown) + " more";
  return text;
}

std::string reason_for(const SearchOp& blocked, const ObjectOp& source, std::size_t prefix_ops,
                       std::size_t concurrent_ops, const std::vector<State>& reachable, State after_prefix,
                       Model& model) {
  std::string what = model.describe_call(blocked.call) + " (op " + std::to_string(source.invoke->index) +
                     ", process " + std::to_string(source.invoke->process) + ")";
  std::string where = "after the longest linearizable prefix (" + std::to_string(prefix_ops) +
                      " ops) the state is " + model.describe_state(after_prefix);
  if (reachable.empty()) {
    return what + " cannot be placed: " + where + ", and no order of the " +
           std::to_string(concurrent_ops) + " concurrent ops lets it and the ops after it take effect";
  }
  bool can_step = std::any_of(reachable.begin(), reachable.end(), [&](State state) {
    State next;
    return model.step(state, blocked.call, &next);
  });
  if (can_step) {
    return what + " can take effect, but not so that the ops after it can: " + where +
           " and the search found no order of the " + std::to_string(concurrent_ops) +
           " concurrent ops that continues";
  }
  if (concurrent_ops == 0) return what + " cannot take effect: " + where + ", and no op is concurrent with it";
  return what + " cannot take effect: " + where + ", and every order of the " + std::to_string(concurrent_ops) +
         " concurrent ops leaves " + describe_states(reachable, model);
}

}  // namespace

nlohmann::json op_json(const ObjectOp& op) {
  const Op* completion = op.completion;
  return {{"index", op.invoke->index},
          {"complete_index", completion != nullptr ? nlohmann::json(completion->index) : nlohmann::json(nullptr)},
          {"process", op.invoke->process},
          {"type", to_string(op.outcome)},
          {"f", op.invoke->f},
          {"value", op.is_ok() && completion != nullptr ? completion->value : op.input()},
          {"invoke_time_ns", time_or_null(op.invoke)},
          {"complete_time_ns", time_or_null(completion)}};
}

Failure explain_search(std::span<const SearchOp> ops, std::span<const ObjectOp* const> sources,
                       const SearchResult& result, Model& model) {
  const SearchOp& blocked = ops[result.blocked_op];
  std::unordered_set<std::uint32_t> linearized(result.longest_prefix.begin(), result.longest_prefix.end());
  // The ops that could still take effect before the blocked op had to: invoked before it returned.
  std::vector<std::uint32_t> concurrent;
  for (std::uint32_t op = 0; op < ops.size(); ++op) {
    if (op != result.blocked_op && !linearized.contains(op) && ops[op].invoke_pos < blocked.return_pos)
      concurrent.push_back(op);
  }
  std::vector<State> reachable = reachable_states(ops, concurrent, result.state_after_prefix, model);

  Failure failure;
  failure.reason = reason_for(blocked, *sources[result.blocked_op], result.longest_prefix.size(),
                              concurrent.size(), reachable, result.state_after_prefix, model);
  nlohmann::json prefix = nlohmann::json::array();
  std::size_t first_shown = result.longest_prefix.size() - std::min(result.longest_prefix.size(), kPrefixShown);
  for (std::size_t i = first_shown; i < result.longest_prefix.size(); ++i)
    prefix.push_back(sources[result.longest_prefix[i]]->invoke->index);
  nlohmann::json concurrent_json = nlohmann::json::array();
  for (std::size_t i = 0; i < concurrent.size() && i < kConcurrentOpsShown; ++i)
    concurrent_json.push_back(op_json(*sources[concurrent[i]]));
  nlohmann::json reachable_json = nlohmann::json::array();
  for (State state : reachable) reachable_json.push_back(model.describe_state(state));

  failure.details = {{"reason", failure.reason},
                     {"longest_prefix_length", result.longest_prefix.size()},
                     {"longest_prefix", prefix},  // op indexes in linearization order (the last 1000)
                     {"state_after_prefix", model.describe_state(result.state_after_prefix)},
                     {"blocked_op", op_json(*sources[result.blocked_op])},
                     {"concurrent_ops", concurrent_json},
                     {"concurrent_op_count", concurrent.size()},
                     {"reachable_states", reachable_json}};
  return failure;
}

Failure explain_direct(const DirectOutcome& outcome) {
  nlohmann::json involved = nlohmann::json::array();
  for (const ObjectOp* op : outcome.involved) involved.push_back(op_json(*op));
  return {outcome.reason, {{"reason", outcome.reason}, {"ops", involved}}};
}

}  // namespace faultline::checker::linear
