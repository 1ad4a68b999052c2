#include <catch2/catch.hpp>

#include "core/edn.h"
#include "core/history.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace faultline;
using nlohmann::json;

TEST_CASE("history: JSONL round trip keeps every field") {
  Op op;
  op.index = 3;
  op.time_ns = 1234;
  op.process = 7;
  op.type = OpType::ok;
  op.f = "cas";
  op.key = "k3";
  op.value = json::array({1, 2});
  op.node = "n2";
  op.error = "";
  Op back = op_from_json(json::parse(op_to_json(op).dump()));
  CHECK(back.index == 3);
  CHECK(back.time_ns == 1234);
  CHECK(back.process == 7);
  CHECK(back.type == OpType::ok);
  CHECK(back.f == "cas");
  CHECK(back.key == "k3");
  CHECK(back.value == json::array({1, 2}));
  CHECK(back.node == "n2");

  Op nemesis;
  nemesis.process = kNemesisProcess;
  nemesis.type = OpType::info;
  nemesis.f = "start-partition";
  json j = op_to_json(nemesis);
  CHECK(j["process"] == "nemesis");
  CHECK(op_from_json(j).is_nemesis());
}

TEST_CASE("history: a torn last JSONL line is dropped, a bad middle line names its line") {
  std::string text =
      "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
      "{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n"
      "{\"index\":2,\"process\":0,\"ty";
  History h = read_history_text(text, "h.jsonl");
  REQUIRE(h.size() == 2);
  CHECK(h[1].value == 3);

  std::string bad =
      "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
      "{\"index\":1,\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n";
  try {
    read_history_text(bad, "h.jsonl");
    FAIL("expected an error");
  } catch (const HistoryError& e) {
    CHECK(e.line() == 2);
    CHECK(std::string(e.what()).find("h.jsonl:2") != std::string::npos);
  }
}

namespace {

// The second op of a history, or its error without the file and place.
struct ReadOne {
  std::optional<Op> op;
  std::string error;
};
ReadOne read_second(const std::string& text, const std::string& prefix) {
  try {
    return {read_history_text(text, "h").at(1), ""};
  } catch (const HistoryError& e) {
    std::string detail = e.detail();
    return {std::nullopt, detail.starts_with(prefix) ? detail.substr(prefix.size()) : detail};
  }
}

// `number_types`: integers typed alike too (EDN's are signed, JSON's non-negative ones unsigned).
void check_same(const ReadOne& x, const ReadOne& y, bool number_types) {
  CHECK(x.error == y.error);
  REQUIRE(x.op.has_value() == y.op.has_value());
  if (!x.op) return;
  const Op& a = *x.op;
  const Op& b = *y.op;
  CHECK(a.index == b.index);
  CHECK(a.time_ns == b.time_ns);
  CHECK(a.process == b.process);
  CHECK(a.type == b.type);
  CHECK(a.f == b.f);
  CHECK(a.key == b.key);
  CHECK(a.node == b.node);
  CHECK(a.error == b.error);
  CHECK(a.value.dump() == b.value.dump());
  if (number_types) CHECK(std::hash<json>{}(a.value) == std::hash<json>{}(b.value));
}

std::string nested_value(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

// JSONL lines are read by simdjson, a JSON array by nlohmann: an op must read the same either way.
TEST_CASE("history: a JSONL line reads as the same op in a JSON array, or fails the same way") {
  std::vector<std::string> lines = {
      R"({"type":"invoke","type":"ok","process":1,"f":"r","f":"w"})",
      R"({"type":"ok","process":18446744073709551615,"f":"r"})",
      R"({"type":"ok","process":1,"index":18446744073709551615,"f":"r"})",
      R"({"type":"ok","process":1,"index":"3","f":"r"})",
      R"({"type":"ok","process":1,"time":1.5e3,"time_ns":"x","f":"r"})",
      R"({"type":"ok","process":1,"time":1e300,"f":"r"})",
      R"({"type":"ok","process":1,"f":["x",1],"key":5,"node":null,"error":{"a":1,"a":2},)"
      R"("value":[1,-1,-0,2.5,1E2,"s\u00e9\n",true,null,{"b":[],"b":{}},18446744073709551615]})",
      R"({"type":"ok","process":"nemesis","f":"start"})",
      R"({"type":"ok","process":"n1"})",
      R"({"type":"done","process":1})",
      R"({"process":1})",
      R"({"type":"ok","process":-0,"index":-0,"value":[-0,0,-0.0]})",
      R"({"type":"ok","process":1,"value":100000000000000000000})",
      R"({"type":"ok","process":-3})",
      R"([1,2])",
      R"("op")",
      R"({"type":"ok","process":1,"value":)" + nested_value(255) + "}",
      R"({"type":"ok","process":1,"value":)" + nested_value(256) + "}",
      R"({"type":"ok","process":1,"value":[)" + nested_value(254) + ",[1]]}",
  };
  for (const std::string& line : lines) {
    INFO(line.substr(0, 120));
    // Between two good ops: a line that is not an op map is not a torn last line.
    const std::string good = R"({"type":"ok","process":99,"f":"r"})";
    ReadOne jsonl = read_second(good + "\n" + line + "\n" + good + "\n", "");
    ReadOne array =
        read_second("[" + good + "," + line + "," + good + "]", "op at array position 1: ");
    check_same(jsonl, array, true);
  }
}

// EDN op maps are read as their entries, not as an object: an op must read as from the JSON
// object the map stands for (edn::parse builds it), or fail the same way.
TEST_CASE("history: an EDN op map reads as the JSON object it stands for, or fails the same way") {
  std::vector<std::string> forms = {
      "{:type :invoke, :type :ok, :process 1, :f :r, :f :w}",
      "{:type :ok, :process 1, :value {0 100, 1 -2.5, 0 7}}",
      "{:type :ok, 0 1, :process 2, \"f\" \"read\", :key :k1, :node n1}",
      "{:type :ok, :process :nemesis, :f :start, :value #{:n1}}",
      "{:type :ok, :process 1, :index nil, :time 1.5, :error [:timeout 3]}",
      "{:process 1}",
      "{:type :done, :process 1}",
      "{:type :ok, :process -3}",
      "{}",
      "[1 2]",
      ":op",
      "{:type :ok, :process 1, :value " + nested_value(255) + "}",
      "{:type :ok, :process 1, :value " + nested_value(256) + "}",
      "{:type :ok, :process 1, :error " + nested_value(256) + "}",
      "{:type :ok, :process 1, :value [" + nested_value(254) + " [1]]}",
  };
  const std::string good = "{:type :ok, :process 99, :f :r}";
  for (const std::string& form : forms) {
    INFO(form.substr(0, 120));
    ReadOne edn = read_second(good + "\n" + form + "\n" + good + "\n", "");
    ReadOne array = read_second("[" + edn::parse(good).dump() + "," + edn::parse(form).dump() + "," +
                                    edn::parse(good).dump() + "]",
                                "op at array position 1: ");
    check_same(edn, array, false);
  }
}

TEST_CASE("history: Jepsen EDN with comments, keywords, sets, tags and no index") {
  std::string text = R"([{:process 4, :type :invoke, :f :write, :value 2}
 ; a comment
 {:process 4, :type :ok, :f :write, :value 2, :time 99}
 {:process :nemesis, :type :info, :f :start, :value #{:n1 :n2}}
 {:process 1, :type :ok, :f :txn, :value [[:append 3 1] [:r 3 [1]]], :x #object[foo "bar"]}
 #_{:process 9, :type :ok}
 {:process 2, :type :fail, :f :read, :value {0 100, 1 -2.5}, :error :not-held}])";
  History h = read_history_text(text, "h.edn");
  REQUIRE(h.size() == 5);
  CHECK(h[0].index == 0);
  CHECK(h[1].time_ns == 99);
  CHECK(h[2].is_nemesis());
  CHECK(h[2].value == json::array({"n1", "n2"}));
  CHECK(h[3].value == json::parse(R"([["append",3,1],["r",3,[1]]])"));
  CHECK(h[4].index == 4);
  CHECK(h[4].value["0"] == 100);
  CHECK(h[4].error == "not-held");
}

TEST_CASE("history: EDN errors carry line and column") {
  try {
    read_history_text("{:process 1, :type :ok\n :value [1 2}", "bad.edn");
    FAIL("expected an error");
  } catch (const HistoryError& e) {
    CHECK(e.line() == 2);
  }
}

TEST_CASE("history: JSON array format (elle-cli)") {
  History h = read_history_text(R"([{"type":"invoke","f":"txn","value":[["w","x",2]],"process":0,"index":1},
{"type":"ok","f":"txn","value":[["w","x",2]],"process":0,"index":2}])",
                                "h.json");
  REQUIRE(h.size() == 2);
  CHECK(h[1].index == 2);
}

TEST_CASE("history: pairing ops, a process with two ops in flight is bad input") {
  History h = read_history_text(R"({:process 0 :type :invoke :f :read}
{:process 1 :type :invoke :f :write :value 1}
{:process 0 :type :ok :f :read :value nil}
{:process 1 :type :info :f :write :value 1}
{:process 2 :type :invoke :f :read})",
                                "h.edn");
  auto pairs = pair_ops(h, "h.edn");
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].outcome(h) == OpType::ok);
  CHECK(pairs[1].outcome(h) == OpType::info);
  CHECK(!pairs[2].completion);
  CHECK(pairs[2].outcome(h) == OpType::info);

  // The reader refuses it already, naming the file and both lines.
  CHECK_THROWS_WITH(read_history_text(R"({:process 0 :type :invoke :f :read}
{:process 0 :type :invoke :f :read})",
                                      "twice.edn"),
                    Catch::StartsWith("twice.edn:2: process 0 invokes op index 1 while op index "
                                      "0 (line 1) is still in flight"));
  History in_memory = h;
  in_memory[2].process = 0;
  in_memory[2].type = OpType::invoke;  // process 0 invokes again while op 0 is in flight
  CHECK_THROWS_AS(pair_ops(in_memory, "h.edn"), HistoryError);
}

TEST_CASE("history: a file reads alike mapped, through a pipe, and empty") {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("fl-filetext-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text =
      "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
      "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n";
  std::ofstream(dir / "h.jsonl") << text;
  std::ofstream(dir / "empty.jsonl");
  CHECK(FileText(dir / "h.jsonl").view() == text);
  CHECK(FileText(dir / "empty.jsonl").view().empty());
  CHECK(read_history(dir / "empty.jsonl").empty());

  // A FIFO is not mappable: it is read whole, as a stream.
  std::filesystem::path fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo) << text; });
  History history = read_history(fifo);
  writer.join();
  CHECK(history.size() == 2);
  CHECK(history[1].value == 1);

  CHECK_THROWS_WITH(FileText(dir / "missing.jsonl"), Catch::Contains("missing.jsonl") && Catch::Contains("cannot open"));
  std::filesystem::remove_all(dir);
}
