#include "checker/linear/shrink.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

namespace faultline::checker {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// What one op (invocation + completion) reads and writes of its register, as the checker's
// models interpret it. A failed op did nothing; an info op may have.
struct Effects {
  std::optional<json> observed;
  std::optional<json> produced;
};

struct Unit {
  std::size_t invoke = 0;
  std::optional<std::size_t> completion;
  Effects effects;
};

// nullopt: an op whose effects this file does not know (the history is not shrunk).
std::optional<Effects> effects_of(const History& h, const PairedOp& op, bool nil_read_matches_any) {
  const Op& invoke = h[op.invoke];
  OpType outcome = op.outcome(h);
  if (outcome == OpType::fail) return Effects{};
  if (invoke.f == "read") {
    if (outcome != OpType::ok) return Effects{};
    const json& value = h[*op.completion].value;
    if (value.is_null() && nil_read_matches_any) return Effects{};
    return Effects{value, std::nullopt};
  }
  if (invoke.f == "write") return Effects{std::nullopt, invoke.value};
  if (invoke.f == "cas" && invoke.value.is_array() && invoke.value.size() == 2)
    return Effects{invoke.value[0], invoke.value[1]};
  return std::nullopt;
}

class Shrinker {
 public:
  Shrinker(const History& history, const LinearOptions& options, Clock::time_point deadline)
      : history_(history), options_(options), deadline_(deadline) {
    options_.shrink_budget_s = 0;  // the checks below must not shrink again
    options_.threads = 1;
    // Each check is small; a tight budget keeps one hard candidate from eating the deadline.
    constexpr std::uint64_t kShrinkCheckBytes = std::uint64_t{128} << 20;
    options_.max_memory_bytes = options.max_memory_bytes != 0
                                    ? std::min(options.max_memory_bytes, kShrinkCheckBytes)
                                    : kShrinkCheckBytes;
  }

  bool out_of_time() const { return Clock::now() >= deadline_; }
  int checks() const { return checks_; }

  // The units as a history of their own: ops in original order, indexes dense; completions
  // after `cut_ns` dropped (those ops are pending). `original` maps new index -> old.
  History build(const std::vector<Unit>& units, std::int64_t cut_ns,
                std::vector<std::int64_t>* original = nullptr) const {
    std::vector<std::size_t> positions;
    for (const Unit& u : units) {
      positions.push_back(u.invoke);
      if (u.completion && history_[*u.completion].time_ns <= cut_ns) positions.push_back(*u.completion);
    }
    std::sort(positions.begin(), positions.end());
    History out;
    out.reserve(positions.size());
    for (std::size_t p : positions) {
      if (original) original->push_back(history_[p].index);
      out.push_back(history_[p]);
      out.back().index = static_cast<std::int64_t>(out.size() - 1);
    }
    return out;
  }

  bool invalid(const std::vector<Unit>& units, std::int64_t cut_ns) {
    ++checks_;
    return check_linearizable(build(units, cut_ns), options_).verdict == Verdict::invalid;
  }

  // ddmin: drop ever smaller chunks while the rest stays an honest, invalid history.
  std::vector<Unit> minimize(std::vector<Unit> units, std::int64_t cut_ns, bool& minimal) {
    std::size_t parts = 2;
    minimal = false;
    while (units.size() >= 2 && !out_of_time()) {
      std::size_t chunk = (units.size() + parts - 1) / parts;
      bool dropped = false;
      for (std::size_t from = 0; from < units.size() && !out_of_time(); from += chunk) {
        std::vector<Unit> rest;
        rest.insert(rest.end(), units.begin(), units.begin() + static_cast<std::ptrdiff_t>(from));
        rest.insert(rest.end(), units.begin() + static_cast<std::ptrdiff_t>(std::min(from + chunk, units.size())),
                    units.end());
        std::vector<Unit> removed(units.begin() + static_cast<std::ptrdiff_t>(from),
                                  units.begin() + static_cast<std::ptrdiff_t>(std::min(from + chunk, units.size())));
        if (!removable(rest, removed) || !invalid(rest, cut_ns)) continue;
        units = std::move(rest);
        parts = std::max<std::size_t>(parts - 1, 2);
        dropped = true;
        break;
      }
      if (dropped) continue;
      if (chunk == 1) {
        minimal = !out_of_time();
        break;
      }
      parts = std::min(parts * 2, units.size());
    }
    if (units.size() < 2) minimal = true;
    return units;
  }

  // The proof survives dropping `removed` when no kept op observes a value one of them made.
  static bool removable(const std::vector<Unit>& kept, const std::vector<Unit>& removed) {
    std::set<json> made;
    for (const Unit& u : removed)
      if (u.effects.produced) made.insert(*u.effects.produced);
    if (made.empty()) return true;
    return std::none_of(kept.begin(), kept.end(), [&](const Unit& u) {
      return u.effects.observed && made.contains(*u.effects.observed);
    });
  }

 private:

  const History& history_;
  LinearOptions options_;
  Clock::time_point deadline_;
  int checks_ = 0;
};

}  // namespace

void attach_counterexample(CheckResult& check, const History& history, const LinearOptions& options) {
  static const std::set<std::string> kRegisters = {"register", "cas-register", "kv"};
  if (check.verdict != Verdict::invalid || options.shrink_budget_s <= 0 ||
      !kRegisters.contains(options.model) || options.independent_tuples)
    return;
  const json& failures = check.details.value("failures", json::array());
  if (failures.empty()) return;
  const json& failure = failures[0];
  std::string key = failure.value("key", std::string());
  std::int64_t focus = failure.value("blocked_op", json::object()).value("index", std::int64_t{-1});

  auto started = Clock::now();
  auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.shrink_budget_s));
  std::vector<Unit> units;
  std::int64_t cut_ns = INT64_MAX, client_ops = 0;
  for (const PairedOp& op : pair_ops(history, "history")) {
    ++client_ops;
    if (history[op.invoke].key != key) continue;
    auto effects = effects_of(history, op, options.nil_read_matches_any);
    if (!effects) return;
    units.push_back({op.invoke, op.completion, *effects});
    if (history[op.invoke].index == focus && op.completion) cut_ns = history[*op.completion].time_ns;
  }
  Shrinker shrinker(history, options, deadline);
  if (cut_ns != INT64_MAX) {
    std::vector<Unit> prefix, later;
    for (const Unit& u : units) (history[u.invoke].time_ns <= cut_ns ? prefix : later).push_back(u);
    if (Shrinker::removable(prefix, later) && shrinker.invalid(prefix, cut_ns)) units = std::move(prefix);
    else cut_ns = INT64_MAX;
  }
  bool minimal = false;
  units = shrinker.minimize(std::move(units), cut_ns, minimal);
  std::vector<std::int64_t> ops;
  for (const Unit& u : units) ops.push_back(history[u.invoke].index);
  std::sort(ops.begin(), ops.end());
  double time_s = std::chrono::duration<double>(Clock::now() - started).count();
  check.details["counterexample"] = {
      {"key", key},
      {"ops", ops},
      {"focus", focus},
      {"cut_ns", cut_ns == INT64_MAX ? -1 : cut_ns},
      {"from_ops", client_ops},
      {"minimal", minimal},
      {"checks", shrinker.checks()},
      {"time_s", time_s},
      {"note", minimal ? "dropping any one more op makes it linearizable, or drops a write a "
                         "kept read needs"
                       : "the shrink stopped at its time budget; smaller may exist"}};
}

History counterexample_history(const History& history, const nlohmann::json& counterexample) {
  std::set<std::int64_t> kept;
  for (const auto& i : counterexample.value("ops", json::array())) kept.insert(i.get<std::int64_t>());
  std::int64_t cut_ns = counterexample.value("cut_ns", std::int64_t{-1});
  std::vector<Unit> units;
  for (const PairedOp& op : pair_ops(history, "history"))
    if (kept.contains(history[op.invoke].index)) units.push_back({op.invoke, op.completion, {}});
  LinearOptions options;
  return Shrinker(history, options, Clock::now()).build(units, cut_ns < 0 ? INT64_MAX : cut_ns);
}

}  // namespace faultline::checker
