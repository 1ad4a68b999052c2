// Hostile input never crashes faultline: bad bytes, deep nesting, bad names and flags are bad
// input (exit 254, the message naming file and line), and what is echoed back is escaped and cut.
#include <catch2/catch.hpp>

#include "core/history.h"
#include "core/store.h"
#include "core/text.h"
#include "harness/spec.h"
#include "tests/integration/support.h"
#include "tests/unit/spec_errors.h"

using namespace faultline;
using namespace faultline::testing;

namespace {

constexpr int kBadInput = 254;

const char* kSpecRest = R"(
target:   { system: etcd, nodes: 3 }
workload: { name: register, keys: 4 }
)";

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string history_error(const std::string& text, const std::string& file) {
  try {
    read_history_text(text, file);
  } catch (const HistoryError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("printable: control bytes and bad UTF-8 escaped, huge fields cut") {
  CHECK(printable("plain ünïcode") == "plain ünïcode");
  CHECK(printable(std::string("a\x1b[2Jb\0c", 8)) == "a\\x1b[2Jb\\x00c");
  CHECK(printable("line\nforged") == "line\\nforged");
  CHECK(printable("two\nlines", kEchoBytesMax, Newlines::keep) == "two\nlines");
  CHECK(printable("bad \xff\xfe utf8") == "bad \\xff\\xfe utf8");
  CHECK(printable("\xc2\x9b" "31m") == "\\u009b31m");  // C1 CSI
  std::string huge(1 << 20, 'x');
  std::string cut = printable(huge);
  CHECK(cut.size() < 300);
  CHECK(cut.find("(1048576 bytes in all)") != std::string::npos);
  CHECK(printable("ééé", 3) == "éé… (6 bytes in all)");  // never splits a character
}

TEST_CASE("is_valid_utf8 agrees with what JSON output accepts") {
  for (std::string s : {"", "ascii", "ü", "€", "😀", "\xff", "\xc0\xaf", "\xed\xa0\x80",
                        "\xf4\x90\x80\x80", "\xe2\x82", "a\xc3"}) {
    bool dumps = true;
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      dumps = false;
    }
    INFO(printable(s));
    CHECK(is_valid_utf8(s) == dumps);
  }
}

TEST_CASE("history: invalid UTF-8 in an EDN string or symbol is bad input with its line") {
  CHECK(history_error("{:type :invoke, :process 0, :f :write, :value 1}\n"
                      "{:type :ok, :process 0, :f :write, :value \"\xff\xfe\"}",
                      "h.edn")
            .find("h.edn:2: line 2, column") == 0);
  CHECK(history_error("{:type :invoke, :process 0, :f :wr\xc3, :value 1}", "h.edn")
            .find("not valid UTF-8") != std::string::npos);
  CHECK(history_error("{:type :invoke, :process 0, :f :w, :value \"\\uD800\"}", "h.edn")
            .find("surrogate") != std::string::npos);
  History h = read_history_text("{:type :invoke, :process 0, :f :w, :value \"\\uD83D\\uDE00\"}",
                                "h.edn");
  CHECK(h[0].value == "😀");
}

TEST_CASE("history: values nested 60,000 deep are bad input in every format, not a crash") {
  std::string deep = nested(60000);
  std::string jsonl = R"({"type":"invoke","process":0,"f":"write","value":)" + deep + "}\n";
  CHECK(history_error(jsonl, "h.jsonl").find("h.jsonl:1: nesting deeper than 256") == 0);
  CHECK(history_error("[" + jsonl + "]", "h.json")
            .find("h.json: op at array position 0: nesting deeper than 256") == 0);
  CHECK(history_error("[{:type :invoke, :process 0, :f :write, :value " + deep + "}]", "h.edn")
            .find("h.edn:1:") == 0);
  std::string ok = R"({"type":"invoke","process":0,"f":"write","value":)" + nested(200) + "}\n";
  CHECK(read_history_text(ok, "h.jsonl").size() == 1);
}

TEST_CASE("history: a pairing error names the file and the line, or the op's array position") {
  std::string edn =
      "{:type :invoke, :process 0, :f :write, :value 1}\n"
      "{:type :invoke, :process 0, :f :write, :value 2}\n";
  CHECK(history_error(edn, "a.edn") ==
        "a.edn:2: process 0 invokes op index 1 while op index 0 (line 1) is still in flight (a "
        "process runs one op at a time)");
  std::string array = R"([{"type":"invoke","process":0,"f":"write","value":1},)"
                      R"( {"type":"invoke","process":0,"f":"write","value":2}])";
  CHECK(history_error(array, "a.json") ==
        "a.json: op at array position 1: process 0 invokes op index 1 while op index 0 is still "
        "in flight (a process runs one op at a time)");
  CHECK(history_error(R"([{"type":"bogus"}])", "b.json")
            .find("b.json: op at array position 0: ") == 0);
}

TEST_CASE("check: which of several files is bad is named, and echoed bytes are escaped") {
  TempDir dir;
  std::string good = dir.write("good.edn", "{:type :invoke, :process 0, :f :write, :value 1}\n"
                                           "{:type :ok, :process 0, :f :write, :value 1}\n");
  std::string bad = dir.write("bad.edn", "{:type :invoke, :process 0, :f :write, :value 1}\n"
                                         "{:type :invoke, :process 0, :f :write, :value 2}\n");
  Output out = run_faultline({"check", good, bad});
  CHECK(out.exit_code == kBadInput);
  CHECK(out.text.find(bad + ":2: process 0 invokes") != std::string::npos);
  std::string evil = dir.write("evil.jsonl", std::string(R"({"type":"\u001b[2J)") +
                                                 std::string(1 << 20, 'x') + "\"}\n{}\n");
  out = run_faultline({"check", evil});
  CHECK(out.exit_code == kBadInput);
  CHECK(out.text.find('\x1b') == std::string::npos);
  CHECK(out.text.find("\\u001b") != std::string::npos);
  CHECK(out.text.size() < 2000);
}

TEST_CASE("check: --time-limit nan, -1 or inf and a torn --initial-value are refused") {
  TempDir dir;
  std::string h = dir.write("h.edn", "{:type :invoke, :process 0, :f :write, :value 1}\n"
                                     "{:type :ok, :process 0, :f :write, :value 1}\n");
  for (const char* limit : {"nan", "-1", "inf", "1e999", "3x"}) {
    INFO(limit);
    CHECK(run_faultline({"check", "--time-limit", limit, h}).exit_code == kBadInput);
  }
  CHECK(run_faultline({"check", "--time-limit", "0", h}).exit_code == 0);
  CHECK(run_faultline({"check", "--model", "register", "--initial-value", "[", h}).exit_code ==
        kBadInput);
  CHECK(run_faultline({"check", "--model", "register", "--initial-value", nested(60000), h})
            .exit_code == kBadInput);
  CHECK(run_faultline({"check", "--model", "register", "--initial-value", "0", h}).exit_code == 0);
  CHECK(run_faultline({"check", "--model", "register", "--initial-value", "none", h})
            .exit_code == 0);
  Output run = run_faultline({"run", "spec.yaml", "--time-limit", "nan"});
  CHECK(run.exit_code == kBadInput);
  CHECK(run.text.find("--time-limit") != std::string::npos);
  std::string folder = dir.path().string();
  Output compare = run_faultline({"compare", folder, folder, "--p99-threshold", "nan"});
  CHECK(compare.exit_code == kBadInput);
  CHECK(compare.text.find("--p99-threshold") != std::string::npos);
}

TEST_CASE("spec: a name is one safe path component of the store, or bad input at its line") {
  for (std::string name : {std::string("\"a\\0b\""), std::string(256, 'n'), std::string("latest"),
                           std::string(".."), std::string("\"../x\""), std::string("/abs/path"),
                           std::string("\"a\\nprogress\""), std::string("a/b"),
                           std::string("\"$(touch x)\""), std::string("-rf"), std::string("\".hidden\"")}) {
    INFO(name);
    std::string error = error_of("name: " + name + kSpecRest);
    CHECK(error.find("spec.yaml:1:") == 0);
    CHECK(error.find('\n') == std::string::npos);
    CHECK(error.find(std::string(1, '\0')) == std::string::npos);
  }
  CHECK(error_of(std::string("name: it-etcd_2.1") + kSpecRest).empty());
  CHECK(run_name_problem("latest") != "");
  CHECK(run_name_problem("etcd-register").empty());
  CHECK_THROWS_AS(create_run_dir("/tmp", "../escape"), std::invalid_argument);
  TempDir dir;
  std::string spec = dir.write("spec.yaml", std::string("name: \"x\\0y\"") + kSpecRest);
  Output out = run_faultline({"run", spec, "--store", (dir.path() / "store").string()});
  CHECK(out.exit_code == kBadInput);
  CHECK(out.text.find("spec.yaml:1:") != std::string::npos);
  CHECK(out.text.find("x\\x00y") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "store"));
}

// catch_discover_tests hands names to CMake lists: a '[' or ';' in one silently merged it with
// every later test into one ctest entry that ran nothing, and the suite still looked green.
TEST_CASE("test names: none holds a character that breaks ctest discovery") {
  for (const Catch::TestCase& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    INFO(test.name);
    CHECK(test.name.find_first_of("[];\\") == std::string::npos);
  }
}
