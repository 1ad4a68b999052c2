// The transaction dependency graph: nodes are txn ids, edges carry a set of dependency kinds.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace faultline::checker::txn {

// Dependency kinds, as bits: an edge between two txns may have several.
enum EdgeBits : std::uint8_t {
  kWW = 1,        // write-write: b overwrote (appended after) a's write
  kWR = 2,        // write-read: b read a's write
  kRW = 4,        // read-write (anti-dependency): b overwrote the version a read
  kProcess = 8,   // a and b ran on one process, a first
  kRealtime = 16, // a completed before b was invoked
};
inline constexpr std::uint8_t kDataEdges = kWW | kWR | kRW;
inline constexpr std::uint8_t kAllEdges = kDataEdges | kProcess | kRealtime;

std::string_view edge_name(std::uint8_t single_bit);

struct EdgeList {
  std::vector<std::uint32_t> from, to;
  std::vector<std::uint8_t> kind;

  void add(std::uint32_t a, std::uint32_t b, std::uint8_t bits) {
    from.push_back(a);
    to.push_back(b);
    kind.push_back(bits);
  }
  std::size_t size() const { return from.size(); }
};

// Compressed adjacency (CSR). Parallel edges are kept: dedupe would cost a sort, and every
// algorithm here is indifferent to them.
class Graph {
 public:
  Graph() = default;
  Graph(std::uint32_t node_count, const EdgeList& edges);

  std::uint32_t size() const { return static_cast<std::uint32_t>(offsets_.size()) - 1; }
  std::size_t edge_count() const { return targets_.size(); }
  std::span<const std::uint32_t> targets(std::uint32_t node) const {
    return {targets_.data() + offsets_[node], offsets_[node + 1] - offsets_[node]};
  }
  std::span<const std::uint8_t> kinds(std::uint32_t node) const {
    return {kinds_.data() + offsets_[node], offsets_[node + 1] - offsets_[node]};
  }

 private:
  std::vector<std::size_t> offsets_{0};
  std::vector<std::uint32_t> targets_;
  std::vector<std::uint8_t> kinds_;
};

// Strongly connected components of at least two nodes (the graph has no self-edges), using
// only edges whose kinds intersect mask. Iterative Tarjan: O(V + E), no recursion depth limit.
std::vector<std::vector<std::uint32_t>> cyclic_components(const Graph& graph, std::uint8_t mask);

// The subgraph induced by nodes; node i of the result is nodes[i].
Graph induced_subgraph(const Graph& graph, std::span<const std::uint32_t> nodes);

}  // namespace faultline::checker::txn
