// Server timestamps against happens-before (Lamport, "Time, Clocks, and the Ordering of Events
// in a Distributed System", 1978): the timestamps workload's writes each carry the time the
// server gave them (its wall clock). Whenever write A completed before write B was invoked, by
// the harness' monotonic clock (real-time happens-before: nothing a node says about time), a
// store that orders writes by these times needs ts(A) < ts(B). A pair with ts(A) >= ts(B) is an
// inversion.
//
// Last-write-wins (LWW) loss: a store that resolves a key's writes by keeping the one with the
// latest time keeps A over B whenever A and B write the same key and ts(A) >= ts(B), although B
// came later. A write B is counted as lost by LWW iff some write A to the same key completed
// before B was invoked with ts(A) >= ts(B): B is then ordered before a write that really
// preceded it, so merged with A it is dropped. Each such B counts once, however many A's.
//
// Input: ops f "timed-write" (key, value) whose ok completion's value is {"server_time_us": t}.
// Verdict: invalid when some inversion exists; unknown when none was found but some write's
// outcome (info, or never completed) or time is not known, since it may have happened with any
// time; valid otherwise.
#pragma once

#include <memory>

#include "checker/checker.h"

namespace faultline::checker {

// details: writes (ok, timed), writes_unknown, keys, inversions (pairs), inverted_writes (B's
// with an inversion, any key), lww_lost (per key, as defined above), max_inversion_us.
// Anomalies: one per inverted B (at most 20 shown, the largest first), against the A whose time
// is furthest ahead of B's.
CheckResult check_timestamps(const History& history);

std::shared_ptr<const Checker> timestamps_checker();

}  // namespace faultline::checker
