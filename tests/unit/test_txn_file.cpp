// check_transactions_file compiles JSONL micro-ops from simdjson's parse, other formats from
// json: a history must check the same either way, and a bad micro-op fail the same way.
#include <catch2/catch.hpp>

#include "checker/txn/elle.h"
#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;

namespace {

// The verdict and details of checking `path`, or the error without its file and place.
std::string outcome(const std::string& path, const std::string& workload) {
  checker::TxnOptions options;
  options.workload = workload;
  std::size_t torn_line = 0;
  try {
    auto result = checker::check_transactions_file(path, options, torn_line);
    if (!result) return "no client op";
    result->details.erase("check_time_s");
    return std::string(checker::to_string(result->verdict)) + " " + result->details.dump();
  } catch (const HistoryError& e) {
    return e.detail();
  }
}

// The same ops as JSONL and as a JSON array (which nlohmann reads).
void check_same(const std::vector<std::string>& lines, const std::string& workload) {
  std::string jsonl, array = "[";
  for (const std::string& line : lines) {
    jsonl += line + "\n";
    array += (array.size() > 1 ? "," : "") + line;
  }
  TempDir dir;
  std::string from_jsonl = outcome(dir.write("h.jsonl", jsonl), workload);
  INFO(jsonl);
  CHECK(from_jsonl == outcome(dir.write("h.json", array + "]"), workload));
}

// EDN text for a JSON value: maps with keyword keys, null as nil (strings as JSON writes them,
// which EDN reads alike when they hold no control character but a newline).
std::string edn_of(const nlohmann::json& value) {
  if (value.is_null()) return "nil";
  if (value.is_object()) {
    std::string text = "{";
    for (const auto& [key, v] : value.items()) text += ":" + key + " " + edn_of(v) + ", ";
    return text + "}";
  }
  if (value.is_array()) {
    std::string text = "[";
    for (const auto& v : value) text += edn_of(v) + " ";
    return text + "]";
  }
  return value.dump();
}

// EDN is read onto a tape and compiled from it (an invocation kept as its text until its
// completion): the same ops must check as their JSON does.
void check_same_edn(const std::vector<std::string>& lines, const std::string& workload) {
  std::string edn = "[", array = "[";
  for (const std::string& line : lines) {
    edn += edn_of(nlohmann::json::parse(line)) + "\n";
    array += (array.size() > 1 ? "," : "") + line;
  }
  TempDir dir;
  std::string from_edn = outcome(dir.write("h.edn", edn + "]"), workload);
  INFO(edn);
  CHECK(from_edn == outcome(dir.write("h.json", array + "]"), workload));
}

}  // namespace

TEST_CASE("txn file: JSONL and a JSON array of the same ops check alike") {
  std::vector<std::string> good = {
      R"({"process":0,"type":"invoke","f":"txn","value":[["append",1,1],["r","x",null]]})",
      R"({"process":1,"type":"invoke","f":"txn","value":[["append","x",2]]})",
      R"({"process":0,"type":"ok","f":"txn","value":[["append",1,1],["r","x",[2]]]})",
      R"({"process":1,"type":"info","f":"txn"})",
      R"({"process":2,"type":"invoke","f":"txn","value":[["r",1,null]]})",
      R"({"process":3,"type":"ok","f":"txn","value":[["r",1,[1,1]]]})",
      R"({"process":4,"type":"invoke","f":"read","value":null})",
  };
  check_same(good, "list-append");
  for (std::string bad : {R"(["append",1,"a"])", R"(["r",1,5])", R"(["x",1,1])", R"([1,2])",
                          R"(["append",1.5,1])", R"(["r",1,[1,"b"]])", R"("mop")",
                          R"(["append",1,0.30000000000000004])", R"(["append",1,"\u00e9\n"])",
                          R"(["append",1,1e-300])", R"(["append",18446744073709551615,1])"}) {
    check_same({R"({"process":0,"type":"invoke","f":"txn","value":[)" + bad + "]}"},
               "list-append");
    check_same({R"({"process":0,"type":"ok","f":"txn","value":[)" + bad + "]}"}, "list-append");
  }
  check_same({R"({"process":0,"type":"ok","f":"txn","value":5})"}, "list-append");
  check_same({R"({"process":0,"type":"invoke","f":"txn","value":[["w",1,1]]})",
              R"({"process":0,"type":"ok","f":"txn","value":[["w",1,1],["r",1,1]]})",
              R"({"process":1,"type":"ok","f":"txn","value":[["r",1,1],["w",1,"s"]]})"},
             "rw-register");
}

TEST_CASE("txn file: EDN checks as the JSON it maps onto") {
  // An info completion without a value, a txn never completed, one known by its completion.
  check_same_edn({R"({"process":0,"type":"invoke","f":"txn","value":[["append",1,1],["r","x",null]]})",
                  R"({"process":1,"type":"invoke","f":"txn","value":[["append","x",2]]})",
                  R"({"process":0,"type":"ok","f":"txn","value":[["append",1,1],["r","x",[2]]]})",
                  R"({"process":1,"type":"info","f":"txn"})",
                  R"({"process":2,"type":"invoke","f":"txn","value":[["r",1,null]]})",
                  R"({"process":3,"type":"ok","f":"txn","value":[["r",1,[1,1]]]})",
                  R"({"process":4,"type":"invoke","f":"read","value":null})"},
                 "list-append");
  for (std::string bad : {R"(["append",1,"a"])", R"(["r",1,5])", R"(["x",1,1])", R"([1,2])",
                          R"(["append",1.5,1])", R"(["r",1,[1,"b"]])", R"("mop")",
                          R"(["append",1,"\u00e9\n"])"}) {
    INFO(bad);
    // Kept as text at the invocation, compiled when its completion carries nothing.
    check_same_edn({R"({"process":0,"type":"invoke","f":"txn","value":[)" + bad + "]}",
                    R"({"process":0,"type":"info","f":"txn"})"},
                   "list-append");
    check_same_edn({R"({"process":0,"type":"ok","f":"txn","value":[)" + bad + "]}"}, "list-append");
  }
  check_same_edn({R"({"process":0,"type":"invoke","f":"txn","value":[["w",1,1]]})",
                  R"({"process":0,"type":"ok","f":"txn","value":[["w",1,1],["r",1,1]]})",
                  R"({"process":1,"type":"ok","f":"txn","value":[["r",1,1],["w",1,"s"]]})"},
                 "rw-register");
}
