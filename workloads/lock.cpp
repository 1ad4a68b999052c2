// Lock workload: clients acquire and release one lock (with a time to live, ttl_ms, that the
// target gives its lease or key expiry); checked for linearizability as Knossos' mutex (acquire
// succeeds only when free, release only when held). Two holders at once make the history
// non-linearizable. A client that does not hold the lock never sends a release, and one that
// holds it never sends an acquire: those ops are recorded as fail (certainly not done).
//
// Spec options (workload:): key (default "lock"), ttl_ms (default 5000), claim (mutex).
// A ttl shorter than a holder keeps the lock is a lease that can expire under a live holder:
// keep it well above the time between a worker's ops (concurrency / rate_per_s).
#include "checker/linear/linearizability.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

class LockWorkload final : public Workload {
 public:
  LockWorkload(std::string key, int ttl_ms) : key_(std::move(key)), ttl_ms_(ttl_ms) {}

  std::vector<std::string> ops() const override { return {"acquire", "release"}; }

  Op generate(Rng& rng) override {
    Op op;
    op.type = OpType::invoke;
    op.key = key_;
    if (rng() % 2) {
      op.f = "acquire";
      op.value = ttl_ms_;
    } else {
      op.f = "release";
    }
    return op;
  }

  // Knossos' mutex: an acquire succeeds only when free, a release only when held.
  checker::Checkers checkers() const override {
    return {checker::linearizable_checker({.model = "mutex"})};
  }

  std::string guarantee() const override { return "mutual exclusion (linearizable mutex)"; }

 private:
  std::string key_;
  int ttl_ms_;
};

const bool registered = WorkloadRegistry::add("lock", [](FieldReader& options) {
  std::string key = options.string("key", "lock");
  int ttl_ms = static_cast<int>(options.integer("ttl_ms", 5000, 1000, 3600000));
  options.choice("claim", {"mutex"}, "mutex");
  return std::make_unique<LockWorkload>(key, ttl_ms);
});

}  // namespace
}  // namespace faultline
