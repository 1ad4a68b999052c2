// set: add an element, read the whole set. The state is the sorted element ids, hash-consed.
#include <algorithm>

#include "checker/linear/models/models.h"

namespace faultline::checker::linear {
namespace {

enum : std::uint32_t { kAdd, kRead };

class SetModel final : public Model {
 public:
  explicit SetModel(const LinearOptions& options)
      : nil_read_matches_any_(options.nil_read_matches_any) {}

  std::optional<Call> parse(const ObjectOp& op) override {
    const std::string& f = op.invoke->f;
    if (f == "add") return Call{kAdd, values_.intern(op.input()), 0};
    if (f != "read") bad_op(op, "unknown f for the set model (expected add, read)");
    if (!op.is_ok()) return std::nullopt;
    const nlohmann::json& value = op.output();
    if (value.is_null() && nil_read_matches_any_) return std::nullopt;
    if (!value.is_array()) bad_op(op, "a set read must return a list of elements");
    std::vector<std::uint32_t> elements;
    for (const nlohmann::json& element : value) elements.push_back(values_.intern(element));
    std::sort(elements.begin(), elements.end());
    elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
    return Call{kRead, static_cast<std::uint32_t>(sets_.intern(std::move(elements))), 0};
  }

  State init() override { return sets_.intern({}); }

  bool step(State state, const Call& call, State* next) override {
    if (call.f == kRead) {
      *next = state;
      return state == call.a;
    }
    const std::vector<std::uint32_t>& elements = sets_.items(state);
    auto at = std::lower_bound(elements.begin(), elements.end(), call.a);
    if (at != elements.end() && *at == call.a) {
      *next = state;
      return true;
    }
    std::vector<std::uint32_t> grown;
    grown.reserve(elements.size() + 1);
    grown.insert(grown.end(), elements.begin(), at);
    grown.push_back(call.a);
    grown.insert(grown.end(), at, elements.end());
    *next = sets_.intern(std::move(grown));
    return true;
  }

  bool observes_only(const Call& call) const override { return call.f == kRead; }

  std::string describe_state(State state) const override {
    return describe_elements(sets_.items(state));
  }

  std::string describe_call(const Call& call) const override {
    if (call.f == kAdd) return "add " + values_.describe(call.a);
    return "read returning " + describe_elements(sets_.items(call.a));
  }

 private:
  std::string describe_elements(const std::vector<std::uint32_t>& elements) const {
    nlohmann::json list = nlohmann::json::array();
    for (std::uint32_t id : elements) list.push_back(values_.value(id));
    return list.dump();
  }

  ValueTable values_;
  StateTable sets_;
  bool nil_read_matches_any_;
};

}  // namespace

std::unique_ptr<Model> make_set(const LinearOptions& options) {
  return std::make_unique<SetModel>(options);
}

}  // namespace faultline::checker::linear
