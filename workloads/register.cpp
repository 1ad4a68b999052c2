// Register workload: read / write / cas over a few keys with small random values, checked for
// linearizability as a cas-register per key (Knossos' and Porcupine's classic etcd test).
//
// Spec options (workload:): keys (how many registers, default 8), values (writes and cas use
// 0..values-1, default 5; few values make cas succeed often), claim (linearizable).
#include <atomic>

#include "checker/linear/linearizability.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

class RegisterWorkload final : public Workload {
 public:
  RegisterWorkload(int keys, int values) : keys_(keys), values_(values) {}

  std::vector<std::string> ops() const override { return {"read", "write", "cas"}; }

  Op generate(Rng& rng) override {
    Op op;
    op.type = OpType::invoke;
    op.key = key_name(static_cast<int>(rng() % static_cast<unsigned>(keys_)));
    auto value = [&] { return static_cast<int>(rng() % static_cast<unsigned>(values_)); };
    switch (rng() % 3) {
      case 0: op.f = "read"; break;
      case 1: op.f = "write"; op.value = value(); break;
      default: op.f = "cas"; op.value = nlohmann::json::array({value(), value()}); break;
    }
    return op;
  }

  std::vector<Op> final_ops() const override {
    std::vector<Op> reads;
    for (int k = 0; k < keys_; ++k) {
      Op op;
      op.f = "read";
      op.key = key_name(k);
      reads.push_back(op);
    }
    return reads;
  }

  checker::Checkers checkers() const override {
    return {checker::linearizable_checker({.model = "cas-register"})};
  }

  std::string guarantee() const override { return "linearizable register (per key)"; }

 private:
  static std::string key_name(int k) { return "k" + std::to_string(k); }

  int keys_;
  int values_;
};

const bool registered = WorkloadRegistry::add("register", [](FieldReader& options) {
  int keys = static_cast<int>(options.integer("keys", 8, 1, 100000));
  int values = static_cast<int>(options.integer("values", 5, 1, 1000000));
  options.choice("claim", {"linearizable"}, "linearizable");
  return std::make_unique<RegisterWorkload>(keys, values);
});

}  // namespace
}  // namespace faultline
