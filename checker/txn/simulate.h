// Histories of a correct store, for tests and benchmarks: a simulated strictly serializable
// list-append or rw-register database under concurrent clients. Seeded, so every history is
// reproducible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/history.h"

namespace faultline::checker::txn {

struct SimulationOptions {
  std::size_t txn_count = 1000;
  std::size_t concurrency = 20;         // clients; each runs one txn at a time
  std::size_t active_keys = 100;        // keys in use at once
  std::size_t appends_per_key_max = 16; // appends or writes; then the key retires for a fresh one
  std::size_t mops_per_txn_max = 4;
  double fail_probability = 0.02;       // the txn does not take effect
  double info_probability = 0.01;       // outcome unknown: takes effect half the time
  std::uint64_t seed = 1;
};

// Each txn takes effect atomically when it completes, so the history is strict serializable.
// An info txn's client continues as a fresh process (process + concurrency), as in Jepsen.
History simulate_list_append(const SimulationOptions& options);
// The same store as registers: ["w" k v] (v unique per key) and ["r" k v-or-nil]. Writes are
// blind, so the version order of a key is left to the checker's search.
History simulate_rw_register(const SimulationOptions& options);

}  // namespace faultline::checker::txn
