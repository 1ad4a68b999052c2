// The declared (system: custom) target: its spec is checked at load time, and its HTTP client
// maps responses onto ok / fail / info by the rules of README "Outcomes".
#include <catch2/catch.hpp>

#include "harness/spec.h"
#include "targets/custom/http_client.h"
#include "targets/custom/sql_client.h"
#include "tests/integration/support.h"
#include "tests/integration/user_servers_spec.h"
#include "tests/unit/spec_errors.h"

using namespace faultline;
using faultline::testing::error_of;

namespace {

std::string example() {
  return faultline::testing::slurp(FAULTLINE_SOURCE_DIR "/examples/custom-etcd-register.yaml");
}

// `text` with its one occurrence of `from` replaced.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The 1-based line of `needle` in `text`, as an error message says it.
std::string line_of(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return std::to_string(std::count(text.begin(), text.begin() + at, '\n') + 1);
}

// The example's cas op, read from its YAML.
custom::HttpOps example_ops() {
  YAML::Node root = YAML::Load(example());
  FieldReader http(root["target"]["client"]["http"], "spec.yaml", "target.client.http");
  return custom::read_http_ops(http, "target.client.http", {"address", "node", "index", "ports.client"});
}

HttpResponse answered(long status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  r.request_sent = true;
  return r;
}

}  // namespace

TEST_CASE("custom target: the etcd example loads, and the saved spec carries the declaration") {
  Test test = load_test_text(example(), "spec.yaml");
  CHECK(test.spec.system == "custom");
  CHECK(test.target->supported_ops() == std::vector<std::string>{"cas", "read", "write"});
  CHECK(dynamic_cast<ProcessControl*>(test.target.get()) != nullptr);
  CHECK(dynamic_cast<ClockControl*>(test.target.get()) != nullptr);
  // faultline analyze reloads a run's spec.yaml: it must hold servers and client as given.
  std::string saved = YAML::Dump(test.resolved);
  Test again = load_test_text(saved, "spec.yaml");
  CHECK(again.target->supported_ops() == test.target->supported_ops());
  CHECK(saved.find("{key_base64}") != std::string::npos);
}

TEST_CASE("custom target: an unknown placeholder is an error at its line") {
  std::string yaml = replaced(example(), R"('{"key": "{key_base64}"}')", R"('{"key": "{value_base64}"}')");
  std::string error = error_of(yaml);
  INFO(error);
  CHECK(error.find("spec.yaml:" + line_of(yaml, "{value_base64}\"}'") + ":") == 0);
  CHECK(error.find("target.client.http.read.body: unknown placeholder {value_base64}") != std::string::npos);
  CHECK(error.find("{key_base64}") != std::string::npos);  // what is known there

  yaml = replaced(example(), "--data-dir, \"{data_dir}\"", "--data-dir, \"{datadir}\"");
  error = error_of(yaml);
  INFO(error);
  CHECK(error.find("spec.yaml:" + line_of(yaml, "{datadir}") + ":") == 0);
  CHECK(error.find("target.servers.command[4]: unknown placeholder {datadir}") != std::string::npos);

  yaml = replaced(example(), "{ports.peer}\"      #", "{ports.gossip}\"      #");
  CHECK(error_of(yaml).find("target.servers.peer: unknown placeholder {ports.gossip}") != std::string::npos);
  // Braces that are not a placeholder are text: JSON bodies need no escaping.
  CHECK(error_of(replaced(example(), R"('{"key": "{key_base64}"}')", R"('{ {} {"key": "{key}"} }')")) == "");
}

TEST_CASE("custom target: an op the workload needs but the spec does not map is a load error") {
  std::string yaml = example();
  auto from = yaml.find("      cas:\n"), to = yaml.find("workload:");
  yaml.replace(from, to - from, "");
  std::string error = error_of(yaml);
  INFO(error);
  CHECK(error.find("spec.yaml:" + line_of(yaml, "workload:") + ":") == 0);
  CHECK(error.find("needs op 'cas', which target 'custom' does not support (it supports: read, write)") !=
        std::string::npos);
}

TEST_CASE("custom target: bad declarations name what was expected") {
  CHECK(error_of(replaced(example(), "then: fail }   # proto3", "then: maybe }   # proto3"))
            .find("target.client.http.cas.outcomes[1].then: 'maybe' is not known") != std::string::npos);
  CHECK(error_of(replaced(example(), "value: /kvs/0/value", "value: kvs/0/value"))
            .find("is not a JSON pointer") != std::string::npos);
  CHECK(error_of(replaced(example(), "status: 200, pointer: /succeeded", "status: 999, pointer: /succeeded"))
            .find("expected an HTTP status") != std::string::npos);
  CHECK(error_of(replaced(example(), "log: \"{node_dir}/etcd.log\"", "files: { /etc/passwd: x }"))
            .find("expected a path inside the node folder") != std::string::npos);
  CHECK(error_of(replaced(example(), "    version_command:", "    colour: red\n    version_command:"))
            .find("unknown key 'colour' in target.servers") != std::string::npos);
}

TEST_CASE("custom target: bad input exits 254 from faultline validate") {
  faultline::testing::TempDir dir;
  std::string bad = dir.write("bad.yaml", replaced(example(), "{key_base64}\"}'", "{kee}\"}'"));
  faultline::testing::Output out = faultline::testing::run_faultline({"validate", bad});
  INFO(out.text);
  CHECK(out.exit_code == 254);
  CHECK(out.text.find("unknown placeholder {kee}") != std::string::npos);
}

TEST_CASE("custom target: outcomes follow the README rules and the spec's") {
  custom::HttpOps ops = example_ops();
  const custom::HttpOp& cas = ops.at("cas");
  const custom::HttpOp& write = ops.at("write");
  const custom::HttpOp& read = ops.at("read");

  HttpResponse refused;  // connection refused: the request never left
  refused.curl_code = CURLE_COULDNT_CONNECT;
  CHECK(custom::classify(write, "write", refused).type == OpType::fail);
  HttpResponse timed_out;
  timed_out.curl_code = CURLE_OPERATION_TIMEDOUT;
  timed_out.request_sent = true;
  CHECK(custom::classify(write, "write", timed_out).type == OpType::info);
  CHECK(custom::classify(read, "read", timed_out).type == OpType::fail);  // a read changes nothing

  CHECK(custom::classify(cas, "cas", answered(200, R"({"succeeded": true})")).type == OpType::ok);
  CHECK(custom::classify(cas, "cas", answered(200, R"({"header": {}})")).type == OpType::fail);
  CHECK(custom::classify(cas, "cas", answered(400, R"({"code": 3})")).type == OpType::fail);
  CHECK(custom::classify(cas, "cas", answered(503, R"({"code": 14})")).type == OpType::info);
  CHECK(custom::classify(write, "write", answered(500, "oops")).type == OpType::info);
  CHECK(custom::classify(read, "read", answered(503, R"({"code": 14})")).type == OpType::fail);

  Completion absent = custom::classify(read, "read", answered(200, R"({"header": {}})"));
  CHECK(absent.type == OpType::ok);
  CHECK(absent.value.is_null());
  Completion three = custom::classify(read, "read", answered(200, R"({"kvs": [{"value": "Mw=="}]})"));
  CHECK(three.type == OpType::ok);
  CHECK(three.value == 3);
  CHECK(custom::classify(read, "read", answered(200, "not json")).type == OpType::fail);
}

namespace {

std::string postgres_example() {
  return faultline::testing::slurp(FAULTLINE_SOURCE_DIR "/examples/custom-postgres-append-serializable.yaml");
}

custom::SqlSpec postgres_sql() {
  YAML::Node root = YAML::Load(postgres_example());
  FieldReader sql(root["target"]["client"]["sql"], "spec.yaml", "target.client.sql");
  return custom::read_sql_spec(sql, "target.client.sql", {"address", "node", "index", "ports.sql"});
}

SqlResult sql_result(SqlResult::Kind kind, std::string sqlstate = "",
                             std::string number = "") {
  SqlResult r;
  r.kind = kind;
  r.sqlstate = std::move(sqlstate);
  r.number = std::move(number);
  return r;
}

}  // namespace

TEST_CASE("custom target: the sql example loads, and names the micro-ops it maps") {
  Test test = load_test_text(postgres_example(), "spec.yaml");
  CHECK(test.target->supported_ops() == std::vector<std::string>{"txn", "txn:append", "txn:r"});
  CHECK(dynamic_cast<ProcessControl*>(test.target.get()) != nullptr);
  Test again = load_test_text(YAML::Dump(test.resolved), "spec.yaml");
  CHECK(again.target->supported_ops() == test.target->supported_ops());
}

TEST_CASE("custom target: sql templates and micro-ops are checked at load time") {
  std::string yaml = replaced(postgres_example(), "VALUES ({key}, '{value}')", "VALUES ({key}, '{val}')");
  std::string error = error_of(yaml);
  INFO(error);
  CHECK(error.find("spec.yaml:" + line_of(yaml, "append: >-") + ":") == 0);  // the template's start
  CHECK(error.find("target.client.sql.append: unknown placeholder {val}") != std::string::npos);
  // A read has no value to write.
  CHECK(error_of(replaced(postgres_example(), "WHERE k = {key}\"", "WHERE k = {value}\""))
            .find("target.client.sql.r.sql: unknown placeholder {value}") != std::string::npos);
  // rw-register generates w micro-ops, which this spec does not map.
  yaml = replaced(postgres_example(), "name: list-append,", "name: rw-register,");
  error = error_of(yaml);
  INFO(error);
  CHECK(error.find("spec.yaml:" + line_of(yaml, "workload:") + ":") == 0);
  CHECK(error.find("needs op 'txn:w', which target 'custom' does not support") != std::string::npos);
  CHECK(error_of(replaced(postgres_example(), "protocol: postgres", "protocol: oracle"))
            .find("target.client.sql.protocol: 'oracle' is not known") != std::string::npos);
  CHECK(error_of(replaced(postgres_example(), "user: postgres, database", "usr: postgres, database"))
            .find("target.client.sql.connect: unknown key 'usr'") != std::string::npos);
  CHECK(error_of(replaced(postgres_example(), "result: list", "result: table"))
            .find("target.client.sql.r.result: 'table' is not known") != std::string::npos);
  CHECK(error_of(replaced(postgres_example(), "ready: { sql: \"SELECT 1\" }", "ready: { tcp: \"{ports.sql}\", sql: x }"))
            .find("give one of tcp") != std::string::npos);
  CHECK(error_of(replaced(postgres_example(), "-U, postgres, --auth", "-U, \"{owner}\", --auth"))
            .find("target.servers.setup[0][4]: unknown placeholder {owner}") != std::string::npos);
}

TEST_CASE("custom target: a COMMIT's outcome follows the protocol defaults and the spec's rules") {
  using Kind = SqlResult::Kind;
  custom::SqlSpec spec = postgres_sql();
  CHECK(custom::commit_outcome(spec, sql_result(Kind::done)) == OpType::ok);
  SqlResult rolled = sql_result(Kind::done);
  rolled.command = "ROLLBACK";  // PostgreSQL's answer to COMMIT of an aborted transaction
  CHECK(custom::commit_outcome(spec, rolled) == OpType::fail);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "40001")) == OpType::fail);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "40P01")) == OpType::fail);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "40001", "1213")) == OpType::fail);  // Galera
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "57P01")) == OpType::info);  // shutdown
  CHECK(custom::commit_outcome(spec, sql_result(Kind::not_sent)) == OpType::fail);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::lost)) == OpType::info);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::timeout)) == OpType::info);
  spec.errors = {{"57P01", OpType::fail}, {"1180", OpType::fail}};
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "57P01")) == OpType::fail);
  CHECK(custom::commit_outcome(spec, sql_result(Kind::error, "HY000", "1180")) == OpType::fail);
}

TEST_CASE("custom target: a read's rows become its value in the declared shape") {
  custom::SqlMicroOp list;
  list.shape = custom::ReadShape::list;
  SqlResult r = sql_result(SqlResult::Kind::done);
  std::string why;
  CHECK(custom::read_value(list, r, why) == nlohmann::json(nullptr));  // no row: never appended
  r.rows = {std::string("1,2,30")};
  CHECK(custom::read_value(list, r, why) == nlohmann::json::array({1, 2, 30}));
  r.rows = {std::string("")};
  CHECK(custom::read_value(list, r, why) == nlohmann::json::array());
  r.rows = {std::string("1,x")};
  CHECK_FALSE(custom::read_value(list, r, why).has_value());
  CHECK(why.find("'x'") != std::string::npos);

  custom::SqlMicroOp value;
  r.rows = {std::string("[1, 2]")};
  CHECK(custom::read_value(value, r, why) == nlohmann::json::array({1, 2}));
  r.rows = {std::nullopt};
  CHECK(custom::read_value(value, r, why) == nlohmann::json(nullptr));

  custom::SqlMicroOp rows;
  rows.shape = custom::ReadShape::rows;
  r.rows = {std::string("4"), std::string("7")};
  CHECK(custom::read_value(rows, r, why) == nlohmann::json::array({4, 7}));
}

// Servers faultline did not start (the staging case): the spec's controls are all faultline may
// do to them, so a fault whose controls are missing is refused at load time, or, opted in,
// left out and said.
TEST_CASE("custom target: the user's servers get only the faults their controls allow") {
  using faultline::testing::dumped;
  using faultline::testing::user_servers_spec;
  const std::string cluster = "{ hosts: [10.9.0.1, 10.9.0.2, 10.9.0.3], user: root }";
  YAML::Node spec = user_servers_spec(cluster, {{"kill", {"ctl", "kill", "{node}"}},
                                                {"start", {"ctl", "start", "{node}", "{peers}"}}});
  spec["nemesis"] = YAML::Load("{ faults: [kill] }");
  Test test = load_test_text(dumped(spec), "spec.yaml");
  CHECK(test.nemeses.size() == 1);

  spec["nemesis"] = YAML::Load("{ faults: [kill, pause] }");
  std::string error = error_of(dumped(spec));
  INFO(error);
  CHECK(error.find("fault 'pause' needs target.servers.controls pause and resume (the servers are the user's)") !=
        std::string::npos);
  spec["nemesis"] = YAML::Load("{ faults: [clock] }");
  CHECK(error_of(dumped(spec)).find("fault 'clock' needs servers faultline starts") != std::string::npos);

  // Opted in: the run goes on without them, and the report's limitations say why.
  spec["nemesis"] = YAML::Load("{ faults: [kill, pause, partition], unsupported: skip }");
  test = load_test_text(dumped(spec), "spec.yaml");
  REQUIRE(test.nemeses.size() == 2);
  CHECK(test.nemeses[0].first == "kill");
  CHECK(test.nemeses[1].first == "partition");
  nlohmann::json limits = faultline::limitations(test);
  REQUIRE(limits.contains("pause"));
  CHECK(limits["pause"].get<std::string>().find("skipped (nemesis.unsupported: skip)") == 0);
  CHECK(run_record(test).faults == std::vector<std::string>{"kill", "pause", "partition"});

  // A timeline entry of a fault the controls cannot do is left out the same way.
  spec["nemesis"] = YAML::Load(
      "{ unsupported: skip, timeline: [{at_s: 1, fault: pause, duration_s: 1}, {at_s: 3, fault: kill, duration_s: 1}] }");
  test = load_test_text(dumped(spec), "spec.yaml");
  REQUIRE(test.timeline.size() == 1);
  CHECK(test.nemeses[test.timeline[0].nemesis].first == "kill");
}

TEST_CASE("custom target: controls are for remote hosts, and exclude how faultline starts a server") {
  using faultline::testing::dumped;
  using faultline::testing::user_servers_spec;
  YAML::Node spec = user_servers_spec("{ hosts: [10.9.0.1], user: root }", {{"kill", {"ctl", "{node}"}}});
  YAML::Node local = YAML::Clone(spec);
  local["target"].remove("cluster");
  CHECK(error_of(dumped(local)).find("controls (or unit) act on the user's own servers, on the hosts of target.cluster") !=
        std::string::npos);
  YAML::Node both = YAML::Clone(spec);
  both["target"]["servers"]["command"].push_back("etcd");
  CHECK(error_of(dumped(both)).find("target.servers.command: is how faultline starts a server") != std::string::npos);
  YAML::Node typo = YAML::Clone(spec);
  typo["target"]["servers"]["controls"]["kill"].push_back("{nod}");
  CHECK(error_of(dumped(typo)).find("target.servers.controls.kill[2]: unknown placeholder {nod}") != std::string::npos);
  YAML::Node unit = YAML::Clone(spec);
  unit["target"]["servers"].remove("controls");
  unit["target"]["servers"]["unit"] = "etcd@{node}";
  unit["nemesis"] = YAML::Load("{ faults: [kill, pause] }");
  CHECK(error_of(dumped(unit)) == "");  // a systemd unit gives every control
}
