#include "harness/schedule.h"

#include <algorithm>
#include <random>

namespace faultline {

Schedule random_schedule(std::size_t nemesis_count, double interval_s, double until_s,
                         std::uint64_t seed) {
  Schedule schedule;
  if (nemesis_count == 0) return schedule;
  std::mt19937_64 rng(seed);
  // Bounded: until_s / (2 interval_s) rounds (at most 432k for the spec's limits).
  for (std::int64_t round = 0;; ++round) {
    double start_s = interval_s * static_cast<double>(2 * round + 1);
    if (start_s >= until_s) break;
    std::size_t nemesis = rng() % nemesis_count;
    schedule.push_back({start_s, FaultOp::Action::start, nemesis});
    schedule.push_back({start_s + interval_s, FaultOp::Action::stop, nemesis});
  }
  return schedule;
}

Schedule timeline_schedule(const std::vector<TimelineEntry>& timeline) {
  Schedule schedule;
  for (const TimelineEntry& entry : timeline) {
    schedule.push_back({entry.at_s, FaultOp::Action::start, entry.nemesis});
    if (entry.duration_s)
      schedule.push_back({entry.at_s + *entry.duration_s, FaultOp::Action::stop, entry.nemesis});
  }
  std::stable_sort(schedule.begin(), schedule.end(), [](const FaultOp& a, const FaultOp& b) {
    if (a.at_s != b.at_s) return a.at_s < b.at_s;
    return a.action == FaultOp::Action::stop && b.action == FaultOp::Action::start;
  });
  return schedule;
}

Schedule schedule_for(const Test& test) {
  if (!test.timeline.empty()) return timeline_schedule(test.timeline);
  // Its own stream: the nemeses draw their choices (which nodes) from another one.
  return random_schedule(test.nemeses.size(), test.spec.interval_s, test.spec.time_limit_s,
                         test.spec.seed ^ 0x8CB92BA72F3D8DD7ull);
}

}  // namespace faultline
