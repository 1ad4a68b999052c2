// The shared corpus: Elle's own test histories and elle-cli's, with their expected verdicts.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/txn_test_support.h"

using namespace faultline;
using namespace faultline::test;
using checker::Verdict;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = FAULTLINE_CORPUS_DIR;

// Checks a corpus file, or returns nullopt (with a warning) when the corpus is absent.
std::optional<checker::CheckResult> check_corpus(const fs::path& relative, const std::string& claim,
                                                 const std::string& workload = "list-append") {
  fs::path path = kCorpus / relative;
  if (!fs::exists(path)) {
    WARN("corpus file absent, skipped: " << path);
    return std::nullopt;
  }
  return checker::check_transactions(read_history(path), {workload, claim, 0});
}

std::vector<std::string> data_anomalies(const checker::CheckResult& r) {
  std::vector<std::string> out;
  for (const std::string& t : anomaly_types(r))
    if (t.find("-process") == std::string::npos && t.find("-realtime") == std::string::npos)
      out.push_back(t);
  return out;
}

}  // namespace

TEST_CASE("txn corpus: elle-cli list-append and rw-register agree with expected_verdicts.tsv") {
  fs::path manifest = kCorpus / "elle-cli" / "expected_verdicts.tsv";
  if (!fs::exists(manifest)) {
    WARN("corpus absent, skipped: " << manifest);
    return;
  }
  std::ifstream in(manifest);
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string expected, file, options;
    std::getline(fields, expected, '\t');
    std::getline(fields, file, '\t');
    std::getline(fields, options);
    std::string workload = options.find("--model list-append") != std::string::npos   ? "list-append"
                           : options.find("--model rw-register") != std::string::npos ? "rw-register"
                                                                                       : "";
    if (workload.empty()) continue;
    std::string claim = options.find("--consistency-models serializable") != std::string::npos
                            ? "serializable"
                            : "strict-serializable";
    auto r = check_corpus(fs::path("elle-cli") / file, claim, workload);
    if (!r) continue;
    INFO(file << " (" << workload << ", " << claim << "): " << r->summary);
    CHECK((r->verdict == Verdict::valid) == (expected == "true"));
    CHECK(r->verdict != Verdict::unknown);
    ++checked;
  }
  CHECK(checked == 5);
}

TEST_CASE("txn corpus: si-without-g-single has only G2-item: SI holds, RR and serializable fail") {
  fs::path file = "elle/histories/si-without-g-single.edn";
  auto si = check_corpus(file, "snapshot-isolation");
  if (!si) return;
  INFO(si->summary);
  CHECK(si->verdict == Verdict::valid);
  CHECK(data_anomalies(*si) == std::vector<std::string>{"G2-item"});
  CHECK(check_corpus(file, "repeatable-read")->verdict == Verdict::invalid);
  CHECK(check_corpus(file, "serializable")->verdict == Verdict::invalid);
  auto ruled_out = si->details["not"].get<std::vector<std::string>>();
  CHECK(std::find(ruled_out.begin(), ruled_out.end(), "repeatable-read") != ruled_out.end());
}

TEST_CASE("txn corpus: Elle's paper example is not serializable") {
  auto r = check_corpus("elle/histories/paper-example.edn", "serializable");
  if (!r) return;
  INFO(r->summary);
  CHECK(r->verdict == Verdict::invalid);
  CHECK(has_anomaly(*r, "G-single"));
}

TEST_CASE("txn corpus: huge-scc is invalid, and quickly") {
  fs::path path = kCorpus / "elle/histories/huge-scc.edn";
  if (!fs::exists(path)) {
    WARN("corpus file absent, skipped: " << path);
    return;
  }
  History history = read_history(path);
  auto r = checker::check_transactions(history, {"list-append", "strict-serializable", 0});
  INFO(r.summary);
  CHECK(r.verdict == Verdict::invalid);
  WARN("huge-scc.edn: " << r.check_time_s << " s to check, largest component "
                        << r.details["components"]["largest"] << " txns, anomalies "
                        << r.details["anomaly_types"].dump());
  CHECK(r.check_time_s < 10);
}
