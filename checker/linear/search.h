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

// Limits shared by every key's search: bytes of search memory (caches, stacks) and a deadline.
// Memory is reserved before it is allocated, so a search stops before the machine runs out.
// Thread-safe.
class Budget {
 public:
  enum class Spent { no, memory, time };
  // max_memory_bytes 0: half the memory available (MemAvailable) now. time_limit_s 0: none.
  Budget(std::uint64_t max_memory_bytes, double time_limit_s);
  // Takes `bytes` from the budget; false (and nothing taken) when they would exceed it.
  bool reserve(std::uint64_t bytes);
  void release(std::uint64_t bytes) { used_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  // False once the deadline passed (then it stays so).
  bool in_time();
  // Records that a search ran out of memory (a refused reservation, or std::bad_alloc).
  void out_of_memory() { mark(Spent::memory); }
  Spent spent() const { return static_cast<Spent>(spent_.load(std::memory_order_relaxed)); }
  bool exhausted() const { return spent() != Spent::no; }
  std::uint64_t max_bytes() const { return max_bytes_; }
  std::uint64_t peak_bytes() const { return peak_bytes_.load(std::memory_order_relaxed); }

 private:
  void mark(Spent why);

  std::uint64_t max_bytes_;
  std::atomic<std::uint64_t> used_bytes_{0};
  std::atomic<std::uint64_t> peak_bytes_{0};
  std::atomic<int> spent_{static_cast<int>(Spent::no)};
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
