// Session guarantees (Terry et al., "Session Guarantees for Weakly Consistent Replicated Data",
// 1994; as axioms in Viotti & Vukolić, "Consistency in Non-Transactional Distributed Storage
// Systems", 2016) on single-object histories: register and kv ops (read, write, cas), per key.
//
// Every value is written at most once per key, so a read names the write it saw (reads-from;
// nil: the initial state, which precedes every write). What is not observed is each key's
// version order: the order in which the store arranges its writes. The history satisfies the
// four guarantees iff some total version order per key meets all of these, for every process P
// (its ops on the key in invocation order, its ok reads, and the writes that happened: ok, or
// info / never completed yet read by someone; a failed write never happened):
//   monotonic reads      P reads r1 then r2:           rf(r1) <= rf(r2)
//   read-your-writes     P writes w (ok) then reads r: w <= rf(r)
//   monotonic writes     P writes w1 then w2:          w1 < w2
//   writes-follow-reads  P reads r then writes w:      rf(r) < w
// (Taking each read's visible writes to be every write up to the one it read, these are exactly
// Terry's definitions.) Real time is not part of any of them, so it is never used. Each rule
// adds an edge between two writes; the guarantees hold iff the edges are acyclic, so every
// violation is a cycle, shown as its chain of ops: process order plus reads-from. A cycle is
// named after the first of monotonic reads, read-your-writes, writes-follow-reads, monotonic
// writes among its edges (the reads where the broken order is observed come first).
//
// Unknown, never valid, when no cycle was found but some ok read returned a value that no write
// attempted (or more than one did, or only a failed one): its source, and so its edges, are not
// known.
#pragma once

#include <memory>

#include "checker/checker.h"

namespace faultline::checker {

// details: keys, reads, writes (that happened), edges, reads_unknown_source, cycles (all found),
// cycles_by_kind. Anomalies: one per cycle, at most 20 (a strongly connected group of writes
// gives one cycle through it).
CheckResult check_session(const History& history);

std::shared_ptr<const Checker> session_checker();

}  // namespace faultline::checker
