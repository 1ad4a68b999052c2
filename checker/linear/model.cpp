#include "checker/linear/model.h"

#include <algorithm>
#include <array>

#include "checker/linear/models/models.h"
#include "core/text.h"

namespace faultline::checker::linear {

namespace {
const nlohmann::json kNull = nullptr;
}

const nlohmann::json& ObjectOp::output() const {
  return is_ok() && completion != nullptr ? completion->value : kNull;
}

std::string ObjectOp::describe() const {
  std::string text = "op " + std::to_string(invoke->index) + " (process " +
                     std::to_string(invoke->process) + ", " + invoke->f;
  const nlohmann::json& value = is_ok() && completion != nullptr ? completion->value : input();
  if (!value.is_null()) text += " " + value.dump();
  return text + ")";
}

void bad_op(const ObjectOp& op, const std::string& why) {
  throw HistoryError(kInMemoryHistory, 0, printable(op.describe()) + ": " + why);
}

ValueTable::ValueTable() { values_.push_back(nullptr); }

std::uint32_t ValueTable::intern(const nlohmann::json& value) {
  if (value.is_null()) return 0;
  auto next_id = static_cast<std::uint32_t>(values_.size());
  if (value.is_number_integer()) {
    std::int64_t number = value.get<std::int64_t>();
    if (number >= 0 && number < static_cast<std::int64_t>(small_.size())) {
      std::uint32_t& id = small_[static_cast<std::size_t>(number)];
      if (id == 0) {
        id = next_id;
        values_.push_back(value);
      }
      return id;
    }
    auto [it, inserted] = integers_.emplace(value.get<std::int64_t>(), next_id);
    if (inserted) values_.push_back(value);
    return it->second;
  }
  auto [it, inserted] = others_.emplace(value.dump(), next_id);
  if (inserted) values_.push_back(value);
  return it->second;
}

std::size_t StateTable::Hash::operator()(const std::vector<std::uint32_t>& items) const {
  std::uint64_t hash = 0x9e3779b97f4a7c15ULL ^ items.size();
  for (std::uint32_t item : items) hash = (hash ^ item) * 0x100000001b3ULL + (hash >> 29);
  return hash;
}

State StateTable::intern(std::vector<std::uint32_t> items) {
  auto [it, inserted] = ids_.emplace(items, items_.size());
  if (inserted) items_.push_back(std::move(items));
  return it->second;
}

std::span<const ModelKind> model_kinds() {
  // kv is cas-register per key: every model is split per key when ops carry one.
  static const std::array<ModelKind, 9> kinds{{
      {"register", make_register, nullptr, check_register_unique_writes, refute_register},
      {"cas-register", make_cas_register, nullptr, nullptr, refute_register},
      {"multi-register", make_multi_register, nullptr},
      {"kv", make_cas_register, nullptr, nullptr, refute_register},
      {"set", make_set, nullptr},
      {"fifo-queue", make_fifo_queue, nullptr},
      {"mutex", make_mutex, nullptr},
      {"counter", nullptr, check_counter},
      {"unique-ids", nullptr, check_unique_ids},
  }};
  return kinds;
}

const ModelKind& find_model_kind(std::string_view name) {
  auto kinds = model_kinds();
  auto it = std::find_if(kinds.begin(), kinds.end(),
                         [&](const ModelKind& kind) { return kind.name == name; });
  if (it != kinds.end()) return *it;
  std::string known;
  for (const ModelKind& kind : kinds) known += (known.empty() ? "" : ", ") + std::string(kind.name);
  throw HistoryError("options", 0,
                     "unknown linearizability model '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace faultline::checker::linear
