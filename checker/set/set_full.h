// Jepsen's set-full checker, reduced to a final read: clients add unique integers to one set;
// after the faults are healed a final read returns the whole set. Each add is graded:
//   ok          acknowledged adds that are present
//   lost        acknowledged adds that are absent: the store lost a write it confirmed
//   recovered   indeterminate (info) adds that are present: fine, they happened
//   unexpected  elements present that no add attempted, or whose add certainly failed
// Invalid when anything is lost or unexpected; unknown when no final read succeeded.
#pragma once

#include <memory>

#include "checker/checker.h"

namespace faultline::checker {

// details: acknowledged, ok, lost_count, lost (the first 50), recovered_count, recovered,
// unexpected_count, unexpected, final_read_size. Anomalies: one "lost" and one "unexpected"
// when there are any, with the adds involved (the first 50).
CheckResult check_set_full(const History& history);

std::shared_ptr<const Checker> set_full_checker();

}  // namespace faultline::checker
