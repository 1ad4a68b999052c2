// Fault windows, per-phase availability and latency, anomalies and gaps on hand-built histories.
#include <catch2/catch.hpp>

#include "checker/clock/timestamps.h"
#include "checker/session/session.h"
#include "checker/txn/elle.h"
#include "checker/txn/txn_history.h"
#include "harness/spec.h"
#include "reports/analysis.h"
#include "tests/unit/report_test_support.h"

using namespace faultline;
using namespace faultline::report;
using namespace faultline::testing;

namespace {

std::int64_t invoke_index(const History& h, std::int64_t process, const std::string& f) {
  for (const auto& op : h)
    if (op.process == process && op.f == f && op.type == OpType::invoke) return op.index;
  return -1;
}

}  // namespace

TEST_CASE("report: fault windows run from a start's info to the matching stop's info") {
  History h = HistoryBuilder()
                  .op(0, "read", "k1", 0, 1, OpType::ok, 1)
                  .nemesis("start-partition", 10, partition_value("n3"))
                  .nemesis("stop-partition", 20, {{"healed", "all nodes"}})
                  .nemesis("start-kill", 25, nullptr,
                           "kill failed: no such process")  // failed start: no window
                  .nemesis("start-pause", 30, {{"description", "pause n2"}})
                  .op(0, "read", "k1", 40, 41, OpType::ok, 1)
                  .build();
  auto windows = fault_windows(h);
  REQUIRE(windows.size() == 2);
  CHECK(windows[0].fault == "partition");
  CHECK(windows[0].start_ns == 10 * kMs);
  CHECK(windows[0].end_ns == 20 * kMs);
  CHECK(windows[0].healed);
  CHECK(windows[0].description() == "one n3 isolated");
  CHECK(windows[1].fault == "pause");
  CHECK_FALSE(windows[1].healed);
  CHECK(windows[1].end_ns == 41 * kMs);  // never stopped: open until the history ends
  CHECK(window_at(windows, 15 * kMs) == &windows[0]);
  CHECK(window_at(windows, 20 * kMs) == nullptr);  // the stop heals it
  CHECK(window_at(windows, 5 * kMs) == nullptr);
  CHECK(window_at(windows, 35 * kMs) == &windows[1]);
}

TEST_CASE("report: availability and latency are split by the phase in force at invocation") {
  History h =
      HistoryBuilder()
          .op(0, "write", "k1", 0, 1, OpType::ok, 1)
          .op(1, "write", "k1", 1, 3, OpType::ok, 2)
          .op(0, "read", "k1", 2, 5, OpType::ok, 2)
          .op(1, "read", "k1", 4, 8, OpType::ok, 2)
          .op(0, "cas", "k1", 6, 7, OpType::fail, nlohmann::json::array({0, 1}))
          .nemesis("start-partition", 10, partition_value("n3"))
          .op(0, "read", "k1", 9.5, 12, OpType::ok, 2)  // invoked before the window: healthy
          .op(1, "write", "k1", 11, 21, OpType::ok, 3)  // invoked inside: partition, 10 ms
          .op(0, "read", "k1", 13, 14.5, OpType::info)
          .op(2, "write", "k0", 15, -1, OpType::info, 4)  // never completed
          .nemesis("stop-partition", 30)
          .op(3, "read", "k1", 40, 41, OpType::ok, 3)
          .build();
  auto phases = phase_figures(h, fault_windows(h));
  REQUIRE(phases.size() == 3);
  const PhaseFigures& healthy = phases[0];
  const PhaseFigures& partition = phases[1];
  const PhaseFigures& after = phases[2];
  CHECK(healthy.phase == "healthy");
  CHECK(healthy.ok == 5);
  CHECK(healthy.fail == 1);
  CHECK(healthy.info == 0);
  CHECK(healthy.latency_ns_p50 == 2500 * 1000);  // latencies 1, 2, 2.5, 3, 4 ms
  CHECK(healthy.latency_ns_p99 == 3 * kMs);      // index 0.99 * 4 = 3 (truncated)
  CHECK(partition.phase == "partition");
  CHECK(partition.windows == 1);
  CHECK(partition.ok == 1);
  CHECK(partition.info == 2);  // an info and a never-completed op
  CHECK(partition.ok_share() == Approx(1.0 / 3));
  CHECK(partition.info_share() == Approx(2.0 / 3));
  CHECK(partition.latency_ns_p50 == 10 * kMs);
  CHECK(partition.duration_s == Approx(0.020));
  CHECK(partition.ok_per_s() == Approx(50));  // 1 ok op in 20 ms
  // The aftermath of the heal at 30 ms runs to the end of the history (shorter than 5 s).
  CHECK(after.phase == "after partition");
  CHECK(after.windows == 0);
  CHECK(after.ok == 1);
  CHECK(after.duration_s == Approx(0.011));
  CHECK(healthy.duration_s == Approx(0.010));  // 41 ms in all
}

TEST_CASE(
    "report: the aftermath of a heal takes at most half the quiet time before the next fault") {
  History h = HistoryBuilder()
                  .nemesis("start-partition", 1000, partition_value("n1"))
                  .nemesis("stop-partition", 2000)
                  .op(0, "read", "k1", 2500, 2501, OpType::ok, 1)
                  .nemesis("start-partition", 4000, partition_value("n2"))
                  .nemesis("stop-partition", 5000)
                  .op(0, "read", "k1", 11000, 11001, OpType::ok, 1)
                  .build();
  auto phases = phase_figures(h, fault_windows(h));
  REQUIRE(phases.size() == 3);
  CHECK(phases[1].windows == 2);
  CHECK(phases[1].duration_s == Approx(2.0));
  CHECK(phases[2].duration_s == Approx(1.0 + 5.0));  // 2000-3000 ms, then 5 s after 5000 ms
  CHECK(phases[2].ok == 1);                          // at 2.5 s
  CHECK(phases[0].ok == 1);                          // at 11 s: healthy again
  CHECK(phases[0].duration_s == Approx(11.001 - 8.0));
}

TEST_CASE("report: a phase with no ok op has no latency figures") {
  History h = HistoryBuilder()
                  .nemesis("start-partition", 1, partition_value("n1"))
                  .op(0, "read", "k1", 2, 3, OpType::fail)
                  .nemesis("stop-partition", 5)
                  .build();
  auto phases = phase_figures(h, fault_windows(h));
  REQUIRE(phases.size() == 2);
  CHECK(phases[1].latency_ns_p99 == -1);
  CHECK(phases[0].total() == 0);
  CHECK(phases[0].ok_share() == 0);
}

TEST_CASE(
    "report: a linearizability failure becomes an anomaly with its ops, node and partition side") {
  History h = HistoryBuilder()
                  .op(0, "write", "k1", 0, 5, OpType::ok, 3)
                  .nemesis("start-partition", 10, partition_value("n3"))
                  .op(1, "write", "k1", 12, 15, OpType::ok, 4)
                  .op(2, "read", "k1", 20, 22, OpType::ok, 3, "n3")
                  .nemesis("stop-partition", 50)
                  .build();
  std::int64_t read = invoke_index(h, 2, "read");
  nlohmann::json failure = {
      {"key", "k1"},
      {"reason",
       "read returning 3 (op " + std::to_string(read) + ", process 2) cannot take effect"},
      {"blocked_op", {{"index", read}, {"f", "read"}, {"process", 2}}},
      {"concurrent_ops", nlohmann::json::array()},
      {"longest_prefix", {invoke_index(h, 0, "write"), invoke_index(h, 1, "write")}}};
  nlohmann::json results = results_for("invalid", {linear_check("invalid", {failure})});
  auto anomalies = collect_anomalies(results, h, fault_windows(h));
  REQUIRE(anomalies.size() == 1);
  const Anomaly& a = anomalies[0];
  CHECK(a.type == "nonlinearizable-read");
  CHECK(a.key == "k1");
  CHECK(a.focus == read);
  CHECK(a.ops.size() == 3);  // the blocked read and the two writes before it, in time order
  CHECK(a.ops.back() == read);
  CHECK(a.headline.rfind("key k1: read returning 3", 0) == 0);
  CHECK(a.context.find("during partition \"one n3 isolated\"") != std::string::npos);
  CHECK(a.context.find("n3 could not reach n1, n2 (minority side, 1 of 3 nodes)") !=
        std::string::npos);
  REQUIRE(a.sentences.size() == 3);
  CHECK(a.sentences[1].find("write k1 4") != std::string::npos);
}

TEST_CASE("report: Elle anomalies keep their cycle steps, and completion indexes map to their ops") {
  History h = HistoryBuilder()
                  .op(0, "txn", "", 0, 2, OpType::ok, nlohmann::json::array())
                  .op(1, "txn", "", 1, 3, OpType::ok, nlohmann::json::array())
                  .build();
  std::int64_t t0_done = 2, t1_invoke = 1;  // entries: invoke0, invoke1, ok0, ok1
  nlohmann::json check = {
      {"checker", "elle-list-append"},
      {"model", "serializable"},
      {"verdict", "invalid"},
      {"details",
       {{"forbidden_found", {"G-single"}},
        {"anomaly_counts", {{"G-single", 1}}},
        {"anomalies",
         {{"G-single",
           {{{"cycle", {t0_done, t1_invoke, t0_done}},
             {"steps",
              {"T0 < T1 because T1 read x = [1]", "T1 < T0 because T0 did not see 2"}}}}}}}}}};
  // As the checker fills them.
  check["anomalies"] = nlohmann::json::array();
  for (const auto& a : checker::txn_anomalies(check["details"]["anomalies"], {"G-single"},
                                                     checker::txn::compile(h, checker::txn::Workload::list_append)))
    check["anomalies"].push_back(checker::to_json(a));
  auto anomalies = collect_anomalies(results_for("invalid", {check}), h, {});
  REQUIRE(anomalies.size() == 1);
  CHECK(anomalies[0].type == "G-single");
  CHECK(anomalies[0].ops == std::vector<std::int64_t>{0, 1});
  CHECK(anomalies[0].sentences.front() == "T0 < T1 because T1 read x = [1].");
  CHECK(anomalies[0].headline == "T0 < T1 because T1 read x = [1]. (forbidden by the claim)");
  CHECK(anomalies[0].focus == -1);          // a cycle has no single culprit
  CHECK(anomalies[0].names.at(0) == "T2");  // Elle named the txn by its completion's index
  CHECK(anomalies[0].names.at(1) == "T1");
}

TEST_CASE("report: a session-guarantee cycle reads as its chain, with the fault and the node") {
  // Process 0 writes 1 then 2 through n1; process 1 reads 2 through n1, then 1 through n3, which
  // is cut off: monotonic reads broken, the order forced by monotonic writes.
  History h = HistoryBuilder()
                  .op(0, "write", "k1", 0, 10, OpType::ok, 1)
                  .op(0, "write", "k1", 20, 30, OpType::ok, 2)
                  .op(1, "read", "k1", 40, 50, OpType::ok, 2)
                  .nemesis("start-partition", 55, partition_value("n3"))
                  .op(1, "read", "k1", 60, 70, OpType::ok, 1, "n3")
                  .nemesis("stop-partition", 100)
                  .build();
  nlohmann::json check = checker::to_json(checker::check_session(h));
  auto anomalies = collect_anomalies(results_for("invalid", {check}), h, fault_windows(h));
  REQUIRE(anomalies.size() == 1);
  const Anomaly& a = anomalies[0];
  CHECK(a.type == "monotonic-reads");
  CHECK(a.key == "k1");
  CHECK(a.ops.size() == 4);
  CHECK(a.headline.find("monotonic reads violated on k1: process 1 read 2") == 0);
  CHECK(a.names.at(a.focus) == "read 1");
  REQUIRE(a.sentences.size() == 4);  // two edges, the conclusion, the fault context
  CHECK(a.sentences[2].find("no order of k1's writes") != std::string::npos);
  CHECK(a.sentences[3].find("on node n3") != std::string::npos);
  CHECK(a.sentences[3].find("during partition") != std::string::npos);
}

TEST_CASE(
    "report: op labels are short: reads with their value, cas as from→to, txns as micro-ops") {
  auto span = [](std::string f, std::string key, nlohmann::json value, OpType outcome) {
    OpSpan s;
    s.f = std::move(f);
    s.key = std::move(key);
    s.value = std::move(value);
    s.outcome = outcome;
    return s;
  };
  CHECK(span("read", "k1", 3, OpType::ok).label() == "read k1 → 3");
  CHECK(span("read", "k1", nullptr, OpType::info).label() == "read k1");
  CHECK(span("cas", "k0", {1, 4}, OpType::fail).label() == "cas k0 1→4");
  OpSpan txn = span(
      "txn", "",
      nlohmann::json::parse(R"([["append",115,31],["r",106,[1,2,3,4,5,6,7,8,9]],["r",7,null]])"),
      OpType::ok);
  CHECK(txn.label() == "a 115 31, r 106 [1 2 3 … 7 8 9], r 7");
}

TEST_CASE("report: what was not exercised names missing faults, limitations and unknown outcomes") {
  RunData run;
  run.spec_text = kUnitSpec;
  run.history = HistoryBuilder()
                    .nemesis("start-partition", 1, partition_value("n1"))
                    .op(0, "read", "k1", 2, 3, OpType::ok, 1)
                    .op(1, "cas", "k1", 2, 4, OpType::info, nlohmann::json::array({1, 2}))
                    .nemesis("stop-partition", 5)
                    .build();
  run.results = results_for("valid", {linear_check("valid")});
  Analysis a = analyze(run);
  CHECK(a.faults_injected == std::vector<std::string>{"partition"});
  auto find = [&](const std::string& what) -> std::string {
    for (const auto& n : a.not_exercised)
      if (n.what == what) return n.why;
    return "(absent)";
  };
  CHECK(find("packet-loss, kill, pause and clock faults") == "not in the spec's nemesis faults");
  CHECK(find("clock faults on this target") == "clock faults not effective on etcd");
  CHECK(find("1 op with unknown outcome").find("1 timed out") != std::string::npos);
  for (const auto& n : a.not_exercised) CHECK(n.what.find("partition") == std::string::npos);
  CHECK(find("successful cas ops") == "all 1 invocation failed or timed out");
  REQUIRE(a.answers.size() == 4);
  CHECK(a.answers[0].answer.find("Linearizable") == 0);
  CHECK(a.answers[1].answer.find("During 1 partition window") == 0);
  CHECK(a.answers[2].answer.find("Per key: 2 keys") == 0);
  CHECK(a.answers[3].answer.find("packet-loss, kill, pause and clock faults") != std::string::npos);
}

TEST_CASE("report: a timeline spec's faults are in the spec, and one that never started says so") {
  Test test = load_test_text(
      "name: unit-timeline\n"
      "target: { system: etcd, nodes: 3 }\n"
      "workload: { name: register, keys: 2 }\n"
      "clients: { concurrency: 2, rate_per_s: 10, timeout_ms: 1000 }\n"
      "nemesis:\n"
      "  timeline:\n"
      "    - { at_s: 1, fault: partition, nodes: [n1], duration_s: 4 }\n"
      "    - { at_s: 100, fault: kill, nodes: [n2] }\n"
      "time_limit_s: 1\n",
      "timeline.yaml");
  report::RunRecord record = run_record(test);
  CHECK(record.faults_asked() == std::vector<std::string>{"partition", "kill"});
  RunData run;
  run.history = HistoryBuilder()
                    .nemesis("start-partition", 1, partition_value("n1"))
                    .op(0, "read", "k1", 2, 3, OpType::ok, 1)
                    .nemesis("stop-partition", 5)
                    .build();
  run.results = results_for("valid", {linear_check("valid")});
  run.results["run"] = report::to_json(record);
  Analysis a = analyze(run);
  auto find = [&](const std::string& what) -> std::string {
    for (const auto& n : a.not_exercised)
      if (n.what == what) return n.why;
    return "(absent)";
  };
  CHECK(find("kill faults") ==
        "in the spec, but never started (the run ended first, or every start failed)");
  for (const auto& n : a.not_exercised) CHECK(n.what.find("kill,") == std::string::npos);
  CHECK(find("bandwidth, clock, corrupt, latency, lose-unsynced, packet-loss, pause, reset-peer, "
             "slow-close, timeout and torn-write faults") == "not in the spec's nemesis faults");
}

TEST_CASE("report: the timeline's lanes are workers, from the run record's rule") {
  report::RunRecord record;
  record.concurrency = 4;
  CHECK(record.worker_of(2) == 2);
  CHECK(record.worker_of(6) == 2);  // worker 2 after one info: process 2 + 4
  CHECK(record.worker_of(13) == 1);
  record.concurrency = 0;  // unknown (an old run): lanes are processes
  CHECK(record.worker_of(13) == 13);
}

TEST_CASE("report: a timestamp inversion reads as happens-before against server time, with the fault") {
  // A returns at 12.1 s stamped 101.8 s; during a clock bump, B begins at 12.3 s stamped 100 s.
  History h = HistoryBuilder()
                  .op(0, "timed-write", "t0", 12000, 12100, OpType::ok, {{"server_time_us", 101800000}})
                  .nemesis("start-clock", 12200, {{"description", "bump -1800 ms on n1"}})
                  .op(1, "timed-write", "t0", 12300, 12400, OpType::ok, {{"server_time_us", 100000000}})
                  .nemesis("stop-clock", 13000)
                  .build();
  nlohmann::json check = checker::to_json(checker::check_timestamps(h));
  RunData run;
  run.results = results_for("invalid", {check});
  run.history = h;
  auto anomalies = collect_anomalies(run.results, h, fault_windows(h));
  REQUIRE(anomalies.size() == 1);
  CHECK(anomalies[0].headline ==
        "A returned at 12.100 s before B began at 12.300 s, yet A's server time is 1.800 s later "
        "than B's: a last-write-wins store ordering by these times would keep A and drop B");
  CHECK(anomalies[0].sentences.back().find("during clock") != std::string::npos);
  std::string answer = analyze(run).answers[0].answer;
  CHECK(answer.find("1 write began after another write had returned") != std::string::npos);
  CHECK(answer.find("would have silently dropped 1 write,") != std::string::npos);
}
