// The typed anomaly of one non-linearizable key, built from the failure the explainer wrote.
#include <algorithm>
#include <cctype>

#include "checker/linear/linearizability.h"

namespace faultline::checker {
namespace {

constexpr std::size_t kPrecedingOpsShown = 3;  // ops ordered before the blocked one, for context

void add_op(Anomaly& a, const nlohmann::json& index) {
  if (!index.is_number_integer()) return;
  std::int64_t i = index.get<std::int64_t>();
  if (std::find(a.ops.begin(), a.ops.end(), i) == a.ops.end()) a.ops.push_back(i);
}

}  // namespace

Anomaly linear_anomaly(const nlohmann::json& failure) {
  Anomaly a;
  std::string key = failure.value("key", std::string());
  if (!key.empty()) a.keys.push_back(key);
  std::string reason = failure.value("reason", std::string());
  a.headline = (key.empty() ? "" : "key " + key + ": ") + reason;
  if (!reason.empty())
    a.explanation.push_back(
        std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(reason[0])))) +
        reason.substr(1) + ".");
  a.kind = "nonlinearizable";
  if (failure.contains("blocked_op")) {
    const nlohmann::json& blocked = failure["blocked_op"];
    a.kind += "-" + blocked.value("f", std::string("op"));
    if (blocked.value("index", nlohmann::json()).is_number_integer())
      a.focus = blocked["index"].get<std::int64_t>();
    add_op(a, blocked.value("index", nlohmann::json()));
  }
  for (const auto& op : failure.value("concurrent_ops", nlohmann::json::array()))
    add_op(a, op.value("index", nlohmann::json()));
  for (const auto& op : failure.value("ops", nlohmann::json::array()))
    add_op(a, op.value("index", nlohmann::json()));
  const nlohmann::json& prefix = failure.value("longest_prefix", nlohmann::json::array());
  for (std::size_t i = prefix.size() - std::min(prefix.size(), kPrecedingOpsShown);
       i < prefix.size(); ++i) {
    add_op(a, prefix[i]);
    if (prefix[i].is_number_integer()) a.preceding.push_back(prefix[i].get<std::int64_t>());
  }
  std::sort(a.ops.begin(), a.ops.end());  // invocation indexes grow with invocation time
  return a;
}

}  // namespace faultline::checker
