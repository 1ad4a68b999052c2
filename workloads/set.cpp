// Set workload (Jepsen's set-full, reduced to its final read): clients add unique integers to
// one set; after the faults are healed, a final read returns the whole set. Graded by the
// set-full checker (checker/set/set_full.h): invalid when an acknowledged add is lost or an
// element appears that no add could have put there.
//
// Spec options (workload:): key (default "s"), claim (no-lost-writes).
#include <atomic>

#include "checker/set/set_full.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

class SetWorkload final : public Workload {
 public:
  explicit SetWorkload(std::string key) : key_(std::move(key)) {}

  std::vector<std::string> ops() const override { return {"add", "read"}; }

  Op generate(Rng&) override {
    Op op;
    op.type = OpType::invoke;
    op.f = "add";
    op.key = key_;
    op.value = next_.fetch_add(1);
    return op;
  }

  std::vector<Op> final_ops() const override {
    Op read;
    read.f = "read";
    read.key = key_;
    return {read, read};  // a second chance if the first times out
  }

  checker::Checkers checkers() const override { return {checker::set_full_checker()}; }

  std::string guarantee() const override { return "every acknowledged add survives"; }

 private:
  std::string key_;
  std::atomic<std::int64_t> next_{0};
};

const bool registered = WorkloadRegistry::add("set", [](FieldReader& options) {
  std::string key = options.string("key", "s");
  options.choice("claim", {"no-lost-writes"}, "no-lost-writes");
  return std::make_unique<SetWorkload>(key);
});

}  // namespace
}  // namespace faultline
