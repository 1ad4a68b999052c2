// Network partitions: iptables DROP rules on INPUT inside node namespaces (Jepsen's partition
// nemesis). A grudge maps each node to the nodes whose packets it drops; each node's chain
// FL-PARTITION is replaced atomically with iptables-restore, and healing empties it.
//
// Shapes (spec option nemesis.partition.shapes, default all that fit the node count):
//  one              one node cut off from all others
//  halves           a minority and a majority
//  majorities-ring  every node sees a majority, no two see the same one (needs 5+ nodes)
//  bridge           two halves and one node that still sees both (needs 3+ nodes)
//  primaries        the current primaries (etcd's leader, Redis' master) cut off from the rest
// Or option nodes (a selector or node list, instead of shapes): those nodes cut off from the rest.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "nemesis/iptables.h"

namespace faultline {
namespace {

using nlohmann::json;
using Grudge = std::map<std::string, std::set<std::string>>;  // node -> nodes it drops

const std::vector<std::string> kShapes = {"one", "halves", "majorities-ring", "bridge",
                                          "primaries"};

std::size_t min_nodes(const std::string& shape) {
  if (shape == "majorities-ring") return 5;
  if (shape == "bridge") return 3;
  return 2;
}

// Every node drops every node outside its own component.
Grudge grudge_between(const std::vector<std::vector<std::string>>& components) {
  Grudge grudge;
  for (const auto& a : components)
    for (const auto& node : a)
      for (const auto& b : components)
        if (&a != &b) grudge[node].insert(b.begin(), b.end());
  return grudge;
}

Grudge majorities_ring(const std::vector<std::string>& ring) {
  const std::size_t n = ring.size();
  const std::size_t majority = n / 2 + 1;
  const std::size_t reach = majority / 2;  // ring distance each node still sees
  Grudge grudge;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t d = i > j ? i - j : j - i;
      if (std::min(d, n - d) > reach) grudge[ring[i]].insert(ring[j]);
    }
  return grudge;
}

class PartitionNemesis final : public Nemesis {
 public:
  PartitionNemesis(std::vector<std::string> shapes, std::optional<NodeSelector> isolated)
      : shapes_(std::move(shapes)), isolated_(std::move(isolated)) {}

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    std::vector<std::string> names;
    for (const auto& n : context.cluster.nodes()) names.push_back(n.name);
    if (isolated_) return isolate("nodes", isolated_->choose(context, rng), names, context);
    std::vector<std::string> usable;
    for (const auto& s : shapes_)
      if (names.size() >= min_nodes(s)) usable.push_back(s);
    if (usable.empty()) throw std::runtime_error("no partition shape fits " + std::to_string(names.size()) + " nodes");
    std::string shape = usable[rng() % usable.size()];
    if (shape == "primaries") {
      auto primaries = dynamic_cast<PrimaryAware&>(context.target).primaries();
      if (primaries.empty()) throw std::runtime_error("no primary known right now");
      return isolate(shape, primaries, names, context);
    }
    std::shuffle(names.begin(), names.end(), rng);
    Grudge grudge = make_grudge(shape, names);
    apply(context, grudge);
    description_ = shape + " " + components_text(names, grudge);
    json grudge_json = json::object();
    for (const auto& [node, dropped] : grudge) grudge_json[node] = dropped;
    return {{"shape", shape}, {"grudge", grudge_json}, {"description", description_}};
  }

  json stop(NemesisContext& context) override {
    json what = {{"healed", "all nodes"}};
    // Who leads just before healing: evidence that a cut-off primary lost its place.
    if (!description_.empty())
      if (auto* aware = dynamic_cast<PrimaryAware*>(&context.target))
        what["primaries_before_heal"] = settled_primaries(*aware);
    apply(context, Grudge{});
    description_.clear();
    return what;
  }

  std::string describe_active() const override { return description_; }

 private:
  // `isolated` cut off from every other node.
  json isolate(const std::string& shape, const std::vector<std::string>& isolated,
               const std::vector<std::string>& names, NemesisContext& context) {
    std::vector<std::string> rest;
    for (const auto& n : names)
      if (std::find(isolated.begin(), isolated.end(), n) == isolated.end()) rest.push_back(n);
    Grudge grudge = grudge_between({isolated, rest});
    apply(context, grudge);
    description_ = shape + " " + components_text(names, grudge);
    json grudge_json = json::object();
    for (const auto& [node, dropped] : grudge) grudge_json[node] = dropped;
    return {{"shape", shape}, {"isolated", isolated}, {"grudge", grudge_json},
            {"description", description_}};
  }

  static Grudge make_grudge(const std::string& shape, const std::vector<std::string>& names) {
    auto half = names.begin() + static_cast<std::ptrdiff_t>(names.size() / 2);
    if (shape == "one") return grudge_between({{names[0]}, {names.begin() + 1, names.end()}});
    if (shape == "halves") return grudge_between({{names.begin(), half}, {half, names.end()}});
    if (shape == "majorities-ring") return majorities_ring(names);
    // bridge: names[0] sees everyone; the rest split in two halves that drop each other.
    std::vector<std::string> rest(names.begin() + 1, names.end());
    auto mid = rest.begin() + static_cast<std::ptrdiff_t>(rest.size() / 2);
    return grudge_between({{rest.begin(), mid}, {mid, rest.end()}});
  }

  // "n1 sees n2,n3 | ..." reads poorly for rings; list what each node drops instead.
  static std::string components_text(const std::vector<std::string>& names, const Grudge& grudge) {
    std::string out;
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& node : sorted) {
      auto it = grudge.find(node);
      if (it == grudge.end() || it->second.empty()) continue;
      out += (out.empty() ? "" : " ") + node + "-x-";
      bool first = true;
      for (const auto& d : it->second) {
        out += (first ? "" : ",") + d;
        first = false;
      }
    }
    return out;
  }

  // Replaces each node's partition chain with the DROP rules of its grudge (none: healed).
  static void apply(NemesisContext& context, const Grudge& grudge) {
    std::vector<std::string> names;
    for (const auto& node : context.cluster.nodes()) names.push_back(node.name);
    on_each_node(names, [&](const std::string& node) {
      std::vector<std::string> rules;
      if (auto it = grudge.find(node); it != grudge.end())
        for (const auto& dropped : it->second)
          rules.push_back("-s " + context.cluster.node(dropped).address + "/32 -j DROP");
      set_input_chain(context, node, "FL-PARTITION", rules);
    });
  }

  std::vector<std::string> shapes_;
  std::optional<NodeSelector> isolated_;
  std::string description_;
};

const bool registered = NemesisRegistry::add("partition", [](FieldReader& options,
                                                               const NemesisEnv& env) {
  bool primary_aware = dynamic_cast<PrimaryAware*>(&env.target) != nullptr;
  if (options.has("nodes")) {
    if (options.has("shapes"))
      options.fail_key("nodes", "give either shapes or nodes (the nodes to cut off), not both");
    return std::make_unique<PartitionNemesis>(std::vector<std::string>{},
                                              NodeSelector(options, "nodes", env, {}));
  }
  std::vector<std::string> defaults = kShapes;
  if (!primary_aware) defaults.pop_back();
  auto shapes = options.strings("shapes", defaults);
  for (const auto& s : shapes) {
    if (std::find(kShapes.begin(), kShapes.end(), s) == kShapes.end())
      options.fail_key("shapes", "unknown shape '" + s +
                                     "' (expected one, halves, majorities-ring, bridge or primaries)");
    if (s == "primaries" && !primary_aware)
      options.fail_key("shapes", "shape 'primaries' needs a target that knows its primary; this "
                                 "target does not");
  }
  return std::make_unique<PartitionNemesis>(shapes, std::nullopt);
});

}  // namespace
}  // namespace faultline
