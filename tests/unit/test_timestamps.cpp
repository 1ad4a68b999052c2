// The timestamps checker: hand-built histories with known inversions, and a differential test
// of its counts (inverted pairs, inverted writes, writes last-write-wins loses) against a brute
// force over every pair of writes, straight from the definitions in checker/clock/timestamps.h.
#include <catch2/catch.hpp>
#include <algorithm>
#include <random>

#include "checker/clock/timestamps.h"

using namespace faultline;
using namespace faultline::checker;
using nlohmann::json;

namespace {

struct PlannedWrite {
  std::int64_t process;
  std::string key;
  std::int64_t invoke_ms, complete_ms;  // harness clock; complete_ms < 0: never completed
  std::int64_t ts_us;                   // the server's time
  OpType outcome = OpType::ok;
};

// The writes as a history: every invocation and completion at its time, in time order.
History history_of(const std::vector<PlannedWrite>& plan) {
  struct Event {
    std::int64_t ns;
    std::size_t write;
    bool completion;
  };
  std::vector<Event> events;
  for (std::size_t w = 0; w < plan.size(); ++w) {
    events.push_back({plan[w].invoke_ms * 1000000, w, false});
    if (plan[w].complete_ms >= 0) events.push_back({plan[w].complete_ms * 1000000, w, true});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.ns < b.ns || (a.ns == b.ns && a.completion && !b.completion);
  });
  History h;
  for (const Event& e : events) {
    const PlannedWrite& p = plan[e.write];
    Op op;
    op.index = static_cast<std::int64_t>(h.size());
    op.time_ns = e.ns;
    op.process = p.process;
    op.f = "timed-write";
    op.key = p.key;
    op.node = "n1";
    op.type = e.completion ? p.outcome : OpType::invoke;
    op.value = !e.completion ? json(static_cast<std::int64_t>(e.write))
               : p.outcome == OpType::ok ? json{{"server_time_us", p.ts_us}}
                                         : json(nullptr);
    h.push_back(std::move(op));
  }
  return h;
}

struct Counts {
  std::int64_t pairs = 0, inverted = 0, lost = 0;
};

// Every ordered pair of ok writes: A happened before B (A returned before B began) yet
// ts(A) >= ts(B). B is inverted if some A is; lost by LWW if some such A writes B's key.
Counts brute_force(const std::vector<PlannedWrite>& plan) {
  Counts c;
  for (const PlannedWrite& b : plan) {
    if (b.outcome != OpType::ok) continue;
    bool inverted = false, lost = false;
    for (const PlannedWrite& a : plan) {
      if (a.outcome != OpType::ok || !(a.complete_ms < b.invoke_ms) || a.ts_us < b.ts_us) continue;
      ++c.pairs;
      inverted = true;
      lost = lost || a.key == b.key;
    }
    c.inverted += inverted;
    c.lost += lost;
  }
  return c;
}

}  // namespace

TEST_CASE("timestamps: server times that follow real time are valid") {
  CheckResult r = check_timestamps(history_of({
      {0, "t0", 0, 10, 1000},
      {1, "t0", 5, 20, 900},   // concurrent with the first: any order is fine
      {0, "t0", 30, 40, 5000},
  }));
  CHECK(r.verdict == Verdict::valid);
  CHECK(r.details["writes"] == 3);
  CHECK(r.details["lww_lost"] == 0);
  CHECK(r.summary.find("loses none") != std::string::npos);
}

TEST_CASE("timestamps: a write stamped earlier than one that returned before it began is an inversion") {
  // A returns at 12.1 s, B begins at 12.3 s, A's server time 1.8 s later than B's.
  CheckResult r = check_timestamps(history_of({
      {0, "t0", 12000, 12100, 101800000},
      {1, "t0", 12300, 12400, 100000000},
  }));
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.details["inversions"] == 1);
  CHECK(r.details["lww_lost"] == 1);
  CHECK(r.details["max_inversion_us"] == 1800000);
  REQUIRE(r.anomalies.size() == 1);
  const Anomaly& a = r.anomalies[0];
  CHECK(a.kind == "timestamp-inversion");
  CHECK(a.headline ==
        "A returned at 12.100 s before B began at 12.300 s, yet A's server time is 1.800 s later "
        "than B's: a last-write-wins store ordering by these times would keep A and drop B");
  CHECK(a.ops == std::vector<std::int64_t>{0, 2});
  CHECK(a.focus == 2);
}

TEST_CASE("timestamps: equal times are an inversion too, since the later write does not win") {
  CheckResult r = check_timestamps(history_of({{0, "t0", 0, 10, 500}, {1, "t0", 20, 30, 500}}));
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.anomalies.at(0).headline.find("equal to B's") != std::string::npos);
}

TEST_CASE("timestamps: an inversion across keys breaks the order but loses no write") {
  CheckResult r = check_timestamps(history_of({{0, "t0", 0, 10, 900}, {1, "t1", 20, 30, 100}}));
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["inverted_writes"] == 1);
  CHECK(r.details["lww_lost"] == 0);
  CHECK(r.anomalies.at(0).headline.find("would put B before A") != std::string::npos);
}

TEST_CASE("timestamps: B is explained against the earlier write furthest ahead, counted once") {
  CheckResult r = check_timestamps(history_of({
      {0, "t0", 0, 10, 700},
      {1, "t0", 0, 12, 900},
      {2, "t0", 20, 30, 100},
  }));
  REQUIRE(r.verdict == Verdict::invalid);
  CHECK(r.details["inversions"] == 2);
  CHECK(r.details["inverted_writes"] == 1);
  CHECK(r.details["lww_lost"] == 1);
  CHECK(r.anomalies.at(0).ops == std::vector<std::int64_t>{1, 4});
}

TEST_CASE("timestamps: a write of unknown outcome leaves the verdict unknown, a failed one does not") {
  CHECK(check_timestamps(history_of({{0, "t0", 0, 10, 100}, {1, "t0", 20, 30, 0, OpType::info}}))
            .verdict == Verdict::unknown);
  CHECK(check_timestamps(history_of({{0, "t0", 0, 10, 100}, {1, "t0", 20, -1, 0, OpType::info}}))
            .verdict == Verdict::unknown);
  CHECK(check_timestamps(history_of({{0, "t0", 0, 10, 100}, {1, "t0", 20, 30, 0, OpType::fail}}))
            .verdict == Verdict::valid);
}

TEST_CASE("timestamps: counts agree with a brute force over every pair of writes") {
  std::mt19937_64 rng(20261207);
  std::map<Verdict, int> seen;
  int mismatches = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<PlannedWrite> plan;
    int n = 1 + static_cast<int>(rng() % 9);
    std::vector<std::int64_t> free_at(3, 0);  // a process runs one op at a time
    for (int i = 0; i < n; ++i) {
      std::int64_t p = static_cast<std::int64_t>(rng() % 3);
      std::int64_t start = free_at[static_cast<std::size_t>(p)] + static_cast<std::int64_t>(rng() % 5);
      std::int64_t end = start + 1 + static_cast<std::int64_t>(rng() % 6);
      int r = static_cast<int>(rng() % 100);
      OpType outcome = r < 85 ? OpType::ok : r < 93 ? OpType::fail : OpType::info;
      plan.push_back({p, rng() % 2 ? "t0" : "t1", start, end,
                      static_cast<std::int64_t>(rng() % 12), outcome});
      free_at[static_cast<std::size_t>(p)] = end + 1;
      if (outcome == OpType::info) free_at[static_cast<std::size_t>(p)] = 1 << 30;  // retired
    }
    plan.erase(std::remove_if(plan.begin(), plan.end(),
                              [](const PlannedWrite& w) { return w.invoke_ms >= (1 << 29); }),
               plan.end());
    Counts expected = brute_force(plan);
    CheckResult got = check_timestamps(history_of(plan));
    ++seen[got.verdict];
    bool same = got.details["inversions"] == expected.pairs &&
                got.details["inverted_writes"] == expected.inverted &&
                got.details["lww_lost"] == expected.lost &&
                (got.verdict == Verdict::invalid) == (expected.inverted > 0);
    if (!same && ++mismatches <= 3)
      FAIL_CHECK("brute force pairs " << expected.pairs << " inverted " << expected.inverted
                                      << " lost " << expected.lost << "; checker "
                                      << got.details.dump());
  }
  CHECK(mismatches == 0);
  CHECK(seen[Verdict::valid] > 200);
  CHECK(seen[Verdict::invalid] > 200);
  CHECK(seen[Verdict::unknown] > 50);
}
