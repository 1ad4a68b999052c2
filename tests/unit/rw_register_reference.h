// Ground truth for rw-register isolation claims on small histories, by brute force and on
// purpose sharing nothing with checker/txn: it reads the History itself and decides a claim by
// trying every way the history could have run.
//
// A run is: a set of committed txns (every ok txn, any subset of the info txns, no failed
// one), a commit order of them, and for each a start point: how many of the commits before its
// own it saw. This is the operational model of snapshot isolation (Berenson et al.) with its
// 2n start/commit events: starts between two commits see the same state, so an order of the
// events is a commit order plus a start point per txn. A txn reads the state its start point
// saw, overlaid with its own writes; only ok txns' reads are checked (info and failed txns
// report none). Claims then restrict runs:
//  - serial visibility: every txn starts right before it commits (sees every earlier commit);
//    this is serializability, and start points vanish;
//  - snapshot visibility: any start point, but two txns that write a common key may not be
//    concurrent (first committer wins: one commits before the other starts);
//  - session order: a process's earlier committed txn is seen by its later ones;
//  - realtime order: a txn that completed ok before another was invoked is seen by it.
// These are Cerone, Bernardi and Gotsman's axioms (CONCUR 2015): visibility a prefix of the
// commit order (PREFIX), NOCONFLICT, and SESSION / realtime as "seen by"; serializability is
// TOTALVIS. Keys start at the initial value (nil when none is given).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/history.h"

namespace faultline::test::rw_reference {

enum class Visibility : std::uint8_t { serial, snapshot };
enum class ReadsChecked : std::uint8_t {
  all,
  // Only a txn's first access of a key, when it is a read: the checker's repeatable read does
  // not forbid `internal` (a later read disagreeing with the txn's own reads and writes).
  external,
};

struct Claim {
  Visibility visibility = Visibility::serial;
  ReadsChecked reads = ReadsChecked::all;
  bool session_order = false;
  bool realtime_order = false;
};

// The claim a model name stands for; nullopt for the models the reference does not decide
// (read-uncommitted, read-committed: they constrain version orders, not runs).
std::optional<Claim> claim_for(const std::string& model);

// Whether some run of `history` satisfies `claim`. REQUIRES: at most ~8 txns (the search is
// exponential), micro-ops ["w", k, v] / ["r", k, v-or-nil] with integer values.
bool allows(const History& history, const Claim& claim, std::optional<std::int64_t> initial_value);

}  // namespace faultline::test::rw_reference
