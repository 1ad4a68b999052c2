// Grading a single-object workload: linearizability against one model, per key.
#pragma once

#include <string>
#include <vector>

#include "checker/linear/linearizability.h"
#include "workloads/workload.h"

namespace faultline {

inline std::vector<checker::CheckResult> check_linearizable_as(const History& history,
                                                               const std::string& model,
                                                               const CheckLimits& limits) {
  checker::LinearOptions options;
  options.model = model;
  options.time_limit_s = limits.time_limit_s;
  return {checker::check_linearizable(history, options)};
}

}  // namespace faultline
