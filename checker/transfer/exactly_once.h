// The exactly-once contract of a transfer service under at-least-once delivery, proved from a
// history and the final state (the Two Generals problem made testable): a client cannot learn
// whether a request whose answer was lost took effect, so it resends it; the service promises
// that each transfer is applied once however often it arrives (an idempotency key, a dedupe
// store), and the checker tests that promise against what the store finally holds.
//
// History (workloads/transfer.cpp writes it, a target's client answers it):
//  - "open-accounts" {"balances": [b0, b1, ...]}: the starting balances (account i holds bi);
//  - "transfer" {"id", "from", "to", "amount", "attempt", "key" (absent: sent without one),
//    "min_balance" (absent: balances may go negative)}: one attempt of transfer `id`; attempts
//    of one transfer are resends of the same request. An ok answer may say "duplicate": true
//    (the key was applied before: acknowledged, not applied again); a fail may say "declined"
//    (the service refused: insufficient funds);
//  - "read-accounts" ok {"balances": [...], "applied": [[id, from, to, amount, from_after, key],
//    ...]}: one snapshot of every balance and of the applied-transfer log, a row the store wrote
//    in the same transaction as each balance change it made (from_after: the debited balance).
//
// The contract, each part checked on its own:
//  - the final balances equal the starting ones plus the log's transfers (the log is the whole
//    truth about what changed), and the total is conserved;
//  - each transfer is in the log at most once (no key applied twice);
//  - an acknowledged transfer (some attempt ok) is in the log, with the amounts it asked for;
//  - a transfer none of whose attempts can have applied (all fail) is not;
//  - the others (some attempt info, none ok) are resolved by the log: applied or not, listed;
//  - with min_balance, no balance in the final read and no logged debit is below it.
// Invalid when any part fails; unknown when the accounts were never opened or no final read
// succeeded (nothing proves what was applied); valid only when every part holds.
#pragma once

#include <memory>

#include "checker/checker.h"

namespace faultline::checker {

// details: transfers, attempts, retried (transfers sent more than once), with_unknown_attempt
// (transfers with an info attempt), acknowledged,
// acknowledged_duplicate, definitely_failed, declined, unresolved, resolved_applied and
// resolved_not_applied (transfer ids, the first 200), double_applied ([{id, times}]), lost,
// unexpected, mismatched, negative, unexplained_accounts, total_initial, total_final, keys
// ("per-transfer", "per-attempt", "none", "mixed"), dual (the contract's limits in plain words),
// not_exercised ([{what, why}]).
CheckResult check_exactly_once(const History& history);

std::shared_ptr<const Checker> exactly_once_checker();

}  // namespace faultline::checker
