// Set workload (Jepsen's set-full, reduced to its final read): clients add unique integers to
// one set; after the faults are healed, a final read returns the whole set. Graded:
//   ok          acknowledged adds that are present
//   lost        acknowledged adds that are absent: the store lost a write it confirmed
//   recovered   indeterminate (info) adds that are present: fine, they happened
//   unexpected  elements present that no add attempted, or whose add certainly failed
// Invalid when anything is lost or unexpected; unknown when no final read succeeded.
//
// Spec options (workload:): key (default "s"), claim (no-lost-writes).
#include <atomic>
#include <map>
#include <set>

#include "workloads/workload.h"

namespace faultline {
namespace {

using nlohmann::json;

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

  std::vector<checker::CheckResult> check(const History& history,
                                          const CheckLimits&) const override {
    auto start = std::chrono::steady_clock::now();
    checker::CheckResult result;
    result.checker = "set-full";
    result.model = "no lost acknowledged adds";
    std::map<std::int64_t, OpType> adds;  // element -> outcome of its add
    std::optional<std::set<std::int64_t>> final_read;
    for (const PairedOp& pair : pair_ops(history, "history")) {
      const Op& invoke = history[pair.invoke];
      if (invoke.f == "add" && invoke.value.is_number_integer()) {
        adds[invoke.value.get<std::int64_t>()] = pair.outcome(history);
      } else if (invoke.f == "read" && pair.outcome(history) == OpType::ok) {
        std::set<std::int64_t> seen;
        for (const json& e : history[*pair.completion].value)
          if (e.is_number_integer()) seen.insert(e.get<std::int64_t>());
        final_read = std::move(seen);  // the last successful read is the final one
      }
    }
    if (!final_read) {
      result.verdict = checker::Verdict::unknown;
      result.summary = "no final read succeeded: cannot tell what survived";
      return {result};
    }
    std::vector<std::int64_t> lost, unexpected, recovered;
    std::int64_t ok = 0, acknowledged = 0;
    for (const auto& [element, outcome] : adds) {
      bool present = final_read->count(element) > 0;
      if (outcome == OpType::ok) {
        ++acknowledged;
        if (present) ++ok; else lost.push_back(element);
      } else if (present) {
        (outcome == OpType::info ? recovered : unexpected).push_back(element);
      }
    }
    for (std::int64_t element : *final_read)
      if (!adds.count(element)) unexpected.push_back(element);
    auto sample = [](const std::vector<std::int64_t>& v) {
      return json(std::vector<std::int64_t>(v.begin(), v.begin() + std::min<std::size_t>(v.size(), 50)));
    };
    result.details = {{"acknowledged", acknowledged}, {"ok", ok},
                      {"lost_count", lost.size()}, {"lost", sample(lost)},
                      {"recovered_count", recovered.size()}, {"recovered", sample(recovered)},
                      {"unexpected_count", unexpected.size()}, {"unexpected", sample(unexpected)},
                      {"final_read_size", final_read->size()}};
    bool valid = lost.empty() && unexpected.empty();
    result.verdict = valid ? checker::Verdict::valid : checker::Verdict::invalid;
    result.summary = std::to_string(lost.size()) + " of " + std::to_string(acknowledged) +
                     " acknowledged adds lost; ok " + std::to_string(ok) + ", recovered " +
                     std::to_string(recovered.size()) + ", unexpected " +
                     std::to_string(unexpected.size());
    result.check_time_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {result};
  }

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
