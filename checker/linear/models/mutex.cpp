// mutex: acquire succeeds only when free, release only when held (Knossos' mutex: owners are
// not tracked). A failed acquire or release never took effect and never reaches the model.
#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

enum : std::uint32_t { kAcquire, kRelease };
enum : State { kFree, kHeld };

class MutexModel final : public Model {
 public:
  std::optional<Call> parse(const ObjectOp& op) override {
    if (op.invoke->f == "acquire") return Call{kAcquire, 0, 0};
    if (op.invoke->f == "release") return Call{kRelease, 0, 0};
    bad_op(op, "unknown f for the mutex model (expected acquire, release)");
  }

  State init() override { return kFree; }

  bool step(State state, const Call& call, State* next) override {
    *next = call.f == kAcquire ? kHeld : kFree;
    return state != *next;
  }

  bool observes_only(const Call&) const override { return false; }

  std::string describe_state(State state) const override {
    return state == kHeld ? "held" : "free";
  }

  std::string describe_call(const Call& call) const override {
    return call.f == kAcquire ? "acquire" : "release";
  }
};

}  // namespace

std::unique_ptr<Model> make_mutex(const LinearOptions&) { return std::make_unique<MutexModel>(); }

}  // namespace faultline::checker::linear
