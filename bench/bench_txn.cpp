// Benchmark of the Elle-style transactional checker on valid list-append histories from a
// simulated strict-serializable store (concurrency 20, 100 active keys, at most 16 appends a
// key, 1-4 micro-ops a txn, 2% fail, 1% info).
//
// Usage: bench_txn [txn_count...]   (default 10000 100000 1000000)
// Prints, per size: time to generate, time to check, peak RSS after generating (the History's
// own footprint) and after checking (getrusage; sizes run in increasing order so each row's
// peak is its own), and, for sizes up to 100k, the time read_history takes to parse the same
// history from JSONL (-1: not measured). A second row checks the same history with 1% of its
// reads made stale (invalid): the cost of finding and explaining anomalies.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "checker/txn/elle.h"
#include "checker/txn/simulate.h"

using namespace faultline;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// JSONL round trip: how long the lead's read_history takes on the same history.
double read_history_s(const History& history) {
  auto path = std::filesystem::temp_directory_path() / "bench_txn_history.jsonl";
  {
    std::ofstream out(path);
    for (const Op& op : history) out << op_to_json(op).dump() << '\n';
  }
  auto start = std::chrono::steady_clock::now();
  History back = read_history(path);
  double s = seconds_since(start);
  std::filesystem::remove(path);
  return back.size() == history.size() ? s : -1;
}

// Makes every 100th committed non-empty read stale (drops its last element): many small
// anomalies all over the history, to time the cycle search too.
void make_stale_reads(History& history) {
  std::size_t reads = 0;
  for (Op& op : history) {
    if (op.type != OpType::ok) continue;
    for (auto& mop : op.value)
      if (mop[0] == "r" && !mop[2].empty() && ++reads % 100 == 0) mop[2].erase(mop[2].size() - 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
  constexpr std::size_t kParseSizeMax = 100'000;  // parsing 1M ops as JSON costs GBs itself

  std::printf("%10s %8s %10s %10s %9s %17s %13s %8s\n", "txns", "verdict", "generate_s",
              "check_s", "edges", "history_rss_MiB", "peak_rss_MiB", "parse_s");
  for (std::size_t n : sizes) {
    checker::txn::SimulationOptions o;
    o.txn_count = n;
    o.seed = 42;
    auto start = std::chrono::steady_clock::now();
    History history = checker::txn::simulate_list_append(o);
    double generate_s = seconds_since(start);
    double history_rss = peak_rss_mib();  // the History itself (nlohmann::json values)
    auto result = checker::check_transactions(history, {"list-append", "strict-serializable", 0});
    double rss = peak_rss_mib();
    double parse_s = n <= kParseSizeMax ? read_history_s(history) : -1;
    std::printf("%10zu %8s %10.2f %10.2f %9s %17.0f %13.0f %8.2f\n", n,
                std::string(checker::to_string(result.verdict)).c_str(), generate_s,
                result.check_time_s, result.details["edges"].dump().c_str(), history_rss, rss,
                parse_s);
    std::fflush(stdout);
    if (result.verdict != checker::Verdict::valid) {
      std::fprintf(stderr, "unexpected verdict: %s\n", result.summary.c_str());
      return 1;
    }
    make_stale_reads(history);
    auto stale = checker::check_transactions(history, {"list-append", "strict-serializable", 0});
    std::printf("%10s %8s %10s %10.2f %9s  (1%% stale reads: %s anomalies)\n", "", "invalid", "",
                stale.check_time_s, stale.details["edges"].dump().c_str(),
                stale.details["anomaly_counts"].dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}
