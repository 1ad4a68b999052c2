// List-append workload (Elle's): txns of 1..max_txn_length micro-ops ["append", k, v] and
// ["r", k, nil] over a few hot integer keys; a read returns the key's whole list, so the order
// of appends — and from it ww, wr and rw dependencies — is recovered from the reads. Checked
// with the Elle-style checker against the claimed isolation level. Options: txn_workload.h.
#include "workloads/txn_workload.h"

namespace faultline {
namespace {

const bool registered = WorkloadRegistry::add("list-append", [](FieldReader& options) {
  return std::make_unique<TxnWorkload>("list-append", "append", read_txn_options(options));
});

}  // namespace
}  // namespace faultline
