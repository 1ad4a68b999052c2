// The complete half of rw-register checking: a search over the version orders that the reads
// leave open, after Cobra (serializability) and PolySI / Viper (snapshot isolation).
//
// A read of a register shows one version, so two blind writes of a key may have been installed
// in either order. Each such pair is a boolean variable of a SAT problem (CaDiCaL); every full
// assignment is a version order, which fixes the ww edges (between all writers of a key) and the
// rw edges (from each reader of a version to every later writer), added to the edges known
// without it. Acyclicity is checked lazily: the solver proposes an order, the cycle search looks
// for a cycle the claim forbids, and each cycle found becomes a clause (not all of its assumed
// orders at once). Orders that are not total cannot pass: they make a ww cycle. The answer is
// therefore exact: `satisfied` iff some version order gives a graph without a forbidden cycle.
#pragma once

#include <cstdint>
#include <vector>

#include "checker/txn/cycles.h"
#include "checker/txn/graph.h"
#include "checker/txn/inference.h"
#include "checker/txn/txn_history.h"

namespace faultline::checker::txn {

enum class CycleRule : std::uint8_t {
  any,       // serializable, repeatable read: no cycle at all
  snapshot,  // snapshot isolation: no cycle without two adjacent rw edges (Cerone & Gotsman)
};

struct OrderSearchOptions {
  CycleRule rule = CycleRule::any;
  // Session edges of the fixed graph that count: 0, kProcess, or kProcess | kRealtime. Writers
  // ordered by them are ordered up front (a later write of a session is a later version).
  std::uint8_t session_kinds = 0;
};

// One cycle met under an assumed version order; assumed[i]: steps[i] holds only under it.
struct OrderedCycle {
  std::vector<CycleStep> steps;
  std::vector<bool> assumed;
};

struct OrderSearch {
  enum class Outcome : std::uint8_t { satisfied, violated, budget };
  Outcome outcome = Outcome::satisfied;
  std::size_t open_pairs = 0;      // writer pairs whose order neither edges nor sessions fix
  std::size_t forced_pairs = 0;    // writer pairs ordered before the search
  std::size_t rounds = 0;          // solver calls
  std::size_t cycle_clauses = 0;   // cycles turned into clauses
  std::vector<OrderedCycle> cycles;  // the first few cycles that ruled orders out
};

// REQUIRES: keys[k].writers are txns of `fixed` (one node per txn of `history`).
OrderSearch search_version_orders(const TxnHistory& history, const Graph& fixed,
                                  const std::vector<KeyVersions>& keys,
                                  const OrderSearchOptions& options, const Deadline& deadline);

}  // namespace faultline::checker::txn
