// counter: add n / read, checked without search (Jepsen's counter condition, O(n log n)).
//
// A read must return a value the counter could hold while it was in flight: at least the ok adds
// that completed before it was invoked, plus whichever adds still in flight (ok, or info) could
// have lowered it; at most the same plus those that could have raised it. When every add has one
// sign, reads must also be monotonic in real time: a read that completed before another was
// invoked cannot see more (less) than it.
#include <algorithm>

#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

// Sums of add amounts over ops sorted by some position, for "sum of those before position p".
class PrefixSums {
 public:
  void add(std::size_t position, std::int64_t amount) {
    positions_.push_back(position);
    std::int64_t last_total = totals_.empty() ? 0 : totals_.back();
    std::int64_t last_down = downs_.empty() ? 0 : downs_.back();
    std::int64_t last_up = ups_.empty() ? 0 : ups_.back();
    totals_.push_back(last_total + amount);
    downs_.push_back(last_down + std::min<std::int64_t>(amount, 0));
    ups_.push_back(last_up + std::max<std::int64_t>(amount, 0));
  }
  struct Sums {
    std::int64_t total = 0, down = 0, up = 0;
  };
  // Over the ops whose position is below `position`. REQUIRES: added in position order.
  Sums before(std::size_t position) const {
    auto n = std::lower_bound(positions_.begin(), positions_.end(), position) - positions_.begin();
    if (n == 0) return {};
    return {totals_[n - 1], downs_[n - 1], ups_[n - 1]};
  }

 private:
  std::vector<std::size_t> positions_;
  std::vector<std::int64_t> totals_, downs_, ups_;
};

std::int64_t amount_of(const ObjectOp& op, const nlohmann::json& value) {
  if (!value.is_number_integer()) bad_op(op, "a counter value must be an integer");
  return value.get<std::int64_t>();
}

struct Read {
  const ObjectOp* op;
  std::int64_t value;
};

// Real-time monotonicity when all adds have one sign (`direction` is +1 or -1).
DirectOutcome check_monotonic(std::vector<Read> reads, int direction) {
  std::vector<Read> by_completion = reads;
  std::sort(by_completion.begin(), by_completion.end(), [](const Read& a, const Read& b) {
    return a.op->complete_pos < b.op->complete_pos;
  });
  const Read* extreme = nullptr;  // the furthest value among reads completed so far
  std::size_t done = 0;
  for (const Read& read : reads) {  // in invoke order
    for (; done < by_completion.size() && by_completion[done].op->complete_pos < read.op->invoke_pos; ++done) {
      if (extreme == nullptr || (by_completion[done].value - extreme->value) * direction > 0)
        extreme = &by_completion[done];
    }
    if (extreme != nullptr && (extreme->value - read.value) * direction > 0) {
      return {Verdict::invalid,
              "read returned " + std::to_string(read.value) + " after an earlier read had returned " +
                  std::to_string(extreme->value) + ", but every add " +
                  (direction > 0 ? "increases" : "decreases") + " the counter",
              {extreme->op, read.op}};
    }
  }
  return {};
}

}  // namespace

DirectOutcome check_counter(std::span<const ObjectOp> ops, const LinearOptions&) {
  PrefixSums invoked;    // every add that may have taken effect, by invoke position
  std::vector<std::pair<std::size_t, std::int64_t>> completed;  // ok adds, by completion
  std::vector<Read> reads;                                       // ok reads, in invoke order
  bool any_up = false, any_down = false;
  for (const ObjectOp& op : ops) {
    if (op.invoke->f == "add") {
      std::int64_t amount = amount_of(op, op.input());
      any_up |= amount > 0;
      any_down |= amount < 0;
      invoked.add(op.invoke_pos, amount);
      if (op.is_ok()) completed.emplace_back(op.complete_pos, amount);
    } else if (op.invoke->f == "read") {
      if (op.is_ok()) reads.push_back({&op, amount_of(op, op.output())});
    } else {
      bad_op(op, "unknown f for the counter model (expected add, read)");
    }
  }
  std::sort(completed.begin(), completed.end());
  PrefixSums certain;
  for (auto [position, amount] : completed) certain.add(position, amount);

  for (const Read& read : reads) {
    PrefixSums::Sums sure = certain.before(read.op->invoke_pos);
    PrefixSums::Sums maybe = invoked.before(read.op->complete_pos);
    std::int64_t low = sure.total + (maybe.down - sure.down);
    std::int64_t high = sure.total + (maybe.up - sure.up);
    if (read.value < low || read.value > high) {
      return {Verdict::invalid,
              "read returned " + std::to_string(read.value) + ", but while it was in flight the counter " +
                  "could only be between " + std::to_string(low) + " and " + std::to_string(high) +
                  " (" + std::to_string(sure.total) + " from ok adds completed before it, the rest " +
                  "from adds still in flight)",
              {read.op}};
    }
  }
  if (any_up && any_down) return {};
  return check_monotonic(std::move(reads), any_down ? -1 : 1);
}

}  // namespace faultline::checker::linear
