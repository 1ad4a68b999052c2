#include "core/node_control.h"

#include <signal.h>

#include <stdexcept>

namespace faultline {

void NodeProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  signal(SIGCONT);  // a paused process cannot act on SIGTERM
  signal(SIGTERM);
  if (wait_for_exit(grace)) return;
  signal(SIGKILL);
  wait_for_exit(std::chrono::seconds(5));
}

const NodeInfo& NodeControl::node(const std::string& name) const {
  for (const auto& n : nodes())
    if (n.name == name) return n;
  throw std::invalid_argument("no node named " + name);
}

}  // namespace faultline
