#include "checker/transfer/exactly_once.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace faultline::checker {
namespace {

using nlohmann::json;

constexpr std::size_t kIdsShown = 200;
constexpr std::size_t kAnomaliesShown = 20;  // per kind; the counts stay exact

struct Attempt {
  std::int64_t index = -1;  // the invocation's
  OpType outcome = OpType::info;
  bool duplicate = false;  // ok: "already applied under this key"
  bool declined = false;   // fail: the service refused it (insufficient funds)
  std::optional<std::string> key;
};

struct Transfer {
  std::int64_t id = 0, from = 0, to = 0, amount = 0;
  std::vector<Attempt> attempts;

  bool acknowledged() const {
    for (const auto& a : attempts)
      if (a.outcome == OpType::ok) return true;
    return false;
  }
  // Every attempt certainly did not apply: none may be in the log.
  bool definitely_failed() const {
    for (const auto& a : attempts)
      if (a.outcome != OpType::fail) return false;
    return true;
  }
  std::string text() const {
    return "transfer " + std::to_string(id) + " (" + std::to_string(amount) + " from account " +
           std::to_string(from) + " to " + std::to_string(to) + ")";
  }
};

struct LogRow {
  std::int64_t id = 0, from = 0, to = 0, amount = 0;
  std::optional<std::int64_t> from_after;
  std::optional<std::string> key;
};

[[noreturn]] void bad(const Op& op, const std::string& what) {
  throw HistoryError(kInMemoryHistory, 0,
                     "transfer: op index " + std::to_string(op.index) + ": " + what);
}

std::int64_t integer(const json& object, const char* field, const Op& op) {
  if (!object.is_object() || !object.contains(field) || !object[field].is_number_integer())
    bad(op, std::string("\"") + field + "\" must be an integer in " + object.dump());
  return object[field].get<std::int64_t>();
}

std::vector<std::int64_t> balances_of(const json& value, const Op& op) {
  if (!value.is_object() || !value.contains("balances") || !value["balances"].is_array())
    bad(op, "\"balances\" must be a list of integers");
  std::vector<std::int64_t> out;
  for (const auto& b : value["balances"]) {
    if (!b.is_number_integer()) bad(op, "\"balances\" must be a list of integers");
    out.push_back(b.get<std::int64_t>());
  }
  return out;
}

std::vector<LogRow> log_of(const json& value, const Op& op) {
  if (!value.contains("applied") || !value["applied"].is_array())
    bad(op, "\"applied\" must be a list of [id, from, to, amount, from_after, key]");
  std::vector<LogRow> rows;
  for (const auto& r : value["applied"]) {
    if (!r.is_array() || r.size() != 6 || !r[0].is_number_integer() || !r[1].is_number_integer() ||
        !r[2].is_number_integer() || !r[3].is_number_integer())
      bad(op, "an applied row must be [id, from, to, amount, from_after, key]: " + r.dump());
    LogRow row{r[0].get<std::int64_t>(), r[1].get<std::int64_t>(), r[2].get<std::int64_t>(),
               r[3].get<std::int64_t>(), std::nullopt, std::nullopt};
    if (r[4].is_number_integer()) row.from_after = r[4].get<std::int64_t>();
    if (r[5].is_string()) row.key = r[5].get<std::string>();
    rows.push_back(row);
  }
  return rows;
}

json ids(const std::vector<std::int64_t>& v) {
  return json(std::vector<std::int64_t>(v.begin(), v.begin() + std::min(v.size(), kIdsShown)));
}

std::string outcome_text(const Attempt& a) {
  switch (a.outcome) {
    case OpType::ok: return a.duplicate ? "ok (already applied under its key)" : "ok";
    case OpType::fail: return a.declined ? "declined" : "failed";
    default: return "unknown outcome (timed out or lost its connection)";
  }
}

// The attempts of `t`, one sentence: "attempt 1 (op 12): unknown outcome …; attempt 2 (op 30): ok".
std::string attempts_text(const Transfer& t) {
  std::string text;
  for (std::size_t i = 0; i < t.attempts.size(); ++i) {
    const Attempt& a = t.attempts[i];
    text += (i ? "; " : "") + std::string("attempt ") + std::to_string(i + 1) + " (op " +
            std::to_string(a.index) + (a.key ? ", key " + *a.key : ", no key") +
            "): " + outcome_text(a);
  }
  return text;
}

// What the run's keys were: one per transfer (its resends share it), one per attempt, none.
std::string key_scheme(const std::map<std::int64_t, Transfer>& transfers) {
  bool any_key = false, any_none = false, shared = true;
  for (const auto& [id, t] : transfers) {
    std::set<std::string> keys;
    for (const auto& a : t.attempts) {
      (a.key ? any_key : any_none) = true;
      if (a.key) keys.insert(*a.key);
    }
    if (keys.size() > 1) shared = false;
  }
  if (any_key && any_none) return "mixed";
  if (!any_key) return "none";
  return shared ? "per-transfer" : "per-attempt";
}

struct Findings {
  std::vector<Anomaly> anomalies;
  std::map<std::string, std::size_t> count;  // kind -> how many (anomalies are capped)
  void add(Anomaly a) {
    if (count[a.kind]++ < kAnomaliesShown) anomalies.push_back(std::move(a));
  }
};

Anomaly about(const std::string& kind, const Transfer* t, std::int64_t read_index,
              std::string headline, std::vector<std::string> explanation) {
  Anomaly a;
  a.kind = kind;
  a.headline = std::move(headline);
  a.explanation = std::move(explanation);
  if (t) {
    a.keys.push_back("transfer " + std::to_string(t->id));
    for (std::size_t i = 0; i < t->attempts.size(); ++i) {
      a.ops.push_back(t->attempts[i].index);
      a.names[t->attempts[i].index] = "attempt " + std::to_string(i + 1);
    }
  }
  a.ops.push_back(read_index);
  a.names[read_index] = "final read";
  // The Two Generals moment when there is one: the first attempt whose answer was lost.
  a.focus = read_index;
  if (t) {
    a.focus = t->attempts.back().index;
    for (const auto& attempt : t->attempts)
      if (attempt.outcome == OpType::info) {
        a.focus = attempt.index;
        break;
      }
  }
  return a;
}

std::string dual_text(const std::string& keys, bool retried) {
  std::string text =
      "Exactly-once is a contract between client and store, not a property of the network: "
      "delivery is at-least-once (a client that does not know whether its request took effect "
      "sends it again), and the store turns that into at-most-once only by remembering what it "
      "applied. It holds only within the dedupe store's lifetime (a resend after its key has "
      "been forgotten is applied again) and only under the same key (a client that makes a new "
      "key per attempt, or loses its key in a crash, gets a second transfer).";
  if (keys == "none")
    text += " This run resent requests without keys, so nothing could recognise a resend.";
  else if (keys == "per-attempt")
    text += " This run made a new key for every attempt, so the keys could not recognise a resend.";
  else if (keys == "per-transfer")
    text += " This run resent each transfer under its own key" +
            std::string(retried ? "." : ", but no transfer was resent: the dedupe was never exercised.");
  return text;
}

json not_exercised(const std::string& keys, std::size_t retried, std::size_t unknown_attempt) {
  json out = json::array();
  out.push_back({{"what", "a resend after the dedupe store forgot its key"},
                 {"why", "keys are kept for the whole run (no expiry, no pruning)"}});
  if (keys == "per-transfer")
    out.push_back({{"what", "a client that lost its key (a crash between sending and recording it)"},
                   {"why", "every resend reused the key of its transfer"}});
  if (retried == 0)
    out.push_back({{"what", "resends"}, {"why", "no transfer was sent more than once"}});
  if (unknown_attempt == 0)
    out.push_back({{"what", "transfers with an unknown outcome"},
                   {"why", "every attempt was answered, so no resend followed a lost answer"}});
  return out;
}

// What the history says: the starting balances, each transfer's attempts, the final snapshot.
struct Observed {
  std::optional<std::vector<std::int64_t>> initial, final_balances;
  std::vector<LogRow> log;
  std::int64_t read_index = -1;  // the final read's invocation
  std::optional<std::int64_t> min_balance;
  std::map<std::int64_t, Transfer> transfers;
  std::size_t attempts = 0;
};

void add_attempt(Observed& o, const Op& invoke, OpType outcome, const Op* done) {
  const json& v = invoke.value;
  std::int64_t id = integer(v, "id", invoke);
  Transfer asked{id, integer(v, "from", invoke), integer(v, "to", invoke),
                 integer(v, "amount", invoke), {}};
  auto [it, first] = o.transfers.emplace(id, asked);
  Transfer& t = it->second;
  if (!first && (asked.from != t.from || asked.to != t.to || asked.amount != t.amount))
    bad(invoke, "a resend of transfer " + std::to_string(id) + " asks for something else");
  if (v.contains("min_balance")) o.min_balance = integer(v, "min_balance", invoke);
  Attempt a{invoke.index, outcome, false, false, std::nullopt};
  if (v.contains("key") && v["key"].is_string()) a.key = v["key"].get<std::string>();
  if (done && done->value.is_object()) {
    a.duplicate = outcome == OpType::ok && done->value.value("duplicate", false);
    a.declined = outcome == OpType::fail && done->value.contains("declined");
  }
  t.attempts.push_back(a);
  ++o.attempts;
}

Observed observe(const History& history) {
  Observed o;
  for (const PairedOp& pair : pair_ops(history, kInMemoryHistory)) {
    const Op& invoke = history[pair.invoke];
    OpType outcome = pair.outcome(history);
    const Op* done = pair.completion ? &history[*pair.completion] : nullptr;
    if (invoke.f == "open-accounts") {
      if (outcome == OpType::ok && !o.initial) o.initial = balances_of(invoke.value, invoke);
    } else if (invoke.f == "read-accounts" && outcome == OpType::ok) {
      o.final_balances = balances_of(done->value, *done);  // the last successful read is final
      o.log = log_of(done->value, *done);
      o.read_index = invoke.index;
    } else if (invoke.f == "transfer") {
      add_attempt(o, invoke, outcome, done);
    }
  }
  return o;
}

}  // namespace

CheckResult check_exactly_once(const History& history) {
  auto start = std::chrono::steady_clock::now();
  CheckResult result;
  result.checker = "exactly-once-transfer";
  result.model = "exactly-once transfers under at-least-once delivery";
  Observed observed = observe(history);
  auto& [initial, final_balances, log, read_index, min_balance, transfers, attempts] = observed;
  std::string keys = key_scheme(transfers);
  std::size_t retried = 0, unknown_attempt = 0;
  for (const auto& [id, t] : transfers) {
    retried += t.attempts.size() > 1;
    unknown_attempt += std::any_of(t.attempts.begin(), t.attempts.end(),
                                   [](const Attempt& a) { return a.outcome == OpType::info; });
  }
  result.details = {{"transfers", transfers.size()}, {"attempts", attempts},
                    {"retried", retried}, {"with_unknown_attempt", unknown_attempt}, {"keys", keys}};
  if (!initial || !final_balances) {
    result.verdict = Verdict::unknown;
    result.summary = !initial ? "the accounts were never opened: no starting balances to check against"
                              : "no final read succeeded: nothing proves which transfers applied";
    result.details["dual"] = dual_text(keys, retried > 0);
    return result;
  }
  Findings found;
  const auto accounts = static_cast<std::int64_t>(initial->size());  // clang 14: no capture of a binding
  auto account_ok = [accounts](std::int64_t a) { return a >= 0 && a < accounts; };

  // The log is the evidence: the balances must be exactly what it says changed.
  std::vector<std::int64_t> expected = *initial;
  std::map<std::int64_t, std::vector<const LogRow*>> applied;  // transfer id -> its log rows
  std::map<std::string, std::size_t> key_rows;
  std::vector<std::int64_t> unexpected, mismatched, negative, negative_accounts;
  for (const LogRow& row : log) {
    applied[row.id].push_back(&row);
    if (row.key) ++key_rows[*row.key];
    if (!account_ok(row.from) || !account_ok(row.to)) {
      mismatched.push_back(row.id);
      continue;
    }
    expected[static_cast<std::size_t>(row.from)] -= row.amount;
    expected[static_cast<std::size_t>(row.to)] += row.amount;
    if (min_balance && row.from_after && *row.from_after < *min_balance) negative.push_back(row.id);
  }
  std::vector<std::int64_t> unexplained;
  bool same_accounts = final_balances->size() == initial->size();
  for (std::size_t i = 0; same_accounts && i < expected.size(); ++i)
    if ((*final_balances)[i] != expected[i]) unexplained.push_back(static_cast<std::int64_t>(i));
  if (!same_accounts || !unexplained.empty()) {
    std::string which = same_accounts ? std::to_string(unexplained.size()) + " accounts"
                                      : "the set of accounts";
    found.add(about("unexplained-balance", nullptr, read_index,
                    which + " differ from the starting balances plus the applied-transfer log",
                    {"The final read's balances are not the starting balances changed by the "
                     "transfers the store logged, so some balance change has no log row (or a "
                     "log row no balance change): the log cannot prove what was applied."}));
  }
  std::int64_t total_initial = std::accumulate(initial->begin(), initial->end(), std::int64_t{0});
  std::int64_t total_final =
      std::accumulate(final_balances->begin(), final_balances->end(), std::int64_t{0});
  if (total_initial != total_final)
    found.add(about("not-conserved", nullptr, read_index,
                    "total balance " + std::to_string(total_final) + ", started at " +
                        std::to_string(total_initial),
                    {"Transfers move money between accounts; the total must not change."}));
  if (min_balance)
    for (std::size_t i = 0; i < final_balances->size(); ++i)
      if ((*final_balances)[i] < *min_balance) negative_accounts.push_back(static_cast<std::int64_t>(i));

  std::vector<std::int64_t> lost, resolved_applied, resolved_not_applied, failed_ids;
  json double_applied = json::array();
  std::size_t acknowledged = 0, duplicates = 0, declined = 0;
  for (const auto& [id, t] : transfers) {
    auto rows = applied.find(id);
    std::size_t times = rows == applied.end() ? 0 : rows->second.size();
    for (const auto& a : t.attempts) {
      duplicates += a.duplicate;
      declined += a.declined;
    }
    if (rows != applied.end())
      for (const LogRow* row : rows->second)
        if (row->from != t.from || row->to != t.to || row->amount != t.amount) mismatched.push_back(id);
    if (times > 1) {
      double_applied.push_back({{"id", id}, {"times", times}});
      found.add(about("double-applied", &t, read_index,
                      t.text() + " applied " + std::to_string(times) + " times",
                      {t.text() + " was sent " + std::to_string(t.attempts.size()) +
                           " times: " + attempts_text(t) + ".",
                       "The final read's applied-transfer log holds it " + std::to_string(times) +
                           " times, and the balances agree: the resend was applied as a new "
                           "transfer. " +
                           (keys == "per-transfer"
                                ? "Its key did not stop it: the dedupe store failed."
                                : "Nothing recognised it as a resend (no key shared by its attempts).")}));
    }
    if (t.acknowledged()) {
      ++acknowledged;
      if (times == 0) {
        lost.push_back(id);
        found.add(about("lost-transfer", &t, read_index, t.text() + " acknowledged but never applied",
                        {attempts_text(t) + ".",
                         "The final read's log does not hold it: the store confirmed a transfer "
                         "it does not have."}));
      }
    } else if (t.definitely_failed()) {
      failed_ids.push_back(id);
      if (times > 0) {
        unexpected.push_back(id);
        found.add(about("unexpected-transfer", &t, read_index,
                        t.text() + " applied though every attempt failed",
                        {attempts_text(t) + ".", "Each attempt certainly did not take effect, "
                                                 "yet the final read's log holds it."}));
      }
    } else {
      (times > 0 ? resolved_applied : resolved_not_applied).push_back(id);
    }
  }
  std::vector<std::int64_t> never_sent;
  for (const auto& [id, rows] : applied)
    if (!transfers.contains(id)) never_sent.push_back(id);
  if (!never_sent.empty())
    found.add(about("unexpected-transfer", nullptr, read_index,
                    std::to_string(never_sent.size()) + " logged transfers were never sent",
                    {"The log holds transfer ids no client sent: " + ids(never_sent).dump() + "."}));
  unexpected.insert(unexpected.end(), never_sent.begin(), never_sent.end());
  std::size_t keys_twice = 0;
  for (const auto& [key, n] : key_rows) keys_twice += n > 1;
  if (!mismatched.empty())
    found.add(about("mismatched-transfer", nullptr, read_index,
                    std::to_string(mismatched.size()) + " logged transfers differ from their request",
                    {"The log holds rows whose accounts or amount are not what transfer(s) " +
                     ids(mismatched).dump() + " asked for."}));
  if (!negative.empty() || !negative_accounts.empty())
    found.add(about("negative-balance", nullptr, read_index,
                    "a balance below " + std::to_string(*min_balance),
                    {"The spec forbids balances below " + std::to_string(*min_balance) +
                     ". Transfers whose debit left less: " + ids(negative).dump() +
                     "; accounts that end below it: " + ids(negative_accounts).dump() + "."}));

  result.details.update({{"acknowledged", acknowledged}, {"acknowledged_duplicate", duplicates},
                         {"definitely_failed", failed_ids.size()}, {"declined", declined},
                         {"unresolved", resolved_applied.size() + resolved_not_applied.size()},
                         {"resolved_applied_count", resolved_applied.size()},
                         {"resolved_applied", ids(resolved_applied)},
                         {"resolved_not_applied_count", resolved_not_applied.size()},
                         {"resolved_not_applied", ids(resolved_not_applied)},
                         {"double_applied_count", double_applied.size()},
                         {"double_applied", double_applied}, {"keys_applied_twice", keys_twice},
                         {"lost", ids(lost)}, {"unexpected", ids(unexpected)},
                         {"mismatched", ids(mismatched)}, {"negative", ids(negative)}, {"negative_accounts", ids(negative_accounts)},
                         {"unexplained_accounts", ids(unexplained)},
                         {"total_initial", total_initial}, {"total_final", total_final},
                         {"log_rows", log.size()},
                         {"dual", dual_text(keys, retried > 0)},
                         {"not_exercised", not_exercised(keys, retried, unknown_attempt)}});
  for (const auto& [kind, n] : found.count) result.details["anomaly_counts"][kind] = n;
  result.anomalies = std::move(found.anomalies);
  result.verdict = result.anomalies.empty() ? Verdict::valid : Verdict::invalid;
  result.summary = std::to_string(transfers.size()) + " transfers, " +
                   std::to_string(unknown_attempt) + " with an attempt of unknown outcome (" +
                   std::to_string(retried) + " resent): " + std::to_string(double_applied.size()) +
                   " applied twice or more, " + std::to_string(lost.size()) +
                   " acknowledged but lost, " +
                   std::to_string(resolved_applied.size() + resolved_not_applied.size()) +
                   " never answered (" + std::to_string(resolved_applied.size()) + " applied, " +
                   std::to_string(resolved_not_applied.size()) +
                   " not, by the final state); total balance " + std::to_string(total_final) +
                   " of " + std::to_string(total_initial);
  result.check_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::shared_ptr<const Checker> exactly_once_checker() {
  return std::make_shared<FunctionChecker>(check_exactly_once);
}

}  // namespace faultline::checker
