#include "workloads/txn_workload.h"

#include <cmath>

#include "checker/txn/elle.h"

namespace faultline {

using nlohmann::json;

namespace {

constexpr std::size_t kFinalReadsPerTxn = 16;

Op txn_op(json mops) {
  Op op;
  op.type = OpType::invoke;
  op.f = "txn";
  op.value = std::move(mops);
  return op;
}

}  // namespace

TxnWorkloadOptions read_txn_options(FieldReader& options) {
  TxnWorkloadOptions o;
  o.keys = static_cast<int>(options.integer("keys", o.keys, 1, 100000));
  o.max_txn_length = static_cast<int>(options.integer("max_txn_length", o.max_txn_length, 1, 1000));
  o.max_writes_per_key =
      static_cast<int>(options.integer("max_writes_per_key", o.max_writes_per_key, 1, 1000000));
  o.key_skew = options.number("key_skew", o.key_skew, 0, 10);
  o.read_fraction = options.number("read_fraction", o.read_fraction, 0, 1);
  o.claim = options.choice("claim", checker::txn_model_names(), o.claim);
  return o;
}

TxnWorkload::TxnWorkload(std::string checker_workload, std::string write_f,
                         TxnWorkloadOptions options)
    : checker_workload_(std::move(checker_workload)),
      write_f_(std::move(write_f)),
      options_(std::move(options)) {
  std::vector<double> weights;
  for (int i = 0; i < options_.keys; ++i) weights.push_back(1.0 / std::pow(i + 1.0, options_.key_skew));
  slot_distribution_ = std::discrete_distribution<int>(weights.begin(), weights.end());
  for (int i = 0; i < options_.keys; ++i) slots_.push_back({next_key_++, 0});
}

Op TxnWorkload::generate(Rng& rng) {
  std::uniform_int_distribution<int> length(1, options_.max_txn_length);
  std::bernoulli_distribution read(options_.read_fraction);
  int n = length(rng);
  json mops = json::array();
  std::lock_guard lock(mutex_);
  for (int i = 0; i < n; ++i) {
    Slot& slot = slots_[static_cast<std::size_t>(slot_distribution_(rng))];
    if (read(rng)) {
      mops.push_back(json::array({"r", slot.key, nullptr}));
      continue;
    }
    // Values are unique per key: 1, 2, 3, ... in the order they are handed out.
    mops.push_back(json::array({write_f_, slot.key, ++slot.writes}));
    if (slot.writes >= options_.max_writes_per_key) slot = {next_key_++, 0};
  }
  return txn_op(std::move(mops));
}

std::vector<Op> TxnWorkload::final_ops() const {
  std::lock_guard lock(mutex_);
  std::vector<Op> ops;
  json mops = json::array();
  for (std::int64_t key = 0; key < next_key_; ++key) {
    mops.push_back(json::array({"r", key, nullptr}));
    if (mops.size() == kFinalReadsPerTxn || key + 1 == next_key_) {
      ops.push_back(txn_op(std::move(mops)));
      mops = json::array();
    }
  }
  return ops;
}

checker::Checkers TxnWorkload::checkers() const {
  checker::TxnOptions options;
  options.workload = checker_workload_;
  options.claim = options_.claim;
  return {checker::transactions_checker(options)};
}

std::string TxnWorkload::guarantee() const {
  return options_.claim + " transactions (" + checker_workload_ + ")";
}

}  // namespace faultline
