#include "checker/linear/search.h"

#include <algorithm>
#include <cassert>
#include <tuple>

namespace faultline::checker::linear {

Budget::Budget(std::uint64_t max_states, double time_limit_s)
    : max_states_(max_states), has_deadline_(time_limit_s > 0) {
  if (has_deadline_) {
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(time_limit_s));
  }
}

bool Budget::charge(std::uint64_t new_states) {
  std::uint64_t total = states_.fetch_add(new_states, std::memory_order_relaxed) + new_states;
  if (total > max_states_ || (has_deadline_ && std::chrono::steady_clock::now() > deadline_))
    exhausted_.store(true, std::memory_order_relaxed);
  return !exhausted();
}

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A configuration of the search: the set of linearized ops and the model state. The set is kept
// as a 128-bit Zobrist fingerprint (the XOR of two random words per op) rather than a bitset, so
// a configuration costs 24 bytes whatever the history's length. Two different sets collide with
// probability 2^-128 per pair; a collision could only prune a branch (a wrong "invalid", never a
// wrong "valid"), and at the state budget's 3.2e7 configurations its odds are below 1e-24.
struct Config {
  std::uint64_t set1 = 0;
  std::uint64_t set2 = 0;
  State state = 0;

  void toggle(std::uint32_t op) {
    set1 ^= splitmix64(2 * std::uint64_t{op});
    set2 ^= splitmix64(2 * std::uint64_t{op} + 1);
  }
  bool operator==(const Config&) const = default;
};

// Lowe's cache: an open-addressing set of configurations, linear probing, at most half full.
class ConfigCache {
 public:
  ConfigCache() : slots_(std::size_t{1} << kInitialBits), bits_(kInitialBits) {}

  // True if `config` was not cached yet (and now is).
  bool insert(Config config) {
    config.set2 |= 1;  // set2 == 0 marks an empty slot
    if (2 * (size_ + 1) > slots_.size()) grow();
    if (!place(slots_, bits_, config)) return false;
    ++size_;
    return true;
  }
  std::uint64_t size() const { return size_; }

 private:
  static constexpr int kInitialBits = 8;

  static bool place(std::vector<Config>& slots, int bits, const Config& config) {
    std::size_t mask = slots.size() - 1;
    std::uint64_t mixed = (config.set1 ^ (config.state * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    for (std::size_t i = mixed >> (64 - bits);; i = (i + 1) & mask) {
      if (slots[i].set2 == 0) {
        slots[i] = config;
        return true;
      }
      if (slots[i] == config) return false;
    }
  }

  void grow() {
    std::vector<Config> bigger(slots_.size() * 2);
    for (const Config& config : slots_)
      if (config.set2 != 0) place(bigger, bits_ + 1, config);
    slots_ = std::move(bigger);
    ++bits_;
  }

  std::vector<Config> slots_;
  int bits_;
  std::uint64_t size_ = 0;
};

// Porcupine's entry list over node numbers: head 0, then op i's call 1 + 2i and return 2 + 2i,
// tail 2n + 1. Lifting an op unlinks its call and return; unlifting (in reverse order) relinks.
class EntryList {
 public:
  explicit EntryList(std::span<const SearchOp> ops)
      : next_(2 * ops.size() + 2), prev_(2 * ops.size() + 2), has_return_(ops.size()) {
    // Calls come in invoke order already; sort the returns and merge. At one position a call
    // goes first (an op known only by its completion calls and returns there).
    std::vector<std::pair<std::size_t, std::uint32_t>> returns;  // (position, op)
    returns.reserve(ops.size());
    for (std::uint32_t op = 0; op < ops.size(); ++op) {
      assert(op == 0 || ops[op - 1].invoke_pos < ops[op].invoke_pos);
      has_return_[op] = ops[op].return_pos != kNever;
      if (has_return_[op]) returns.emplace_back(ops[op].return_pos, op);
    }
    std::sort(returns.begin(), returns.end());
    std::uint32_t last = kHead;
    std::size_t r = 0;
    for (std::uint32_t op = 0; op <= ops.size(); ++op) {
      std::size_t call_pos = op < ops.size() ? ops[op].invoke_pos : kNever;
      for (; r < returns.size() && (returns[r].first < call_pos || op == ops.size()); ++r) {
        link(last, call_node(returns[r].second) + 1);
        last = call_node(returns[r].second) + 1;
      }
      if (op == ops.size()) break;
      link(last, call_node(op));
      last = call_node(op);
    }
    link(last, tail());
  }

  static constexpr std::uint32_t kHead = 0;
  static std::uint32_t call_node(std::uint32_t op) { return 1 + 2 * op; }
  static bool is_call(std::uint32_t node) { return node % 2 == 1; }
  static std::uint32_t op_of(std::uint32_t node) { return (node - 1) / 2; }
  std::uint32_t tail() const { return static_cast<std::uint32_t>(next_.size() - 1); }
  std::uint32_t first() const { return next_[kHead]; }
  std::uint32_t next(std::uint32_t node) const { return next_[node]; }
  bool has_return(std::uint32_t op) const { return has_return_[op]; }

  void lift(std::uint32_t op) {
    unlink(call_node(op));
    if (has_return_[op]) unlink(call_node(op) + 1);
  }
  void unlift(std::uint32_t op) {
    if (has_return_[op]) relink(call_node(op) + 1);
    relink(call_node(op));
  }

 private:
  void link(std::uint32_t a, std::uint32_t b) {
    next_[a] = b;
    prev_[b] = a;
  }
  void unlink(std::uint32_t node) { link(prev_[node], next_[node]); }
  void relink(std::uint32_t node) {
    next_[prev_[node]] = node;
    prev_[next_[node]] = node;
  }

  std::vector<std::uint32_t> next_, prev_;
  std::vector<bool> has_return_;
};

struct Frame {
  std::uint32_t op;
  State state_before;
  // The op only observes (a read): taking it at once loses nothing, so it was the only choice
  // tried here, and backtracking passes over it.
  bool forced;
};

// Keeps a copy of the deepest stack seen, updated incrementally: only the frames pushed since the
// copy and the last point where the stack dipped below it are copied, so the cost is amortized
// over the pushes.
class Deepest {
 public:
  void record(const std::vector<Frame>& stack, State state, std::uint32_t blocked, SearchResult& out) {
    if (recorded_ && stack.size() <= out.longest_prefix.size()) return;
    recorded_ = true;
    out.longest_prefix.resize(shared_);
    for (std::size_t i = shared_; i < stack.size(); ++i) out.longest_prefix.push_back(stack[i].op);
    shared_ = stack.size();
    out.state_after_prefix = state;
    out.blocked_op = blocked;
  }
  void popped(std::size_t depth) { shared_ = std::min(shared_, depth); }

 private:
  bool recorded_ = false;
  std::size_t shared_ = 0;  // frames of the copy still equal to the stack's
};

}  // namespace

// Why taking an observing op (one that changes no state it can take effect in: a read) at once
// is safe: it is legal now, and every op that had to precede it (returned before its call) is
// already linearized, since the walk reached its call without meeting a return. In any
// linearization of the remaining ops it can therefore move to the front, where it changes
// nothing, so every later op still sees what it saw. So if the configuration with it taken fails
// (or is cached, hence failed), the current one fails too. (A write of the value already there
// does not qualify: later, in another state, it would change it.)
SearchResult search(std::span<const SearchOp> ops, Model& model, Budget& budget) {
  assert(ops.size() < (std::size_t{1} << 31));
  SearchResult result;
  EntryList list(ops);
  ConfigCache cache;
  Deepest deepest;
  std::vector<Frame> stack;
  stack.reserve(ops.size());
  result.longest_prefix.reserve(ops.size());
  Config now{0, 0, model.init()};
  std::size_t ok_left = std::count_if(ops.begin(), ops.end(),
                                      [](const SearchOp& op) { return op.return_pos != kNever; });
  std::vector<bool> observes(ops.size());
  for (std::uint32_t op = 0; op < ops.size(); ++op) observes[op] = model.observes_only(ops[op].call);
  constexpr std::uint64_t kBudgetPeriod = 4096;  // iterations between budget checks
  std::uint64_t charged = 0;
  auto finish = [&](Verdict verdict) {
    result.verdict = verdict;
    result.states = cache.size();
    budget.charge(cache.size() - charged);
    return std::move(result);
  };

  // Order of trying the ops that may go next: observers first (they never branch), then by
  // return, earliest first (the op that must be placed soonest), info ops last. Ranked once.
  std::vector<std::uint32_t> rank(ops.size());
  {
    std::vector<std::uint32_t> by_order(ops.size());
    for (std::uint32_t op = 0; op < ops.size(); ++op) by_order[op] = op;
    std::sort(by_order.begin(), by_order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return std::tuple(!observes[a], ops[a].return_pos, a) < std::tuple(!observes[b], ops[b].return_pos, b);
    });
    for (std::uint32_t i = 0; i < by_order.size(); ++i) rank[by_order[i]] = i;
  }
  // The untried op with the lowest rank of at least `min_rank` that may go next and can take
  // effect now, with the state it leaves in *after. Ops that may go next are the calls before
  // the first return in the list (every unlinearized ok op has its return there, so there is
  // one, reported in *first_return). kNone when none is left.
  constexpr std::uint32_t kNone = static_cast<std::uint32_t>(-1);
  auto next_candidate = [&](std::uint32_t min_rank, State* after, std::uint32_t* first_return) {
    std::uint32_t best = kNone;
    std::uint32_t entry = list.first();
    for (; EntryList::is_call(entry); entry = list.next(entry)) {
      std::uint32_t op = EntryList::op_of(entry);
      State state;
      if (rank[op] >= min_rank && (best == kNone || rank[op] < rank[best]) &&
          model.step(now.state, ops[op].call, &state)) {
        best = op;
        *after = state;
      }
    }
    assert(entry != list.tail());
    *first_return = entry;
    return best;
  };
  std::uint32_t min_rank = 0;  // lower ranks were tried at this configuration
  for (std::uint64_t iteration = 1; ok_left > 0; ++iteration) {
    if (iteration % kBudgetPeriod == 0) {
      bool within = budget.charge(cache.size() - charged);
      charged = cache.size();
      if (!within) return finish(Verdict::unknown);
    }
    std::uint32_t entry = 0;
    Config next = now;
    std::uint32_t op = next_candidate(min_rank, &next.state, &entry);
    if (op != kNone) {
      min_rank = rank[op] + 1;
      next.toggle(op);
      if (cache.insert(next)) {
        stack.push_back({op, now.state, observes[op]});
        now = next;
        list.lift(op);
        ok_left -= list.has_return(op);
        min_rank = 0;
        continue;
      }
      if (!observes[op]) continue;
      // An observer whose configuration failed before: this one fails too.
    }
    deepest.record(stack, now.state, EntryList::op_of(entry), result);
    // Undo the latest choice that had alternatives.
    for (bool undone = false; !undone;) {
      if (stack.empty()) return finish(Verdict::invalid);
      Frame top = stack.back();
      stack.pop_back();
      deepest.popped(stack.size());
      now.toggle(top.op);
      now.state = top.state_before;
      list.unlift(top.op);
      ok_left += list.has_return(top.op);
      min_rank = rank[top.op] + 1;
      undone = !top.forced;
    }
  }
  return finish(Verdict::valid);
}

}  // namespace faultline::checker::linear
