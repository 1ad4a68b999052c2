// Executes a nemesis schedule (harness/schedule.h) on the test's nemeses. Each start and stop is
// recorded as an invoke of process "nemesis" ("start-partition", "stop-partition") and then an
// info whose value is what the nemesis did (or null and the error): a fault's effect is never
// certain, so never ok.
#pragma once

#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "harness/recorder.h"
#include "harness/schedule.h"
#include "harness/spec.h"
#include "nemesis/nemesis.h"

namespace faultline {

class FaultInterpreter {
 public:
  FaultInterpreter(Test& test, NemesisContext context);
  // Executes `schedule` in order, each op at its time, until the schedule ends or `phase_over`
  // (what is in force then is left to heal()).
  void run(const Schedule& schedule, Recorder& recorder, StopFlag& phase_over);
  // Stops every fault in force, recorded; undoes quietly whatever a failed start left. Returns
  // the faults it could not heal, each with why (a host that stopped answering); empty: all.
  std::vector<std::string> heal(Recorder& recorder);
  // The faults in force and what they do ("partition one n1-x-n2,n3; kill n2"); empty: none.
  // Thread-safe.
  std::string active() const;

 private:
  void execute(const FaultOp& op, Recorder& recorder);
  void set_active(std::size_t nemesis, std::string text);

  Test& test_;
  NemesisContext context_;
  std::mt19937_64 rng_;  // the nemeses' own choices (which nodes, which offset)
  mutable std::mutex active_mutex_;
  std::vector<std::string> active_;  // per nemesis: its description while in force
};

}  // namespace faultline
