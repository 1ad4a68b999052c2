// Transactional isolation checking in the style of Elle (Kingsbury & Alvaro, VLDB 2020).
//
// The history's txns (f "txn", value a list of micro-ops) are turned into a dependency graph
// (ww, wr, rw inferred from the values read; process and realtime from the history's order),
// cycles in it are found and named (G0, G1c, G-single, G-nonadjacent, G2-item, each with
// -process / -realtime variants), alongside anomalies that need no cycle (G1a, G1b, internal,
// incompatible-order, duplicate-elements, dirty-update, lost-update, garbage-read). The
// verdict is invalid iff an anomaly the claimed model forbids is found. See
// checker/txn/README.md for the semantics and the anomaly table.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "core/history.h"

namespace faultline::checker {

namespace txn {
struct TxnHistory;
}

struct TxnOptions {
  std::string workload = "list-append";       // or "rw-register"
  std::string claim = "strict-serializable";  // one of txn_model_names()
  // Budget for the cycle search, in seconds; <= 0: none. Searches cut short leave the models
  // forbidding their anomalies undecided: the verdict is then unknown, never valid.
  double time_limit_s = 0;
  // rw-register: the value of every key before its first write (a version ordered before every
  // write); absent: keys start nil.
  std::optional<std::int64_t> initial_value;
};

// The accepted claims, weakest first: read-uncommitted, read-committed, repeatable-read,
// snapshot-isolation, serializable, strong-session-snapshot-isolation,
// strong-snapshot-isolation, strong-session-serializable, strict-serializable.
std::vector<std::string> txn_model_names();

// REQUIRES: options.workload and options.claim are known (else std::invalid_argument).
// Throws HistoryError on malformed input: a bad micro-op, a process with two ops in flight, a
// value written twice to one key.
//
// details: workload, claim, txns {ok, info, fail, in_graph}, edges, components {count,
// largest}, anomaly_types (sorted), anomaly_counts, anomalies {type: [case...]} where a cycle
// case is {cycle: [op index...], edges: [kind...], steps: [sentence...]} and others carry an
// "explanation"; forbidden_found, not, also_not, strongest_satisfied, undecided,
// unfinished_searches, warnings.
CheckResult check_transactions(const History& history, const TxnOptions& options);

// check_transactions on a history file, compiled op by op as it is read (for_each_op): no
// History is held, so a million txns take a few hundred MB, not GBs. `torn_line` as in
// HistoryRead. nullopt: the file holds no client op. Bad input names the file and line.
std::optional<CheckResult> check_transactions_file(const std::filesystem::path& path,
                                                   const TxnOptions& options,
                                                   std::size_t& torn_line);

// A Checker running check_transactions with `options` (its time_limit_s comes from the limits).
std::shared_ptr<const Checker> transactions_checker(TxnOptions options);

// The typed anomalies of details.anomalies ({type: [case...]}), at most a few cases per type,
// ops given by invocation index in time order (checker/txn/anomaly.cpp).
std::vector<Anomaly> txn_anomalies(const nlohmann::json& cases_by_type,
                                   const std::set<std::string>& forbidden,
                                   const txn::TxnHistory& history);

}  // namespace faultline::checker
