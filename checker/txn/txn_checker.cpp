// check_transactions as a Checker: the options fixed at construction, the time limit per check.
#include "checker/txn/elle.h"

namespace faultline::checker {
namespace {

class TxnChecker final : public Checker {
 public:
  explicit TxnChecker(TxnOptions options) : options_(std::move(options)) {}

  CheckResult check(const History& history, const CheckLimits& limits) const override {
    TxnOptions options = options_;
    options.time_limit_s = limits.time_limit_s;
    return check_transactions(history, options);
  }

 private:
  TxnOptions options_;
};

}  // namespace

std::shared_ptr<const Checker> transactions_checker(TxnOptions options) {
  return std::make_shared<TxnChecker>(std::move(options));
}

}  // namespace faultline::checker
