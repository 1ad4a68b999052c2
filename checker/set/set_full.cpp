#include "checker/set/set_full.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>

namespace faultline::checker {
namespace {

using nlohmann::json;

constexpr std::size_t kElementsShown = 50;

struct Add {
  OpType outcome = OpType::info;
  std::int64_t invoke_index = -1;
};

struct Grades {
  std::vector<std::int64_t> lost, recovered, unexpected;
  std::int64_t ok = 0, acknowledged = 0;
};

Grades grade(const std::map<std::int64_t, Add>& adds, const std::set<std::int64_t>& final_read) {
  Grades g;
  for (const auto& [element, add] : adds) {
    bool present = final_read.count(element) > 0;
    if (add.outcome == OpType::ok) {
      ++g.acknowledged;
      if (present) ++g.ok; else g.lost.push_back(element);
    } else if (present) {
      (add.outcome == OpType::info ? g.recovered : g.unexpected).push_back(element);
    }
  }
  for (std::int64_t element : final_read)
    if (!adds.count(element)) g.unexpected.push_back(element);
  return g;
}

json sample(const std::vector<std::int64_t>& v) {
  return json(std::vector<std::int64_t>(v.begin(), v.begin() + std::min(v.size(), kElementsShown)));
}

std::string elements_text(const std::vector<std::int64_t>& v) {
  std::string text;
  for (std::size_t i = 0; i < v.size() && i < kElementsShown; ++i)
    text += (i ? ", " : "") + std::to_string(v[i]);
  return text + (v.size() > kElementsShown ? ", …" : "");
}

// One anomaly for a whole class of elements (lost or unexpected): the adds involved and the
// final read.
Anomaly class_anomaly(const std::string& kind, const std::vector<std::int64_t>& elements,
                      const std::map<std::int64_t, Add>& adds, std::int64_t read_index,
                      const std::string& headline, const std::string& why) {
  Anomaly a;
  a.kind = kind;
  a.headline = headline;
  a.explanation = {"Elements " + elements_text(elements) + " " + why + "."};
  for (std::size_t i = 0; i < elements.size() && i < kElementsShown; ++i)
    if (auto it = adds.find(elements[i]); it != adds.end()) a.ops.push_back(it->second.invoke_index);
  a.ops.push_back(read_index);
  std::sort(a.ops.begin(), a.ops.end());
  a.focus = read_index;
  a.names[read_index] = "final read";
  return a;
}

}  // namespace

CheckResult check_set_full(const History& history) {
  auto start = std::chrono::steady_clock::now();
  CheckResult result;
  result.checker = "set-full";
  result.model = "no lost acknowledged adds";
  std::map<std::int64_t, Add> adds;  // element -> its add
  std::optional<std::set<std::int64_t>> final_read;
  std::int64_t read_index = -1;
  std::string key;
  for (const PairedOp& pair : pair_ops(history, kInMemoryHistory)) {
    const Op& invoke = history[pair.invoke];
    if (invoke.f == "add" && invoke.value.is_number_integer()) {
      adds[invoke.value.get<std::int64_t>()] = {pair.outcome(history), invoke.index};
      key = invoke.key;
    } else if (invoke.f == "read" && pair.outcome(history) == OpType::ok) {
      std::set<std::int64_t> seen;
      for (const json& e : history[*pair.completion].value)
        if (e.is_number_integer()) seen.insert(e.get<std::int64_t>());
      final_read = std::move(seen);  // the last successful read is the final one
      read_index = invoke.index;
    }
  }
  if (!final_read) {
    result.verdict = Verdict::unknown;
    result.summary = "no final read succeeded: cannot tell what survived";
    return result;
  }
  Grades g = grade(adds, *final_read);
  result.details = {{"acknowledged", g.acknowledged}, {"ok", g.ok},
                    {"lost_count", g.lost.size()}, {"lost", sample(g.lost)},
                    {"recovered_count", g.recovered.size()}, {"recovered", sample(g.recovered)},
                    {"unexpected_count", g.unexpected.size()}, {"unexpected", sample(g.unexpected)},
                    {"final_read_size", final_read->size()}};
  std::string lost_line = std::to_string(g.lost.size()) + " of " + std::to_string(g.acknowledged) +
                          " acknowledged adds lost";
  if (!g.lost.empty())
    result.anomalies.push_back(class_anomaly(
        "lost", g.lost, adds, read_index, lost_line,
        "were acknowledged (ok) but are absent from the final read: the store lost writes it confirmed"));
  if (!g.unexpected.empty())
    result.anomalies.push_back(class_anomaly(
        "unexpected", g.unexpected, adds, read_index,
        std::to_string(g.unexpected.size()) + " unexpected elements in the final read",
        "are in the final read, but no add of them was attempted or their add certainly failed"));
  for (auto& a : result.anomalies)
    if (!key.empty()) a.keys.push_back(key);
  result.verdict = g.lost.empty() && g.unexpected.empty() ? Verdict::valid : Verdict::invalid;
  result.summary = lost_line + "; ok " + std::to_string(g.ok) + ", recovered " +
                   std::to_string(g.recovered.size()) + ", unexpected " +
                   std::to_string(g.unexpected.size());
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::shared_ptr<const Checker> set_full_checker() { return std::make_shared<FunctionChecker>(check_set_full); }

}  // namespace faultline::checker
