// What the transactional workloads (list-append, rw-register) share: Elle-style generation of
// txns over a rotating set of hot integer keys, final reads, and the Elle-style checker.
//
// Spec options (workload:): keys (active keys at any time, default 10), max_txn_length
// (micro-ops per txn, 1..n uniformly, default 4), max_writes_per_key (writes a key gets before
// it is retired for a fresh one, Elle's default 32), key_skew (Zipf exponent over the active
// keys: 0 uniform, default 1 — the first slots are hot), read_fraction (share of micro-ops that
// are reads, default 0.5), claim (one of checker::txn_model_names(), default serializable).
#pragma once

#include <mutex>
#include <random>

#include "workloads/workload.h"

namespace faultline {

struct TxnWorkloadOptions {
  int keys = 10;
  int max_txn_length = 4;
  int max_writes_per_key = 32;
  double key_skew = 1.0;
  double read_fraction = 0.5;
  std::string claim = "serializable";
};

// Reads the options above from a workload mapping.
TxnWorkloadOptions read_txn_options(FieldReader& options);

class TxnWorkload : public Workload {
 public:
  // `checker_workload`: "list-append" or "rw-register"; `write_f`: its write micro-op
  // ("append" or "w").
  TxnWorkload(std::string checker_workload, std::string write_f, TxnWorkloadOptions options);

  // "txn", and "txn:F" per micro-op generated, so a target that maps micro-ops one by one (a
  // declared SQL client) is checked for each at load time.
  std::vector<std::string> ops() const override { return {"txn", "txn:" + write_f_, "txn:r"}; }
  Op generate(Rng& rng) override;
  // Reads every key ever used, a few keys per txn.
  std::vector<Op> final_ops() const override;
  checker::Checkers checkers() const override;
  std::string guarantee() const override;

 private:
  struct Slot {
    std::int64_t key = 0;
    int writes = 0;  // values handed out for this key: the next one is writes + 1
  };

  std::string checker_workload_;
  std::string write_f_;
  TxnWorkloadOptions options_;
  std::discrete_distribution<int> slot_distribution_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::int64_t next_key_ = 0;
};

}  // namespace faultline
