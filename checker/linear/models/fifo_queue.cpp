// fifo-queue: enqueue a value, dequeue the oldest. The state is the queued value ids in order,
// hash-consed. An ok dequeue returning nil saw an empty queue; an info dequeue may have removed
// the head (whatever it was) or nothing.
#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

enum : std::uint32_t { kEnqueue, kDequeue, kDequeueUnknown };

class FifoQueueModel final : public Model {
 public:
  std::optional<Call> parse(const ObjectOp& op) override {
    const std::string& f = op.invoke->f;
    if (f == "enqueue") return Call{kEnqueue, values_.intern(op.input()), 0};
    if (f != "dequeue") bad_op(op, "unknown f for the fifo-queue model (expected enqueue, dequeue)");
    if (!op.is_ok()) return Call{kDequeueUnknown, 0, 0};
    return Call{kDequeue, values_.intern(op.output()), 0};
  }

  State init() override { return queues_.intern({}); }

  bool step(State state, const Call& call, State* next) override {
    const std::vector<std::uint32_t>& queue = queues_.items(state);
    if (call.f == kEnqueue) {
      std::vector<std::uint32_t> longer = queue;
      longer.push_back(call.a);
      *next = queues_.intern(std::move(longer));
      return true;
    }
    if (queue.empty()) {  // an ok dequeue of nil, or an info one, can see an empty queue
      *next = state;
      return call.f == kDequeueUnknown || call.a == 0;
    }
    if (call.f == kDequeue && queue.front() != call.a) return false;
    *next = queues_.intern(std::vector<std::uint32_t>(queue.begin() + 1, queue.end()));
    return true;
  }

  // A dequeue that saw an empty queue.
  bool observes_only(const Call& call) const override { return call.f == kDequeue && call.a == 0; }

  std::string describe_state(State state) const override {
    nlohmann::json list = nlohmann::json::array();
    for (std::uint32_t id : queues_.items(state)) list.push_back(values_.value(id));
    return "queue " + list.dump();
  }

  std::string describe_call(const Call& call) const override {
    switch (call.f) {
      case kEnqueue: return "enqueue " + values_.describe(call.a);
      case kDequeue: return "dequeue returning " + values_.describe(call.a);
      default: return "dequeue (result unknown)";
    }
  }

 private:
  ValueTable values_;
  StateTable queues_;
};

}  // namespace

std::unique_ptr<Model> make_fifo_queue(const LinearOptions&) {
  return std::make_unique<FifoQueueModel>();
}

}  // namespace faultline::checker::linear
