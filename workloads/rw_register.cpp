// Read-write register workload (Elle's rw-register): txns of ["w", k, v] and ["r", k, nil]
// over a few hot integer keys, every value written once per key, so each read names the write
// it saw. Weaker inference than list-append (version orders come from fewer clues), same
// checker and claims. Options: txn_workload.h.
#include "workloads/txn_workload.h"

namespace faultline {
namespace {

const bool registered = WorkloadRegistry::add("rw-register", [](FieldReader& options) {
  return std::make_unique<TxnWorkload>("rw-register", "w", read_txn_options(options));
});

}  // namespace
}  // namespace faultline
