// Register workload: read / write / cas over a few keys, graded per key by the claim:
//  - linearizable: small random values (few values make cas succeed often), checked as a
//    cas-register (Knossos' and Porcupine's classic etcd test);
//  - session-guarantees: reads and writes only, each write a value unique to its key (1, 2, 3,
//    ... in the order handed out), so every read names the write it saw, checked for
//    read-your-writes, monotonic reads and writes, writes-follow-reads per process
//    (checker/session/session.h). A cas would need a value the process saw, which the shared
//    generator does not track.
//
// Spec options (workload:): keys (how many registers, default 8), values (linearizable: writes
// and cas use 0..values-1, default 5), claim (linearizable | session-guarantees).
#include <atomic>
#include <memory>

#include "checker/linear/linearizability.h"
#include "checker/session/session.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

enum class Claim { linearizable, session_guarantees };

class RegisterWorkload final : public Workload {
 public:
  RegisterWorkload(int keys, int values, Claim claim)
      : keys_(keys), values_(values), claim_(claim),
        writes_(std::make_unique<std::atomic<std::int64_t>[]>(static_cast<std::size_t>(keys))) {}

  std::vector<std::string> ops() const override {
    if (claim_ == Claim::session_guarantees) return {"read", "write"};
    return {"read", "write", "cas"};
  }

  Op generate(Rng& rng) override {
    Op op;
    op.type = OpType::invoke;
    int k = static_cast<int>(rng() % static_cast<unsigned>(keys_));
    op.key = key_name(k);
    if (claim_ == Claim::session_guarantees) {
      op.f = rng() % 2 ? "read" : "write";
      if (op.f == "write") op.value = writes_[static_cast<std::size_t>(k)].fetch_add(1) + 1;
      return op;
    }
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
    if (claim_ == Claim::session_guarantees) return {checker::session_checker()};
    return {checker::linearizable_checker({.model = "cas-register"})};
  }

  std::string guarantee() const override {
    if (claim_ == Claim::session_guarantees)
      return "session guarantees per key: read-your-writes, monotonic reads, monotonic writes, "
             "writes-follow-reads";
    return "linearizable register (per key)";
  }

 private:
  static std::string key_name(int k) { return "k" + std::to_string(k); }

  int keys_;
  int values_;
  Claim claim_;
  std::unique_ptr<std::atomic<std::int64_t>[]> writes_;  // per key: values handed out so far
};

const bool registered = WorkloadRegistry::add("register", [](FieldReader& options) {
  int keys = static_cast<int>(options.integer("keys", 8, 1, 100000));
  int values = static_cast<int>(options.integer("values", 5, 1, 1000000));
  std::string claim =
      options.choice("claim", {"linearizable", "session-guarantees"}, "linearizable");
  return std::make_unique<RegisterWorkload>(
      keys, values, claim == "linearizable" ? Claim::linearizable : Claim::session_guarantees);
});

}  // namespace
}  // namespace faultline
