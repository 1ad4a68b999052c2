#include "checker/txn/inference.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace faultline::checker::txn {

void AnomalyLog::add(const std::string& type, nlohmann::json example) {
  if (++counts_[type] > kExamplesMax) return;
  auto& list = examples_[type];
  if (list.is_null()) list = nlohmann::json::array();
  list.push_back(std::move(example));
}

namespace {

void add_process_edges(const TxnHistory& h, const std::vector<bool>& in_graph, EdgeList& edges) {
  std::unordered_map<std::int64_t, std::uint32_t> last;  // process -> its latest txn so far
  for (std::uint32_t t = 0; t < h.txns.size(); ++t) {
    if (!in_graph[t]) continue;
    auto [it, first] = last.try_emplace(h.txns[t].process, t);
    if (!first) {
      edges.add(it->second, t, kProcess);
      it->second = t;
    }
  }
}

// Elle's realtime frontier: at an invocation, link from every txn in the frontier; when a txn
// completes, it replaces in the frontier the txns it was linked from (they precede it, so
// they reach later txns through it).
void add_realtime_edges(const TxnHistory& h, const std::vector<bool>& in_graph, EdgeList& edges) {
  struct Event {
    std::uint64_t key;  // position * 2, + 1 for a completion: an invocation sorts first
    std::uint32_t txn;
  };
  std::vector<Event> events;
  for (std::uint32_t t = 0; t < h.txns.size(); ++t) {
    if (!in_graph[t]) continue;
    const Txn& txn = h.txns[t];
    events.push_back({txn.invoke_position * 2, t});
    if (txn.status == TxnStatus::ok) events.push_back({txn.complete_position * 2 + 1, t});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.key < b.key; });

  std::vector<std::uint32_t> frontier, preds_begin(h.txns.size(), 0), preds_end(h.txns.size(), 0);
  std::vector<std::uint32_t> preds;  // each txn's frontier at its invocation
  std::vector<std::uint32_t> covered(h.txns.size(), kNone);
  for (const Event& e : events) {
    if (e.key % 2 == 0) {
      preds_begin[e.txn] = static_cast<std::uint32_t>(preds.size());
      for (std::uint32_t f : frontier) {
        edges.add(f, e.txn, kRealtime);
        preds.push_back(f);
      }
      preds_end[e.txn] = static_cast<std::uint32_t>(preds.size());
      continue;
    }
    for (std::uint32_t i = preds_begin[e.txn]; i < preds_end[e.txn]; ++i) covered[preds[i]] = e.txn;
    std::erase_if(frontier, [&](std::uint32_t f) { return covered[f] == e.txn; });
    frontier.push_back(e.txn);
  }
}

}  // namespace

void add_session_edges(const TxnHistory& h, const std::vector<bool>& in_graph, EdgeList& edges) {
  add_process_edges(h, in_graph, edges);
  add_realtime_edges(h, in_graph, edges);
}

std::string explain_session_edge(const TxnHistory& h, std::uint32_t a, std::uint32_t b,
                                 std::uint8_t kind) {
  const Txn& ta = h.txns[a];
  const Txn& tb = h.txns[b];
  if (kind == kProcess)
    return h.txn_name(a) + " and " + h.txn_name(b) + " ran on process " +
           std::to_string(ta.process) + ", " + h.txn_name(a) + " first";
  return h.txn_name(a) + " completed (history position " + std::to_string(ta.complete_position) +
         ") before " + h.txn_name(b) + " was invoked (position " +
         std::to_string(tb.invoke_position) + ")";
}

std::string unexplained_edge(const TxnHistory& h, std::uint32_t a, std::uint32_t b,
                             std::uint8_t kind) {
  return h.txn_name(a) + " precedes " + h.txn_name(b) + " (" + std::string(edge_name(kind)) + ")";
}

void find_lost_updates(const TxnHistory& h,
                       const std::function<ReadVersion(const Mop& read)>& version,
                       const std::function<std::string(const Mop& read)>& describe,
                       AnomalyLog& log) {
  struct Candidate {
    std::uint32_t key;
    ReadVersion version;
    std::uint32_t read_mop;
    auto operator<=>(const Candidate&) const = default;
  };
  std::vector<Candidate> candidates;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> first_read;  // key -> read mop, per txn
  for (std::uint32_t t = 0; t < h.txns.size(); ++t) {
    if (h.txns[t].status != TxnStatus::ok) continue;
    first_read.clear();
    std::vector<std::uint32_t> written;
    for (const Mop& m : h.mops_of(t)) {
      auto seen = [&](std::uint32_t key) {
        return std::find(written.begin(), written.end(), key) != written.end() ||
               std::any_of(first_read.begin(), first_read.end(), [&](auto& r) { return r.first == key; });
      };
      if (m.kind == MopKind::read) {
        if (!seen(m.key)) first_read.emplace_back(m.key, h.mop_id(m));
        continue;
      }
      if (std::find(written.begin(), written.end(), m.key) != written.end()) continue;
      written.push_back(m.key);
      for (auto& [key, read] : first_read)
        if (key == m.key) candidates.push_back({key, version(h.mops[read]), read});
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (std::size_t i = 0; i < candidates.size();) {
    std::size_t j = i + 1;
    while (j < candidates.size() && candidates[j].key == candidates[i].key &&
           candidates[j].version == candidates[i].version)
      ++j;
    if (j - i >= 2) {
      nlohmann::json txns = nlohmann::json::array();
      std::string names;
      for (std::size_t c = i; c < j; ++c) {
        std::uint32_t t = h.mops[candidates[c].read_mop].txn;
        txns.push_back(h.txns[t].index);
        names += (c > i ? (c + 1 == j ? " and " : ", ") : "") + h.txn_name(t);
      }
      const Mop& read = h.mops[candidates[i].read_mop];
      log.add("lost-update",
              {{"key", h.key_names[read.key]},
               {"txns", txns},
               {"explanation", names + " all read " + h.key_names[read.key] + " = " +
                                   describe(read) + " and then wrote " +
                                   h.key_names[read.key] + ": all but one update is lost"}});
    }
    i = j;
  }
}

}  // namespace faultline::checker::txn
