#include "checker/clock/timestamps.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>

namespace faultline::checker {
namespace {

using nlohmann::json;

constexpr std::size_t kShown = 20;

struct Write {
  std::int64_t op = -1;  // invocation index
  std::int64_t process = 0;
  std::string key, node;
  json value;
  std::int64_t invoke_ns = 0, complete_ns = 0;
  std::int64_t ts_us = 0;  // the server's time
};

// For one B: how many earlier writes (completed before B was invoked) have ts >= ts(B), and the
// one among them with the latest time.
struct Inverted {
  std::size_t b = 0;
  std::int64_t pairs = 0;
  std::size_t worst_a = 0;
};

// Every inverted B of `writes`, in O(n log n): B's in invocation order; the writes completed
// before each B's invocation enter a Fenwick tree over time ranks, and the running maximum is
// the worst A.
std::vector<Inverted> inversions_of(const std::vector<Write>& writes,
                                    const std::vector<std::size_t>& subset) {
  std::vector<std::int64_t> times;
  for (std::size_t w : subset) times.push_back(writes[w].ts_us);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  auto rank = [&](std::int64_t t) {
    return static_cast<std::size_t>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
  };
  std::vector<std::int64_t> tree(times.size() + 1, 0);
  auto add = [&](std::size_t r) {
    for (++r; r < tree.size(); r += r & (~r + 1)) ++tree[r];
  };
  auto below = [&](std::size_t r) {  // entries with rank < r
    std::int64_t n = 0;
    for (; r > 0; r -= r & (~r + 1)) n += tree[r];
    return n;
  };
  std::vector<std::size_t> by_completion = subset, by_invocation = subset;
  std::sort(by_completion.begin(), by_completion.end(),
            [&](std::size_t x, std::size_t y) { return writes[x].complete_ns < writes[y].complete_ns; });
  std::sort(by_invocation.begin(), by_invocation.end(),
            [&](std::size_t x, std::size_t y) { return writes[x].invoke_ns < writes[y].invoke_ns; });
  std::vector<Inverted> found;
  std::size_t entered = 0;
  std::optional<std::size_t> latest;
  for (std::size_t b : by_invocation) {
    for (; entered < by_completion.size() &&
           writes[by_completion[entered]].complete_ns < writes[b].invoke_ns;
         ++entered) {
      std::size_t a = by_completion[entered];
      add(rank(writes[a].ts_us));
      if (!latest || writes[a].ts_us > writes[*latest].ts_us) latest = a;
    }
    if (!latest || writes[*latest].ts_us < writes[b].ts_us) continue;
    found.push_back({b, static_cast<std::int64_t>(entered) - below(rank(writes[b].ts_us)), *latest});
  }
  return found;
}

std::string seconds(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(ns) / 1e9);
  return text;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string name_of(const Write& w) {
  return "write " + value_text(w.value) + " (op " + std::to_string(w.op) + ", process " +
         std::to_string(w.process) + ")";
}

Anomaly explain(const std::vector<Write>& writes, const Inverted& inv, bool lost_by_lww) {
  const Write& a = writes[inv.worst_a];
  const Write& b = writes[inv.b];
  std::int64_t ahead_us = a.ts_us - b.ts_us;
  Anomaly out;
  out.kind = "timestamp-inversion";
  out.keys = {b.key};
  out.ops = {a.op, b.op};
  out.focus = b.op;
  out.names[a.op] = "A: write " + value_text(a.value);
  out.names[b.op] = "B: write " + value_text(b.value);
  std::string ahead = ahead_us == 0 ? "equal to B's"
                                    : seconds(ahead_us * 1000) + " later than B's";
  out.headline = "A returned at " + seconds(a.complete_ns) + " before B began at " +
                 seconds(b.invoke_ns) + ", yet A's server time is " + ahead +
                 (lost_by_lww
                      ? ": a last-write-wins store ordering by these times would keep A and drop B"
                      : ": a store ordering by these times would put B before A");
  out.explanation = {
      "A, " + name_of(a) + " on " + a.key + " through " + a.node + ", ran from " +
          seconds(a.invoke_ns) + " to " + seconds(a.complete_ns) + " by the harness clock; the server stamped it " +
          std::to_string(a.ts_us) + " µs.",
      "B, " + name_of(b) + " on " + b.key + " through " + b.node + ", was invoked at " +
          seconds(b.invoke_ns) + ", after A had returned: A happened before B; the server stamped it " +
          std::to_string(b.ts_us) + " µs.",
      "A's time is " + ahead + ", so ordering by server time reverses happens-before" +
          (inv.pairs > 1 ? " (" + std::to_string(inv.pairs) +
                               " writes that returned before B began carry a time at or after B's; "
                               "A is the furthest ahead)"
                         : "") +
          ".",
  };
  if (lost_by_lww)
    out.explanation.push_back("Both write " + b.key + ": a last-write-wins rule keeps A's value "
                              "and silently drops B's, the later write.");
  return out;
}

}  // namespace

CheckResult check_timestamps(const History& history) {
  auto start = std::chrono::steady_clock::now();
  CheckResult result;
  result.checker = "timestamps";
  result.model = "server time respects real-time happens-before";
  std::vector<Write> writes;
  std::int64_t unknown = 0;
  for (const PairedOp& pair : pair_ops(history, kInMemoryHistory)) {
    const Op& invoke = history[pair.invoke];
    if (invoke.f != "timed-write") continue;
    OpType outcome = pair.outcome(history);
    if (outcome == OpType::fail) continue;  // it certainly did not happen
    const Op* done = pair.completion ? &history[*pair.completion] : nullptr;
    const json* ts = done && done->value.is_object() ? &done->value : nullptr;
    if (outcome != OpType::ok || !ts || !ts->contains("server_time_us") ||
        !(*ts)["server_time_us"].is_number_integer() || invoke.time_ns < 0 || done->time_ns < 0) {
      ++unknown;  // may have happened, at a time not known
      continue;
    }
    writes.push_back({invoke.index, invoke.process, invoke.key, invoke.node, invoke.value,
                      invoke.time_ns, done->time_ns, (*ts)["server_time_us"].get<std::int64_t>()});
  }

  std::vector<std::size_t> all(writes.size());
  std::iota(all.begin(), all.end(), 0);
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t w = 0; w < writes.size(); ++w) by_key[writes[w].key].push_back(w);

  std::vector<Inverted> inverted = inversions_of(writes, all);
  std::vector<bool> lost(writes.size(), false);
  std::int64_t lww_lost = 0;
  for (const auto& [key, subset] : by_key)
    for (const Inverted& inv : inversions_of(writes, subset)) {
      lost[inv.b] = true;
      ++lww_lost;
    }
  std::int64_t pairs = 0, max_us = -1;
  for (const Inverted& inv : inverted) {
    pairs += inv.pairs;
    max_us = std::max(max_us, writes[inv.worst_a].ts_us - writes[inv.b].ts_us);
  }
  std::sort(inverted.begin(), inverted.end(), [&](const Inverted& x, const Inverted& y) {
    return writes[x.worst_a].ts_us - writes[x.b].ts_us > writes[y.worst_a].ts_us - writes[y.b].ts_us;
  });
  for (std::size_t i = 0; i < inverted.size() && i < kShown; ++i)
    result.anomalies.push_back(explain(writes, inverted[i], lost[inverted[i].b] &&
                                                               writes[inverted[i].worst_a].key ==
                                                                   writes[inverted[i].b].key));

  result.details = {{"writes", writes.size()},       {"writes_unknown", unknown},
                    {"keys", by_key.size()},         {"inversions", pairs},
                    {"inverted_writes", inverted.size()}, {"lww_lost", lww_lost},
                    {"max_inversion_us", std::max<std::int64_t>(max_us, 0)}};
  std::string scope = std::to_string(writes.size()) + " timed writes";
  if (!inverted.empty()) {
    result.verdict = Verdict::invalid;
    result.summary = std::to_string(inverted.size()) + " of " + scope +
                     " carry a server time at or before that of a write that returned before "
                     "they began (" + std::to_string(pairs) + " inverted pairs, up to " +
                     seconds(max_us * 1000) + "); a last-write-wins store would have lost " +
                     std::to_string(lww_lost) + " of them";
  } else if (unknown > 0) {
    result.verdict = Verdict::unknown;
    result.summary = "no inversion among " + scope + ", but " + std::to_string(unknown) +
                     " writes may have happened at a server time not known (timed out or "
                     "unanswered)";
  } else {
    result.verdict = Verdict::valid;
    result.summary = "every write's server time is later than that of every write that returned "
                     "before it began (" + scope + "): last-write-wins by these times loses none";
  }
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::shared_ptr<const Checker> timestamps_checker() { return std::make_shared<FunctionChecker>(check_timestamps); }

}  // namespace faultline::checker
