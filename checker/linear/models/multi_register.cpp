// multi-register: Knossos' :txn of [:read k v] / [:write k v] micro-ops over several registers,
// applied atomically. The state is every register's value id, hash-consed. Reads of nil in an
// info txn (never observed), or in any txn under nil_read_matches_any, match any value.
#include <algorithm>

#include "checker/linear/models/models.h"
#include "core/text.h"

namespace faultline::checker::linear {
namespace {

struct Micro {
  bool write = false;
  bool any = false;  // a read that observed nothing
  std::uint32_t reg = 0;
  std::uint32_t value = 0;
};

class MultiRegisterModel final : public Model {
 public:
  explicit MultiRegisterModel(const LinearOptions& options)
      : nil_read_matches_any_(options.nil_read_matches_any),
        initial_(values_.intern(options.initial_value)) {}

  std::optional<Call> parse(const ObjectOp& op) override {
    if (op.invoke->f != "txn") bad_op(op, "unknown f for the multi-register model (expected txn)");
    const nlohmann::json& value = op.is_ok() ? op.output() : op.input();
    if (!value.is_array()) bad_op(op, "a txn value must be a list of [f k v] micro-ops");
    std::vector<Micro> txn;
    for (const nlohmann::json& micro : value) {
      if (!micro.is_array() || micro.size() != 3 || !micro[0].is_string())
        bad_op(op, "a micro-op must be [f k v], not " + micro.dump());
      const std::string& f = micro[0].get_ref<const std::string&>();
      bool write = f == "write" || f == "w";
      if (!write && f != "read" && f != "r") bad_op(op, "unknown micro-op f '" + printable(f) + "'");
      bool unobserved = !write && micro[2].is_null() && (!op.is_ok() || nil_read_matches_any_);
      txn.push_back(Micro{write, unobserved, register_of(micro[1]), values_.intern(micro[2])});
    }
    txns_.push_back(std::move(txn));
    return Call{0, static_cast<std::uint32_t>(txns_.size() - 1), 0};
  }

  State init() override { return states_.intern(std::vector<std::uint32_t>(keys_.size(), initial_)); }

  bool step(State state, const Call& call, State* next) override {
    const std::vector<std::uint32_t>& before = states_.items(state);
    std::vector<std::uint32_t> after;  // copied on the first write only
    for (const Micro& micro : txns_[call.a]) {
      const std::vector<std::uint32_t>& now = after.empty() ? before : after;
      if (micro.write) {
        if (after.empty()) after = before;
        after[micro.reg] = micro.value;
      } else if (!micro.any && now[micro.reg] != micro.value) {
        return false;
      }
    }
    *next = after.empty() ? state : states_.intern(std::move(after));
    return true;
  }

  bool observes_only(const Call& call) const override {
    const std::vector<Micro>& txn = txns_[call.a];
    return std::none_of(txn.begin(), txn.end(), [](const Micro& micro) { return micro.write; });
  }

  std::string describe_state(State state) const override {
    const std::vector<std::uint32_t>& registers = states_.items(state);
    nlohmann::json object = nlohmann::json::object();
    for (std::size_t i = 0; i < registers.size(); ++i)
      object[key_names_[i]] = values_.value(registers[i]);
    return object.dump();
  }

  std::string describe_call(const Call& call) const override {
    std::string text = "txn [";
    for (const Micro& micro : txns_[call.a]) {
      text += std::string(text.size() > 5 ? " " : "") + (micro.write ? "[write " : "[read ") +
              key_names_[micro.reg] + " " + (micro.any ? "?" : values_.describe(micro.value)) + "]";
    }
    return text + "]";
  }

 private:
  std::uint32_t register_of(const nlohmann::json& key) {
    std::string name = key.is_string() ? key.get<std::string>() : key.dump();
    auto [it, inserted] = keys_.emplace(name, static_cast<std::uint32_t>(keys_.size()));
    if (inserted) key_names_.push_back(name);
    return it->second;
  }

  ValueTable values_;
  StateTable states_;
  std::unordered_map<std::string, std::uint32_t> keys_;
  std::vector<std::string> key_names_;
  std::vector<std::vector<Micro>> txns_;
  bool nil_read_matches_any_;
  std::uint32_t initial_;
};

}  // namespace

std::unique_ptr<Model> make_multi_register(const LinearOptions& options) {
  return std::make_unique<MultiRegisterModel>(options);
}

}  // namespace faultline::checker::linear
