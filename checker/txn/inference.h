// What a workload's analysis infers from a compiled history: the dependency edges between
// transactions, and the anomalies that need no cycle (aborted reads, internal
// inconsistencies, ...). One implementation per workload; everything after is shared.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/txn/graph.h"
#include "checker/txn/txn_history.h"

namespace faultline::checker::txn {

// Anomalies found without cycles: every case counted, the first few kept as examples.
class AnomalyLog {
 public:
  static constexpr std::size_t kExamplesMax = 8;

  // example: a JSON object with at least "explanation" (one sentence, names txns as T<index>).
  void add(const std::string& type, nlohmann::json example);
  const std::map<std::string, nlohmann::json>& examples() const { return examples_; }
  const std::map<std::string, std::size_t>& counts() const { return counts_; }

 private:
  std::map<std::string, nlohmann::json> examples_;
  std::map<std::string, std::size_t> counts_;
};

// rw-register: one key's versions, for the search over version orders (version_order.h).
struct KeyVersions {
  std::vector<std::uint32_t> writers;              // graph txns whose final write of the key is a version
  std::vector<std::int64_t> values;                // writers[i]'s value
  std::vector<std::vector<std::uint32_t>> readers;  // readers[i]: committed txns that read writers[i]'s version
};

struct Inference {
  EdgeList edges;               // ww, wr, rw between txns that are in the graph
  std::vector<bool> in_graph;   // ok txns, and info txns whose writes some read observed
  AnomalyLog anomalies;
  std::vector<KeyVersions> versions;  // rw-register only: per key, keys with a version
  nlohmann::json warnings = nlohmann::json::array();  // findings that rule out no model
  // Why a -kind-> b, for a data edge (ww, wr, rw) the inference added: "T2 read T1's append…".
  std::function<std::string(std::uint32_t a, std::uint32_t b, std::uint8_t kind)> explain;
};

Inference infer_list_append(const TxnHistory& history);
// initial_value: the value every key holds before its first write (a version before every
// write); absent: keys start nil, and a nil read is the initial version.
Inference infer_rw_register(const TxnHistory& history, std::optional<std::int64_t> initial_value);

// Runs a workload analysis (constructible from the history, with run(Inference&) and
// explain(a, b, kind)) and keeps it alive inside the Inference for later explanations.
template <class Analysis, class... Args>
Inference run_analysis(const TxnHistory& history, Args&&... args) {
  Inference out;
  auto analysis = std::make_shared<Analysis>(history, std::forward<Args>(args)...);
  analysis->run(out);
  out.explain = [analysis](std::uint32_t a, std::uint32_t b, std::uint8_t kind) {
    return analysis->explain(a, b, kind);
  };
  return out;
}

// The fallback explanation when an analysis cannot name the micro-ops behind an edge.
std::string unexplained_edge(const TxnHistory& history, std::uint32_t a, std::uint32_t b,
                             std::uint8_t kind);

// Process edges (consecutive txns of one process) and realtime edges (a completed before b
// was invoked; transitively reduced, so O(n x concurrency) edges) among in_graph txns.
void add_session_edges(const TxnHistory& history, const std::vector<bool>& in_graph,
                       EdgeList& edges);
std::string explain_session_edge(const TxnHistory& history, std::uint32_t a, std::uint32_t b,
                                 std::uint8_t kind);

// Lost update (Elle, after Adya's H_lu): two committed txns read the same version of a key and
// both wrote the key. `version` names what a read saw (two reads of one version compare
// equal); `describe` renders it for the explanation.
struct ReadVersion {
  std::int64_t a = 0;
  std::int64_t b = 0;
  auto operator<=>(const ReadVersion&) const = default;
};
void find_lost_updates(const TxnHistory& history,
                       const std::function<ReadVersion(const Mop& read)>& version,
                       const std::function<std::string(const Mop& read)>& describe,
                       AnomalyLog& log);

}  // namespace faultline::checker::txn
