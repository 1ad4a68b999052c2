#include "checker/txn/graph.h"

#include <cassert>
#include <limits>
#include <unordered_map>

namespace faultline::checker::txn {

std::string_view edge_name(std::uint8_t bit) {
  switch (bit) {
    case kWW: return "ww";
    case kWR: return "wr";
    case kRW: return "rw";
    case kProcess: return "process";
    case kRealtime: return "realtime";
  }
  return "?";
}

Graph::Graph(std::uint32_t node_count, const EdgeList& edges) {
  offsets_.assign(std::size_t{node_count} + 1, 0);
  for (std::uint32_t a : edges.from) ++offsets_[a + 1];
  for (std::size_t i = 1; i < offsets_.size(); ++i) offsets_[i] += offsets_[i - 1];
  targets_.resize(edges.size());
  kinds_.resize(edges.size());
  std::vector<std::size_t> fill(offsets_.begin(), offsets_.end() - 1);
  for (std::size_t e = 0; e < edges.size(); ++e) {
    assert(edges.from[e] != edges.to[e] && "dependency graphs have no self-edges");
    std::size_t slot = fill[edges.from[e]]++;
    targets_[slot] = edges.to[e];
    kinds_[slot] = edges.kind[e];
  }
}

std::vector<std::vector<std::uint32_t>> cyclic_components(const Graph& g, std::uint8_t mask) {
  constexpr std::uint32_t kUnvisited = std::numeric_limits<std::uint32_t>::max();
  const std::uint32_t n = g.size();
  std::vector<std::uint32_t> index(n, kUnvisited), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<std::uint32_t> stack;
  struct Frame {
    std::uint32_t node;
    std::size_t next_edge;
  };
  std::vector<Frame> calls;
  std::vector<std::vector<std::uint32_t>> components;
  std::uint32_t counter = 0;

  for (std::uint32_t root = 0; root < n; ++root) {
    if (index[root] != kUnvisited || g.targets(root).empty()) continue;
    calls.push_back({root, 0});
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!calls.empty()) {
      Frame& f = calls.back();
      auto targets = g.targets(f.node);
      auto kinds = g.kinds(f.node);
      bool descended = false;
      while (f.next_edge < targets.size()) {
        std::size_t e = f.next_edge++;
        if (!(kinds[e] & mask)) continue;
        std::uint32_t w = targets[e];
        if (index[w] == kUnvisited) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          calls.push_back({w, 0});
          descended = true;
          break;
        }
        if (on_stack[w]) low[f.node] = std::min(low[f.node], index[w]);
      }
      if (descended) continue;
      std::uint32_t v = f.node;
      calls.pop_back();
      if (!calls.empty()) low[calls.back().node] = std::min(low[calls.back().node], low[v]);
      if (low[v] != index[v]) continue;
      std::vector<std::uint32_t> component;
      std::uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      if (component.size() > 1) components.push_back(std::move(component));
    }
  }
  return components;
}

Graph induced_subgraph(const Graph& g, std::span<const std::uint32_t> nodes) {
  std::unordered_map<std::uint32_t, std::uint32_t> local;
  local.reserve(nodes.size() * 2);
  for (std::uint32_t i = 0; i < nodes.size(); ++i) local.emplace(nodes[i], i);
  EdgeList edges;
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    auto targets = g.targets(nodes[i]);
    auto kinds = g.kinds(nodes[i]);
    for (std::size_t e = 0; e < targets.size(); ++e) {
      auto it = local.find(targets[e]);
      if (it != local.end()) edges.add(i, it->second, kinds[e]);
    }
  }
  return Graph(static_cast<std::uint32_t>(nodes.size()), edges);
}

}  // namespace faultline::checker::txn
