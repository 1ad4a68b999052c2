// Hand-built histories, one per anomaly, with known answers. Ops without an invocation are
// instantaneous at their position (so realtime order is history order); tests of data
// anomalies claim plain serializable unless the weaker models are the point.
#include <catch2/catch.hpp>

#include "tests/unit/txn_test_support.h"

using namespace faultline;
using namespace faultline::test;
using checker::Verdict;

namespace {

Verdict verdict(const std::string& edn, const std::string& claim,
                const std::string& workload = "list-append") {
  return check_edn(edn, claim, workload).verdict;
}

// Checks that the claim fails with (at least) the given anomaly; returns the result.
checker::CheckResult expect_anomaly(const std::string& edn, const std::string& claim,
                                    const std::string& anomaly,
                                    const std::string& workload = "list-append") {
  auto r = check_edn(edn, claim, workload);
  INFO(r.summary);
  CHECK(r.verdict == Verdict::invalid);
  CHECK(has_anomaly(r, anomaly));
  return r;
}

}  // namespace

TEST_CASE("txn: a serial list-append history is strict serializable") {
  std::string h = txn_pair(0, "ok", "[[:append :x 1] [:r :y nil]]", "[[:append :x 1] [:r :y []]]") +
                  txn_pair(1, "ok", "[[:r :x nil] [:append :y 2]]", "[[:r :x [1]] [:append :y 2]]") +
                  txn_pair(0, "ok", "[[:append :x 3] [:r :x nil] [:r :y nil]]",
                           "[[:append :x 3] [:r :x [1 3]] [:r :y [2]]]") +
                  txn_pair(2, "fail", "[[:append :x 4]]");
  auto r = check_edn(h, "strict-serializable");
  CHECK(r.verdict == Verdict::valid);
  CHECK(anomaly_types(r).empty());
  CHECK(r.details["strongest_satisfied"] == nlohmann::json::array({"strict-serializable"}));
  CHECK(r.details["txns"]["in_graph"] == 3);
}

TEST_CASE("txn: G0, write cycle") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:append :y 1]]}
    {:process 1 :type :ok :value [[:append :x 2] [:append :y 2]]}
    {:process 2 :type :ok :value [[:r :x [1 2]] [:r :y [2 1]]]})";
  auto r = expect_anomaly(h, "read-uncommitted", "G0");
  auto cycle = r.details["anomalies"]["G0"][0];
  CHECK(cycle["edges"] == nlohmann::json::array({"ww", "ww"}));
  CHECK(cycle["steps"][0].get<std::string>().find("appended") != std::string::npos);
  CHECK(r.details["not"] == nlohmann::json::array({"read-uncommitted"}));
}

TEST_CASE("txn: G1a, aborted read") {
  const char* h = R"(
    {:process 0 :type :fail :value [[:append :x 1]]}
    {:process 1 :type :ok   :value [[:r :x [1]]]})";
  CHECK(verdict(h, "read-uncommitted") == Verdict::valid);
  auto r = check_edn(h, "read-committed");
  CHECK(r.verdict == Verdict::invalid);
  CHECK(anomaly_types(r) == std::vector<std::string>{"G1a"});
  CHECK(r.summary.find("failed") != std::string::npos);
}

TEST_CASE("txn: G1b, intermediate read") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:append :x 2]]}
    {:process 1 :type :ok :value [[:r :x [1]]]})";
  expect_anomaly(h, "read-committed", "G1b");
}

TEST_CASE("txn: G1c, circular information flow") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:r :y [1]]]}
    {:process 1 :type :ok :value [[:append :y 1] [:r :x [1]]]})";
  auto r = expect_anomaly(h, "read-committed", "G1c");
  CHECK(!has_anomaly(r, "G0"));
}

TEST_CASE("txn: G-single, read skew: read committed holds, snapshot isolation does not") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:append :y 1]]}
    {:process 1 :type :ok :value [[:r :x [1]] [:r :y []]]})";
  CHECK(verdict(h, "read-committed") == Verdict::valid);
  auto r = expect_anomaly(h, "snapshot-isolation", "G-single");
  auto steps = r.details["anomalies"]["G-single"][0]["steps"];
  REQUIRE(steps.size() == 2);
  std::string all = steps[0].get<std::string>() + steps[1].get<std::string>();
  CHECK(all.find("read T0's append of 1 to x") != std::string::npos);
  CHECK(all.find("missed T0's append of 1") != std::string::npos);
  CHECK(r.details["not"] == nlohmann::json::array({"repeatable-read", "snapshot-isolation"}));
}

TEST_CASE("txn: G2-item, write skew: snapshot isolation holds, repeatable read does not") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:r :x []] [:append :y 1]]}
    {:process 1 :type :ok :value [[:r :y []] [:append :x 1]]})";
  CHECK(verdict(h, "snapshot-isolation") == Verdict::valid);
  auto r = expect_anomaly(h, "repeatable-read", "G2-item");
  CHECK(r.details["anomalies"]["G2-item"][0]["edges"] == nlohmann::json::array({"rw", "rw"}));
}

TEST_CASE("txn: G-nonadjacent: rw edges never adjacent, forbidden by snapshot isolation") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:r :x []] [:r :w [1]]]}
    {:process 1 :type :ok :value [[:append :x 1] [:append :y 1]]}
    {:process 2 :type :ok :value [[:r :y [1]] [:r :z []]]}
    {:process 3 :type :ok :value [[:append :z 1] [:append :w 1]]})";
  CHECK(verdict(h, "read-committed") == Verdict::valid);
  expect_anomaly(h, "snapshot-isolation", "G-nonadjacent");
}

TEST_CASE("txn: internal inconsistency") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:r :x []]]}
    {:process 1 :type :ok :value [[:r :y [5]] [:append :y 6] [:r :y [5]]]}
    {:process 2 :type :ok :value [[:append :y 5]]})";
  auto r = check_edn(h, "serializable");
  CHECK(r.verdict == Verdict::invalid);
  CHECK(r.details["anomaly_counts"]["internal"] == 2);
  CHECK(verdict(h, "read-committed") == Verdict::valid);
}

TEST_CASE("txn: incompatible orders of one key") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1]]}
    {:process 1 :type :ok :value [[:append :x 2]]}
    {:process 2 :type :ok :value [[:r :x [1 2]]]}
    {:process 3 :type :ok :value [[:r :x [2]]]})";
  expect_anomaly(h, "read-committed", "incompatible-order");
}

TEST_CASE("txn: duplicate elements in a read") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1]]}
    {:process 1 :type :ok :value [[:r :x [1 1]]]})";
  expect_anomaly(h, "read-uncommitted", "duplicate-elements");
}

TEST_CASE("txn: lost update") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 0]]}
    {:process 1 :type :ok :value [[:r :x [0]] [:append :x 1]]}
    {:process 2 :type :ok :value [[:r :x [0]] [:append :x 2]]}
    {:process 3 :type :ok :value [[:r :x [0 1 2]]]})";
  expect_anomaly(h, "snapshot-isolation", "lost-update");
  CHECK(verdict(h, "read-committed") == Verdict::valid);
}

TEST_CASE("txn: dirty update and garbage reads") {
  const char* dirty = R"(
    {:process 0 :type :fail :value [[:append :x 1]]}
    {:process 1 :type :ok   :value [[:append :x 2]]}
    {:process 2 :type :ok   :value [[:r :x [1 2]]]})";
  auto r = expect_anomaly(dirty, "read-committed", "dirty-update");
  CHECK(has_anomaly(r, "G1a"));

  const char* garbage = R"({:process 0 :type :ok :value [[:r :x [9]]]})";
  expect_anomaly(garbage, "read-uncommitted", "garbage-read");
}

TEST_CASE("txn: realtime and process variants need the strong models") {
  // T1 completes before T2 starts, yet T2 misses T1's append: fine for serializable only.
  auto history = [](int second_process) {
    return txn_pair(0, "ok", "[[:append :x 1]]") +
           txn_pair(second_process, "ok", "[[:r :x nil]]", "[[:r :x []]]");
  };
  std::string realtime = history(1);
  CHECK(verdict(realtime, "serializable") == Verdict::valid);
  CHECK(verdict(realtime, "strong-session-serializable") == Verdict::valid);
  auto r = expect_anomaly(realtime, "strict-serializable", "G-single-realtime");
  CHECK(r.details["anomalies"]["G-single-realtime"][0]["steps"][0].get<std::string>().find(
            "completed") != std::string::npos);

  std::string same_process = history(0);
  expect_anomaly(same_process, "strong-session-serializable", "G-single-process");
}

TEST_CASE("txn: info txns count only when observed") {
  std::string h = txn_pair(0, "info", "[[:append :x 1]]") + txn_pair(1, "info", "[[:append :x 2]]") +
                  txn_pair(2, "ok", "[[:r :x nil]]", "[[:r :x [1]]]");
  auto r = check_edn(h, "strict-serializable");
  CHECK(r.verdict == Verdict::valid);
  CHECK(r.details["txns"]["in_graph"] == 2);
}

TEST_CASE("txn: malformed histories are rejected with a clear message") {
  auto rejects = [](const std::string& edn, const std::string& needle) {
    try {
      check_edn(edn, "serializable");
      FAIL("expected HistoryError");
    } catch (const HistoryError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  rejects(R"({:process 0 :type :ok :value [[:append :x]]})", "[f key value]");
  rejects(R"({:process 0 :type :ok :value [[:write :x 1]]})", "unknown micro-op");
  rejects(R"({:process 0 :type :ok :value [[:append :x "a"]]})", "integers");
  rejects(R"({:process 0 :type :ok :value [[:append :x 1]]}
             {:process 1 :type :ok :value [[:append :x 1]]})", "twice");
  rejects(R"({:process 0 :type :invoke :value [[:append :x 1]]}
             {:process 0 :type :invoke :value [[:append :x 2]]})", "in flight");
  CHECK_THROWS_AS(checker::check_transactions({}, {"list-append", "linearizable", 0}),
                  std::invalid_argument);
}

TEST_CASE("txn: rw-register anomalies and inference") {
  const std::string rw = "rw-register";
  const char* serial = R"(
    {:process 0 :type :ok :value [[:w :x 1] [:r :y nil]]}
    {:process 1 :type :ok :value [[:r :x 1] [:w :y 2]]}
    {:process 0 :type :ok :value [[:r :y 2] [:r :x 1] [:w :x 3]]})";
  CHECK(verdict(serial, "strict-serializable", rw) == Verdict::valid);

  // Read skew through the initial state: T2 saw x=1 but y=nil although T1 wrote both.
  const char* skew = R"(
    {:process 0 :type :ok :value [[:w :x 1] [:w :y 1]]}
    {:process 1 :type :ok :value [[:r :x 1] [:r :y nil]]})";
  auto r = expect_anomaly(skew, "snapshot-isolation", "G-single", rw);
  CHECK(r.details["anomalies"]["G-single"][0]["steps"].dump().find("initial state") !=
        std::string::npos);

  const char* aborted = R"(
    {:process 0 :type :fail :value [[:w :x 1]]}
    {:process 1 :type :ok   :value [[:r :x 1]]})";
  CHECK(has_anomaly(check_edn(aborted, "read-committed", rw), "G1a"));

  const char* intermediate = R"(
    {:process 0 :type :ok :value [[:w :x 1] [:w :x 2]]}
    {:process 1 :type :ok :value [[:r :x 1]]})";
  CHECK(has_anomaly(check_edn(intermediate, "read-committed", rw), "G1b"));

  const char* internal = R"({:process 0 :type :ok :value [[:w :x 1] [:r :x 2]]}
                            {:process 1 :type :ok :value [[:w :x 2]]})";
  CHECK(has_anomaly(check_edn(internal, "serializable", rw), "internal"));

  const char* lost = R"(
    {:process 0 :type :ok :value [[:r :x nil] [:w :x 1]]}
    {:process 1 :type :ok :value [[:r :x nil] [:w :x 2]]})";
  expect_anomaly(lost, "snapshot-isolation", "lost-update", rw);

  // Each read the other's write: circular information flow.
  const char* g1c = R"(
    {:process 0 :type :ok :value [[:w :x 1] [:r :y 5]]}
    {:process 1 :type :ok :value [[:r :x 1] [:w :y 5]]})";
  CHECK(has_anomaly(check_edn(g1c, "read-committed", rw), "G1c"));

  // Writes follow reads: T1 read x=1 then wrote x=2, so 1 < 2. T2 read x=1 (so T2 rw T1)
  // and T1's y=3 (T1 wr T2): a G-single cycle.
  const char* wfr = R"(
    {:process 0 :type :ok :value [[:w :x 1]]}
    {:process 1 :type :ok :value [[:r :x 1] [:w :x 2] [:w :y 3]]}
    {:process 2 :type :ok :value [[:r :x 1] [:r :y 3]]})";
  auto w = check_edn(wfr, "snapshot-isolation", rw);
  CHECK(has_anomaly(w, "G-single"));
  CHECK(w.details["anomalies"]["G-single"][0]["steps"].dump().find("overwrote") != std::string::npos);

  const char* garbage = R"({:process 0 :type :ok :value [[:r :x 7]]})";
  auto g = check_edn(garbage, "strict-serializable", rw);
  CHECK(g.verdict == Verdict::valid);
  CHECK(g.details["warning_count"] == 1);
}

TEST_CASE("txn: a cycle search out of budget is unknown, never valid") {
  const char* h = R"(
    {:process 0 :type :ok :value [[:append :x 1] [:append :y 1]]}
    {:process 1 :type :ok :value [[:r :x [1]] [:r :y []]]})";
  History history = read_history_text(h, "test.edn");
  auto r = checker::check_transactions(history, {"list-append", "serializable", 1e-12});
  CHECK(r.verdict == Verdict::unknown);
  CHECK(has_anomaly(r, "cycle-search-timeout"));
  CHECK(!r.details["undecided"].empty());
  // A forbidden anomaly found without cycles still makes it invalid.
  const char* aborted = R"(
    {:process 0 :type :fail :value [[:append :x 1]]}
    {:process 1 :type :ok   :value [[:r :x [1]] [:append :x 2]]}
    {:process 2 :type :ok   :value [[:r :x [1 2]]]})";
  auto a = checker::check_transactions(read_history_text(aborted, "a.edn"),
                                       {"list-append", "serializable", 1e-12});
  CHECK(a.verdict == Verdict::invalid);
}

TEST_CASE("txn: the accepted models, weakest first") {
  auto names = checker::txn_model_names();
  REQUIRE(names.size() == 9);
  CHECK(names.front() == "read-uncommitted");
  CHECK(names.back() == "strict-serializable");
}
