// The link proxies of a run: one faultline-proxy (proxy/link_proxy.cpp) per node, inside its
// namespace, and the iptables NAT chain FL-PROXY there that sends the node's TCP connections to
// its peers through it. The link faults (nemesis/link_faults.cpp) share them: each holds its
// toxics under its own key, and every proxy's config file is the union of what all hold, so a
// latency and a timeout can be in force at once and heal independently.
//
// Lifetime: made by the first link fault's setup (before the servers start, so that their
// long-lived peer connections are proxied from the first), once per run. The proxies are
// processes of NodeControl::spawn and the rules live inside the node namespaces: both go with
// the namespaces at teardown or `faultline clean` (and the proxies with the harness, as every
// spawned process does, if it is SIGKILLed). Config files are NodeFiles scratch files
// (journaled).
#pragma once

#include <string>
#include <vector>

#include "nemesis/nemesis.h"

namespace faultline {

// One toxic on traffic that node `from` sends to node `to` (Toxiproxy's toxic on one stream).
struct LinkToxic {
  std::string kind;  // latency, bandwidth, slow-close, timeout, reset-peer
  std::string from, to;
  double probability = 1;  // per connection, rolled once (Toxiproxy's toxicity)
  double a = 0, b = 0;     // latency: ms, ± jitter ms; bandwidth: KB/s; slow-close: ms
};

// Starts the proxies on every node and routes node-to-node TCP through them. Idempotent per run.
// Throws std::runtime_error when a proxy does not come up or the rules cannot be installed.
void ensure_link_proxies(NemesisContext& context);

// Replaces the toxics held under `owner` (one link fault) with `toxics` and rewrites every
// proxy's config file; empty heals that owner's. REQUIRES: ensure_link_proxies ran.
void set_link_toxics(NemesisContext& context, const void* owner, std::vector<LinkToxic> toxics);

}  // namespace faultline
