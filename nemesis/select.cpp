// Node selectors shared by every fault.
#include <algorithm>
#include <chrono>
#include <thread>

#include "core/text.h"
#include "nemesis/nemesis.h"

namespace faultline {

namespace {
const std::vector<std::string> kSelectors = {"one", "minority", "majority", "all", "primaries"};

bool is_selector(const std::string& s) {
  return std::find(kSelectors.begin(), kSelectors.end(), s) != kSelectors.end();
}
// An empty answer may be a probe that timed out on a loaded host or an election still under way:
// ask again for a bounded while (kPrimaryProbeBudget) so the record says who leads, not "nobody".
constexpr auto kPrimaryProbeBudget = std::chrono::milliseconds(2000);
constexpr auto kPrimaryProbeInterval = std::chrono::milliseconds(200);
}  // namespace

std::vector<std::string> settled_primaries(PrimaryAware& aware) {
  auto deadline = std::chrono::steady_clock::now() + kPrimaryProbeBudget;
  std::vector<std::string> primaries = aware.primaries();
  while (primaries.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kPrimaryProbeInterval);
    primaries = aware.primaries();
  }
  return primaries;
}

std::string join_nodes(const std::vector<std::string>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + n;
  return out;
}

NodeSelector::NodeSelector(FieldReader& options, const std::string& key, const NemesisEnv& env,
                           std::vector<std::string> fallback) {
  YAML::Node node = options.raw(key);
  std::vector<std::string> given;
  if (node && node.IsScalar())
    given = {options.string(key)};
  else
    given = options.strings(key, fallback);
  if (given.empty()) options.fail_key(key, "expected at least one selector or node name");
  bool all_selectors = std::all_of(given.begin(), given.end(), is_selector);
  bool all_names = std::all_of(given.begin(), given.end(), [&](const std::string& s) {
    return std::find(env.node_names.begin(), env.node_names.end(), s) != env.node_names.end();
  });
  if (all_selectors) {
    kinds_ = given;
  } else if (all_names) {
    names_ = given;
    std::sort(names_.begin(), names_.end());
    names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
  } else {
    std::string bad;
    for (const auto& s : given)
      if (!is_selector(s) && std::find(env.node_names.begin(), env.node_names.end(), s) == env.node_names.end())
        bad = s;
    options.fail_key(key, (bad.empty() ? std::string("mixes selectors and node names")
                                       : "'" + printable(bad) + "' is neither a selector nor a node") +
                              " (expected one of one, minority, majority, all, primaries, or "
                              "node names " + join_nodes(env.node_names) + ")");
  }
  if (std::find(kinds_.begin(), kinds_.end(), "primaries") != kinds_.end() &&
      !dynamic_cast<PrimaryAware*>(&env.target))
    options.fail_key(key, "selector 'primaries' needs a target that knows its primary; this "
                          "target does not");
}

std::vector<std::string> NodeSelector::choose(NemesisContext& context,
                                              std::mt19937_64& rng) const {
  if (!names_.empty()) return names_;
  std::vector<std::string> all;
  for (const auto& n : context.cluster.nodes()) all.push_back(n.name);
  const std::string& kind = kinds_[rng() % kinds_.size()];
  std::vector<std::string> chosen;
  if (kind == "primaries") {
    chosen = dynamic_cast<PrimaryAware&>(context.target).primaries();
    if (chosen.empty()) throw std::runtime_error("no primary known right now");
  } else {
    std::shuffle(all.begin(), all.end(), rng);
    std::size_t n = all.size();
    std::size_t count = kind == "one"        ? 1
                        : kind == "minority" ? std::max<std::size_t>(1, (n - 1) / 2)
                        : kind == "majority" ? n / 2 + 1
                                             : n;
    chosen.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(count, n)));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace faultline
