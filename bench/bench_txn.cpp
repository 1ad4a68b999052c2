// Benchmark of the Elle-style transactional checker on valid histories from a simulated
// strict-serializable store (concurrency 20, 100 active keys, at most 16 appends or writes a
// key, 1-4 micro-ops a txn, 2% fail, 1% info).
//
// Usage: bench_txn [list-append|rw-register] [txn_count...]
//   (default list-append; sizes 10000 100000 1000000 for list-append, 10000 100000 for
//   rw-register)
// Prints, per size: time to generate, time to check, peak RSS after generating (the History's
// own footprint) and after checking (getrusage; sizes run in increasing order so each row's
// peak is its own), and, for sizes up to 100k, the time read_history takes to parse the same
// history from JSONL (-1: not measured). A second row checks the same history with 1% of its
// reads made stale (invalid): the cost of finding and explaining anomalies. rw-register, whose
// blind writes leave the version order to the checker's search, is checked under each claim
// that searches version orders (strict-serializable, serializable, snapshot-isolation).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
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

// Makes every 100th committed non-empty read stale (a list loses its last element, a register
// reads nil, the state before any write): many small anomalies all over the history, to time
// the cycle search too.
void make_stale_reads(History& history) {
  std::size_t reads = 0;
  for (Op& op : history) {
    if (op.type != OpType::ok) continue;
    for (auto& mop : op.value) {
      if (mop[0] != "r" || mop[2].empty() || ++reads % 100 != 0) continue;
      if (mop[2].is_array()) {
        mop[2].erase(mop[2].size() - 1);
      } else {
        mop[2] = nullptr;
      }
    }
  }
}

struct Workload {
  std::string name;
  History (*simulate)(const checker::txn::SimulationOptions&);
  std::vector<std::string> claims;
  std::vector<std::size_t> default_sizes;
};

const Workload kListAppend{"list-append",
                           checker::txn::simulate_list_append,
                           {"strict-serializable"},
                           {10'000, 100'000, 1'000'000}};
const Workload kRwRegister{"rw-register",
                           checker::txn::simulate_rw_register,
                           {"strict-serializable", "serializable", "snapshot-isolation"},
                           {10'000, 100'000}};

// One size: the valid history under each claim, then with 1% stale reads. False if a valid
// history was not found valid.
bool bench_size(const Workload& w, std::size_t n) {
  constexpr std::size_t kParseSizeMax = 100'000;  // parsing 1M ops as JSON costs GBs itself
  checker::txn::SimulationOptions o;
  o.txn_count = n;
  o.seed = 42;
  auto start = std::chrono::steady_clock::now();
  History history = w.simulate(o);
  double generate_s = seconds_since(start);
  double history_rss = peak_rss_mib();  // the History itself (nlohmann::json values)
  for (const std::string& claim : w.claims) {
    auto result = checker::check_transactions(history, {w.name, claim, 0, std::nullopt});
    double rss = peak_rss_mib();
    double parse_s = n <= kParseSizeMax && claim == w.claims.front() ? read_history_s(history) : -1;
    std::printf("%10zu %20s %8s %10.2f %10.2f %9s %17.0f %13.0f %8.2f\n", n, claim.c_str(),
                std::string(checker::to_string(result.verdict)).c_str(), generate_s,
                result.check_time_s, result.details["edges"].dump().c_str(), history_rss, rss,
                parse_s);
    std::fflush(stdout);
    if (result.verdict != checker::Verdict::valid) {
      std::fprintf(stderr, "unexpected verdict: %s\n", result.summary.c_str());
      return false;
    }
  }
  make_stale_reads(history);
  for (const std::string& claim : w.claims) {
    auto stale = checker::check_transactions(history, {w.name, claim, 0, std::nullopt});
    std::printf("%10s %20s %8s %10s %10.2f %9s  (1%% stale reads: %s anomalies)\n", "",
                claim.c_str(), std::string(checker::to_string(stale.verdict)).c_str(), "",
                stale.check_time_s, stale.details["edges"].dump().c_str(),
                stale.details["anomaly_counts"].dump().c_str());
    std::fflush(stdout);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int arg = 1;
  const Workload* workload = &kListAppend;
  for (const Workload* named : {&kListAppend, &kRwRegister})
    if (arg < argc && argv[arg] == named->name) {
      workload = named;
      ++arg;
    }
  std::vector<std::size_t> sizes;
  for (; arg < argc; ++arg) sizes.push_back(std::strtoull(argv[arg], nullptr, 10));
  if (sizes.empty()) sizes = workload->default_sizes;

  std::printf("%10s %20s %8s %10s %10s %9s %17s %13s %8s\n", "txns", "claim", "verdict",
              "generate_s", "check_s", "edges", "history_rss_MiB", "peak_rss_MiB", "parse_s");
  for (std::size_t n : sizes)
    if (!bench_size(*workload, n)) return 1;
  return 0;
}
