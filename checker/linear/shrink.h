// Shrinking a non-linearizable register history to a counterexample a reviewer can read
// ("these 5 ops of 12,000 show it"): delta debugging (Zeller's ddmin) over whole ops of the
// invalid key, keeping each invocation with its completion.
//
// Every step keeps the proof: a shrunk history that is not linearizable means the original is
// not either. That holds because only these removals are made:
//  - ops of other keys (keys are independent objects);
//  - ops invoked after the blocked op completed, ops still running then becoming pending (a
//    linearization of the whole restricted to that prefix is one of the prefix);
//  - any set R of ops such that no kept op observes a value an op of R invoked before the
//    observer completed produces (an ok read's value, a cas's expected value vs a write's or
//    cas's new value): in a linearization of the original, the mutation an observer sees is
//    linearized before it, so invoked before it completed; every kept observer then sees the
//    state a kept op (or the initial value) made.
// So the result is not a heuristic: it is itself a non-linearizable history. Registers only
// (register, cas-register, kv): the models whose reads and writes say which values they observe
// and produce.
#pragma once

#include "checker/checker.h"
#include "checker/linear/linearizability.h"

namespace faultline::checker {

// Adds details["counterexample"] to an invalid result of check_linearizable on `history`:
// {key, ops (invocation indexes, in time order), focus, cut_ns (completions after it dropped;
// -1: none), from_ops, minimal, checks, time_s, note}. `minimal`: dropping any one more op breaks the proof or makes the history
// linearizable. Stops at options.shrink_budget_s and says so. Does nothing for other models.
void attach_counterexample(CheckResult& check, const History& history,
                           const LinearOptions& options);

// The counterexample as a history of its own (indexes renumbered from 0): the kept ops'
// invocations and their completions up to its cut. What attach_counterexample checked.
History counterexample_history(const History& history, const nlohmann::json& counterexample);

}  // namespace faultline::checker
