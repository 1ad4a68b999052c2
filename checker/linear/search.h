// The Wing–Gong–Lowe search over one object's ops.
//
// Ops become call and return entries in one doubly linked list in real-time order. The search
// walks the list: at a call it tries to linearize that op now (lift it out of the list); at a
// return it must backtrack, since that op had to take effect before this point. Lowe's cache of
// (set of linearized ops, model state) prunes orders that reach a configuration already seen.
// Info ops have no return entry: they may take effect at any point after their call, or never;
// the search succeeds once every ok op is linearized.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "checker/linear/model.h"

namespace faultline::checker::linear {

struct SearchOp {
  Call call;
  std::size_t invoke_pos = 0;
  std::size_t return_pos = kNever;  // kNever: info, or never completed
};

// Limits shared by every key's search. Thread-safe.
class Budget {
 public:
  Budget(std::uint64_t max_states, double time_limit_s);
  // Adds states cached since the last call; false once the budget is spent (then it stays so).
  bool charge(std::uint64_t new_states);
  bool exhausted() const { return exhausted_.load(std::memory_order_relaxed); }
  std::uint64_t max_states() const { return max_states_; }

 private:
  std::uint64_t max_states_;
  std::atomic<std::uint64_t> states_{0};
  std::atomic<bool> exhausted_{false};
  bool has_deadline_;
  std::chrono::steady_clock::time_point deadline_;
};

struct SearchResult {
  Verdict verdict = Verdict::unknown;
  std::uint64_t states = 0;  // distinct configurations cached
  // The deepest point the search reached, for the explanation of an invalid verdict: the ops
  // linearized there (indexes into the SearchOp span, in order), the state they leave, and the
  // op whose return was reached before it could be placed.
  std::vector<std::uint32_t> longest_prefix;
  State state_after_prefix = 0;
  std::uint32_t blocked_op = 0;
};

SearchResult search(std::span<const SearchOp> ops, Model& model, Budget& budget);

}  // namespace faultline::checker::linear
