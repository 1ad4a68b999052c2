// Slow and flaky links, Toxiproxy's toxics on node-to-node TCP through the link proxies
// (nemesis/link_proxy.h), for a kernel without tc netem:
//   latency      each chunk delayed latency_ms ± jitter_ms (uniform), never reordered
//   bandwidth    at most rate_kb_per_s KB/s
//   slow-close   an EOF passed on only after delay_ms
//   timeout      nothing forwarded, connections kept open (a half-open link); held bytes flow
//                after the heal, as TCP's retransmissions would deliver them
//   reset-peer   connections closed with RST, the ones in force and every new one
// Options common to all (nemesis.<fault>):
//   nodes        a selector or node list (default one, minority, all): whose links
//   peers        the other ends, a selector or node list (default all; a node is never its own)
//   direction    both (default), outgoing (what the chosen nodes send), incoming (what they
//                receive): asymmetric links
//   probability  the share of connections the toxic applies to, rolled per connection (1)
// The proxies run from the start of the run whenever the spec names one of these faults, since
// servers keep their peer connections open and only new connections can be redirected.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>

#include "nemesis/link_proxy.h"

namespace faultline {
namespace {

using nlohmann::json;

// A toxic's own parameters, read from its options; `label` says them for the progress line.
struct ToxicParams {
  double a = 0, b = 0;
  std::string label;
};
using ParamsReader = std::function<ToxicParams(FieldReader&)>;

class LinkFaultNemesis final : public Nemesis {
 public:
  LinkFaultNemesis(std::string kind, ToxicParams params, NodeSelector nodes, NodeSelector peers,
                   std::string direction, double probability)
      : kind_(std::move(kind)), params_(std::move(params)), nodes_(std::move(nodes)),
        peers_(std::move(peers)), direction_(std::move(direction)), probability_(probability) {}

  void setup(NemesisContext& context) override { ensure_link_proxies(context); }

  json start(NemesisContext& context, std::mt19937_64& rng) override {
    std::vector<std::string> chosen = nodes_.choose(context, rng);
    std::vector<std::string> peers = peers_.choose(context, rng);
    std::set<std::pair<std::string, std::string>> links;  // (from, to)
    for (const auto& node : chosen)
      for (const auto& peer : peers) {
        if (peer == node) continue;  // links among chosen nodes count once each way (a set)
        if (direction_ != "incoming") links.emplace(node, peer);
        if (direction_ != "outgoing") links.emplace(peer, node);
      }
    if (links.empty())
      throw std::runtime_error(kind_ + ": no link between " + join_nodes(chosen) + " and peers " +
                               join_nodes(peers));
    std::vector<LinkToxic> toxics;
    json link_names = json::array();
    for (const auto& [from, to] : links) {
      toxics.push_back({kind_, from, to, probability_, params_.a, params_.b});
      link_names.push_back(from + "->" + to);
    }
    set_link_toxics(context, this, std::move(toxics));
    description_ = kind_ + (params_.label.empty() ? "" : " " + params_.label) + " " +
                   join_nodes(chosen) + " " + direction_;
    if (probability_ < 1) description_ += " p=" + std::to_string(probability_).substr(0, 4);
    return {{"nodes", chosen},       {"links", link_names},  {"direction", direction_},
            {"probability", probability_}, {"description", description_}};
  }

  json stop(NemesisContext& context) override {
    json what = {{"healed", kind_}};
    // Who leads just before healing: evidence that a leader behind a dead link lost its place.
    if (!description_.empty())
      if (auto* aware = dynamic_cast<PrimaryAware*>(&context.target))
        what["primaries_before_heal"] = settled_primaries(*aware);
    set_link_toxics(context, this, {});
    description_.clear();
    return what;
  }

  std::string describe_active() const override { return description_; }

 private:
  std::string kind_;
  ToxicParams params_;
  NodeSelector nodes_, peers_;
  std::string direction_;
  double probability_;
  std::string description_;
};

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// Registers link fault `kind` with the options every link fault takes and its own.
bool add_link_fault(const std::string& kind, ParamsReader read_params) {
  return NemesisRegistry::add(kind, [kind, read_params](FieldReader& options, const NemesisEnv& env) {
    NodeSelector nodes(options, "nodes", env, {"one", "minority", "all"});
    NodeSelector peers(options, "peers", env, {"all"});
    std::string direction =
        options.choice("direction", {"both", "outgoing", "incoming"}, std::string("both"));
    double probability = options.number("probability", 1, 0.0001, 1);
    ToxicParams params = read_params(options);
    return std::make_unique<LinkFaultNemesis>(kind, std::move(params), std::move(nodes),
                                              std::move(peers), direction, probability);
  });
}

const bool registered =
    add_link_fault("latency",
                   [](FieldReader& o) {
                     double ms = o.number("latency_ms", 100, 0, 600000);
                     double jitter = o.number("jitter_ms", 0, 0, 600000);
                     return ToxicParams{ms, jitter, number_text(ms) + "±" + number_text(jitter) + " ms"};
                   }) &&
    add_link_fault("bandwidth",
                   [](FieldReader& o) {
                     double rate = o.number("rate_kb_per_s", 100, 0.001, 1e9);
                     return ToxicParams{rate, 0, number_text(rate) + " KB/s"};
                   }) &&
    add_link_fault("slow-close",
                   [](FieldReader& o) {
                     double ms = o.number("delay_ms", 1000, 0, 600000);
                     return ToxicParams{ms, 0, number_text(ms) + " ms"};
                   }) &&
    add_link_fault("timeout", [](FieldReader&) { return ToxicParams{}; }) &&
    add_link_fault("reset-peer", [](FieldReader&) { return ToxicParams{}; });

}  // namespace
}  // namespace faultline
