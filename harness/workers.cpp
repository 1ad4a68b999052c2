#include "harness/workers.h"

#include <algorithm>

#include "core/log.h"

namespace faultline {
namespace {

Completion invoke_guarded(Client& client, const Op& op) {
  try {
    return client.invoke(op);
  } catch (const std::exception& e) {
    // A client bug or an unexpected answer: the op may have happened.
    log::warn("client threw on " + op.f + ": " + e.what());
    return {OpType::info, nullptr, std::string("client error: ") + e.what()};
  }
}

// A worker's connections, one per node it talks to, each opened on first use (sticky routing
// opens one; per-op routing up to one per node).
class Connections {
 public:
  Connections(Target& target, const std::vector<NodeInfo>& nodes, ClientOptions options)
      : target_(target), nodes_(nodes), options_(options), clients_(nodes.size()) {}

  Client& to(std::size_t node) {
    if (!clients_[node]) clients_[node] = target_.open_client(nodes_[node], options_);
    return *clients_[node];
  }
  // The next op to `node` goes through a fresh connection.
  void reset(std::size_t node) { clients_[node].reset(); }

 private:
  Target& target_;
  const std::vector<NodeInfo>& nodes_;
  ClientOptions options_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace

void Workers::start(StopFlag& phase_over) {
  for (int w = 0; w < test_.spec.concurrency; ++w)
    threads_.emplace_back([this, w, &phase_over] { work(w, phase_over); });
}

void Workers::join() {
  for (auto& t : threads_) t.join();
  threads_.clear();
}

Op Workers::perform(Client& client, Op op) {
  op.type = OpType::invoke;
  Op invoked = recorder_.record(op);
  Completion c = invoke_guarded(client, invoked);
  Op done = invoked;
  done.type = c.type;
  if (!c.value.is_null() || c.type == OpType::ok) done.value = c.value;
  done.error = c.error;
  Op recorded = recorder_.record(std::move(done));
  counts_.add(c.type);
  return recorded;
}

void Workers::work(int worker, StopFlag& phase_over) {
  const Spec& spec = test_.spec;
  Rng rng(spec.seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(worker + 1)));
  // Routing draws from a stream of its own, so a worker's ops are the same under either routing.
  Rng route_rng(spec.seed ^ (0xD1B54A32D192ED03ull * static_cast<std::uint64_t>(worker + 1)));
  const auto& nodes = cluster_.nodes();
  const std::size_t home = static_cast<std::size_t>(worker) % nodes.size();
  Connections connections(*test_.target, nodes, ClientOptions{spec.timeout_ms});
  std::int64_t process = first_process_ + worker;
  auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(spec.concurrency / spec.rate_per_s));
  // Stagger the workers so they do not fire in lockstep.
  auto next = recorder_.start() + interval * static_cast<int>(rng() % 1000) / 1000;
  std::optional<Op> resend;  // the workload's retry of the last op, sent at the next tick
  while (!phase_over.wait_until(next)) {
    next = std::max(next + interval, Clock::now());
    Op op = resend ? std::move(*resend) : test_.workload->generate(rng);
    // A resend is routed afresh too, as a load balancer would.
    std::size_t node = spec.routing == Routing::per_op ? route_rng() % nodes.size() : home;
    op.process = process;
    op.node = nodes[node].name;
    Op done = perform(connections.to(node), std::move(op));
    resend = test_.workload->retry(done);
    if (done.type == OpType::info) {
      // The process may still have an op in flight forever: continue as a fresh process,
      // with a fresh connection (Jepsen: process + concurrency).
      process += spec.concurrency;
      connections.reset(node);
    }
  }
  std::int64_t seen = highest_process_.load();
  while (process > seen && !highest_process_.compare_exchange_weak(seen, process)) {
  }
}

void Workers::run_initial_ops() {
  // Processes 0.. ; the workers then start above them, at a multiple of concurrency, so that
  // process mod concurrency still names the worker and no process is reused after an info.
  auto ops = test_.workload->initial_ops();
  auto concurrency = static_cast<std::int64_t>(test_.spec.concurrency);
  first_process_ = (static_cast<std::int64_t>(ops.size()) + concurrency - 1) / concurrency * concurrency;
  run_once(ops, 0);
}

void Workers::run_final_ops() {
  run_once(test_.workload->final_ops(),
           std::max<std::int64_t>(highest_process_.load() + 1, test_.spec.concurrency));
}

void Workers::run_once(const std::vector<Op>& ops, std::int64_t process) {
  const auto& nodes = cluster_.nodes();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const NodeInfo& node = nodes[i % nodes.size()];
    auto client = test_.target->open_client(node, ClientOptions{test_.spec.timeout_ms});
    Op op = ops[i];
    op.process = process++;
    op.node = node.name;
    perform(*client, std::move(op));
  }
}

}  // namespace faultline
