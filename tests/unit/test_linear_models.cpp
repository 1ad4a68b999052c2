// The linearizability checker on hand-built histories with known answers, one model at a time,
// and the semantics of info ops, nil reads, initial values, keys and malformed input.
#include <catch2/catch.hpp>

#include "checker/linear/linearizability.h"
#include "checker/linear/generate.h"
#include "linear_builder.h"

using namespace faultline;
using namespace faultline::checker;
using faultline::testing::HistoryBuilder;
using faultline::testing::verdict_of;
using nlohmann::json;

TEST_CASE("linear register: a read sees the latest completed write or a concurrent one") {
  HistoryBuilder sequential;
  sequential.op(0, "write", 1, nullptr).op(1, "read", nullptr, 1).op(0, "write", 2, nullptr).op(1, "read", nullptr, 2);
  CHECK(verdict_of(sequential.history(), "register") == Verdict::valid);

  HistoryBuilder stale;  // the write of 2 completed before the read began
  stale.op(0, "write", 1, nullptr).op(0, "write", 2, nullptr).op(1, "read", nullptr, 1);
  CHECK(verdict_of(stale.history(), "register") == Verdict::invalid);

  HistoryBuilder concurrent;  // the read overlaps the write of 2: either value is fine
  concurrent.op(0, "write", 1, nullptr).invoke(0, "write", 2).invoke(1, "read").ok(1, 1).ok(0);
  CHECK(verdict_of(concurrent.history(), "register") == Verdict::valid);
}

TEST_CASE("linear register: the register starts absent unless an initial value is given") {
  HistoryBuilder absent;  // ok read of null: the key was absent
  absent.op(0, "read", nullptr, nullptr).op(0, "write", 3, nullptr);
  CHECK(verdict_of(absent.history(), "register") == Verdict::valid);
  CHECK(verdict_of(absent.history(), "register", 0) == Verdict::invalid);

  HistoryBuilder zero;
  zero.op(0, "read", nullptr, 0);
  CHECK(verdict_of(zero.history(), "register") == Verdict::invalid);
  CHECK(verdict_of(zero.history(), "register", 0) == Verdict::valid);
}

TEST_CASE("linear register: nil_read_matches_any makes a nil read say nothing") {
  HistoryBuilder history;
  history.op(0, "write", 1, nullptr).op(1, "read", nullptr, nullptr);
  CHECK(verdict_of(history.history(), "register") == Verdict::invalid);
  LinearOptions options;
  options.model = "register";
  options.nil_read_matches_any = true;
  CHECK(check_linearizable(history.history(), options).verdict == Verdict::valid);
}

TEST_CASE("linear cas-register: cas, failed cas, info semantics") {
  HistoryBuilder cas;
  cas.op(0, "write", 1, nullptr).op(1, "cas", json{1, 2}, nullptr).op(0, "read", nullptr, 2);
  CHECK(verdict_of(cas.history(), "cas-register") == Verdict::valid);

  HistoryBuilder failed;  // a failed cas never took effect
  failed.op(0, "write", 1, nullptr).invoke(1, "cas", json{1, 2}).fail(1).op(0, "read", nullptr, 2);
  CHECK(verdict_of(failed.history(), "cas-register") == Verdict::invalid);

  HistoryBuilder bad_compare;  // an ok cas whose compare cannot match
  bad_compare.op(0, "write", 1, nullptr).op(1, "cas", json{5, 2}, nullptr);
  CHECK(verdict_of(bad_compare.history(), "cas-register") == Verdict::invalid);

  HistoryBuilder info_noop;  // an info cas whose compare cannot match is simply a no-op
  info_noop.op(0, "write", 1, nullptr).invoke(1, "cas", json{5, 2}).info(1).op(0, "read", nullptr, 1);
  CHECK(verdict_of(info_noop.history(), "cas-register") == Verdict::valid);

  HistoryBuilder register_cas;
  register_cas.op(0, "cas", json{1, 2}, nullptr);
  CHECK_THROWS_AS(verdict_of(register_cas.history(), "register"), HistoryError);
}

TEST_CASE("linear cas-register: an info write may take effect late, or never") {
  HistoryBuilder late;  // timed out, then observed long after
  late.invoke(0, "write", 7).info(0).op(1, "read", nullptr, nullptr).op(1, "read", nullptr, 7);
  CHECK(verdict_of(late.history(), "cas-register") == Verdict::valid);

  HistoryBuilder never;
  never.invoke(0, "write", 7).info(0).op(1, "read", nullptr, nullptr);
  CHECK(verdict_of(never.history(), "cas-register") == Verdict::valid);

  HistoryBuilder not_before;  // but never before it was invoked
  not_before.op(1, "read", nullptr, 7).invoke(0, "write", 7).info(0);
  CHECK(verdict_of(not_before.history(), "cas-register") == Verdict::invalid);

  HistoryBuilder once;  // and only once: it cannot be seen, overwritten, then seen again
  once.invoke(0, "write", 7).info(0).op(1, "read", nullptr, 7).op(1, "write", 8, nullptr).op(1, "read", nullptr, 7);
  CHECK(verdict_of(once.history(), "cas-register") == Verdict::invalid);

  HistoryBuilder unfinished;  // never completed at all: the same as info
  unfinished.invoke(0, "write", 7).op(1, "read", nullptr, 7);
  CHECK(verdict_of(unfinished.history(), "cas-register") == Verdict::valid);
}

TEST_CASE("linear: keys are checked apart, nemesis ops ignored, the invalid key named") {
  HistoryBuilder history;
  history.op(0, "write", 1, nullptr, "a").op(1, "write", 2, nullptr, "b").nemesis("start-partition");
  history.op(0, "read", nullptr, 1, "a").op(1, "read", nullptr, 1, "b");
  LinearOptions options;
  options.model = "kv";
  options.refute = false;  // the search's explanation, not the stale-read refutation's
  CheckResult result = check_linearizable(history.history(), options);
  CHECK(result.verdict == Verdict::invalid);
  CHECK(result.details["keys"] == 2);
  CHECK(result.details["invalid_keys"] == json{"b"});
  CHECK(result.summary.find("key b:") != std::string::npos);
  const json& failure = result.details["failures"][0];
  CHECK(failure["key"] == "b");
  CHECK(failure["blocked_op"]["index"] == 7);
  CHECK(failure["state_after_prefix"] == "2");
}

TEST_CASE("linear: the explanation names the prefix, the blocked op and the concurrent ops") {
  // 4 writes concurrent with nothing; then a read of 3 overlapping one write of 4.
  HistoryBuilder history;
  history.op(0, "write", 1, nullptr).op(0, "write", 4, nullptr);
  history.invoke(1, "write", 4).invoke(2, "read").ok(2, 3).ok(1);
  LinearOptions options;
  options.refute = false;  // the search's explanation, not the stale-read refutation's
  CheckResult result = check_linearizable(history.history(), options);
  REQUIRE(result.verdict == Verdict::invalid);
  const json& failure = result.details["failures"][0];
  CHECK(failure["longest_prefix"] == json{0, 2, 4});
  CHECK(failure["blocked_op"]["f"] == "read");
  CHECK(failure["blocked_op"]["value"] == 3);
  REQUIRE(failure["concurrent_ops"].size() == 1);
  CHECK(failure["concurrent_ops"][0]["index"] == 4);
  CHECK(failure["states_before_blocked_op"] == json{"4"});
  CHECK(result.summary ==
        "not linearizable (cas-register): read returning 3 (op 5, process 2) cannot take effect: whatever the "
        "order of the 1 op in flight around it, the object is 4 (longest linearizable prefix: 3 ops, after "
        "which the object is 4)");
}

TEST_CASE("linear: malformed input throws HistoryError") {
  HistoryBuilder unknown_f;
  unknown_f.op(0, "increment", 1, nullptr);
  CHECK_THROWS_AS(verdict_of(unknown_f.history(), "cas-register"), HistoryError);
  HistoryBuilder bad_cas;
  bad_cas.op(0, "cas", 3, nullptr);
  CHECK_THROWS_AS(verdict_of(bad_cas.history(), "cas-register"), HistoryError);
  HistoryBuilder two_in_flight;
  two_in_flight.invoke(0, "read").invoke(0, "read");
  CHECK_THROWS_AS(verdict_of(two_in_flight.history(), "cas-register"), HistoryError);
  CHECK_THROWS_AS(verdict_of({}, "no-such-model"), HistoryError);
  CHECK(verdict_of({}, "cas-register") == Verdict::valid);
  CHECK(linear_model_names().size() == 9);
}

TEST_CASE("linear multi-register: txns over several registers apply atomically") {
  HistoryBuilder ok;
  ok.op(0, "txn", json::array({{"write", "x", 1}, {"write", "y", 1}}), nullptr);
  ok.op(1, "txn", json::array({{"read", "x", nullptr}, {"read", "y", nullptr}}),
        json::array({{"read", "x", 1}, {"read", "y", 1}}));
  CHECK(verdict_of(ok.history(), "multi-register", 0) == Verdict::valid);

  HistoryBuilder torn;  // a read sees half of a txn that completed before it
  torn.op(0, "txn", json::array({{"write", "x", 1}, {"write", "y", 1}}), nullptr);
  torn.op(1, "txn", json::array({{"read", "x", nullptr}, {"read", "y", nullptr}}),
          json::array({{"read", "x", 1}, {"read", "y", 0}}));
  CHECK(verdict_of(torn.history(), "multi-register", 0) == Verdict::invalid);

  HistoryBuilder bad;
  bad.op(0, "txn", json::array({{"append", "x", 1}}), nullptr);
  CHECK_THROWS_AS(verdict_of(bad.history(), "multi-register", 0), HistoryError);
}

TEST_CASE("linear set: reads see every add completed before them") {
  HistoryBuilder ok;
  ok.op(0, "add", 1, nullptr).invoke(0, "add", 2).op(1, "read", nullptr, json{1}).ok(0).op(1, "read", nullptr, json{2, 1});
  CHECK(verdict_of(ok.history(), "set") == Verdict::valid);

  HistoryBuilder lost;
  lost.op(0, "add", 1, nullptr).op(0, "add", 2, nullptr).op(1, "read", nullptr, json{2});
  CHECK(verdict_of(lost.history(), "set") == Verdict::invalid);

  HistoryBuilder shrinking;  // two concurrent adds, but the reads disagree on their order
  shrinking.invoke(0, "add", 1).invoke(1, "add", 2);
  shrinking.op(2, "read", nullptr, json{1}).op(3, "read", nullptr, json{2}).ok(0).ok(1);
  CHECK(verdict_of(shrinking.history(), "set") == Verdict::invalid);
}

TEST_CASE("linear fifo-queue: dequeues return values in enqueue order") {
  HistoryBuilder ok;
  ok.op(0, "enqueue", 1, nullptr).op(0, "enqueue", 2, nullptr).op(1, "dequeue", nullptr, 1);
  ok.op(1, "dequeue", nullptr, 2).op(1, "dequeue", nullptr, nullptr);
  CHECK(verdict_of(ok.history(), "fifo-queue") == Verdict::valid);

  HistoryBuilder reordered;
  reordered.op(0, "enqueue", 1, nullptr).op(0, "enqueue", 2, nullptr).op(1, "dequeue", nullptr, 2);
  CHECK(verdict_of(reordered.history(), "fifo-queue") == Verdict::invalid);

  HistoryBuilder concurrent;  // concurrent enqueues may take effect in either order
  concurrent.invoke(0, "enqueue", 1).invoke(1, "enqueue", 2).ok(0).ok(1).op(2, "dequeue", nullptr, 2);
  CHECK(verdict_of(concurrent.history(), "fifo-queue") == Verdict::valid);

  HistoryBuilder lost_dequeue;  // an info dequeue may have taken the head
  lost_dequeue.op(0, "enqueue", 1, nullptr).op(0, "enqueue", 2, nullptr).invoke(1, "dequeue").info(1);
  lost_dequeue.op(2, "dequeue", nullptr, 2);
  CHECK(verdict_of(lost_dequeue.history(), "fifo-queue") == Verdict::valid);
}

TEST_CASE("linear mutex: one holder at a time") {
  HistoryBuilder ok;
  ok.op(0, "acquire", nullptr, nullptr).op(0, "release", nullptr, nullptr).op(1, "acquire", nullptr, nullptr);
  ok.invoke(2, "acquire").fail(2);
  CHECK(verdict_of(ok.history(), "mutex") == Verdict::valid);

  HistoryBuilder twice;
  twice.op(0, "acquire", nullptr, nullptr).op(1, "acquire", nullptr, nullptr);
  CHECK(verdict_of(twice.history(), "mutex") == Verdict::invalid);
}

TEST_CASE("linear counter: reads within the bounds of completed and attempted adds") {
  HistoryBuilder ok;
  ok.op(0, "add", 1, nullptr).invoke(1, "add", 5).invoke(0, "read").ok(0, 6).info(1).op(0, "read", nullptr, 6);
  CHECK(verdict_of(ok.history(), "counter") == Verdict::valid);

  HistoryBuilder too_high;
  too_high.op(0, "add", 1, nullptr).op(0, "read", nullptr, 2);
  CHECK(verdict_of(too_high.history(), "counter") == Verdict::invalid);

  HistoryBuilder too_low;  // an ok add completed before the read began
  too_low.op(0, "add", 1, nullptr).op(1, "read", nullptr, 0);
  CHECK(verdict_of(too_low.history(), "counter") == Verdict::invalid);

  HistoryBuilder backwards;  // each read is in bounds, but the second sees less than the first
  backwards.invoke(0, "add", 1).op(1, "read", nullptr, 1).op(1, "read", nullptr, 0).ok(0);
  CHECK(verdict_of(backwards.history(), "counter") == Verdict::invalid);
}

TEST_CASE("linear unique-ids: every ok generate returns a fresh id") {
  HistoryBuilder ok;
  ok.op(0, "generate", nullptr, 1).op(1, "generate", nullptr, 2).invoke(2, "generate").info(2);
  CHECK(verdict_of(ok.history(), "unique-ids") == Verdict::valid);
  HistoryBuilder duplicate;
  duplicate.op(0, "generate", nullptr, 1).op(1, "generate", nullptr, 1);
  CheckResult result = check_linearizable(duplicate.history(), LinearOptions{.model = "unique-ids"});
  CHECK(result.verdict == Verdict::invalid);
  CHECK(result.details["failures"][0]["ops"].size() == 2);
}

TEST_CASE("linear: keys checked in parallel give the same answer as one thread") {
  linear::GenerateOptions gen{.seed = 3, .ops = 3000, .processes = 20, .keys = 16, .values = 4,
                              .info_probability = 0.02};
  History history = linear::generate_register_history(gen);
  history[history.size() / 2].value = 99;  // some read or write now says 99: likely invalid
  LinearOptions options;
  options.model = "kv";
  options.threads = 1;
  CheckResult one = check_linearizable(history, options);
  options.threads = 0;
  CheckResult all = check_linearizable(history, options);
  CHECK(one.verdict == all.verdict);
  CHECK(one.summary == all.summary);
  CHECK(one.details["keys"] == 16);
  CHECK(one.details["invalid_keys"] == all.details["invalid_keys"]);
  CHECK(one.details["per_key"].size() == 16);
}

TEST_CASE("linear: an exhausted budget is unknown, never valid") {
  linear::GenerateOptions gen{.seed = 5, .ops = 20'000, .processes = 30, .values = 3};
  History history = linear::generate_register_history(gen);
  LinearOptions options;
  options.max_memory_bytes = 64 << 10;  // the cache may not grow past a few thousand configurations
  CheckResult result = check_linearizable(history, options);
  CHECK(result.verdict == Verdict::unknown);
  CHECK(result.details["budget_exhausted"] == true);
  CHECK(result.summary.find("ran out of memory (budget 0 MiB)") != std::string::npos);
  options.max_memory_bytes = LinearOptions{}.max_memory_bytes;
  CHECK(check_linearizable(history, options).verdict == Verdict::valid);
}

TEST_CASE("linear: a long generated history checks in about one state per op") {
  linear::GenerateOptions gen{.seed = 9, .ops = 200'000, .processes = 5, .values = 5, .info_probability = 0.01};
  History history = linear::generate_register_history(gen);
  LinearOptions options;
  options.time_limit_s = 60;  // a safety net: the check takes a fraction of a second
  CheckResult result = check_linearizable(history, options);
  CHECK(result.verdict == Verdict::valid);
  CHECK(result.details["states_explored"].get<std::uint64_t>() < 4 * gen.ops);
}

TEST_CASE("linear: Jepsen independent (k v) tuples are split per key") {
  HistoryBuilder history;
  history.op(0, "write", json{"a", 1}, nullptr).op(1, "write", json{"b", 2}, nullptr);
  history.op(0, "read", nullptr, json{"a", 1});
  history.op(1, "cas", json{"b", {2, 3}}, nullptr).op(1, "read", json{"b", nullptr}, json{"b", 2});
  LinearOptions options;
  options.independent_tuples = true;
  CheckResult result = check_linearizable(history.history(), options);
  CHECK(result.verdict == Verdict::invalid);
  CHECK(result.details["keys"] == 2);
  CHECK(result.details["invalid_keys"] == json{"b"});
  CHECK(result.details["failures"][0]["blocked_op"]["value"] == 2);  // the value of the tuple
}

TEST_CASE("linear: malformed input on one of many keys throws from the worker threads too") {
  HistoryBuilder history;
  for (int key = 0; key < 8; ++key) history.op(0, "write", key, nullptr, "k" + std::to_string(key));
  history.op(1, "cas", "not a pair", nullptr, "k5");
  LinearOptions options;
  options.threads = 0;
  CHECK_THROWS_AS(check_linearizable(history.history(), options), HistoryError);
}

TEST_CASE("linear: explanations speak the model's language") {
  HistoryBuilder set;
  set.op(0, "add", 1, nullptr).op(0, "add", 2, nullptr).op(1, "read", nullptr, json{2});
  CheckResult set_result = check_linearizable(set.history(), LinearOptions{.model = "set"});
  CHECK(set_result.summary ==
        "not linearizable (set): read returning [2] (op 4, process 1) cannot take effect: the object is [1,2] "
        "when it runs, and no other op is in flight around it (longest linearizable prefix: 2 ops, after which "
        "the object is [1,2])");

  HistoryBuilder queue;
  queue.op(0, "enqueue", 1, nullptr).invoke(0, "enqueue", 2).op(1, "dequeue", nullptr, 2).ok(0);
  CheckResult queue_result = check_linearizable(queue.history(), LinearOptions{.model = "fifo-queue"});
  CHECK(queue_result.verdict == Verdict::invalid);
  CHECK(queue_result.summary.find("dequeue returning 2") != std::string::npos);
  CHECK(queue_result.summary.find("the object is queue [1] or queue [1,2]") != std::string::npos);

  HistoryBuilder txn;
  txn.op(0, "txn", json::array({{"w", "x", 1}}), nullptr);
  txn.op(1, "txn", json::array({{"r", "x", nullptr}}), json::array({{"r", "x", 2}}));
  CheckResult txn_result = check_linearizable(txn.history(), LinearOptions{.model = "multi-register"});
  CHECK(txn_result.summary.find("txn [[read x 2]]") != std::string::npos);
  CHECK(txn_result.summary.find("{\"x\":1}") != std::string::npos);
}

namespace {

CheckResult checked(const History& history, const std::string& model = "cas-register") {
  LinearOptions options;
  options.model = model;
  options.threads = 1;
  return check_linearizable(history, options);
}

}  // namespace

TEST_CASE("linear refutation: a stale read is named with the write that overwrote its value") {
  HistoryBuilder stale;  // write 1, then write 2 (op 2), then a read of 1 (op 4): stale by real time
  stale.op(0, "write", 1, nullptr).op(1, "write", 2, nullptr).op(0, "read", nullptr, 1);
  stale.invoke(2, "write", 1).info(2);  // invoked after the read completed: it cannot explain it
  CheckResult result = checked(stale.history());
  REQUIRE(result.verdict == Verdict::invalid);
  CHECK(result.details["per_key"][0]["method"] == "refuted");
  CHECK(result.details["states_explored"] == 0);
  const json& failure = result.details["failures"][0];
  CHECK(failure["blocked_op"]["index"] == 4);
  std::vector<std::int64_t> ops;
  for (const json& op : failure["ops"]) ops.push_back(op["index"].get<std::int64_t>());
  CHECK(ops == std::vector<std::int64_t>{4, 0, 2});  // the read, the last write of 1, the write of 2
  CHECK(result.summary ==
        "not linearizable (cas-register): op 4 (process 0, read 1) cannot take effect: every write or cas of 1 "
        "invoked before it completed (1) had completed when op 0 (process 0, write 1) did, and op 2 (process 1, "
        "write 2) was invoked after that and completed before it was invoked: the value read had been overwritten");
  CHECK(result.anomalies[0].kind == "nonlinearizable-read");
  CHECK(result.anomalies[0].focus == 4);
}

TEST_CASE("linear refutation: values nobody wrote, the initial value, cas compares") {
  HistoryBuilder unwritten;
  unwritten.op(0, "write", 1, nullptr).invoke(1, "write", 7).op(0, "read", nullptr, 3).ok(1);
  CheckResult result = checked(unwritten.history());
  CHECK(result.details["per_key"][0]["method"] == "refuted");
  CHECK(result.summary.find("no write or cas of 3 was invoked before it completed") != std::string::npos);

  HistoryBuilder initial;  // 0 was the initial value, overwritten before the read began
  initial.op(0, "write", 1, nullptr).op(1, "read", nullptr, 0);
  LinearOptions options;
  options.initial_value = 0;
  result = check_linearizable(initial.history(), options);
  CHECK(result.details["per_key"][0]["method"] == "refuted");
  CHECK(result.summary.find("0 was only the initial value") != std::string::npos);

  HistoryBuilder compare;  // the cas expects 1, overwritten by 2 before it began
  compare.op(0, "write", 1, nullptr).op(0, "write", 2, nullptr).op(1, "cas", json{1, 3}, nullptr);
  result = checked(compare.history());
  CHECK(result.details["per_key"][0]["method"] == "refuted");
  CHECK(result.details["failures"][0]["blocked_op"]["f"] == "cas");
}

TEST_CASE("linear refutation: concurrent and info writes leave the read to the search") {
  HistoryBuilder concurrent;  // the write of 2 overlaps the read: the search decides (valid)
  concurrent.op(0, "write", 1, nullptr).invoke(1, "write", 2).op(0, "read", nullptr, 1).ok(1);
  CheckResult result = checked(concurrent.history());
  CHECK(result.verdict == Verdict::valid);
  CHECK(result.details["per_key"][0]["method"] == "search");

  HistoryBuilder pending;  // an info write of 1 may take effect late, after the write of 2
  pending.op(0, "write", 2, nullptr).invoke(1, "write", 1).info(1).op(0, "write", 2, nullptr);
  pending.op(0, "read", nullptr, 1);
  result = checked(pending.history());
  CHECK(result.verdict == Verdict::valid);

  HistoryBuilder blocked;  // not refuted (the write of 1 is concurrent), but invalid: the search says so
  blocked.invoke(0, "write", 1).op(1, "read", nullptr, 1).op(1, "read", nullptr, nullptr).ok(0);
  result = checked(blocked.history());
  CHECK(result.verdict == Verdict::invalid);
  CHECK(result.details["per_key"][0]["method"] == "search");
}
