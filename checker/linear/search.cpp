#include "checker/linear/search.h"

#include <algorithm>
#include <cassert>
#include <fstream>
#include <string>
#include <utility>

namespace faultline::checker::linear {

namespace {

// Half of MemAvailable (the kernel's estimate of what can be allocated without swapping); 1 GiB
// when /proc/meminfo cannot be read.
std::uint64_t default_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string name;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> name >> kib >> unit)
    if (name == "MemAvailable:") return kib * 1024 / 2;
  return std::uint64_t{1} << 30;
}

}  // namespace

Budget::Budget(std::uint64_t max_memory_bytes, double time_limit_s)
    : max_bytes_(max_memory_bytes != 0 ? max_memory_bytes : default_memory_bytes()),
      has_deadline_(time_limit_s > 0) {
  if (has_deadline_) {
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(time_limit_s));
  }
}

bool Budget::reserve(std::uint64_t bytes) {
  std::uint64_t used = used_bytes_.load(std::memory_order_relaxed);
  do {
    if (used + bytes > max_bytes_) {
      mark(Spent::memory);
      return false;
    }
  } while (!used_bytes_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  std::uint64_t peak = peak_bytes_.load(std::memory_order_relaxed);
  while (used + bytes > peak && !peak_bytes_.compare_exchange_weak(peak, used + bytes, std::memory_order_relaxed)) {
  }
  return true;
}

bool Budget::in_time() {
  if (has_deadline_ && std::chrono::steady_clock::now() > deadline_) mark(Spent::time);
  return !exhausted();
}

void Budget::mark(Spent why) {
  int none = static_cast<int>(Spent::no);
  spent_.compare_exchange_strong(none, static_cast<int>(why), std::memory_order_relaxed);
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
// wrong "valid"), and even at 1e9 configurations (24 GB of cache) its odds are below 1e-20.
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

// Lowe's cache: an open-addressing set of configurations, linear probing, at most half full. Its
// table is reserved from the budget before it grows.
class ConfigCache {
 public:
  explicit ConfigCache(Budget& budget) : budget_(budget), slots_(std::size_t{1} << kInitialBits), bits_(kInitialBits) {}
  ConfigCache(const ConfigCache&) = delete;
  ConfigCache& operator=(const ConfigCache&) = delete;
  ~ConfigCache() { budget_.release(reserved_bytes_); }

  // True when the next insert needs a bigger table.
  bool full() const { return 2 * (size_ + 1) > slots_.size(); }
  // Doubles the table; false (and nothing changed) when the budget cannot pay for it.
  bool grow() {
    std::uint64_t bytes = 2 * slots_.size() * sizeof(Config);
    if (!budget_.reserve(bytes)) return false;
    std::vector<Config> bigger;
    try {
      bigger.resize(slots_.size() * 2);
    } catch (...) {
      budget_.release(bytes);
      throw;
    }
    for (const Config& config : slots_)
      if (config.set2 != 0) place(bigger, bits_ + 1, config);
    slots_ = std::move(bigger);
    ++bits_;
    budget_.release(reserved_bytes_);
    reserved_bytes_ = bytes;
    return true;
  }
  // True if `config` was not cached yet (and now is). REQUIRES: !full().
  bool insert(Config config) {
    assert(!full());
    config.set2 |= 1;  // set2 == 0 marks an empty slot
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

  Budget& budget_;
  std::vector<Config> slots_;
  int bits_;
  std::uint64_t size_ = 0;
  std::uint64_t reserved_bytes_ = 0;  // the first small table is not counted
};

// Memory a search holds per op besides its cache: the entry list, ranks, stack, the deepest
// prefix and the caller's SearchOp array (a generous round figure; the cache dominates).
constexpr std::uint64_t kSearchBytesPerOp = 128;

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
  std::size_t tried_from;  // where the calls tried at the configuration it led to begin
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

// One key's search. The rules that keep it small, each sound:
//
// - Lowe's cache: a configuration reached before is not explored again (it failed, or the
//   search would have ended).
// - Observers first: an op that changes no state it can take effect in (a read) is taken as soon
//   as it is legal, and nothing else is tried in its place. It is legal now, and every op that
//   had to precede it (returned before its call) is already linearized, since the walk reached
//   its call without meeting a return. In any linearization of the remaining ops it can
//   therefore move to the front, where it changes nothing, so every later op still sees what it
//   saw: if the configuration with it taken fails (or is cached, hence failed), this one fails
//   too. (A write of the value already there does not qualify: in another state it would
//   change it.)
// - Earliest return first among the others, info ops last: the op that must be placed soonest.
// - Twins: of several ops with the same call (same f and values) that may go next, only the one
//   returning first is tried. Were the configuration with it taken to fail, the one with a twin
//   taken instead would fail too: any linearization from there becomes one from the first by
//   putting the first in the twin's place, since the first returns no later (so every op that
//   must follow the first also had to follow the twin) and every op that had to precede either
//   is already linearized.
class Search {
 public:
  // The ops' fixed memory must already be reserved from `budget`.
  Search(std::span<const SearchOp> ops, Model& model, Budget& budget)
      : ops_(ops), model_(model), budget_(budget), list_(ops), observes_(ops.size()), rank_(ops.size()), cache_(budget) {
    assert(ops.size() < (std::size_t{1} << 31));
    for (std::uint32_t op = 0; op < ops.size(); ++op) observes_[op] = model.observes_only(ops[op].call);
    // Sorted by (not an observer, return position, op) packed into plain integers: the sort is
    // a visible share of a small history's check.
    constexpr std::uint64_t kMutator = std::uint64_t{1} << 63;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> by_order(ops.size());
    for (std::uint32_t op = 0; op < ops.size(); ++op)
      by_order[op] = {(observes_[op] ? 0 : kMutator) | std::min<std::uint64_t>(ops[op].return_pos, kMutator - 1), op};
    std::sort(by_order.begin(), by_order.end());
    for (std::uint32_t i = 0; i < by_order.size(); ++i) rank_[by_order[i].second] = i;
    ok_left_ = std::count_if(ops.begin(), ops.end(), [](const SearchOp& op) { return op.return_pos != kNever; });
    stack_.reserve(ops.size());
    result_.longest_prefix.reserve(ops.size());
    now_.state = model.init();
  }

  SearchResult run() {
    constexpr std::uint64_t kBudgetPeriod = 4096;  // iterations between budget checks
    for (std::uint64_t iteration = 1; ok_left_ > 0; ++iteration) {
      if (iteration % kBudgetPeriod == 0 && !budget_.in_time()) return finish(Verdict::unknown);
      std::uint32_t first_return = 0;
      Config next = now_;
      std::uint32_t op = next_candidate(&next.state, &first_return);
      if (op != kNone) {
        min_rank_ = rank_[op] + 1;
        next.toggle(op);
        if (cache_.full() && !cache_.grow()) return finish(Verdict::unknown);
        if (cache_.insert(next)) {
          take(op, next);
          continue;
        }
        tried_.push_back(ops_[op].call);
        if (!observes_[op]) continue;
        // An observer whose configuration failed before: this one fails too.
      }
      deepest_.record(stack_, now_.state, EntryList::op_of(first_return), result_);
      if (!undo()) return finish(Verdict::invalid);
    }
    return finish(Verdict::valid);
  }

 private:
  static constexpr std::uint32_t kNone = static_cast<std::uint32_t>(-1);

  // The untried op of the lowest rank that may go next, can take effect now and has no twin
  // tried here, with the state it leaves in *after; kNone when none is left. The ops that may
  // go next are the calls before the first return in the list (every unlinearized ok op has its
  // return there, so there is one: *first_return).
  std::uint32_t next_candidate(State* after, std::uint32_t* first_return) {
    std::uint32_t best = kNone;
    std::uint32_t entry = list_.first();
    for (; EntryList::is_call(entry); entry = list_.next(entry)) {
      std::uint32_t op = EntryList::op_of(entry);
      State state;
      if (rank_[op] >= min_rank_ && (best == kNone || rank_[op] < rank_[best]) &&
          model_.step(now_.state, ops_[op].call, &state) && !tried_here(ops_[op].call)) {
        best = op;
        *after = state;
      }
    }
    assert(entry != list_.tail());
    *first_return = entry;
    return best;
  }

  bool tried_here(const Call& call) const {
    std::size_t from = stack_.empty() ? 0 : stack_.back().tried_from;
    return std::any_of(tried_.begin() + static_cast<std::ptrdiff_t>(from), tried_.end(), [&](const Call& tried) {
      return tried.f == call.f && tried.a == call.a && tried.b == call.b;
    });
  }

  void take(std::uint32_t op, const Config& next) {
    stack_.push_back({op, now_.state, observes_[op], tried_.size()});
    now_ = next;
    list_.lift(op);
    ok_left_ -= list_.has_return(op);
    min_rank_ = 0;
  }

  // Undoes the latest choice that had alternatives; false when there is none.
  bool undo() {
    for (bool undone = false; !undone;) {
      if (stack_.empty()) return false;
      Frame top = stack_.back();
      stack_.pop_back();
      deepest_.popped(stack_.size());
      now_.toggle(top.op);
      now_.state = top.state_before;
      list_.unlift(top.op);
      ok_left_ += list_.has_return(top.op);
      min_rank_ = rank_[top.op] + 1;
      tried_.resize(top.tried_from);
      tried_.push_back(ops_[top.op].call);
      undone = !top.forced;
    }
    return true;
  }

  SearchResult finish(Verdict verdict) {
    result_.verdict = verdict;
    result_.states = cache_.size();
    return std::move(result_);
  }

  std::span<const SearchOp> ops_;
  Model& model_;
  Budget& budget_;
  EntryList list_;
  std::vector<bool> observes_;
  std::vector<std::uint32_t> rank_;  // the order ops are tried in
  ConfigCache cache_;
  Deepest deepest_;
  std::vector<Frame> stack_;
  std::vector<Call> tried_;  // calls tried at each configuration on the stack (see Frame)
  Config now_;
  std::size_t ok_left_ = 0;
  std::uint32_t min_rank_ = 0;  // lower ranks were tried at this configuration
  SearchResult result_;
};

}  // namespace

SearchResult search(std::span<const SearchOp> ops, Model& model, Budget& budget) {
  std::uint64_t fixed_bytes = kSearchBytesPerOp * ops.size();
  if (!budget.reserve(fixed_bytes)) return SearchResult{};  // unknown
  struct Release {
    Budget& budget;
    std::uint64_t bytes;
    ~Release() { budget.release(bytes); }
  } release{budget, fixed_bytes};
  return Search(ops, model, budget).run();
}

}  // namespace faultline::checker::linear
