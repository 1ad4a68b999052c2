// The clients: `concurrency` worker threads, worker w bound to node w mod N (or, with per-op
// routing, each op to a node drawn at random), together invoking
// the workload's ops at rate_per_s, every invocation and completion recorded. A worker is one
// process at a time: after an info (the op may still take effect) it continues as
// process + concurrency on a fresh connection (Jepsen's rule). The workload may resend an op
// that did not end ok (Workload::retry: at-least-once delivery) instead of generating one.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/node_control.h"
#include "harness/progress.h"
#include "harness/recorder.h"
#include "harness/spec.h"

namespace faultline {

class Workers {
 public:
  Workers(Test& test, NodeControl& cluster, Recorder& recorder)
      : test_(test), cluster_(cluster), recorder_(recorder) {}
  // Starts the worker threads; they stop at `phase_over`. REQUIRES: join() before destruction.
  void start(StopFlag& phase_over);
  void join();
  // The workload's initial ops, one each, on processes below every worker's. REQUIRES: before
  // start().
  void run_initial_ops();
  // The workload's final ops (after the heal), one each, on fresh processes above every
  // worker's. REQUIRES: joined.
  void run_final_ops();
  const OpCounts& counts() const { return counts_; }

 private:
  void work(int worker, StopFlag& phase_over);
  // Invokes `op` through `client` and records both ends. Returns the completion as recorded.
  Op perform(Client& client, Op op);
  // Runs `ops` one at a time, each on a fresh process from `process` up (a connection each).
  void run_once(const std::vector<Op>& ops, std::int64_t process);

  Test& test_;
  NodeControl& cluster_;
  Recorder& recorder_;
  std::vector<std::thread> threads_;
  OpCounts counts_;
  std::int64_t first_process_ = 0;  // worker w starts as first_process_ + w
  std::atomic<std::int64_t> highest_process_{0};  // final ops use fresh processes above it
};

}  // namespace faultline
