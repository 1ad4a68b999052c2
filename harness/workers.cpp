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
  const auto& nodes = cluster_.nodes();
  const NodeInfo& node = nodes[static_cast<std::size_t>(worker) % nodes.size()];
  ClientOptions client_options{spec.timeout_ms};
  auto client = test_.target->open_client(node, client_options);
  std::int64_t process = first_process_ + worker;
  auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(spec.concurrency / spec.rate_per_s));
  // Stagger the workers so they do not fire in lockstep.
  auto next = recorder_.start() + interval * static_cast<int>(rng() % 1000) / 1000;
  std::optional<Op> resend;  // the workload's retry of the last op, sent at the next tick
  while (!phase_over.wait_until(next)) {
    next = std::max(next + interval, Clock::now());
    Op op = resend ? std::move(*resend) : test_.workload->generate(rng);
    op.process = process;
    op.node = node.name;
    Op done = perform(*client, std::move(op));
    resend = test_.workload->retry(done);
    if (done.type == OpType::info) {
      // The process may still have an op in flight forever: continue as a fresh process,
      // with a fresh connection (Jepsen: process + concurrency).
      process += spec.concurrency;
      client = test_.target->open_client(node, client_options);
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
