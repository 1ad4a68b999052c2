#include "checker/txn/version_order.h"

#include <algorithm>
#include <cstdlib>
#include <cadical.hpp>
#include <set>
#include <unordered_map>

namespace faultline::checker::txn {

namespace {

constexpr std::size_t kCyclesKeptMax = 8;      // examples for the report
constexpr std::size_t kCyclesPerComponent = 8;  // clauses learned per component and round

// Stops the solver when the budget runs out (CaDiCaL polls it).
class DeadlineTerminator : public CaDiCaL::Terminator {
 public:
  explicit DeadlineTerminator(const Deadline& deadline) : deadline_(deadline) {}
  bool terminate() override { return deadline_.expired(); }

 private:
  const Deadline& deadline_;
};

// The edges of one round, as a graph of states: a txn for CycleRule::any; for snapshot, txn x
// {entered by a non-rw edge, entered by rw}, where rw leaves only the first state, so a cycle
// of states is a cycle with no two adjacent rw edges (Cerone & Gotsman's (WR u WW u SO);RW?).
struct StateGraph {
  EdgeList edges;           // kind: the step's EdgeBits
  std::vector<int> reason;  // per edge: the solver literal it rests on, 0 if it is known
};

class OrderSolver {
 public:
  OrderSolver(const TxnHistory& h, const Graph& fixed, const std::vector<KeyVersions>& keys,
              const OrderSearchOptions& o)
      : h_(h), fixed_(fixed), keys_(keys), o_(o) {
    solver_.set("quiet", 1);  // CaDiCaL reports on stdout, which is our --json output
    for (const KeyVersions& k : keys_) {
      bases_.push_back(next_var_);
      next_var_ += static_cast<int>(k.writers.size() * (k.writers.size() - 1) / 2);
    }
    in_clause_.assign(next_var_ + 1, false);
    hint_.assign(next_var_ + 1, false);
  }

  OrderSearch run(const Deadline& deadline) {
    OrderSearch out;
    force_known_orders(out);
    DeadlineTerminator stop(deadline);
    solver_.connect_terminator(&stop);
    for (;;) {
      ++out.rounds;
      int answer = solver_.solve();
      if (answer == 20) {
        out.outcome = OrderSearch::Outcome::violated;
        break;
      }
      if (answer != 10 || deadline.expired()) {
        out.outcome = OrderSearch::Outcome::budget;
        break;
      }
      if (!learn_from_cycles(out)) break;  // no forbidden cycle: this order satisfies the claim
      if (out.outcome == OrderSearch::Outcome::violated) break;
    }
    solver_.disconnect_terminator();
    return out;
  }

 private:
  // The literal "writers[i] of key k is installed before writers[j]".
  int before(std::size_t k, std::size_t i, std::size_t j) const {
    std::size_t lo = std::min(i, j), hi = std::max(i, j), n = keys_[k].writers.size();
    int var = bases_[k] + static_cast<int>(lo * (2 * n - lo - 1) / 2 + (hi - lo - 1)) + 1;
    return i < j ? var : -var;
  }
  // CaDiCaL gives a variable that is in no clause yet the value false whatever its phase, so
  // such a pair takes the hint (any value satisfies every clause); the solver decides the rest.
  bool holds(int lit) {
    int var = std::abs(lit);
    bool value = in_clause_[var] ? solver_.val(var) > 0 : hint_[var];
    return lit > 0 ? value : !value;
  }
  void add_clause(const std::vector<int>& clause) {
    for (int lit : clause) {
      in_clause_[std::abs(lit)] = true;
      solver_.add(lit);
    }
    solver_.add(0);
  }
  void hint(int lit) {
    hint_[std::abs(lit)] = lit > 0;
    solver_.phase(lit);
  }
  std::uint64_t commit_hint(std::uint32_t t) const {
    const Txn& x = h_.txns[t];
    return x.complete_position == kNoPosition ? x.invoke_position : x.complete_position;
  }
  // a precedes b in a session order the claim includes.
  bool session_before(std::uint32_t a, std::uint32_t b) const {
    const Txn &x = h_.txns[a], &y = h_.txns[b];
    if ((o_.session_kinds & kProcess) && x.process == y.process && x.invoke_position < y.invoke_position)
      return true;
    return (o_.session_kinds & kRealtime) && x.status == TxnStatus::ok &&
           x.complete_position < y.invoke_position;
  }

  // Pruning: a known edge a -> b between two writers of a key, or a session order, forces a's
  // version first (the other order closes a two-step cycle with at most one rw edge, which
  // every rule forbids). The rest get a hint: the completion order, a correct store's order.
  void force_known_orders(OrderSearch& out) {
    const std::uint8_t allowed = kDataEdges | o_.session_kinds;
    std::unordered_map<std::uint32_t, std::size_t> slot;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      const auto& w = keys_[k].writers;
      slot.clear();
      for (std::size_t i = 0; i < w.size(); ++i) slot[w[i]] = i;
      std::set<std::pair<std::size_t, std::size_t>> forced;
      for (std::size_t i = 0; i < w.size(); ++i) {
        auto targets = fixed_.targets(w[i]);
        auto kinds = fixed_.kinds(w[i]);
        for (std::size_t e = 0; e < targets.size(); ++e) {
          auto it = slot.find(targets[e]);
          if (it != slot.end() && (kinds[e] & allowed)) forced.emplace(i, it->second);
        }
        for (std::size_t j = 0; j < w.size(); ++j)
          if (j != i && session_before(w[i], w[j])) forced.emplace(i, j);
      }
      for (auto [i, j] : forced) add_clause({before(k, i, j)});
      out.forced_pairs += forced.size();
      for (std::size_t i = 0; i < w.size(); ++i)
        for (std::size_t j = i + 1; j < w.size(); ++j) {
          if (forced.count({i, j}) || forced.count({j, i})) continue;
          ++out.open_pairs;
          hint(commit_hint(w[i]) <= commit_hint(w[j]) ? before(k, i, j) : before(k, j, i));
        }
    }
  }

  void add_step(StateGraph& g, std::uint32_t a, std::uint32_t b, std::uint8_t kind, int reason) const {
    auto push = [&](std::uint32_t from, std::uint32_t to) {
      g.edges.add(from, to, kind);
      g.reason.push_back(reason);
    };
    if (o_.rule == CycleRule::any) return push(a, b);
    if (kind == kRW) return push(2 * a, 2 * b + 1);
    push(2 * a, 2 * b);
    push(2 * a + 1, 2 * b);
  }

  // The known edges plus those of the order the solver proposed.
  StateGraph round_graph() {
    StateGraph g;
    const std::uint8_t allowed = kDataEdges | o_.session_kinds;
    for (std::uint32_t a = 0; a < fixed_.size(); ++a) {
      auto targets = fixed_.targets(a);
      auto kinds = fixed_.kinds(a);
      for (std::size_t e = 0; e < targets.size(); ++e)
        for (std::uint8_t bit = 1; bit & kAllEdges; bit <<= 1)
          if (kinds[e] & allowed & bit) add_step(g, a, targets[e], bit, 0);
    }
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      const KeyVersions& key = keys_[k];
      for (std::size_t i = 0; i < key.writers.size(); ++i)
        for (std::size_t j = 0; j < key.writers.size(); ++j) {
          if (i == j) continue;
          int lit = before(k, i, j);
          if (!holds(lit)) continue;
          add_step(g, key.writers[i], key.writers[j], kWW, lit);
          for (std::uint32_t reader : key.readers[i])
            if (reader != key.writers[j]) add_step(g, reader, key.writers[j], kRW, lit);
        }
    }
    return g;
  }

  // Finds cycles in this round's graph; each becomes a clause. False iff there was none.
  bool learn_from_cycles(OrderSearch& out) {
    StateGraph g = round_graph();
    const std::uint32_t states = fixed_.size() * (o_.rule == CycleRule::any ? 1 : 2);
    Graph graph(states, g.edges);
    auto components = cyclic_components(graph, kAllEdges);
    if (components.empty()) return false;
    // Per state: its outgoing edges (indexes into g), for the breadth-first search.
    std::vector<std::size_t> offsets(states + 1, 0), order(g.edges.size());
    for (std::uint32_t from : g.edges.from) ++offsets[from + 1];
    for (std::uint32_t s = 0; s < states; ++s) offsets[s + 1] += offsets[s];
    std::vector<std::size_t> fill(offsets.begin(), offsets.end() - 1);
    for (std::size_t e = 0; e < g.edges.size(); ++e) order[fill[g.edges.from[e]]++] = e;

    std::vector<std::uint32_t> component(states, kNone);
    std::set<std::vector<int>> learned;
    for (std::uint32_t c = 0; c < components.size(); ++c) {
      for (std::uint32_t s : components[c]) component[s] = c;
      const auto& nodes = components[c];
      std::size_t stride = std::max<std::size_t>(1, nodes.size() / kCyclesPerComponent);
      for (std::size_t n = 0; n < nodes.size(); n += stride) {
        std::vector<std::size_t> cycle = shortest_cycle(g, offsets, order, component, nodes[n]);
        std::vector<int> clause;
        for (std::size_t e : cycle)
          if (g.reason[e]) clause.push_back(-g.reason[e]);
        std::sort(clause.begin(), clause.end());
        clause.erase(std::unique(clause.begin(), clause.end()), clause.end());
        if (!learned.insert(clause).second) continue;
        keep_example(g, cycle, out);
        if (clause.empty()) {  // a cycle of known edges alone: no order avoids it
          out.outcome = OrderSearch::Outcome::violated;
          return true;
        }
        add_clause(clause);
        ++out.cycle_clauses;
      }
    }
    return true;
  }

  // The edges of a shortest cycle through `start` inside its component (one exists: the
  // component is strongly connected).
  static std::vector<std::size_t> shortest_cycle(const StateGraph& g, const std::vector<std::size_t>& offsets,
                                                 const std::vector<std::size_t>& order,
                                                 const std::vector<std::uint32_t>& component,
                                                 std::uint32_t start) {
    std::unordered_map<std::uint32_t, std::size_t> via;  // state -> edge it was reached by
    std::vector<std::uint32_t> queue{start};
    for (std::size_t q = 0; q < queue.size(); ++q) {
      std::uint32_t s = queue[q];
      for (std::size_t i = offsets[s]; i < offsets[s + 1]; ++i) {
        std::size_t e = order[i];
        std::uint32_t t = g.edges.to[e];
        if (component[t] != component[start] || via.count(t)) continue;
        via[t] = e;
        if (t == start) {
          std::vector<std::size_t> path;
          for (std::uint32_t at = start;;) {
            std::size_t step = via[at];
            path.push_back(step);
            at = g.edges.from[step];
            if (at == start) break;
          }
          std::reverse(path.begin(), path.end());
          return path;
        }
        queue.push_back(t);
      }
    }
    return {};
  }

  void keep_example(const StateGraph& g, const std::vector<std::size_t>& cycle, OrderSearch& out) const {
    if (out.cycles.size() >= kCyclesKeptMax) return;
    const std::uint32_t per_txn = o_.rule == CycleRule::any ? 1 : 2;
    OrderedCycle c;
    for (std::size_t e : cycle) {
      c.steps.push_back({g.edges.from[e] / per_txn, g.edges.to[e] / per_txn, g.edges.kind[e]});
      c.assumed.push_back(g.reason[e] != 0);
    }
    out.cycles.push_back(std::move(c));
  }

  const TxnHistory& h_;
  const Graph& fixed_;
  const std::vector<KeyVersions>& keys_;
  OrderSearchOptions o_;
  std::vector<int> bases_;
  int next_var_ = 0;
  std::vector<bool> in_clause_;  // per variable: whether some clause holds it
  std::vector<bool> hint_;       // per variable: its value in completion order
  CaDiCaL::Solver solver_;
};

}  // namespace

OrderSearch search_version_orders(const TxnHistory& history, const Graph& fixed,
                                  const std::vector<KeyVersions>& keys,
                                  const OrderSearchOptions& options, const Deadline& deadline) {
  return OrderSolver(history, fixed, keys, options).run(deadline);
}

}  // namespace faultline::checker::txn
