// check_linearizable as a Checker: the options fixed at construction, the time limit per check.
#include "checker/linear/linearizability.h"

namespace faultline::checker {
namespace {

class LinearChecker final : public Checker {
 public:
  explicit LinearChecker(LinearOptions options) : options_(std::move(options)) {}

  CheckResult check(const History& history, const CheckLimits& limits) const override {
    LinearOptions options = options_;
    options.time_limit_s = limits.time_limit_s;
    return check_linearizable(history, options);
  }

 private:
  LinearOptions options_;
};

}  // namespace

std::shared_ptr<const Checker> linearizable_checker(LinearOptions options) {
  return std::make_shared<LinearChecker>(std::move(options));
}

}  // namespace faultline::checker
