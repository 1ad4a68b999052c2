#include "checker/session/session.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "checker/txn/graph.h"

namespace faultline::checker {
namespace {

using nlohmann::json;

constexpr std::size_t kCyclesShown = 20;
// Node 0 of every key's graph is the initial state; write i is node i + 1.
constexpr std::size_t kInitialNode = 0;

// In naming order: a cycle is named after the first rule among its edges.
enum class Rule { monotonic_reads, read_your_writes, writes_follow_reads, monotonic_writes, initial };

const char* kind_of(Rule rule) {
  switch (rule) {
    case Rule::monotonic_reads: return "monotonic-reads";
    case Rule::read_your_writes: return "read-your-writes";
    case Rule::writes_follow_reads: return "writes-follow-reads";
    case Rule::monotonic_writes: return "monotonic-writes";
    case Rule::initial: return "initial-state";
  }
  return "?";
}

const char* title_of(Rule rule) {
  switch (rule) {
    case Rule::monotonic_reads: return "monotonic reads";
    case Rule::read_your_writes: return "read-your-writes";
    case Rule::writes_follow_reads: return "writes-follow-reads";
    case Rule::monotonic_writes: return "monotonic writes";
    case Rule::initial: return "the initial state";
  }
  return "?";
}

std::string value_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// One of a process's steps on one key. A cas that took effect is a read of its old value
// followed by a write of its new one, both at the same op.
struct Step {
  bool is_read = false;
  std::int64_t op = -1;  // invocation index
  json value;            // read: the value returned; write: the value written
  std::size_t write = 0;  // write: its id in Key::writes
};

struct Write {
  std::int64_t op = -1;
  std::int64_t process = 0;
  json value;
  bool acknowledged = false;  // ok; otherwise info or never completed
  bool observed = false;      // some ok read returned its value
  bool happened() const { return acknowledged || observed; }
};

// An ordering constraint between two nodes (the initial state or writes) and why it holds:
// process `process` did `first_op` then `second_op`.
struct Edge {
  std::size_t from = 0, to = 0;
  Rule rule = Rule::initial;
  std::int64_t process = 0;
  std::int64_t first_op = -1, second_op = -1;
};

struct Key {
  std::vector<Write> writes;
  std::map<std::string, std::vector<std::size_t>> writes_of_value;  // value's dump -> writes
  std::map<std::int64_t, std::vector<Step>> steps;                 // process -> its steps
  std::map<std::int64_t, std::string> names;                       // op -> "read 3", "cas 1 -> 2"
};

class Inference {
 public:
  // Groups the client ops by key and process. Ops other than read / write / cas are ignored.
  explicit Inference(const History& history) {
    for (const PairedOp& pair : pair_ops(history, kInMemoryHistory)) {
      const Op& invoke = history[pair.invoke];
      OpType outcome = pair.outcome(history);
      if (outcome == OpType::fail) continue;  // it certainly did not happen
      if (invoke.f == "read") {
        if (outcome != OpType::ok) continue;  // an unknown read result says nothing
        const json& value = history[*pair.completion].value;
        add_read(invoke, value, "read " + (value.is_null() ? "nil" : value_text(value)));
      } else if (invoke.f == "write") {
        add_write(invoke, invoke.value, outcome, "write " + value_text(invoke.value));
      } else if (invoke.f == "cas" && invoke.value.is_array() && invoke.value.size() == 2) {
        std::string name = "cas " + value_text(invoke.value[0]) + " -> " + value_text(invoke.value[1]);
        if (outcome == OpType::ok) add_read(invoke, invoke.value[0], name);
        add_write(invoke, invoke.value[1], outcome, name);
      }
    }
    for (auto& [name, key] : keys_) resolve(key);
  }

  const std::map<std::string, Key>& keys() const { return keys_; }
  std::int64_t reads() const { return reads_; }
  std::int64_t reads_unknown_source() const { return unknown_; }

  // The node a read's value came from: the initial state, a write, or none (not known).
  static std::optional<std::size_t> source(const Key& key, const json& value) {
    if (value.is_null()) return kInitialNode;
    auto it = key.writes_of_value.find(value.dump());
    if (it == key.writes_of_value.end() || it->second.size() != 1) return std::nullopt;
    return it->second.front() + 1;
  }

 private:
  void add_read(const Op& invoke, const json& value, const std::string& name) {
    Key& key = keys_[invoke.key];
    key.steps[invoke.process].push_back({true, invoke.index, value, 0});
    key.names[invoke.index] = name;
    ++reads_;
  }

  void add_write(const Op& invoke, const json& value, OpType outcome, const std::string& name) {
    Key& key = keys_[invoke.key];
    std::size_t id = key.writes.size();
    key.writes.push_back({invoke.index, invoke.process, value, outcome == OpType::ok, false});
    key.writes_of_value[value.dump()].push_back(id);
    key.steps[invoke.process].push_back({false, invoke.index, value, id});
    key.names[invoke.index] = name;
  }

  // Marks the writes some read saw (an info write that was read took effect) and counts the
  // reads whose source is not known.
  void resolve(Key& key) {
    for (auto& [process, steps] : key.steps)
      for (const Step& step : steps) {
        if (!step.is_read) continue;
        std::optional<std::size_t> from = source(key, step.value);
        if (!from) ++unknown_;
        else if (*from != kInitialNode) key.writes[*from - 1].observed = true;
      }
  }

  std::map<std::string, Key> keys_;
  std::int64_t reads_ = 0;
  std::int64_t unknown_ = 0;
};

// The rules' edges for one key. Within a process only each step's nearest predecessors are
// joined (the last read with a known source, the last write that happened, the last
// acknowledged write): the edges to earlier ones follow by transitivity, through monotonic
// reads and monotonic writes.
std::vector<Edge> edges_of(const Key& key) {
  std::vector<Edge> edges;
  for (std::size_t w = 0; w < key.writes.size(); ++w)
    if (key.writes[w].happened()) edges.push_back({kInitialNode, w + 1, Rule::initial, 0, -1, -1});
  for (const auto& [process_key, steps] : key.steps) {
    auto process = process_key;  // clang 14 cannot capture a structured binding
    struct Last {
      std::size_t node = 0;
      std::int64_t op = -1;
    };
    std::optional<Last> read, write, acknowledged;
    auto add = [&](const Last& from, std::size_t to, Rule rule, std::int64_t op) {
      if (from.node != to || rule == Rule::writes_follow_reads || rule == Rule::monotonic_writes)
        edges.push_back({from.node, to, rule, process, from.op, op});
    };
    for (const Step& step : steps) {
      if (step.is_read) {
        std::optional<std::size_t> from = Inference::source(key, step.value);
        if (!from) continue;
        if (read) add(*read, *from, Rule::monotonic_reads, step.op);
        if (acknowledged) add(*acknowledged, *from, Rule::read_your_writes, step.op);
        read = Last{*from, step.op};
        continue;
      }
      const Write& w = key.writes[step.write];
      if (!w.happened()) continue;
      std::size_t node = step.write + 1;
      if (write) add(*write, node, Rule::monotonic_writes, step.op);
      // Writes follow the initial state anyway: that edge is the initial one.
      if (read && read->node != kInitialNode) add(*read, node, Rule::writes_follow_reads, step.op);
      write = Last{node, step.op};
      if (w.acknowledged) acknowledged = write;
    }
  }
  return edges;
}

// A shortest cycle through `start` inside its component, as the edges taken (breadth first).
std::vector<std::size_t> cycle_through(std::size_t start, const std::vector<Edge>& edges,
                                       const std::vector<std::vector<std::size_t>>& out_edges,
                                       const std::vector<bool>& in_component) {
  std::map<std::size_t, std::size_t> arrived_by;  // node -> edge
  std::deque<std::size_t> queue{start};
  while (!queue.empty()) {
    std::size_t v = queue.front();
    queue.pop_front();
    for (std::size_t e : out_edges[v]) {
      std::size_t w = edges[e].to;
      if (!in_component[w] || arrived_by.contains(w)) continue;
      arrived_by[w] = e;
      if (w == start) {
        std::vector<std::size_t> cycle;
        for (std::size_t at = start;;) {
          cycle.push_back(arrived_by.at(at));
          at = edges[cycle.back()].from;
          if (at == start) break;
        }
        std::reverse(cycle.begin(), cycle.end());
        return cycle;
      }
      queue.push_back(w);
    }
  }
  return {};
}

class Explainer {
 public:
  Explainer(const std::string& key_name, const Key& key) : key_name_(key_name), key_(key) {}

  Anomaly anomaly(const std::vector<Edge>& cycle) const {
    auto named = std::min_element(cycle.begin(), cycle.end(), [](const Edge& a, const Edge& b) {
      return static_cast<int>(a.rule) < static_cast<int>(b.rule);
    });
    Anomaly a;
    a.kind = kind_of(named->rule);
    a.keys = {key_name_};
    a.focus = named->second_op;
    std::set<std::int64_t> ops;
    for (const Edge& e : cycle) {
      for (std::int64_t op : {e.first_op, e.second_op, write_op(e.from), write_op(e.to)})
        if (op >= 0) ops.insert(op);
      a.explanation.push_back(sentence(e));
    }
    a.ops.assign(ops.begin(), ops.end());
    for (std::int64_t op : a.ops)
      if (auto it = key_.names.find(op); it != key_.names.end()) a.names[op] = it->second;
    a.headline = std::string(title_of(named->rule)) + " violated on " + key_name_ + ": " +
                 what_happened(*named) + ", yet the other " +
                 (cycle.size() == 2 ? "edge" : std::to_string(cycle.size() - 1) + " edges") +
                 " of the cycle put " + node_text(named->to) + " before " + node_text(named->from);
    if (cycle.size() == 1)
      a.headline = std::string(title_of(named->rule)) + " violated on " + key_name_ + ": " +
                   what_happened(*named) + ", so " + node_text(named->to) + " would precede itself";
    a.explanation.push_back("The chain returns to where it began: no order of " + key_name_ +
                            "'s writes meets every rule above, so the ops break " +
                            title_of(named->rule) + ".");
    return a;
  }

 private:
  std::int64_t write_op(std::size_t node) const {
    return node == kInitialNode ? -1 : key_.writes[node - 1].op;
  }

  // "the write of 3 (op 12, process 1)", or "the initial state (absent)".
  std::string node_text(std::size_t node) const {
    if (node == kInitialNode) return "the initial state (absent)";
    const Write& w = key_.writes[node - 1];
    return "the write of " + value_text(w.value) + " (op " + std::to_string(w.op) + ", process " +
           std::to_string(w.process) + ")";
  }

  std::string value_at(std::size_t node) const {
    return node == kInitialNode ? "nil" : value_text(key_.writes[node - 1].value);
  }

  // What process order and reads-from show: "process 4 read 7 (op 12), then 3 (op 20)".
  std::string what_happened(const Edge& e) const {
    std::string p = "process " + std::to_string(e.process) + " ";
    std::string first = " (op " + std::to_string(e.first_op) + ")";
    std::string second = " (op " + std::to_string(e.second_op) + ")";
    switch (e.rule) {
      case Rule::monotonic_reads:
        return p + "read " + value_at(e.from) + first + ", then " + value_at(e.to) + second;
      case Rule::read_your_writes:
        return p + "wrote " + value_at(e.from) + first + ", then read " + value_at(e.to) + second;
      case Rule::writes_follow_reads:
        return p + "read " + value_at(e.from) + first + ", then wrote " + value_at(e.to) + second;
      case Rule::monotonic_writes:
        return p + "wrote " + value_at(e.from) + first + ", then " + value_at(e.to) + second;
      case Rule::initial: break;
    }
    return "";
  }

  std::string sentence(const Edge& e) const {
    if (e.rule == Rule::initial)
      return "The initial state (absent) precedes every write, " + node_text(e.to) + " included.";
    std::string text = what_happened(e);
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    return text + ": by " + title_of(e.rule) + ", " + node_text(e.from) + " comes before " +
           node_text(e.to) + ".";
  }

  const std::string& key_name_;
  const Key& key_;
};

// The cycles of one key, each a chain of edges: one through each strongly connected group of
// its graph (found by the transaction checker's Tarjan), and one for each write with an edge to
// itself outside such a group.
std::vector<std::vector<Edge>> cycles_of(const Key& key, const std::vector<Edge>& edges) {
  std::size_t nodes = key.writes.size() + 1;
  std::vector<std::vector<std::size_t>> out_edges(nodes);
  txn::EdgeList list;
  for (std::size_t e = 0; e < edges.size(); ++e) {
    out_edges[edges[e].from].push_back(e);
    if (edges[e].from == edges[e].to) continue;  // a cycle by itself, found below; Tarjan's graph has none
    list.add(static_cast<std::uint32_t>(edges[e].from), static_cast<std::uint32_t>(edges[e].to),
             txn::kWW);
  }
  std::vector<std::vector<Edge>> cycles;
  std::vector<bool> in_component(nodes, false), in_cycle(nodes, false);
  for (const auto& component :
       txn::cyclic_components(txn::Graph(static_cast<std::uint32_t>(nodes), list), txn::kAllEdges)) {
    for (std::uint32_t n : component) in_component[n] = in_cycle[n] = true;
    std::vector<Edge> cycle;
    for (std::size_t e : cycle_through(component.front(), edges, out_edges, in_component))
      cycle.push_back(edges[e]);
    for (std::uint32_t n : component) in_component[n] = false;
    cycles.push_back(std::move(cycle));
  }
  for (const Edge& e : edges)
    if (e.from == e.to && !in_cycle[e.from]) {
      in_cycle[e.from] = true;
      cycles.push_back({e});
    }
  return cycles;
}

}  // namespace

CheckResult check_session(const History& history) {
  auto start = std::chrono::steady_clock::now();
  CheckResult result;
  result.checker = "session";
  result.model = "session guarantees";
  Inference inference(history);
  std::int64_t writes = 0, edges = 0, cycles = 0;
  json by_kind = json::object();
  for (const auto& [name, key] : inference.keys()) {
    for (const Write& w : key.writes) writes += w.happened();
    std::vector<Edge> key_edges = edges_of(key);
    edges += static_cast<std::int64_t>(key_edges.size());
    Explainer explainer(name, key);
    for (const auto& cycle : cycles_of(key, key_edges)) {
      Anomaly a = explainer.anomaly(cycle);
      by_kind[a.kind] = by_kind.value(a.kind, 0) + 1;
      ++cycles;
      if (result.anomalies.size() < kCyclesShown) result.anomalies.push_back(std::move(a));
    }
  }
  std::int64_t unknown = inference.reads_unknown_source();
  result.details = {{"keys", inference.keys().size()}, {"reads", inference.reads()},
                    {"writes", writes},                 {"edges", edges},
                    {"reads_unknown_source", unknown},  {"cycles", cycles},
                    {"cycles_by_kind", by_kind}};
  std::string scope = std::to_string(inference.reads()) + " reads and " + std::to_string(writes) +
                      " writes over " + std::to_string(inference.keys().size()) +
                      (inference.keys().size() == 1 ? " key" : " keys");
  if (cycles > 0) {
    result.verdict = Verdict::invalid;
    std::string kinds;
    for (const auto& [kind, n] : by_kind.items())
      kinds += (kinds.empty() ? "" : ", ") + kind + " " + std::to_string(n.get<int>());
    result.summary = std::to_string(cycles) + " session-guarantee violation" +
                     (cycles == 1 ? "" : "s") + " (" + kinds +
                     ") in " + scope;
  } else if (unknown > 0) {
    result.verdict = Verdict::unknown;
    result.summary = std::to_string(unknown) +
                     " reads returned values that no write (or more than one, or only a failed "
                     "one) wrote: their sources are unknown, so the guarantees are undecided (" +
                     scope + ")";
  } else {
    result.verdict = Verdict::valid;
    result.summary = "read-your-writes, monotonic reads, monotonic writes and writes-follow-reads "
                     "hold for every process on every key (" + scope + ")";
  }
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::shared_ptr<const Checker> session_checker() { return std::make_shared<FunctionChecker>(check_session); }

}  // namespace faultline::checker
