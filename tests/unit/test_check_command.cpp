// `faultline check` on a history that is empty or whose last line is torn: never a silent pass.
#include <catch2/catch.hpp>

#include "tests/integration/support.h"

using namespace faultline::testing;

namespace {

const char* kTwoOps =
    R"({"index":0,"time_ns":0,"process":0,"type":"invoke","f":"write","key":"k","value":1})" "\n"
    R"({"index":1,"time_ns":1,"process":0,"type":"ok","f":"write","key":"k","value":1})" "\n";

}  // namespace

TEST_CASE("check: an empty history is unknown (exit 2) unless --allow-empty") {
  TempDir dir;
  std::string empty = dir.write("empty.jsonl", "");
  Output out = run_faultline({"check", empty});
  INFO(out.text);
  CHECK(out.exit_code == 2);
  CHECK(out.text.find("no client op") != std::string::npos);
  CHECK(run_faultline({"check", "--allow-empty", empty}).exit_code == 0);
}

TEST_CASE("check: a torn last line is dropped and the output says the history was cut") {
  TempDir dir;
  std::string torn = dir.write("torn.jsonl", std::string(kTwoOps) + R"({"index":2,"ti)");
  Output out = run_faultline({"check", torn});
  INFO(out.text);
  CHECK(out.exit_code == 0);  // the readable prefix is linearizable
  CHECK(out.text.find("history cut: its last line (line 3) was torn and dropped") !=
        std::string::npos);
  Output whole = run_faultline({"check", dir.write("whole.jsonl", kTwoOps)});
  CHECK(whole.text.find("history cut") == std::string::npos);
}

TEST_CASE("check: --model session grades session guarantees and prints the violation") {
  TempDir dir;
  // Process 0 writes 1, then reads nothing back: read-your-writes broken.
  std::string history = dir.write(
      "ryw.jsonl",
      std::string(kTwoOps) +
          R"({"index":2,"time_ns":2,"process":0,"type":"invoke","f":"read","key":"k","value":null})" "\n"
          R"({"index":3,"time_ns":3,"process":0,"type":"ok","f":"read","key":"k","value":null})" "\n");
  Output out = run_faultline({"check", "--model", "session", history});
  INFO(out.text);
  CHECK(out.exit_code == 1);
  CHECK(out.text.find("read-your-writes 1") != std::string::npos);
  CHECK(run_faultline({"check", "--model", "session", dir.write("ok.jsonl", kTwoOps)}).exit_code == 0);
}

TEST_CASE("check: --model timestamps finds a server time that goes against real-time order") {
  TempDir dir;
  // Write 1 returns at 2 ms stamped 5.0 s; write 2 begins at 3 ms stamped 4.0 s.
  std::string history = dir.write(
      "ts.jsonl",
      R"({"index":0,"time_ns":0,"process":0,"type":"invoke","f":"timed-write","key":"t0","value":1})" "\n"
      R"({"index":1,"time_ns":2000000,"process":0,"type":"ok","f":"timed-write","key":"t0","value":{"server_time_us":5000000}})" "\n"
      R"({"index":2,"time_ns":3000000,"process":1,"type":"invoke","f":"timed-write","key":"t0","value":2})" "\n"
      R"({"index":3,"time_ns":4000000,"process":1,"type":"ok","f":"timed-write","key":"t0","value":{"server_time_us":4000000}})" "\n");
  Output out = run_faultline({"check", "--model", "timestamps", history});
  INFO(out.text);
  CHECK(out.exit_code == 1);
  CHECK(out.text.find("would have lost 1") != std::string::npos);
}
