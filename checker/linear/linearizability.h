// Linearizability checker: does some total order of the history's ops, consistent with real
// time, explain every result under a sequential model?
//
// Wing–Gong search with Lowe's state cache, as in Porcupine; the history is split per key first
// (P-compositionality) and keys are checked in parallel. Semantics, the explanation format and
// the models are described in checker/linear/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/history.h"

namespace faultline::checker {

struct LinearOptions {
  // register, cas-register, multi-register, kv, set, fifo-queue, mutex, counter, unique-ids.
  std::string model = "cas-register";
  // Register models: the value before any write (Knossos files use 0). null: absent.
  nlohmann::json initial_value = nullptr;
  // Knossos-style: an ok read that returned nil says nothing (matches any value).
  bool nil_read_matches_any = false;
  // Wall-clock limit for the whole check; 0: none (the state budget below still applies).
  double time_limit_s = 0;
  // Jepsen "independent" histories: every client op's value is a tuple [k, v]; k becomes the
  // op's key and v its value (invocations without a tuple, like reads with value nil, take
  // their key from their completion).
  bool independent_tuples = false;
  // Worker threads checking keys in parallel; 0: all cores.
  unsigned threads = 0;
  // Search budget in bytes over all keys: the searches' caches (24 bytes a configuration, the
  // table at most half full, reserved before it doubles) and per-op arrays. 0: half the memory
  // available (MemAvailable) when the check starts. Exhausted, or std::bad_alloc: unknown.
  std::uint64_t max_memory_bytes = 0;
  // Invalid register histories: seconds spent shrinking the first invalid key to a small
  // counterexample (checker/linear/shrink.h); 0: none.
  double shrink_budget_s = 5;
  // Cheap necessary conditions (stale reads, models/register.cpp) before the search; off, the
  // search alone decides and explains (what its explanation tests and the bench compare).
  bool refute = true;
};

// The names accepted in LinearOptions::model.
std::vector<std::string> linear_model_names();

// Checks `history` (a whole test's history; nemesis ops are ignored). Verdict unknown when the
// budget ran out on some key and no key was invalid. Throws HistoryError on malformed input: an
// unknown model or f, a value of the wrong shape, two ops in flight on one process.
CheckResult check_linearizable(const History& history, const LinearOptions& options);

// A Checker running check_linearizable with `options` (its time_limit_s comes from the limits).
std::shared_ptr<const Checker> linearizable_checker(LinearOptions options);

// The anomaly of one invalid key from its entry in details.failures (checker/linear/anomaly.cpp).
Anomaly linear_anomaly(const nlohmann::json& failure);

}  // namespace faultline::checker
