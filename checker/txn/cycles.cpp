#include "checker/txn/cycles.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <optional>
#include <set>

namespace faultline::checker::txn {

Deadline::Deadline(double limit_s)
    : limited_(limit_s > 0),
      end_(std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::duration<double>(limit_s > 0 ? limit_s : 0))) {}

bool Deadline::expired() const { return limited_ && std::chrono::steady_clock::now() >= end_; }

std::string classify(std::span<const CycleStep> steps) {
  std::size_t rw = 0;
  bool wr = false, process = false, realtime = false, adjacent_rw = false;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::uint8_t k = steps[i].kind;
    rw += k == kRW;
    wr |= k == kWR;
    process |= k == kProcess;
    realtime |= k == kRealtime;
    adjacent_rw |= k == kRW && steps[(i + 1) % steps.size()].kind == kRW;
  }
  std::string name = rw == 0   ? (wr ? "G1c" : "G0")
                     : rw == 1 ? "G-single"
                     : adjacent_rw ? "G2-item"
                                   : "G-nonadjacent";
  if (realtime) return name + "-realtime";
  if (process) return name + "-process";
  return name;
}

namespace {

// One cycle search: a cycle is a `close` edge u -> v plus a path v ~> u over `path` kinds.
// `require`: a kind that must appear on the cycle (process/realtime passes). `nonadjacent`:
// no two rw steps in a row, the closing step included.
struct Spec {
  std::string name;
  std::uint8_t close;
  std::uint8_t path;
  std::uint8_t require;
  bool nonadjacent;
};

// Elle's order: data anomalies first, then those that need process edges, then realtime ones.
std::vector<Spec> all_specs() {
  struct Pass {
    const char* suffix;
    std::uint8_t extra_path;
    std::uint8_t require;
  };
  const Pass passes[] = {{"", 0, 0},
                         {"-process", kProcess, kProcess},
                         {"-realtime", kProcess | kRealtime, kRealtime}};
  std::vector<Spec> specs;
  for (const Pass& p : passes) {
    std::uint8_t ww = kWW | p.extra_path, wwr = ww | kWR, all = wwr | kRW;
    std::string s = p.suffix;
    std::uint8_t g0_close = p.require ? p.require : std::uint8_t{kWW};
    specs.push_back({"G0" + s, g0_close, ww, 0, false});
    specs.push_back({"G1c" + s, kWR, wwr, p.require, false});
    specs.push_back({"G-single" + s, kRW, wwr, p.require, false});
    specs.push_back({"G-nonadjacent" + s, kRW, all, p.require, true});
    specs.push_back({"G2-item" + s, kRW, all, p.require, false});
  }
  return specs;
}

// Breadth-first search over states (node, last step was rw, required kind seen), so that the
// nonadjacency and "must use a process/realtime edge" constraints stay exact.
class StateSearch {
 public:
  // region_of: each node's component of the close+path subgraph; paths stay inside one.
  StateSearch(const Graph& g, const Spec& spec, const Deadline& deadline,
              const std::vector<std::uint32_t>& region_of)
      : g_(g), spec_(spec), deadline_(deadline), region_(region_of), stamp_(g.size() * 4, 0),
        parent_(g.size() * 4), target_(g.size(), 0) {}

  bool timed_out() const { return timed_out_; }

  // Shortest cycle closing with an edge u -> v (u in sources) whose path stays inside region.
  std::optional<std::vector<CycleStep>> from(std::uint32_t v, std::span<const std::uint32_t> sources,
                                             std::uint32_t region) {
    ++epoch_;
    for (std::uint32_t u : sources) target_[u] = epoch_;
    const bool close_rw = spec_.close == kRW;
    std::uint32_t start = state(v, close_rw, (spec_.close & spec_.require) != 0);
    visit(start, start, 0);
    std::deque<std::uint32_t> queue{start};
    while (!queue.empty()) {
      std::uint32_t s = queue.front();
      queue.pop_front();
      if ((++steps_ & 4095) == 0 && deadline_.expired()) {
        timed_out_ = true;
        return std::nullopt;
      }
      std::uint32_t w = s / 4;
      bool last_rw = s & 2, seen = s & 1;
      if (target_[w] == epoch_ && (seen || !spec_.require) &&
          !(spec_.nonadjacent && close_rw && last_rw))
        return unwind(s, v, w);
      expand(s, w, last_rw, seen, region, queue);
    }
    return std::nullopt;
  }

 private:
  static std::uint32_t state(std::uint32_t node, bool last_rw, bool seen) {
    return node * 4 + (last_rw ? 2 : 0) + (seen ? 1 : 0);
  }
  void visit(std::uint32_t s, std::uint32_t from, std::uint8_t kind) {
    stamp_[s] = epoch_;
    parent_[s] = {from, kind};
  }

  void expand(std::uint32_t s, std::uint32_t w, bool last_rw, bool seen, std::uint32_t region,
              std::deque<std::uint32_t>& queue) {
    auto targets = g_.targets(w);
    auto kinds = g_.kinds(w);
    for (std::size_t e = 0; e < targets.size(); ++e) {
      std::uint32_t t = targets[e];
      if (region_[t] != region) continue;
      for (std::uint8_t bits = kinds[e] & spec_.path; bits; bits &= bits - 1) {
        auto kind = static_cast<std::uint8_t>(bits & -bits);
        if (spec_.nonadjacent && last_rw && kind == kRW) continue;
        std::uint32_t next = state(t, kind == kRW, seen || (kind & spec_.require));
        if (stamp_[next] == epoch_) continue;
        visit(next, s, kind);
        queue.push_back(next);
      }
    }
  }

  std::vector<CycleStep> unwind(std::uint32_t s, std::uint32_t v, std::uint32_t u) {
    std::vector<CycleStep> steps{{u, v, spec_.close}};
    while (parent_[s].from != s) {  // only the start state is its own parent
      auto [from, kind] = parent_[s];
      steps.push_back({from / 4, s / 4, kind});
      s = from;
    }
    // Collected backwards from u: reverse to read v -> ... -> u, then the closing step.
    std::reverse(steps.begin() + 1, steps.end());
    std::rotate(steps.begin(), steps.begin() + 1, steps.end());
    return steps;
  }

  struct Parent {
    std::uint32_t from = 0;
    std::uint8_t kind = 0;
  };
  const Graph& g_;
  const Spec& spec_;
  const Deadline& deadline_;
  const std::vector<std::uint32_t>& region_;
  std::vector<std::uint32_t> stamp_;
  std::vector<Parent> parent_;
  std::vector<std::uint32_t> target_;
  std::uint32_t epoch_ = 0;
  std::uint64_t steps_ = 0;
  bool timed_out_ = false;
};

struct SpecOutcome {
  std::optional<std::vector<CycleStep>> cycle;
  bool timed_out = false;
};

// Closing edges grouped by their head: one BFS per head serves every edge into it.
std::vector<std::pair<std::uint32_t, std::uint32_t>> closing_edges(
    const Graph& g, std::span<const std::uint32_t> region_nodes, const std::vector<std::uint32_t>& region_of,
    std::uint32_t region, std::uint8_t close) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> heads;  // (v, u) for u -> v
  for (std::uint32_t u : region_nodes) {
    auto targets = g.targets(u);
    auto kinds = g.kinds(u);
    for (std::size_t e = 0; e < targets.size(); ++e)
      if ((kinds[e] & close) && region_of[targets[e]] == region) heads.emplace_back(targets[e], u);
  }
  std::sort(heads.begin(), heads.end());
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  return heads;
}

// A cycle of `spec` lies inside one component of the close+path subgraph: search those only.
SpecOutcome search_spec(const Graph& g, const Spec& spec, const Deadline& deadline) {
  std::vector<std::uint32_t> region_of(g.size(), 0);
  StateSearch search(g, spec, deadline, region_of);
  std::uint32_t region = 0;
  for (const auto& nodes : cyclic_components(g, spec.close | spec.path)) {
    ++region;
    for (std::uint32_t n : nodes) region_of[n] = region;
    auto heads = closing_edges(g, nodes, region_of, region, spec.close);
    std::vector<std::uint32_t> sources;
    for (std::size_t i = 0; i < heads.size();) {
      std::uint32_t v = heads[i].first;
      sources.clear();
      for (; i < heads.size() && heads[i].first == v; ++i) sources.push_back(heads[i].second);
      auto cycle = search.from(v, sources, region);
      if (search.timed_out()) return {std::nullopt, true};
      if (cycle) return {std::move(cycle), false};
    }
  }
  return {};
}

}  // namespace

void shortcut_realtime(std::vector<CycleStep>& steps, const RealtimeOrder& realtime_before) {
  constexpr std::size_t kStepsMax = 4096;  // O(k^2) per pass: leave giant cycles as found
  auto has_realtime = [&] {
    return std::any_of(steps.begin(), steps.end(), [](auto& s) { return s.kind == kRealtime; });
  };
  if (steps.size() > kStepsMax || !has_realtime()) return;
  for (bool shortened = true; shortened && steps.size() > 2;) {
    shortened = false;
    const std::size_t k = steps.size();
    // Longest skip first: from node i (steps[i].from) straight to node i + d.
    for (std::size_t d = k - 1; d >= 2 && !shortened; --d) {
      for (std::size_t i = 0; i < k && !shortened; ++i) {
        std::uint32_t a = steps[i].from, b = steps[(i + d) % k].from;
        if (!realtime_before(a, b)) continue;
        std::vector<CycleStep> next{{a, b, kRealtime}};
        for (std::size_t j = d; j < k; ++j) next.push_back(steps[(i + j) % k]);
        steps = std::move(next);
        shortened = true;
      }
    }
  }
}

CycleSearch search_cycles(const Graph& graph, const Deadline& deadline,
                          const RealtimeOrder& realtime_before) {
  CycleSearch result;
  const std::vector<Spec> specs = all_specs();
  std::set<std::string> unfinished;
  auto components = cyclic_components(graph, kAllEdges);
  result.component_count = components.size();
  for (const auto& nodes : components) {
    result.largest_component = std::max(result.largest_component, nodes.size());
    Graph local = induced_subgraph(graph, nodes);
    std::set<std::string> found;
    for (const Spec& spec : specs) {
      if (deadline.expired()) {
        unfinished.insert(spec.name);
        continue;
      }
      SpecOutcome outcome = search_spec(local, spec, deadline);
      if (outcome.timed_out) unfinished.insert(spec.name);
      if (!outcome.cycle) continue;
      for (CycleStep& step : *outcome.cycle) step = {nodes[step.from], nodes[step.to], step.kind};
      shortcut_realtime(*outcome.cycle, realtime_before);
      std::string anomaly = classify(*outcome.cycle);
      if (found.insert(anomaly).second) result.cycles.push_back({anomaly, std::move(*outcome.cycle)});
    }
  }
  result.unfinished.assign(unfinished.begin(), unfinished.end());
  return result;
}

}  // namespace faultline::checker::txn
