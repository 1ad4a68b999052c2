// Hand-built runs for the report tests: a history with client ops and nemesis windows, and the
// results.json a run of it would have written.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "checker/linear/linearizability.h"
#include "core/history.h"
#include "reports/analysis.h"

namespace faultline::testing {

inline constexpr std::int64_t kMs = 1'000'000;

class HistoryBuilder {
 public:
  // A client op from invoke_ms to complete_ms (complete_ms < 0: never completed).
  HistoryBuilder& op(std::int64_t process, const std::string& f, const std::string& key,
                     double invoke_ms, double complete_ms, OpType outcome,
                     nlohmann::json value = nullptr, const std::string& node = "n1") {
    Op invoke;
    invoke.process = process;
    invoke.f = f;
    invoke.key = key;
    invoke.node = node;
    invoke.time_ns = static_cast<std::int64_t>(invoke_ms * kMs);
    invoke.value = f == "read" ? nlohmann::json() : value;
    entries_.push_back(invoke);
    if (complete_ms >= 0) {
      Op done = invoke;
      done.type = outcome;
      done.time_ns = static_cast<std::int64_t>(complete_ms * kMs);
      done.value = value;
      entries_.push_back(done);
    }
    return *this;
  }

  // The nemesis's invoke (1 ms before) and info entry of `f` at `at_ms`.
  HistoryBuilder& nemesis(const std::string& f, double at_ms, nlohmann::json value = nullptr,
                          const std::string& error = "") {
    Op invoke;
    invoke.process = kNemesisProcess;
    invoke.f = f;
    invoke.time_ns = static_cast<std::int64_t>((at_ms - 1) * kMs);
    entries_.push_back(invoke);
    Op info = invoke;
    info.type = OpType::info;
    info.time_ns = static_cast<std::int64_t>(at_ms * kMs);
    info.value = std::move(value);
    info.error = error;
    entries_.push_back(info);
    return *this;
  }

  // The entries in time order, indexed from 0.
  History build() const {
    History history = entries_;
    std::stable_sort(history.begin(), history.end(),
                     [](const Op& a, const Op& b) { return a.time_ns < b.time_ns; });
    for (std::size_t i = 0; i < history.size(); ++i)
      history[i].index = static_cast<std::int64_t>(i);
    return history;
  }

 private:
  History entries_;
};

inline nlohmann::json partition_value(const std::string& isolated) {
  nlohmann::json grudge = nlohmann::json::object();
  for (std::string n : {"n1", "n2", "n3"})
    grudge[n] = n == isolated ? nlohmann::json::array() : nlohmann::json::array({isolated});
  for (std::string n : {"n1", "n2", "n3"})
    if (n != isolated) grudge[isolated].push_back(n);
  return {{"description", "one " + isolated + " isolated"}, {"grudge", grudge}, {"shape", "one"}};
}

// The run record of kUnitSpec, as results.json carries it.
inline nlohmann::json unit_record() {
  report::RunRecord r;
  r.name = "unit-register";
  r.seed = 42;
  r.system = "etcd";
  r.version = "etcd 3.4.23";
  r.node_names = {"n1", "n2", "n3"};
  r.workload = "register";
  r.concurrency = 2;
  r.faults = {"partition"};
  r.interval_s = 1;
  r.fault_vocabulary = {"partition", "packet-loss", "kill", "pause", "clock"};
  r.limitations = {{"clock", "clock faults not effective on etcd"}};
  return report::to_json(r);
}

inline nlohmann::json results_for(const std::string& verdict, nlohmann::json checks) {
  return {{"schema_version", report::kResultsSchemaVersion},
          {"name", "unit-register"},
          {"spec_file", "examples/unit.yaml"},
          {"seed", 42},
          {"target", {{"system", "etcd"}, {"version", "etcd 3.4.23"}, {"nodes", 3}}},
          {"workload", "register"},
          {"guarantee", "linearizable register (per key)"},
          {"verdict", verdict},
          {"valid", verdict == "valid"},
          {"interrupted", false},
          {"recovery_problem", ""},
          {"checks", std::move(checks)},
          {"stats", {{"ok_ops", 0}, {"fail_ops", 0}, {"info_ops", 0}}},
          {"limitations", {{"clock", "clock faults not effective on etcd"}}},
          {"finished", true},
          {"run", unit_record()}};
}

inline nlohmann::json linear_check(const std::string& verdict,
                                   nlohmann::json failures = nlohmann::json::array()) {
  nlohmann::json invalid_keys = nlohmann::json::array(), anomalies = nlohmann::json::array();
  for (const auto& f : failures) {
    invalid_keys.push_back(f["key"]);
    anomalies.push_back(checker::to_json(checker::linear_anomaly(f)));  // as the checker fills it
  }
  return {{"checker", "linearizable"},
          {"model", "cas-register"},
          {"verdict", verdict},
          {"valid", verdict == "valid"},
          {"summary", verdict == "valid" ? "linearizable" : "not linearizable: key k1: stale read"},
          {"check_time_s", 0.01},
          {"anomalies", anomalies},
          {"details", {{"keys", 2}, {"invalid_keys", invalid_keys}, {"failures", failures}}}};
}

inline const char* kUnitSpec =
    "name: unit-register\n"
    "target: { system: etcd, nodes: 3 }\n"
    "workload: { name: register, keys: 2 }\n"
    "clients: { concurrency: 2, rate_per_s: 10, timeout_ms: 1000 }\n"
    "nemesis: { faults: [partition], interval_s: 1 }\n"
    "time_limit_s: 1\n"
    "seed: 42\n";

}  // namespace faultline::testing
