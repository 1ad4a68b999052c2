// Timestamps workload: clients write unique values to a few keys, and the server stamps each
// write with its own wall-clock time (Redis: TIME, in the same script as the SET), returned as
// {"server_time_us": t}. Graded by the timestamps checker (checker/clock/timestamps.h): a write
// that completed before another was invoked must carry an earlier time, or a last-write-wins
// store ordering by these times would drop the later write. Under clock faults (a bump, a
// strobe, a failover to a node whose clock differs) the checker finds the inversions.
//
// Spec options (workload:): keys (default 1), claim (timestamps-follow-real-time).
#include <atomic>

#include "checker/clock/timestamps.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

class TimestampsWorkload final : public Workload {
 public:
  explicit TimestampsWorkload(int keys) : keys_(keys) {}

  std::vector<std::string> ops() const override { return {"timed-write"}; }

  Op generate(Rng& rng) override {
    Op op;
    op.type = OpType::invoke;
    op.f = "timed-write";
    op.key = "t" + std::to_string(rng() % static_cast<unsigned>(keys_));
    op.value = next_.fetch_add(1);
    return op;
  }

  checker::Checkers checkers() const override { return {checker::timestamps_checker()}; }

  std::string guarantee() const override {
    return "server timestamps follow real-time order (what last-write-wins relies on)";
  }

 private:
  int keys_;
  std::atomic<std::int64_t> next_{0};
};

const bool registered = WorkloadRegistry::add("timestamps", [](FieldReader& options) {
  int keys = static_cast<int>(options.integer("keys", 1, 1, 1000));
  options.choice("claim", {"timestamps-follow-real-time"}, "timestamps-follow-real-time");
  return std::make_unique<TimestampsWorkload>(keys);
});

}  // namespace
}  // namespace faultline
