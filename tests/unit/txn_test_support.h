// Helpers for the transactional checker's tests: histories written inline as EDN op maps.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "checker/txn/elle.h"
#include "core/history.h"

namespace faultline::test {

// An invocation and its completion as two EDN op maps; `done` defaults to the invocation's
// micro-ops (a completion that reads fills in its values).
inline std::string txn_pair(int process, const std::string& type, const std::string& invoked,
                            const std::string& done = "") {
  auto op = [&](const std::string& t, const std::string& value) {
    return "{:process " + std::to_string(process) + " :type :" + t + " :f :txn :value " + value +
           "}\n";
  };
  return op("invoke", invoked) + op(type, done.empty() ? invoked : done);
}

inline checker::CheckResult check_edn(const std::string& edn, const std::string& claim,
                                      const std::string& workload = "list-append") {
  History history = read_history_text(edn, "test.edn");
  return checker::check_transactions(history, {workload, claim, 0});
}

inline std::vector<std::string> anomaly_types(const checker::CheckResult& r) {
  return r.details.at("anomaly_types").get<std::vector<std::string>>();
}

inline bool has_anomaly(const checker::CheckResult& r, const std::string& type) {
  auto types = anomaly_types(r);
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace faultline::test
