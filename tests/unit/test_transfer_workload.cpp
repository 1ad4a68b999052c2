// The transfer workload (workloads/transfer.cpp) and its exactly-once checker
// (checker/transfer/exactly_once.h): hand-built histories for each part of the contract, the
// workload's resend policy, and a differential test against a brute-force oracle on small
// histories of a simulated store (with and without dedupe, and with injected store bugs).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "checker/transfer/exactly_once.h"
#include "harness/spec.h"
#include "workloads/workload.h"

using namespace faultline;
using nlohmann::json;
using checker::Verdict;

namespace {

std::unique_ptr<Workload> transfer_workload(const std::string& options = "{ }") {
  YAML::Node node = YAML::Load(options);
  FieldReader reader(node, "spec.yaml", "workload");
  return (*WorkloadRegistry::find("transfer"))(reader);
}

// Builds a history op by op; each op gets its own process (an info never blocks a later one).
struct Builder {
  History h;
  std::int64_t next_process = 0;

  void op(OpType outcome, const std::string& f, json invoke_value, json done_value) {
    std::int64_t p = next_process++;
    push(p, OpType::invoke, f, std::move(invoke_value));
    push(p, outcome, f, std::move(done_value));
  }
  void push(std::int64_t process, OpType type, const std::string& f, json value) {
    Op o;
    o.index = static_cast<std::int64_t>(h.size());
    o.time_ns = o.index * 1000;
    o.process = process;
    o.type = type;
    o.f = f;
    o.value = std::move(value);
    h.push_back(std::move(o));
  }
  void open(std::vector<std::int64_t> balances) {
    json v = {{"balances", balances}};
    op(OpType::ok, "open-accounts", v, v);
  }
  // One attempt; `answer` extras ("duplicate", "declined") are merged into the completion.
  void attempt(OpType outcome, std::int64_t id, std::int64_t from, std::int64_t to,
               std::int64_t amount, int attempt_no, const std::string& key = "",
               json answer = json::object(), bool min_zero = true) {
    json v = {{"id", id}, {"from", from}, {"to", to}, {"amount", amount}, {"attempt", attempt_no}};
    if (!key.empty()) v["key"] = key;
    if (min_zero) v["min_balance"] = 0;
    json done = v;
    done.update(answer);
    op(outcome, "transfer", v, done);
  }
  void read(std::vector<std::int64_t> balances, json applied) {
    op(OpType::ok, "read-accounts", nullptr, {{"balances", balances}, {"applied", applied}});
  }
};

json row(std::int64_t id, std::int64_t from, std::int64_t to, std::int64_t amount,
         std::int64_t from_after, const std::string& key = "") {
  return json::array({id, from, to, amount, from_after, key.empty() ? json() : json(key)});
}

checker::CheckResult check(const History& h) {
  auto checks = checker::check_all(transfer_workload()->checkers(), h, {}).checks;
  REQUIRE(checks.size() == 1);
  return checks[0];
}

bool has_kind(const checker::CheckResult& r, const std::string& kind) {
  return std::any_of(r.anomalies.begin(), r.anomalies.end(),
                     [&](const auto& a) { return a.kind == kind; });
}

}  // namespace

TEST_CASE("transfer: a resend under the same key answered as already applied is exactly once") {
  Builder b;
  b.open({10, 10});
  b.attempt(OpType::info, 0, 0, 1, 3, 1, "t0");                             // answer lost
  b.attempt(OpType::ok, 0, 0, 1, 3, 2, "t0", {{"duplicate", true}});        // the store knew it
  b.attempt(OpType::info, 1, 1, 0, 2, 1, "t1");                             // never resolved
  b.attempt(OpType::fail, 2, 1, 0, 4, 1, "t2");                             // certainly not
  b.read({7, 13}, json::array({row(0, 0, 1, 3, 7, "t0")}));
  auto r = check(b.h);
  INFO(r.summary << "\n" << r.details.dump(1));
  CHECK(r.verdict == Verdict::valid);
  CHECK(r.details["acknowledged"] == 1);
  CHECK(r.details["acknowledged_duplicate"] == 1);
  CHECK(r.details["retried"] == 1);
  CHECK(r.details["keys"] == "per-transfer");
  CHECK(r.details["resolved_not_applied"] == json({1}));
  CHECK(r.details["resolved_applied"] == json::array());
  CHECK(r.details["definitely_failed"] == 1);
  CHECK(r.details["total_final"] == 20);
  CHECK(r.details["dual"].get<std::string>().find("dedupe store's lifetime") != std::string::npos);
}

TEST_CASE("transfer: a resend without a key applied again is found, with its attempts") {
  Builder b;
  b.open({10, 10});
  b.attempt(OpType::info, 0, 0, 1, 3, 1);  // committed, answer lost
  b.attempt(OpType::ok, 0, 0, 1, 3, 2);    // applied a second time
  b.attempt(OpType::info, 1, 1, 0, 1, 1);  // applied, answer lost, no resend
  b.read({5, 15}, json::array({row(0, 0, 1, 3, 7), row(1, 1, 0, 1, 12), row(0, 0, 1, 3, 5)}));
  auto r = check(b.h);
  INFO(r.summary << "\n" << r.details.dump(1));
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["keys"] == "none");
  CHECK(r.details["double_applied"] == json::array({{{"id", 0}, {"times", 2}}}));
  CHECK(r.details["resolved_applied"] == json({1}));
  REQUIRE(has_kind(r, "double-applied"));
  const auto& a = r.anomalies.front();
  CHECK(a.headline == "transfer 0 (3 from account 0 to 1) applied 2 times");
  CHECK(a.ops == std::vector<std::int64_t>{2, 4, 8});  // both attempts and the final read
  CHECK(a.explanation[0].find("attempt 1 (op 2, no key): unknown outcome") != std::string::npos);
  CHECK(!has_kind(r, "unexplained-balance"));
  CHECK(!has_kind(r, "not-conserved"));
}

TEST_CASE("transfer: an acknowledged transfer missing from the log is lost") {
  Builder b;
  b.open({10, 10});
  b.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0");
  b.read({10, 10}, json::array());
  auto r = check(b.h);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["lost"] == json({0}));
  CHECK(has_kind(r, "lost-transfer"));
}

TEST_CASE("transfer: a transfer applied though every attempt failed is unexpected") {
  Builder b;
  b.open({10, 10});
  b.attempt(OpType::fail, 0, 0, 1, 3, 1, "t0");
  b.read({7, 13}, json::array({row(0, 0, 1, 3, 7, "t0")}));
  auto r = check(b.h);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["unexpected"] == json({0}));
}

TEST_CASE("transfer: balances the log does not explain, and a broken total, are invalid") {
  Builder b;
  b.open({10, 10});
  b.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0");
  b.read({4, 13}, json::array({row(0, 0, 1, 3, 7, "t0")}));  // 3 more left account 0
  auto r = check(b.h);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(has_kind(r, "unexplained-balance"));
  CHECK(has_kind(r, "not-conserved"));
  CHECK(r.details["unexplained_accounts"] == json({0}));
}

TEST_CASE("transfer: a debit below min_balance is a negative balance, allowed without one") {
  Builder forbidden;
  forbidden.open({2, 10});
  forbidden.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0");
  forbidden.read({-1, 13}, json::array({row(0, 0, 1, 3, -1, "t0")}));
  auto r = check(forbidden.h);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["negative"] == json({0}));
  CHECK(r.details["negative_accounts"] == json({0}));

  Builder allowed;
  allowed.open({2, 10});
  allowed.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0", json::object(), false);
  allowed.read({-1, 13}, json::array({row(0, 0, 1, 3, -1, "t0")}));
  CHECK(check(allowed.h).verdict == Verdict::valid);
}

TEST_CASE("transfer: no final read, or accounts never opened, is unknown, never valid") {
  Builder no_read;
  no_read.open({10, 10});
  no_read.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0");
  no_read.op(OpType::fail, "read-accounts", nullptr, nullptr);
  auto r = check(no_read.h);
  CHECK(r.verdict == Verdict::unknown);
  CHECK(r.summary.find("no final read") != std::string::npos);

  Builder no_open;
  no_open.attempt(OpType::ok, 0, 0, 1, 3, 1, "t0");
  no_open.read({7, 13}, json::array({row(0, 0, 1, 3, 7, "t0")}));
  CHECK(check(no_open.h).verdict == Verdict::unknown);
}

TEST_CASE("transfer: malformed transfer values are bad input naming the op") {
  Builder b;
  b.open({10, 10});
  b.op(OpType::ok, "transfer", {{"id", 0}, {"from", 0}}, nullptr);
  CHECK_THROWS_AS(check(b.h), HistoryError);
}

TEST_CASE("transfer workload: resends while unanswered, with the key its mode gives") {
  auto w = transfer_workload("{ accounts: 3, max_attempts: 3 }");
  Rng rng(7);
  Op first = w->generate(rng);
  CHECK(first.f == "transfer");
  CHECK(first.value["attempt"] == 1);
  CHECK(first.value["from"] != first.value["to"]);
  CHECK(first.value["key"] == "t" + std::to_string(first.value["id"].get<std::int64_t>()));
  CHECK(first.value["min_balance"] == 0);
  Op done = first;
  done.type = OpType::info;
  auto second = w->retry(done);
  REQUIRE(second);
  CHECK(second->value["attempt"] == 2);
  CHECK(second->value["key"] == first.value["key"]);
  CHECK(second->value["id"] == first.value["id"]);
  // A fail after an unknown attempt is no answer: resend; the limit ends it.
  Op failed = *second;
  failed.type = OpType::fail;
  auto third = w->retry(failed);
  REQUIRE(third);
  CHECK(third->value["attempt"] == 3);
  third->type = OpType::info;
  CHECK_FALSE(w->retry(*third));
  // Answers: ok, a declined fail, a first attempt's fail.
  Op ok = *second;
  ok.type = OpType::ok;
  CHECK_FALSE(w->retry(ok));
  Op declined = failed;
  declined.value["declined"] = "insufficient funds";
  CHECK_FALSE(w->retry(declined));
  Op first_fail = first;
  first_fail.type = OpType::fail;
  CHECK_FALSE(w->retry(first_fail));

  auto per_attempt = transfer_workload("{ idempotency_key: per-attempt, negative_balances: allow }");
  Op a = per_attempt->generate(rng);
  a.type = OpType::info;
  CHECK(per_attempt->retry(a)->value["key"] != a.value["key"]);
  CHECK_FALSE(a.value.contains("min_balance"));
  auto none = transfer_workload("{ idempotency_key: none }");
  Op n = none->generate(rng);
  CHECK_FALSE(n.value.contains("key"));
  n.type = OpType::info;
  CHECK_FALSE(none->retry(n)->value.contains("key"));
  REQUIRE(w->initial_ops().size() == 1);
  CHECK(w->initial_ops()[0].value["balances"] == json({100, 100, 100}));
}

TEST_CASE("transfer: the two postgres examples load and differ only in the key switch") {
  Test keys = load_test(FAULTLINE_SOURCE_DIR "/examples/postgres-transfer-keys.yaml");
  Test none = load_test(FAULTLINE_SOURCE_DIR "/examples/postgres-transfer-no-keys.yaml");
  CHECK(keys.resolved["workload"]["idempotency_key"].as<std::string>() == "per-transfer");
  CHECK(none.resolved["workload"]["idempotency_key"].as<std::string>() == "none");
  YAML::Node a = YAML::Clone(keys.resolved), b = YAML::Clone(none.resolved);
  for (YAML::Node* n : {&a, &b}) {
    (*n)["workload"].remove("idempotency_key");
    n->remove("name");
    n->remove("seed");  // drawn at random when the spec has none
  }
  CHECK(YAML::Dump(a) == YAML::Dump(b));
  CHECK(keys.workload->guarantee().find("one per transfer") != std::string::npos);
}

namespace {

// A simulated store and clients: transfers with resends (the workload's policy), each attempt's
// fate drawn at random (answered, applied with its answer lost, lost before applying, refused),
// with or without dedupe, and with store bugs drawn rarely. Returns the history.
History simulate(std::mt19937_64& rng, bool dedupe, bool min_zero) {
  auto roll = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  const int accounts = 3;
  std::vector<std::int64_t> balances(accounts, 4);
  json log = json::array();
  std::set<std::string> applied_keys;
  Builder b;
  b.open(balances);
  int transfers = 1 + static_cast<int>(rng() % 6);
  for (int id = 0; id < transfers; ++id) {
    std::int64_t from = static_cast<std::int64_t>(rng() % accounts);
    std::int64_t to = (from + 1 + static_cast<std::int64_t>(rng() % (accounts - 1))) % accounts;
    std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 3);
    std::string key = dedupe ? "t" + std::to_string(id) : "";
    auto apply = [&](bool log_it, bool move_it) {
      if (move_it) {
        balances[static_cast<std::size_t>(from)] -= amount;
        balances[static_cast<std::size_t>(to)] += amount;
      }
      if (log_it) log.push_back(row(id, from, to, amount, balances[static_cast<std::size_t>(from)], key));
      if (!key.empty()) applied_keys.insert(key);
    };
    for (int attempt = 1; attempt <= 3; ++attempt) {
      bool known = !key.empty() && applied_keys.count(key) && !roll(3);  // bug: dedupe forgets
      bool funds = !min_zero || balances[static_cast<std::size_t>(from)] - amount >= 0 || roll(3);
      int fate = static_cast<int>(rng() % 4);  // 0 answered, 1 applied + answer lost, 2 lost, 3 refused
      OpType outcome = OpType::ok;
      json answer = json::object();
      if (fate == 3) {
        outcome = OpType::fail;
        if (roll(3)) apply(true, true);  // bug: applied though it said fail
      } else if (fate == 2) {
        outcome = OpType::info;
      } else if (known) {
        answer["duplicate"] = true;
        outcome = fate == 0 ? OpType::ok : OpType::info;
      } else if (!funds) {
        outcome = fate == 0 ? OpType::fail : OpType::info;
        if (fate == 0) answer["declined"] = "insufficient funds";
      } else {
        outcome = fate == 0 ? OpType::ok : OpType::info;
        if (fate == 0 && roll(3)) {
          // bug: acknowledged, never applied
        } else {
          apply(!roll(2), !roll(2));  // bugs: a balance change without its log row, or the reverse
        }
      }
      b.attempt(outcome, id, from, to, amount, attempt, key, answer, min_zero);
      bool unanswered = outcome == OpType::info ||
                        (attempt > 1 && outcome == OpType::fail && !answer.contains("declined"));
      if (!unanswered) break;
    }
  }
  b.read(balances, log);
  return b.h;
}

// The contract stated directly, by brute force: some choice of applied (0 or 1) per transfer,
// 1 when acknowledged and 0 when every attempt failed, yields exactly the logged transfers and
// the final balances, with no balance or logged debit below the minimum.
bool oracle_valid(const History& h) {
  std::vector<std::int64_t> initial, final_balances;
  json log;
  struct T { std::int64_t from, to, amount; bool acked = false, all_failed = true; bool min_zero = false; };
  std::map<std::int64_t, T> transfers;
  for (const auto& pair : pair_ops(h, kInMemoryHistory)) {
    const Op& in = h[pair.invoke];
    const Op& done = h[*pair.completion];
    if (in.f == "open-accounts") initial = in.value["balances"].get<std::vector<std::int64_t>>();
    if (in.f == "read-accounts") {
      final_balances = done.value["balances"].get<std::vector<std::int64_t>>();
      log = done.value["applied"];
    }
    if (in.f != "transfer") continue;
    T& t = transfers[in.value["id"].get<std::int64_t>()];
    t.from = in.value["from"].get<std::int64_t>();
    t.to = in.value["to"].get<std::int64_t>();
    t.amount = in.value["amount"].get<std::int64_t>();
    t.acked |= done.type == OpType::ok;
    t.all_failed &= done.type == OpType::fail;
    t.min_zero = in.value.contains("min_balance");
  }
  bool min_zero = !transfers.empty() && transfers.begin()->second.min_zero;
  for (const auto& r : log)
    if (min_zero && r[4].is_number_integer() && r[4].get<std::int64_t>() < 0) return false;
  for (auto b : final_balances)
    if (min_zero && b < 0) return false;
  std::multiset<std::vector<std::int64_t>> logged;
  for (const auto& r : log)
    logged.insert({r[0].get<std::int64_t>(), r[1].get<std::int64_t>(), r[2].get<std::int64_t>(),
                   r[3].get<std::int64_t>()});
  std::vector<std::int64_t> ids;
  for (const auto& [id, t] : transfers) ids.push_back(id);
  for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << ids.size()); ++mask) {
    std::multiset<std::vector<std::int64_t>> chosen;
    std::vector<std::int64_t> balances = initial;
    bool allowed = true;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const T& t = transfers[ids[i]];
      bool applied = (mask >> i) & 1;
      if ((t.acked && !applied) || (t.all_failed && applied)) allowed = false;
      if (!applied) continue;
      chosen.insert({ids[i], t.from, t.to, t.amount});
      balances[static_cast<std::size_t>(t.from)] -= t.amount;
      balances[static_cast<std::size_t>(t.to)] += t.amount;
    }
    if (allowed && chosen == logged && balances == final_balances) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("transfer checker agrees with a brute-force oracle on simulated stores", "[differential]") {
  std::mt19937_64 rng(20261207);
  int valid = 0, invalid = 0;
  for (int i = 0; i < 3000; ++i) {
    History h = simulate(rng, i % 2 == 0, i % 3 != 0);
    bool expected = oracle_valid(h);
    auto r = check(h);
    if (r.verdict != (expected ? Verdict::valid : Verdict::invalid)) {
      std::string text;
      for (const auto& op : h) text += op_to_line(op) + "\n";
      INFO(text << r.summary << "\n" << r.details.dump());
      CHECK(r.verdict == (expected ? Verdict::valid : Verdict::invalid));
    }
    (expected ? valid : invalid)++;
  }
  // Both answers are exercised, in numbers.
  CHECK(valid > 500);
  CHECK(invalid > 500);
}
