#include "checker/txn/models.h"

#include <algorithm>
#include <cassert>

namespace faultline::checker::txn {

namespace {

struct Model {
  std::string name;
  std::vector<std::string> implies;  // weaker models every history of this one satisfies
  std::vector<std::string> forbids;  // anomalies this model adds to those it implies
};

// Our rw edges are all item-level, so G-single and G-nonadjacent cycles are G2-item cycles
// too: repeatable read forbids them. Process edges are realtime edges (a process runs one txn
// at a time), so the strong models forbid the -process variants through their session ones.
// forced-*: rw-register histories where every version order of the blind writes gives a cycle
// the model forbids (checker/txn/version_order.h); the suffix names the session edges used.
const std::vector<Model>& table() {
  static const std::vector<Model> models = {
      {"read-uncommitted", {}, {"G0", "duplicate-elements", "garbage-read"}},
      {"read-committed", {"read-uncommitted"}, {"G1a", "G1b", "G1c", "future-read", "incompatible-order", "dirty-update"}},
      {"repeatable-read", {"read-committed"}, {"G-single", "G-nonadjacent", "G2-item", "lost-update", "forced-cycle"}},
      {"snapshot-isolation", {"read-committed"}, {"internal", "G-single", "G-nonadjacent", "lost-update", "forced-SI-cycle"}},
      {"serializable", {"repeatable-read", "snapshot-isolation"}, {}},
      {"strong-session-snapshot-isolation", {"snapshot-isolation"},
       {"G0-process", "G1c-process", "G-single-process", "G-nonadjacent-process", "forced-SI-cycle-process"}},
      {"strong-snapshot-isolation", {"strong-session-snapshot-isolation"},
       {"G0-realtime", "G1c-realtime", "G-single-realtime", "G-nonadjacent-realtime", "forced-SI-cycle-realtime"}},
      {"strong-session-serializable", {"serializable", "strong-session-snapshot-isolation"},
       {"G2-item-process", "forced-cycle-process"}},
      {"strict-serializable", {"strong-session-serializable", "strong-snapshot-isolation"},
       {"G2-item-realtime", "forced-cycle-realtime"}},
  };
  return models;
}

const Model& find(const std::string& name) {
  for (const Model& m : table())
    if (m.name == name) return m;
  assert(false && "unknown model");
  return table().front();
}

// The model and every model it implies, transitively.
std::set<std::string> implied(const std::string& name) {
  std::set<std::string> out{name};
  for (const std::string& weaker : find(name).implies) out.merge(implied(weaker));
  return out;
}

bool intersects(const std::set<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) { return b.count(x); });
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Model& m : table()) out.push_back(m.name);
    return out;
  }();
  return names;
}

bool is_model(const std::string& name) {
  const auto& names = model_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::set<std::string> forbidden_anomalies(const std::string& model) {
  std::set<std::string> out;
  for (const std::string& m : implied(model))
    for (const std::string& a : find(m).forbids) out.insert(a);
  return out;
}

ModelBoundary model_boundary(const std::set<std::string>& found,
                             const std::set<std::string>& unfinished) {
  std::set<std::string> ruled_out, open;
  for (const std::string& m : model_names()) {
    auto forbidden = forbidden_anomalies(m);
    if (intersects(forbidden, found)) {
      ruled_out.insert(m);
    } else if (intersects(forbidden, unfinished)) {
      open.insert(m);
    }
  }
  ModelBoundary b;
  for (const std::string& m : model_names()) {
    auto weaker = implied(m);
    weaker.erase(m);
    if (ruled_out.count(m)) {
      (intersects(weaker, ruled_out) ? b.ruled_out_others : b.ruled_out_weakest).push_back(m);
      continue;
    }
    if (open.count(m)) {
      b.undecided.push_back(m);
      continue;
    }
    // Strongest holding: no stronger model holds too.
    bool stronger_holds = std::any_of(model_names().begin(), model_names().end(), [&](auto& s) {
      return s != m && implied(s).count(m) && !ruled_out.count(s) && !open.count(s);
    });
    if (!stronger_holds) b.strongest_holding.push_back(m);
  }
  return b;
}

}  // namespace faultline::checker::txn
