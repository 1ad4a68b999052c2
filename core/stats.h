// Figures about a history that do not depend on the checker: how many ops ended how, how fast,
// and at what latency. The report splits them further by fault window.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/history.h"

namespace faultline {

struct HistoryStats {
  std::int64_t invoke_ops = 0;
  std::int64_t ok_ops = 0;
  std::int64_t fail_ops = 0;
  std::int64_t info_ops = 0;       // completed as info, or never completed
  double duration_s = 0;           // first to last entry, harness clock
  double ops_per_s = 0;            // completed client ops per second
  std::int64_t latency_ns_p50 = 0; // over ok ops
  std::int64_t latency_ns_p95 = 0;
  std::int64_t latency_ns_p99 = 0;
  std::int64_t latency_ns_max = 0;
  std::map<std::string, std::int64_t> nemesis_ops;  // f -> count ("start-partition": 3)
};

// The q-quantile (0 <= q <= 1) of `sorted` (ascending), nearest rank rounded down; -1 when empty.
// The one percentile rule: the run's stats and the report's per-phase figures both use it.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q);

HistoryStats compute_stats(const History& history);
nlohmann::json to_json(const HistoryStats& stats);

}  // namespace faultline
