// Network partitions: iptables DROP rules on INPUT inside node namespaces (Jepsen's partition
// nemesis). A grudge maps each node to the nodes whose packets it drops; rules are replaced
// atomically per node with iptables-restore, and healing restores an empty filter table.
//
// Shapes (spec option nemesis.partition.shapes, default all that fit the node count):
//  one              one node cut off from all others
//  halves           a minority and a majority
//  majorities-ring  every node sees a majority, no two see the same one (needs 5+ nodes)
//  bridge           two halves and one node that still sees both (needs 3+ nodes)
#include <algorithm>
#include <map>
#include <set>

#include "nemesis/nemesis.h"

namespace faultline {
namespace {

using nlohmann::json;
using Grudge = std::map<std::string, std::set<std::string>>;  // node -> nodes it drops

const std::vector<std::string> kShapes = {"one", "halves", "majorities-ring", "bridge"};

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
  explicit PartitionNemesis(std::vector<std::string> shapes) : shapes_(std::move(shapes)) {}

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    std::vector<std::string> names;
    for (const auto& n : context.nodes.nodes()) names.push_back(n.name);
    std::vector<std::string> usable;
    for (const auto& s : shapes_)
      if (names.size() >= min_nodes(s)) usable.push_back(s);
    if (usable.empty()) throw std::runtime_error("no partition shape fits " + std::to_string(names.size()) + " nodes");
    std::string shape = usable[rng() % usable.size()];
    std::shuffle(names.begin(), names.end(), rng);
    Grudge grudge = make_grudge(shape, names);
    apply(context, grudge);
    description_ = shape + " " + components_text(names, grudge);
    json grudge_json = json::object();
    for (const auto& [node, dropped] : grudge) grudge_json[node] = dropped;
    return {{"shape", shape}, {"grudge", grudge_json}, {"description", description_}};
  }

  json stop(NemesisContext& context) override {
    apply(context, Grudge{});
    description_.clear();
    return {{"healed", "all nodes"}};
  }

  std::string describe_active() const override { return description_; }

 private:
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

  // Replaces each node's filter table with the DROP rules of its grudge (none: healed).
  static void apply(NemesisContext& context, const Grudge& grudge) {
    for (const auto& node : context.nodes.nodes()) {
      std::string rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
      if (auto it = grudge.find(node.name); it != grudge.end())
        for (const auto& dropped : it->second)
          rules += "-A INPUT -s " + context.nodes.node(dropped).address + "/32 -j DROP\n";
      rules += "COMMIT\n";
      CommandResult r = context.nodes.run(node.name, {"iptables-restore", "-w", "5"}, rules);
      if (!r.ok()) throw std::runtime_error("iptables-restore on " + node.name + ": " + r.output);
    }
  }

  std::vector<std::string> shapes_;
  std::string description_;
};

const bool registered = NemesisRegistry::add("partition", [](FieldReader& options) {
  auto shapes = options.strings("shapes", kShapes);
  for (const auto& s : shapes)
    if (std::find(kShapes.begin(), kShapes.end(), s) == kShapes.end())
      options.fail_key("shapes", "unknown shape '" + s +
                                     "' (expected one, halves, majorities-ring or bridge)");
  return std::make_unique<PartitionNemesis>(shapes);
});

}  // namespace
}  // namespace faultline
