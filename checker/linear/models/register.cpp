// register and cas-register (kv is cas-register per key): one value, read / write / cas.
//
// The state is the interned value itself (0: absent). A failed cas never reaches the model; an
// info cas whose compare does not match simply cannot be placed there, which the search treats
// as "did not take effect at that point".
#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

enum : std::uint32_t { kRead, kWrite, kCas };

class RegisterModel final : public Model {
 public:
  RegisterModel(const LinearOptions& options, bool allow_cas)
      : allow_cas_(allow_cas),
        nil_read_matches_any_(options.nil_read_matches_any),
        initial_(values_.intern(options.initial_value)) {}

  std::optional<Call> parse(const ObjectOp& op) override {
    const std::string& f = op.invoke->f;
    if (f == "read") {
      if (!op.is_ok()) return std::nullopt;  // an unknown read result constrains nothing
      const nlohmann::json& value = op.output();
      if (value.is_null() && nil_read_matches_any_) return std::nullopt;
      return Call{kRead, values_.intern(value), 0};
    }
    if (f == "write") return Call{kWrite, values_.intern(op.input()), 0};
    if (f == "cas" && allow_cas_) {
      const nlohmann::json& value = op.input();
      if (!value.is_array() || value.size() != 2) bad_op(op, "a cas value must be [old, new]");
      return Call{kCas, values_.intern(value[0]), values_.intern(value[1])};
    }
    bad_op(op, std::string("unknown f for the ") + (allow_cas_ ? "cas-register" : "register") +
                   " model (expected read, write" + (allow_cas_ ? ", cas)" : ")"));
  }

  State init() override { return initial_; }

  bool step(State state, const Call& call, State* next) override {
    switch (call.f) {
      case kRead: *next = state; return state == call.a;
      case kWrite: *next = call.a; return true;
      default: *next = call.b; return state == call.a;
    }
  }

  bool observes_only(const Call& call) const override {
    return call.f == kRead || (call.f == kCas && call.a == call.b);
  }

  std::string describe_state(State state) const override {
    return state == 0 ? "absent" : values_.describe(static_cast<std::uint32_t>(state));
  }

  std::string describe_call(const Call& call) const override {
    switch (call.f) {
      case kRead: return "read returning " + values_.describe(call.a);
      case kWrite: return "write " + values_.describe(call.a);
      default: return "cas " + values_.describe(call.a) + " -> " + values_.describe(call.b);
    }
  }

 private:
  ValueTable values_;
  bool allow_cas_;
  bool nil_read_matches_any_;
  std::uint32_t initial_;
};

}  // namespace

std::unique_ptr<Model> make_register(const LinearOptions& options) {
  return std::make_unique<RegisterModel>(options, /*allow_cas=*/false);
}

std::unique_ptr<Model> make_cas_register(const LinearOptions& options) {
  return std::make_unique<RegisterModel>(options, /*allow_cas=*/true);
}

}  // namespace faultline::checker::linear
