// iptables inside node namespaces, one chain per fault so that faults compose: a partition and
// packet loss can be in force at once, and healing one leaves the other.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nemesis/nemesis.h"

namespace faultline {

// Replaces the rules of `chain` (in the filter table, jumped to from INPUT) on `node` with
// `rules` (each like "-s 10.0.0.1/32 -j DROP"); empty rules heal. Throws on failure.
void set_input_chain(NemesisContext& context, const std::string& node, const std::string& chain,
                     const std::vector<std::string>& rules);

// Runs `action` on every node in turn, going on past a node where it throws (a remote host that
// stopped answering must not keep the reachable ones partitioned), then throws one
// std::runtime_error naming each node that failed and why.
void on_each_node(const std::vector<std::string>& nodes,
                  const std::function<void(const std::string&)>& action);

}  // namespace faultline
