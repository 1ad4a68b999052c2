#include "checker/linear/shrink.h"

#include <algorithm>
#include <chrono>
#include <map>
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
  std::int64_t invoke_ns = 0;
  std::int64_t complete_ns = INT64_MAX;  // not ok: it may take effect at any time
  // An observer's source completed at or after this: an ok mutation invoked then completed
  // before the observer began is linearized between any earlier-completed one and it.
  std::int64_t source_done_after_ns = INT64_MIN;
  // The original has a producer of the value observed, invoked before this completed.
  bool written_before = false;
};

// The unit in a history cut at `cut_ns`: one still running then is pending. A linearization of
// the whole cut at cut_ns (ops linearized by then) is one of the cut history, where a pending
// read may be left out: it observes nothing.
Unit pending_after(Unit u, std::int64_t cut_ns) {
  if (u.complete_ns == INT64_MAX || u.complete_ns <= cut_ns) return u;
  u.complete_ns = INT64_MAX;
  if (!u.effects.produced) u.effects.observed.reset();
  return u;
}

// Value -> the earliest invocation of a unit that makes it.
std::map<json, std::int64_t> first_producers(const std::vector<Unit>& units) {
  std::map<json, std::int64_t> first_made_ns;
  for (const Unit& u : units) {
    if (!u.effects.produced) continue;
    auto [it, fresh] = first_made_ns.emplace(*u.effects.produced, u.invoke_ns);
    if (!fresh) it->second = std::min(it->second, u.invoke_ns);
  }
  return first_made_ns;
}

// Fills each unit's source_done_after_ns: the latest invocation of an ok mutation that
// completed before the unit was invoked.
void bound_sources(std::vector<Unit>& units) {
  std::vector<std::pair<std::int64_t, std::int64_t>> done_invoked;  // ok mutations
  for (const Unit& u : units)
    if (u.effects.produced && u.complete_ns != INT64_MAX) done_invoked.emplace_back(u.complete_ns, u.invoke_ns);
  std::sort(done_invoked.begin(), done_invoked.end());
  for (std::size_t i = 1; i < done_invoked.size(); ++i)
    done_invoked[i].second = std::max(done_invoked[i].second, done_invoked[i - 1].second);
  for (Unit& u : units) {
    auto it = std::lower_bound(done_invoked.begin(), done_invoked.end(),
                               std::make_pair(u.invoke_ns, INT64_MIN));
    if (it != done_invoked.begin()) u.source_done_after_ns = std::prev(it)->second;
  }
  std::map<json, std::int64_t> first_made_ns = first_producers(units);
  for (Unit& u : units)
    if (u.effects.observed)
      if (auto it = first_made_ns.find(*u.effects.observed); it != first_made_ns.end())
        u.written_before = it->second <= u.complete_ns;
}

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

  // The proof survives dropping `removed` when none of them can be the mutation a kept observer
  // saw in a linearization of the original: that one is linearized before the observer (so
  // invoked before it completed) and after every ok mutation that completed before the observer
  // began (so it completed after their invocations: source_done_after_ns).
  static bool removable(const std::vector<Unit>& kept, const std::vector<Unit>& removed) {
    // Per value made: (invocation, latest completion among producers invoked up to then).
    std::map<json, std::vector<std::pair<std::int64_t, std::int64_t>>> producers;
    for (const Unit& u : removed)
      if (u.effects.produced) producers[*u.effects.produced].emplace_back(u.invoke_ns, u.complete_ns);
    if (producers.empty()) return true;
    for (auto& [value, list] : producers) {
      std::sort(list.begin(), list.end());
      for (std::size_t i = 1; i < list.size(); ++i) list[i].second = std::max(list[i].second, list[i - 1].second);
    }
    bool sound = std::none_of(kept.begin(), kept.end(), [&](const Unit& u) {
      if (!u.effects.observed) return false;
      auto found = producers.find(*u.effects.observed);
      if (found == producers.end()) return false;
      const auto& list = found->second;
      auto end = std::upper_bound(list.begin(), list.end(), std::make_pair(u.complete_ns, INT64_MAX));
      return end != list.begin() && std::prev(end)->second >= u.source_done_after_ns;
    });
    return sound && still_written(kept);
  }

  // Not needed for the proof, but for the reader: a kept read of a value the original wrote
  // before it keeps one such write, so the counterexample shows a stale value, not a made-up one.
  static bool still_written(const std::vector<Unit>& kept) {
    std::map<json, std::int64_t> first_made_ns = first_producers(kept);
    return std::all_of(kept.begin(), kept.end(), [&](const Unit& u) {
      if (!u.written_before) return true;
      auto it = first_made_ns.find(*u.effects.observed);
      return it != first_made_ns.end() && it->second <= u.complete_ns;
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
    units.push_back({op.invoke, op.completion, *effects, history[op.invoke].time_ns,
                     op.outcome(history) == OpType::ok ? history[*op.completion].time_ns
                                                       : INT64_MAX});
    if (history[op.invoke].index == focus && op.completion) cut_ns = history[*op.completion].time_ns;
  }
  Shrinker shrinker(history, options, deadline);
  if (cut_ns != INT64_MAX) {
    std::vector<Unit> prefix;
    for (const Unit& u : units)
      if (u.invoke_ns <= cut_ns) prefix.push_back(pending_after(u, cut_ns));
    if (shrinker.invalid(prefix, cut_ns)) units = std::move(prefix);
    else cut_ns = INT64_MAX;
  }
  bound_sources(units);
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
