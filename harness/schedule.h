// The nemesis schedule as data (Jepsen's generator idea): a list of fault ops, each the start or
// stop of one of the test's nemeses at a time since the test start. Random faults and an explicit
// timeline both become this list, and one interpreter (harness/fault_interpreter.h) executes it,
// so a new fault is a nemesis file plus its name in a spec; the runner does not change.
// Pure and seeded: the same spec and seed give the same schedule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/spec.h"

namespace faultline {

struct FaultOp {
  enum class Action { start, stop };
  double at_s = 0;  // since the test start, harness clock
  Action action = Action::start;
  std::size_t nemesis = 0;  // index into Test::nemeses

  bool operator==(const FaultOp&) const = default;
};

using Schedule = std::vector<FaultOp>;

// Random faults: quiet for interval_s, then one of `nemesis_count` nemeses (drawn with `seed`)
// for interval_s, and again, for every start before `until_s`. Each start has its stop, even
// past until_s (the interpreter stops at the end of the phase; the final heal undoes the rest).
// REQUIRES: interval_s > 0.
Schedule random_schedule(std::size_t nemesis_count, double interval_s, double until_s,
                         std::uint64_t seed);

// An explicit timeline: entry i starts its nemesis at at_s and stops it duration_s later; an
// entry without a duration has no stop (held until the final heal). Ordered by time; at equal
// times stops come first, so back-to-back entries of one fault do not overlap; otherwise in
// entry order.
Schedule timeline_schedule(const std::vector<TimelineEntry>& timeline);

// The test's schedule: its timeline if it has one, else random faults over Test::nemeses for
// the time limit, else nothing.
Schedule schedule_for(const Test& test);

}  // namespace faultline
