#include "core/stats.h"

#include <algorithm>

namespace faultline {

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return -1;
  return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))];
}

HistoryStats compute_stats(const History& history) {
  HistoryStats stats;
  std::vector<std::int64_t> latencies_ns;
  for (const auto& pair : pair_ops(history, kInMemoryHistory)) {
    const Op& invoke = history[pair.invoke];
    ++stats.invoke_ops;
    switch (pair.outcome(history)) {
      case OpType::ok: ++stats.ok_ops; break;
      case OpType::fail: ++stats.fail_ops; break;
      default: ++stats.info_ops; break;
    }
    if (pair.outcome(history) == OpType::ok && invoke.time_ns >= 0 &&
        history[*pair.completion].time_ns >= invoke.time_ns)
      latencies_ns.push_back(history[*pair.completion].time_ns - invoke.time_ns);
  }
  std::int64_t first_ns = -1, last_ns = -1;
  for (const auto& op : history) {
    if (op.is_nemesis() && op.type == OpType::invoke) ++stats.nemesis_ops[op.f];
    if (op.time_ns < 0) continue;
    if (first_ns < 0) first_ns = op.time_ns;
    last_ns = std::max(last_ns, op.time_ns);
  }
  if (first_ns >= 0) stats.duration_s = static_cast<double>(last_ns - first_ns) / 1e9;
  if (stats.duration_s > 0)
    stats.ops_per_s = static_cast<double>(stats.ok_ops + stats.fail_ops + stats.info_ops) /
                      stats.duration_s;
  if (!latencies_ns.empty()) {
    std::sort(latencies_ns.begin(), latencies_ns.end());
    stats.latency_ns_p50 = percentile(latencies_ns, 0.50);
    stats.latency_ns_p95 = percentile(latencies_ns, 0.95);
    stats.latency_ns_p99 = percentile(latencies_ns, 0.99);
    stats.latency_ns_max = latencies_ns.back();
  }
  return stats;
}

nlohmann::json to_json(const HistoryStats& s) {
  return {{"invoke_ops", s.invoke_ops},         {"ok_ops", s.ok_ops},
          {"fail_ops", s.fail_ops},             {"info_ops", s.info_ops},
          {"duration_s", s.duration_s},         {"ops_per_s", s.ops_per_s},
          {"latency_ns_p50", s.latency_ns_p50}, {"latency_ns_p95", s.latency_ns_p95},
          {"latency_ns_p99", s.latency_ns_p99}, {"latency_ns_max", s.latency_ns_max},
          {"nemesis_ops", s.nemesis_ops}};
}

}  // namespace faultline
