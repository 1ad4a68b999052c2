#include "checker/linear/explain.h"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace faultline::checker::linear {
namespace {

constexpr std::size_t kWindowOpsShown = 32;
constexpr std::size_t kWindowOpsExplored = 12;  // every order of up to 12 ops: at most 2^12 subsets
constexpr std::size_t kStatesShown = 8;
constexpr std::size_t kPrefixShown = 1000;      // the tail of a long prefix

nlohmann::json time_or_null(const Op* op) {
  return op != nullptr && op->time_ns >= 0 ? nlohmann::json(op->time_ns) : nlohmann::json(nullptr);
}

std::string count_of(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// The ops in flight around the blocked op, which the explanation reorders: the tail of the
// longest prefix from its first ok op that did not finish before the blocked op began, and the
// ops not linearized that began before the blocked op returned.
struct Window {
  State start = 0;                  // the state the settled part of the prefix leaves
  std::vector<std::uint32_t> ops;   // in invoke order
  std::uint32_t required_mask = 0;  // window ops that finished before the blocked op began
};

Window window_around(std::span<const SearchOp> ops, const SearchResult& result, Model& model) {
  const SearchOp& blocked = ops[result.blocked_op];
  const std::vector<std::uint32_t>& prefix = result.longest_prefix;
  std::size_t settled = 0;
  while (settled < prefix.size() && !(ops[prefix[settled]].return_pos != kNever &&
                                      ops[prefix[settled]].return_pos > blocked.invoke_pos))
    ++settled;
  Window window;
  window.start = model.init();
  for (std::size_t i = 0; i < settled; ++i) model.step(window.start, ops[prefix[i]].call, &window.start);
  window.ops.assign(prefix.begin() + static_cast<std::ptrdiff_t>(settled), prefix.end());
  std::unordered_set<std::uint32_t> linearized(prefix.begin(), prefix.end());
  for (std::uint32_t op = 0; op < ops.size(); ++op) {
    if (op != result.blocked_op && !linearized.contains(op) && ops[op].invoke_pos < blocked.return_pos)
      window.ops.push_back(op);
  }
  std::sort(window.ops.begin(), window.ops.end(),
            [&](std::uint32_t a, std::uint32_t b) { return ops[a].invoke_pos < ops[b].invoke_pos; });
  for (std::size_t i = 0; i < window.ops.size() && i < 32; ++i)
    if (ops[window.ops[i]].return_pos < blocked.invoke_pos) window.required_mask |= 1u << i;
  return window;
}

// The states the blocked op could meet: from the window's start, any subset of the window's ops
// in any order real time allows, as long as the required ones are in. Empty when there are too
// many ops to try them all.
std::vector<State> states_before(std::span<const SearchOp> ops, const Window& window, Model& model) {
  if (window.ops.size() > kWindowOpsExplored) return {};
  auto available = [&](std::uint32_t taken, std::size_t j) {
    for (std::size_t i = 0; i < window.ops.size(); ++i) {
      if ((taken >> i & 1) == 0 && ops[window.ops[i]].return_pos < ops[window.ops[j]].invoke_pos) return false;
    }
    return (taken >> j & 1) == 0;
  };
  std::set<std::pair<std::uint32_t, State>> seen;  // (subset taken, state)
  std::vector<std::pair<std::uint32_t, State>> todo{{0, window.start}};
  std::set<State> states;
  while (!todo.empty()) {
    auto [taken, state] = todo.back();
    todo.pop_back();
    if (!seen.insert({taken, state}).second) continue;
    if ((taken & window.required_mask) == window.required_mask) states.insert(state);
    for (std::size_t j = 0; j < window.ops.size(); ++j) {
      State next;
      if (available(taken, j) && model.step(state, ops[window.ops[j]].call, &next))
        todo.emplace_back(taken | 1u << j, next);
    }
  }
  return {states.begin(), states.end()};
}

std::string describe_states(const std::vector<State>& states, const Model& model) {
  std::string text;
  for (std::size_t i = 0; i < states.size() && i < kStatesShown; ++i)
    text += (i == 0 ? "" : i + 1 == states.size() ? " or " : ", ") + model.describe_state(states[i]);
  if (states.size() > kStatesShown) text += " or " + std::to_string(states.size() - kStatesShown) + " more";
  return text;
}

std::string reason_for(const SearchOp& blocked, const ObjectOp& source, const SearchResult& result,
                       const Window& window, const std::vector<State>& states, const std::string& subject,
                       Model& model) {
  std::string what = model.describe_call(blocked.call) + " (op " + std::to_string(source.invoke->index) +
                     ", process " + std::to_string(source.invoke->process) + ")";
  std::string prefix = "longest linearizable prefix: " + count_of(result.longest_prefix.size(), "op") +
                       ", after which " + subject + " is " + model.describe_state(result.state_after_prefix);
  std::string around = count_of(window.ops.size(), "op") + " in flight around it";
  if (states.empty()) {
    return what + " cannot be placed: no order of it and the " + around + " lets the ops after it take effect (" +
           prefix + ")";
  }
  bool can_step = std::any_of(states.begin(), states.end(), [&](State state) {
    State next;
    return model.step(state, blocked.call, &next);
  });
  if (can_step) {
    return what + " can take effect, but then the ops after it cannot, whatever the order of it and the " +
           around + " (" + prefix + ")";
  }
  if (window.ops.empty()) {
    return what + " cannot take effect: " + subject + " is " + describe_states(states, model) +
           " when it runs, and no other op is in flight around it (" + prefix + ")";
  }
  return what + " cannot take effect: whatever the order of the " + around + ", " + subject + " is " +
         describe_states(states, model) + " (" + prefix + ")";
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
                       const SearchResult& result, const std::string& subject, Model& model) {
  Window window = window_around(ops, result, model);
  std::vector<State> states = states_before(ops, window, model);
  Failure failure;
  failure.reason = reason_for(ops[result.blocked_op], *sources[result.blocked_op], result, window, states,
                              subject, model);
  nlohmann::json prefix = nlohmann::json::array();
  std::size_t first_shown = result.longest_prefix.size() - std::min(result.longest_prefix.size(), kPrefixShown);
  for (std::size_t i = first_shown; i < result.longest_prefix.size(); ++i)
    prefix.push_back(sources[result.longest_prefix[i]]->invoke->index);
  nlohmann::json window_json = nlohmann::json::array();
  for (std::size_t i = 0; i < window.ops.size() && i < kWindowOpsShown; ++i)
    window_json.push_back(op_json(*sources[window.ops[i]]));
  nlohmann::json states_json = nlohmann::json::array();
  for (State state : states) states_json.push_back(model.describe_state(state));

  failure.details = {{"reason", failure.reason},
                     {"longest_prefix_length", result.longest_prefix.size()},
                     {"longest_prefix", prefix},  // op indexes in linearization order (the last 1000)
                     {"state_after_prefix", model.describe_state(result.state_after_prefix)},
                     {"blocked_op", op_json(*sources[result.blocked_op])},
                     {"concurrent_ops", window_json},
                     {"concurrent_op_count", window.ops.size()},
                     {"states_before_blocked_op", states_json}};
  return failure;
}

Failure explain_direct(const DirectOutcome& outcome) {
  nlohmann::json involved = nlohmann::json::array();
  for (const ObjectOp* op : outcome.involved) involved.push_back(op_json(*op));
  Failure failure{outcome.reason, {{"reason", outcome.reason}, {"ops", involved}}};
  if (outcome.blocked != nullptr) failure.details["blocked_op"] = op_json(*outcome.blocked);
  return failure;
}

}  // namespace faultline::checker::linear
