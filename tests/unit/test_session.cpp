// The session-guarantee checker: hand-built histories with known answers, and a differential
// test against a brute force that tries every version order of every key, straight from the
// definitions (every pair of ops in a process, not just neighbours).
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "checker/session/session.h"
#include "linear_builder.h"

using namespace faultline;
using namespace faultline::checker;
using faultline::testing::HistoryBuilder;
using nlohmann::json;

namespace {

CheckResult checked(const HistoryBuilder& h) { return check_session(h.history()); }

// ---- brute force ---------------------------------------------------------------------------

struct RefStep {
  bool is_read = false;
  json value;
  bool acknowledged = false;  // writes: ok
};

struct RefWrite {
  json value;
  bool acknowledged = false;
  bool happened = false;
};

// Per key, per process: the steps in process order.
using RefSessions = std::map<std::string, std::map<std::int64_t, std::vector<RefStep>>>;

RefSessions sessions_of(const History& history) {
  RefSessions out;
  std::map<std::int64_t, std::size_t> open;
  auto complete = [&](const Op& invoke, OpType type, const json& result) {
    auto& steps = out[invoke.key][invoke.process];
    if (type == OpType::fail) return;
    if (invoke.f == "read") {
      if (type == OpType::ok) steps.push_back({true, result, false});
    } else if (invoke.f == "write") {
      steps.push_back({false, invoke.value, type == OpType::ok});
    } else if (invoke.f == "cas") {
      if (type == OpType::ok) steps.push_back({true, invoke.value[0], false});
      steps.push_back({false, invoke.value[1], type == OpType::ok});
    }
  };
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    if (op.type == OpType::invoke) {
      open[op.process] = i;
      continue;
    }
    complete(history[open.at(op.process)], op.type, op.value);
    open.erase(op.process);
  }
  for (const auto& [process, i] : open) complete(history[i], OpType::info, nullptr);
  return out;
}

// Whether some order of the writes that happened meets every guarantee, every pair of steps.
template <typename Source>
bool some_order_exists(const std::map<std::int64_t, std::vector<RefStep>>& processes,
                       const std::vector<RefWrite>& writes, const Source& source) {
  // Each process's steps with their writes' ids.
  struct Item {
    bool is_read;
    int node;  // read: its source; write: its id
    bool acknowledged;
  };
  std::vector<std::vector<Item>> sessions;
  for (const auto& [p, steps] : processes) {
    std::vector<Item> items;
    std::size_t next_write = 0;
    for (const auto& [q, earlier] : processes) {
      if (q == p) break;
      for (const RefStep& s : earlier) next_write += !s.is_read;
    }
    for (const RefStep& s : steps) {
      if (s.is_read) {
        int from = source(s.value);
        if (from != -2) items.push_back({true, from, false});
        continue;
      }
      int id = static_cast<int>(next_write++);
      if (writes[static_cast<std::size_t>(id)].happened) items.push_back({false, id, s.acknowledged});
    }
    sessions.push_back(std::move(items));
  }
  std::vector<int> order(writes.size());
  std::iota(order.begin(), order.end(), 0);
  bool some_order = false;
  do {
    std::vector<int> pos(writes.size() + 1);
    for (std::size_t i = 0; i < order.size(); ++i) pos[static_cast<std::size_t>(order[i]) + 1] = static_cast<int>(i);
    pos[0] = -1;
    auto at = [&](int node) { return pos[static_cast<std::size_t>(node + 1)]; };
    bool ok = true;
    for (const auto& items : sessions)
      for (std::size_t i = 0; i < items.size() && ok; ++i)
        for (std::size_t j = i + 1; j < items.size() && ok; ++j) {
          const Item& a = items[i];
          const Item& b = items[j];
          if (a.is_read && b.is_read) ok = at(a.node) <= at(b.node);             // monotonic reads
          else if (!a.is_read && b.is_read) ok = !a.acknowledged || at(a.node) <= at(b.node);  // ryw
          else if (!a.is_read && !b.is_read) ok = at(a.node) < at(b.node);       // monotonic writes
          else ok = at(a.node) < at(b.node);                                     // wfr
        }
    some_order = ok;
  } while (!some_order && std::next_permutation(order.begin(), order.end()));
  return some_order;
}

// valid, invalid, or unknown (no violation but some read's source is not known).
Verdict brute_force(const History& history) {
  bool unknown_source = false;
  for (const auto& [key, processes] : sessions_of(history)) {
    std::vector<RefWrite> writes;
    for (const auto& [p, steps] : processes)
      for (const RefStep& s : steps)
        if (!s.is_read) writes.push_back({s.value, s.acknowledged, s.acknowledged});
    // -2: unknown, -1: the initial state, else the write.
    auto source = [&](const json& value) -> int {
      if (value.is_null()) return -1;
      int found = -2, count = 0;
      for (std::size_t w = 0; w < writes.size(); ++w)
        if (writes[w].value == value) found = static_cast<int>(w), ++count;
      return count == 1 ? found : -2;
    };
    for (const auto& [p, steps] : processes)
      for (const RefStep& s : steps)
        if (s.is_read) {
          int from = source(s.value);
          if (from == -2) unknown_source = true;
          else if (from >= 0) writes[static_cast<std::size_t>(from)].happened = true;
        }
    // An info write nobody read may or may not have happened: try both for each.
    std::vector<std::size_t> maybe;
    for (std::size_t w = 0; w < writes.size(); ++w)
      if (!writes[w].happened) maybe.push_back(w);
    bool some_order = false;
    for (std::size_t mask = 0; mask < (std::size_t{1} << maybe.size()) && !some_order; ++mask) {
      for (std::size_t m = 0; m < maybe.size(); ++m) writes[maybe[m]].happened = (mask >> m) & 1;
      some_order = some_order_exists(processes, writes, source);
    }
    if (!some_order) return Verdict::invalid;
  }
  return unknown_source ? Verdict::unknown : Verdict::valid;
}

// Random histories, sequential (the checker ignores real time): a few processes, two keys,
// writes of unique values per key, reads of any value written on the key (or nil, or rarely
// one never written), cas, and ok / fail / info outcomes; after an info, a fresh process.
History random_history(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> ops_n(2, 10), kind(0, 9), pct(0, 99);
  const std::vector<std::string> keys = {"a", "b"};
  struct Plan {
    std::int64_t process;
    std::string f, key;
    json value;
    OpType outcome;
  };
  std::vector<Plan> plan;
  std::map<std::string, int> written;
  std::int64_t next_process = 3;
  std::vector<std::int64_t> live = {0, 1, 2};
  int n = ops_n(rng);
  for (int i = 0; i < n; ++i) {
    std::size_t slot = rng() % live.size();
    std::string key = keys[rng() % keys.size()];
    int k = kind(rng);
    Plan p{live[slot], k < 4 ? "read" : k < 8 ? "write" : "cas", key, nullptr, OpType::ok};
    if (p.f != "read") {
      int r = pct(rng);
      p.outcome = r < 70 ? OpType::ok : r < 85 ? OpType::info : OpType::fail;
      int fresh = ++written[key];
      p.value = p.f == "write" ? json(fresh) : json::array({nullptr, fresh});
    } else if (pct(rng) < 15) {
      p.outcome = OpType::fail;
    }
    if (p.outcome == OpType::info) live[slot] = next_process++;
    plan.push_back(std::move(p));
  }
  // Read values and cas expectations, from the values each key gets.
  auto some_value = [&](const std::string& key) -> json {
    int r = pct(rng);
    if (r < 5) return 1000;  // never written
    if (r < 20 || written[key] == 0) return nullptr;
    return 1 + static_cast<int>(rng() % static_cast<unsigned>(written[key]));
  };
  HistoryBuilder h;
  for (Plan& p : plan) {
    if (p.f == "cas") p.value[0] = some_value(p.key);
    h.invoke(p.process, p.f, p.value, p.key);
    if (p.outcome == OpType::ok) h.ok(p.process, p.f == "read" ? some_value(p.key) : json(nullptr));
    else if (p.outcome == OpType::fail) h.fail(p.process);
    else h.info(p.process);
  }
  return h.history();
}

}  // namespace

TEST_CASE("session: a history that keeps every guarantee is valid") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(1, "read", nullptr, 1, "k");
  h.op(2, "read", nullptr, 1, "k").op(2, "write", 2, nullptr, "k");
  h.op(1, "read", nullptr, 2, "k").op(3, "read", nullptr, nullptr, "k");
  CheckResult r = checked(h);
  CHECK(r.verdict == Verdict::valid);
  CHECK(r.anomalies.empty());
  CHECK(r.details["reads"] == 4);
  CHECK(r.details["writes"] == 2);
}

TEST_CASE("session: reading new then old is no violation when nothing orders the writes") {
  // Two unrelated writers: the store may order 2 before 1, and then reading 2 then 1 is fine.
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(2, "write", 2, nullptr, "k");
  h.op(3, "read", nullptr, 2, "k").op(3, "read", nullptr, 1, "k");
  CHECK(checked(h).verdict == Verdict::valid);
}

TEST_CASE("session: a monotonic-read violation, the order forced by monotonic writes") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(1, "write", 2, nullptr, "k");    // ops 0, 2
  h.op(2, "read", nullptr, 2, "k").op(2, "read", nullptr, 1, "k");      // ops 4, 6
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  REQUIRE(r.anomalies.size() == 1);
  const Anomaly& a = r.anomalies[0];
  CHECK(a.kind == "monotonic-reads");
  CHECK(a.ops == std::vector<std::int64_t>{0, 2, 4, 6});
  CHECK(a.focus == 6);
  CHECK(a.names.at(6) == "read 1");
  CHECK(a.headline.find("process 2 read 2 (op 4), then 1 (op 6)") != std::string::npos);
  REQUIRE(a.explanation.size() == 3);
  CHECK(a.explanation[0].find("by monotonic") != std::string::npos);
  CHECK(r.details["cycles_by_kind"]["monotonic-reads"] == 1);
}

TEST_CASE("session: one process reading 1, 2, 1 breaks monotonic reads on its own") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(2, "write", 2, nullptr, "k");
  h.op(3, "read", nullptr, 1, "k").op(3, "read", nullptr, 2, "k").op(3, "read", nullptr, 1, "k");
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.anomalies.at(0).kind == "monotonic-reads");
}

TEST_CASE("session: reading nothing after one's own write breaks read-your-writes") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(1, "read", nullptr, nullptr, "k");
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  const Anomaly& a = r.anomalies.at(0);
  CHECK(a.kind == "read-your-writes");
  CHECK(a.explanation.at(0).find("initial state") != std::string::npos);
}

TEST_CASE("session: two writers each reading the other's write back break read-your-writes") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").op(2, "write", 2, nullptr, "k");
  h.op(1, "read", nullptr, 2, "k").op(2, "read", nullptr, 1, "k");
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.anomalies.at(0).kind == "read-your-writes");
}

TEST_CASE("session: writes that follow reads of each other's writes form a cycle") {
  HistoryBuilder h;
  h.invoke(1, "read", nullptr, "k").invoke(2, "read", nullptr, "k");
  h.ok(1, 2).ok(2, 1);
  h.op(1, "write", 1, nullptr, "k").op(2, "write", 2, nullptr, "k");
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.anomalies.at(0).kind == "writes-follow-reads");
}

TEST_CASE("session: keys are independent") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "x").op(1, "write", 2, nullptr, "y");
  h.op(2, "read", nullptr, 2, "y").op(2, "read", nullptr, 1, "x");
  CHECK(checked(h).verdict == Verdict::valid);
}

TEST_CASE("session: an info write counts once someone read it") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k").invoke(1, "write", 2, "k").info(1);
  CHECK(checked(h).verdict == Verdict::valid);
  h.op(3, "read", nullptr, 2, "k").op(3, "read", nullptr, 1, "k");
  CheckResult r = checked(h);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["writes"] == 2);
}

TEST_CASE("session: a cas is a read of its old value, then a write of its new one") {
  HistoryBuilder h;
  h.op(1, "write", 1, nullptr, "k");
  h.op(2, "cas", json::array({1, 2}), nullptr, "k");
  h.op(3, "read", nullptr, 2, "k").op(3, "read", nullptr, 1, "k");
  CheckResult r = checked(h);
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.anomalies.at(0).kind == "monotonic-reads");
  CHECK(r.anomalies.at(0).names.at(2) == "cas 1 -> 2");
}

TEST_CASE("session: a read whose source is not known makes the verdict unknown, never valid") {
  SECTION("a value never written") {
    HistoryBuilder h;
    h.op(1, "write", 1, nullptr, "k").op(2, "read", nullptr, 99, "k");
    CHECK(checked(h).verdict == Verdict::unknown);
  }
  SECTION("a value only a failed write wrote") {
    HistoryBuilder h;
    h.invoke(1, "write", 1, "k").fail(1).op(2, "read", nullptr, 1, "k");
    CHECK(checked(h).verdict == Verdict::unknown);
  }
  SECTION("a value written twice") {
    HistoryBuilder h;
    h.op(1, "write", 1, nullptr, "k").op(2, "write", 1, nullptr, "k").op(3, "read", nullptr, 1, "k");
    CheckResult r = checked(h);
    CHECK(r.verdict == Verdict::unknown);
    CHECK(r.details["reads_unknown_source"] == 1);
  }
  SECTION("but a violation elsewhere is still a violation") {
    HistoryBuilder h;
    h.op(1, "write", 1, nullptr, "k").op(1, "read", nullptr, nullptr, "k");
    h.op(2, "read", nullptr, 99, "k");
    CHECK(checked(h).verdict == Verdict::invalid);
  }
}

TEST_CASE("session: at most 20 cycles are shown, all are counted") {
  HistoryBuilder h;
  for (int k = 0; k < 30; ++k) {
    std::string key = "k" + std::to_string(k);
    h.op(1, "write", 1, nullptr, key).op(1, "read", nullptr, nullptr, key);
  }
  CheckResult r = checked(h);
  CHECK(r.anomalies.size() == 20);
  CHECK(r.details["cycles"] == 30);
}

TEST_CASE("session: the checker agrees with a brute force over every version order") {
  std::mt19937_64 rng(20261207);
  std::map<Verdict, int> seen;
  int mismatches = 0;
  for (int i = 0; i < 5000; ++i) {
    History history = random_history(rng);
    Verdict expected = brute_force(history);
    Verdict got = check_session(history).verdict;
    ++seen[expected];
    if (got != expected && ++mismatches <= 3) {
      std::string text;
      for (const Op& op : history) text += op_to_line(op) + "\n";
      FAIL_CHECK("brute force " << to_string(expected) << ", checker " << to_string(got) << ":\n"
                                << text);
    }
  }
  CHECK(mismatches == 0);
  // The generator reaches every answer often enough for the comparison to mean something.
  CHECK(seen[Verdict::valid] > 500);
  CHECK(seen[Verdict::invalid] > 500);
  CHECK(seen[Verdict::unknown] > 100);
}
