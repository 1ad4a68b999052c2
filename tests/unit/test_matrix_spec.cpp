// Matrix files: how axes expand into cells (order, labels, seeds, dotted paths), and the errors a
// bad matrix gets before anything runs (file:line:column, the cell an axis value breaks).
#include <catch2/catch.hpp>

#include <fstream>

#include "core/spec_reader.h"
#include "harness/matrix.h"
#include "harness/spec.h"

using namespace faultline;

namespace {

struct MatrixDir {
  std::filesystem::path path;
  MatrixDir() {
    char pattern[] = "/tmp/faultline-matrix-XXXXXX";
    path = ::mkdtemp(pattern);
    std::ofstream(path / "base.yaml") << "name: base\n"
                                         "target: { system: etcd, nodes: 3, read: linearizable }\n"
                                         "workload: { name: register, keys: 4, claim: linearizable }\n"
                                         "time_limit_s: 30\n";
  }
  ~MatrixDir() { std::filesystem::remove_all(path); }
  std::filesystem::path write(const std::string& text) const {
    std::ofstream(path / "m.yaml") << text;
    return path / "m.yaml";
  }
};

std::string error_of(const MatrixDir& dir, const std::string& text) {
  try {
    load_matrix(dir.write(text));
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("matrix: axes expand in order, the last fastest, then seeds, and values set dotted paths") {
  MatrixDir dir;
  Matrix m = load_matrix(dir.write(R"(name: m
spec: base.yaml
seeds: [3, 4]
time_limit_s: 5
axes:
  - name: read
    set: target.read
    values: [linearizable, serializable]
  - name: fault
    set: nemesis
    values:
      - { label: none, value: { faults: [] } }
      - { label: kill, value: { faults: [kill], interval_s: 2 } }
      - { label: two-nodes, set: { target.nodes: 2, nemesis.faults: [pause] } }
)"));
  REQUIRE(m.cells.size() == 2 * 3 * 2);
  CHECK(m.axis_names == std::vector<std::string>{"read", "fault"});
  CHECK(m.axis_labels[1] == std::vector<std::string>{"none", "kill", "two-nodes"});
  CHECK(m.cells[0].labels == std::vector<std::string>{"linearizable", "none"});
  CHECK(m.cells[0].seed == 3);
  CHECK(m.cells[1].seed == 4);
  CHECK(m.cells[2].labels == std::vector<std::string>{"linearizable", "kill"});
  CHECK(m.cells[11].labels == std::vector<std::string>{"serializable", "two-nodes"});
  CHECK(m.cells[11].name == "m-serializable-two-nodes-s4");

  Test kill = load_test_text(m.cells[2].spec_text, "cell.yaml");
  CHECK(kill.spec.name == "m-linearizable-kill-s3");
  CHECK(kill.spec.seed == 3);
  CHECK(kill.spec.time_limit_s == 5);
  CHECK(kill.spec.faults == std::vector<std::string>{"kill"});
  CHECK(kill.spec.interval_s == 2);
  Test two = load_test_text(m.cells[11].spec_text, "cell.yaml");
  CHECK(two.spec.node_count == 2);
  CHECK(two.spec.faults == std::vector<std::string>{"pause"});
  CHECK(two.resolved["target"]["read"].as<std::string>() == "serializable");
}

TEST_CASE("matrix: repeat gives seeds 1..N, and a command-line time limit wins") {
  MatrixDir dir;
  Matrix m = load_matrix(dir.write("name: m\nspec: base.yaml\nrepeat: 3\ntime_limit_s: 9\n"
                                   "axes: [ {name: read, set: target.read, values: [linearizable]} ]\n"),
                         4.0);
  REQUIRE(m.cells.size() == 3);
  CHECK(m.cells[2].seed == 3);
  CHECK(load_test_text(m.cells[0].spec_text, "c.yaml").spec.time_limit_s == 4);
}

TEST_CASE("matrix: bad matrices are file:line errors, and a value that breaks a cell says which") {
  MatrixDir dir;
  std::string head = "name: m\nspec: base.yaml\n";
  CHECK(error_of(dir, head + "axes: []\n").find("m.yaml:3:7: axes: expected a list") !=
        std::string::npos);
  CHECK(error_of(dir, head + "axes: [ {name: r, values: [a]} ]\n").find("needs the axis's `set:`") !=
        std::string::npos);
  std::string bad_value = error_of(dir, head + "axes:\n  - name: read\n    set: target.read\n"
                                               "    values: [linearizable, sometimes]\n");
  CHECK(bad_value.find("/m.yaml:6:") != std::string::npos);
  CHECK(bad_value.find("the cell m-sometimes-s1 is not a valid spec") != std::string::npos);
  CHECK(bad_value.find("sometimes") != std::string::npos);
  CHECK(error_of(dir, head + "seeds: [1]\nrepeat: 2\naxes: [ {name: r, set: target.read, values: [linearizable]} ]\n")
            .find("seeds or repeat") != std::string::npos);
  CHECK(error_of(dir, "name: ../up\nspec: base.yaml\naxes: [ {name: r, set: target.read, values: [linearizable]} ]\n")
            .find("one folder name") != std::string::npos);
  CHECK(error_of(dir, head + "axes: [ {name: r, set: target.read, values: [linearizable, linearizable]} ]\n")
            .find("two values labelled") != std::string::npos);
  CHECK(error_of(dir, head + "axes: [ {name: r, set: target.read, values: [linearizable]} ]\nextra: 1\n")
            .find("extra") != std::string::npos);
}
