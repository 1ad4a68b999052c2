// Finding and naming dependency cycles, Elle's way: strongly connected components first, then
// within each component a breadth-first search for the shortest cycle of each anomaly kind.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "checker/txn/graph.h"

namespace faultline::checker::txn {

// The cycle-search budget. A search that runs past it leaves its anomaly kinds undecided.
class Deadline {
 public:
  explicit Deadline(double limit_s);  // limit_s <= 0: no limit
  bool expired() const;

 private:
  bool limited_;
  std::chrono::steady_clock::time_point end_;
};

struct CycleStep {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  std::uint8_t kind = 0;  // one EdgeBits bit: why `from` precedes `to` in this cycle
};

struct FoundCycle {
  std::string anomaly;  // G0, G1c, G-single, G-nonadjacent, G2-item, each maybe -process/-realtime
  std::vector<CycleStep> steps;  // steps[i].to == steps[i + 1].from; the last returns to the first
};

struct CycleSearch {
  std::vector<FoundCycle> cycles;       // at most one per anomaly name per component
  std::vector<std::string> unfinished;  // anomaly names whose search ran out of budget
  std::size_t component_count = 0;
  std::size_t largest_component = 0;
};

// True iff a completed before b was invoked: the full realtime order, of which the graph holds
// only a transitive reduction. Lets a cycle through realtime steps be shown by its shortest
// equivalent ("T14 completed before T5351 began" rather than a chain of a dozen txns).
using RealtimeOrder = std::function<bool(std::uint32_t a, std::uint32_t b)>;

CycleSearch search_cycles(const Graph& graph, const Deadline& deadline,
                          const RealtimeOrder& realtime_before);

// Replaces segments of a cycle that has a realtime step by one realtime step wherever
// realtime_before allows, longest segment first, keeping at least two steps.
void shortcut_realtime(std::vector<CycleStep>& steps, const RealtimeOrder& realtime_before);

// The anomaly a cycle exhibits, from the kinds of its steps: no rw edge: G0 (ww only) or G1c;
// one: G-single; more, never two in a row: G-nonadjacent; else G2-item. Suffix -realtime if
// a step is realtime, else -process if one is a process step.
std::string classify(std::span<const CycleStep> steps);

}  // namespace faultline::checker::txn
