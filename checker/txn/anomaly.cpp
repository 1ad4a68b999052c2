// The typed anomalies of an Elle-style check, built from the cases the search collected: a few
// cases per type, their ops by invocation index and named as Elle names them (T<index>).
#include <algorithm>
#include <unordered_map>

#include "checker/txn/elle.h"
#include "checker/txn/txn_history.h"

namespace faultline::checker {
namespace {

using nlohmann::json;

constexpr std::size_t kCasesPerTypeShown = 5;

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

class TxnAnomalyBuilder {
 public:
  explicit TxnAnomalyBuilder(const txn::TxnHistory& history) {
    for (const txn::Txn& t : history.txns) {
      to_invocation_[t.invoke_index] = t.invoke_index;
      invoke_ns_[t.invoke_index] = t.invoke_time_ns;
      to_invocation_[t.index] = t.invoke_index;
    }
  }

  Anomaly build(const std::string& type, const json& c, bool forbidden) const {
    Anomaly a;
    a.kind = type;
    if (c.contains("key")) a.keys.push_back(text_of(c["key"]));
    for (const auto& step : c.value("steps", json::array())) a.explanation.push_back(text_of(step) + ".");
    if (c.contains("explanation")) a.explanation.push_back(text_of(c["explanation"]) + ".");
    for (const auto& i : c.value("cycle", json::array())) name_op(a, i);
    if (c.contains("txn")) name_op(a, c["txn"]);
    for (const auto& i : c.value("txns", json::array())) name_op(a, i);
    std::string first = a.explanation.empty() ? type : a.explanation.front();
    a.headline = first + (forbidden ? " (forbidden by the claim)" : " (allowed by the claim)");
    std::sort(a.ops.begin(), a.ops.end(), [&](std::int64_t x, std::int64_t y) {
      return std::pair(invoke_ns_.at(x), x) < std::pair(invoke_ns_.at(y), y);
    });
    return a;  // a cycle has no single culprit: no focus op
  }

 private:
  // Adds the op Elle names T<index> (its completion's index, or its invocation's).
  void name_op(Anomaly& a, const json& index) const {
    if (!index.is_number_integer()) return;
    auto it = to_invocation_.find(index.get<std::int64_t>());
    if (it == to_invocation_.end()) return;
    if (std::find(a.ops.begin(), a.ops.end(), it->second) == a.ops.end()) a.ops.push_back(it->second);
    a.names[it->second] = "T" + std::to_string(index.get<std::int64_t>());
  }

  std::unordered_map<std::int64_t, std::int64_t> to_invocation_;  // either entry's index -> invoke's
  std::unordered_map<std::int64_t, std::int64_t> invoke_ns_;
};

}  // namespace

std::vector<Anomaly> txn_anomalies(const json& cases_by_type, const std::set<std::string>& forbidden,
                                   const txn::TxnHistory& history) {
  std::vector<Anomaly> out;
  if (!cases_by_type.is_object() || cases_by_type.empty()) return out;
  TxnAnomalyBuilder builder(history);
  for (const auto& [type, cases] : cases_by_type.items()) {
    std::size_t shown = 0;
    for (const auto& c : cases) {
      if (shown++ == kCasesPerTypeShown) break;
      out.push_back(builder.build(type, c, forbidden.contains(type)));
    }
  }
  return out;
}

}  // namespace faultline::checker
