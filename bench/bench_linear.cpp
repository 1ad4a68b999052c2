// Linearizability checker figures: printed, not asserted. See bench/README.md.
//
//   bench_linear                       all suites below
//   bench_linear typical|hard|kv|scale|unique|invalid   one suite
//   bench_linear corpus DIR            time every history of a Knossos corpus (DIR/data/...)
//   bench_linear files DIR [MODEL]     time every history file in DIR, cold and warm
//   bench_linear check FILE [MODEL] [--knossos]   check one history file, print the result JSON
//                                      (--knossos: initial value 0, nil reads match any value)
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <numeric>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "checker/linear/generate.h"
#include "checker/linear/linearizability.h"

using namespace faultline;
using namespace faultline::checker;
using linear::GenerateOptions;
using linear::generate_register_history;

namespace {

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;  // Linux reports KiB
}

// CPU time of this thread (checks run with threads = 1): the machine is shared, and wall time
// would count other work. Not the process clock: with an ITIMER_PROF armed (scale rows), Linux
// reads that one at tick granularity.
double cpu_s() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct Timed {
  CheckResult result;
  double cpu_s;
};

Timed timed_check(const History& history, LinearOptions options = {}) {
  if (options.threads == 0) options.threads = 1;
  double start_s = cpu_s();
  CheckResult result = check_linearizable(history, options);
  return {std::move(result), cpu_s() - start_s};
}

// Many small histories like a 5-client etcd register test: 80 ops, a few timeouts. Each is
// checked once right after it is generated (cold), then 20 times more (warm, the way Go's
// testing.B and so Porcupine's benchmarks measure).
void typical() {
  constexpr int kWarmRuns = 20;
  std::vector<double> cold_us, warm_us;
  int invalid = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    GenerateOptions gen{.seed = seed, .ops = 80, .processes = 5, .values = 5, .info_probability = 0.02};
    History history = generate_register_history(gen);
    Timed cold = timed_check(history);
    invalid += cold.result.verdict != Verdict::valid;
    cold_us.push_back(cold.cpu_s * 1e6);
    LinearOptions one_thread;
    one_thread.threads = 1;
    double start_s = cpu_s();
    for (int run = 0; run < kWarmRuns; ++run) check_linearizable(history, one_thread);
    warm_us.push_back((cpu_s() - start_s) / kWarmRuns * 1e6);
  }
  std::printf("typical: 2000 histories, 80 ops, 5 clients, 2%% info: warm median %.1f us (max %.1f); "
              "cold median %.1f us (max %.1f); %d not valid\n",
              median(warm_us), *std::max_element(warm_us.begin(), warm_us.end()), median(cold_us),
              *std::max_element(cold_us.begin(), cold_us.end()), invalid);
}

// The hardest of a family with more clients, many timeouts and few values: long-pending info
// writes and cas multiply the orders to try.
void hard() {
  double worst_s = 0;
  std::uint64_t worst_seed = 0, worst_states = 0;
  std::vector<double> times_s;
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    GenerateOptions gen{.seed = seed, .ops = 1000, .processes = 50, .values = 3, .info_probability = 0.05};
    Timed timed = timed_check(generate_register_history(gen));
    times_s.push_back(timed.cpu_s);
    if (timed.cpu_s > worst_s) {
      worst_s = timed.cpu_s;
      worst_seed = seed;
      worst_states = timed.result.details["states_explored"].get<std::uint64_t>();
    }
  }
  std::printf("hard: 100 histories, 1000 ops, 50 clients, 3 values, 5%% info: median %.3f ms, hardest %.3f ms (seed %llu, %llu states)\n",
              median(times_s) * 1e3, worst_s * 1e3, static_cast<unsigned long long>(worst_seed),
              static_cast<unsigned long long>(worst_states));
}

// A 50-client kv history split per key: CPU time on one thread, and wall time on all cores.
void kv() {
  std::vector<double> cpu_ms, wall_ms;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    GenerateOptions gen{.seed = seed, .ops = 2000, .processes = 50, .keys = 10, .values = 5, .info_probability = 0.01};
    History history = generate_register_history(gen);
    LinearOptions options;
    options.model = "kv";
    cpu_ms.push_back(timed_check(history, options).cpu_s * 1e3);
    options.threads = 0;
    wall_ms.push_back(check_linearizable(history, options).check_time_s * 1e3);
  }
  std::printf("kv: 20 histories, 2000 ops, 50 clients, 10 keys, 1%% info: 1 thread median %.2f ms CPU (max %.2f); "
              "all cores median %.2f ms wall (max %.2f)\n",
              median(cpu_ms), *std::max_element(cpu_ms.begin(), cpu_ms.end()), median(wall_ms),
              *std::max_element(wall_ms.begin(), wall_ms.end()));
}

// The row a scale child prints if its CPU time runs out (from the SIGPROF handler).
char g_row_prefix[128];

void out_of_time(int) {
  char line[256];
  int n = std::snprintf(line, sizeof line, "%s did not finish in 10 s CPU | | | %6ld |\n", g_row_prefix,
                        peak_rss_mib());
  ssize_t ignored = write(STDOUT_FILENO, line, static_cast<std::size_t>(n));
  (void)ignored;
  _exit(0);
}

// Runs one table row in a child process, so that its peak RSS is its own. The row's check is
// cut off after 10 s of CPU time (an ITIMER_PROF, not wall time: the machine is shared); then
// out_of_time prints `prefix` and the rest of the row. `row` builds its history, then calls
// the armed limit before checking.
template <typename Row>
void in_child(Row row) {
  std::fflush(stdout);
  pid_t child = fork();
  if (child != 0) {
    int status = 0;
    waitpid(child, &status, 0);
    return;
  }
  row([](const std::string& prefix) {
    std::snprintf(g_row_prefix, sizeof g_row_prefix, "%s", prefix.c_str());
    std::signal(SIGPROF, out_of_time);
    itimerval limit{};
    limit.it_value.tv_sec = 10;
    setitimer(ITIMER_PROF, &limit, nullptr);
  });
  std::fflush(stdout);
  _exit(0);
}

std::string format(const char* pattern, auto... args) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

unsigned long long states_of(const Timed& timed) {
  return timed.result.details["states_explored"].get<std::uint64_t>();
}

// One table row in a child process: generates the history, prints `row` (the row's first cells),
// then the verdict, check CPU, states and peak RSS, or that 10 s of CPU ran out.
void check_row(const GenerateOptions& gen, const LinearOptions& options, const std::string& row) {
  in_child([&](auto arm_limit) {
    History history = generate_register_history(gen);
    std::string cells = row + format("%6ld | ", peak_rss_mib());
    arm_limit(cells + "unknown: ");
    Timed timed = timed_check(history, options);
    // One key: the verdict and what decided it (search, zones, refuted).
    std::string verdict = std::string(to_string(timed.result.verdict)) + " (" +
                          timed.result.details["per_key"][0]["method"].get<std::string>() + ")";
    std::printf("%s%-18s | %10.1f | %10llu | %6ld |\n", cells.c_str(), verdict.c_str(), timed.cpu_s * 1e3,
                states_of(timed), peak_rss_mib());
  });
}

void scale() {
  std::printf("| ops | clients | info | RSS after generating (MiB) | verdict | check CPU (ms) | states | peak RSS (MiB) |\n");
  std::printf("|---:|---:|---:|---:|---|---:|---:|---:|\n");
  for (double info : {0.0, 0.01})
    for (unsigned processes : {1u, 5u, 20u, 100u})
      for (std::size_t ops : {1'000ul, 10'000ul, 100'000ul, 1'000'000ul}) {
        GenerateOptions gen{.seed = 42, .ops = ops, .processes = processes, .values = 5, .info_probability = info};
        check_row(gen, {}, format("| %8zu | %4u | %4.0f%% | ", ops, processes, info * 100));
      }
}

// Registers whose writes are all unique (no cas), where the zones decide in O(n log n): the
// same histories checked as "register" (zones) and as "cas-register" (the search).
void unique() {
  std::printf("| ops | clients | model | RSS after generating (MiB) | verdict | check CPU (ms) | states | peak RSS (MiB) |\n");
  std::printf("|---:|---:|---|---:|---|---:|---:|---:|\n");
  for (std::size_t ops : {10'000ul, 100'000ul, 1'000'000ul})
    for (const char* model : {"register", "cas-register"}) {
      GenerateOptions gen{.seed = 42, .ops = ops, .processes = 100, .info_probability = 0.01, .unique_writes = true};
      LinearOptions options;
      options.model = model;
      check_row(gen, options, format("| %8zu | %4u | %-12s | ", ops, 100u, model));
    }
}

// The issue-14 family: cas-register, values 0-4, 1% info, each history checked as generated
// (valid) and with one ok read given another value (usually invalid), over several seeds.
void invalid() {
  std::printf("| ops | clients | seed | read corrupted | RSS after generating (MiB) | verdict | check CPU (ms) | states | peak RSS (MiB) |\n");
  std::printf("|---:|---:|---:|---|---:|---|---:|---:|---:|\n");
  for (std::size_t ops : {1'000ul, 10'000ul, 100'000ul})
    for (unsigned processes : {5u, 20u, 50u})
      for (std::uint64_t seed = 1; seed <= 3; ++seed)
        for (unsigned corrupted : {0u, 1u}) {
          GenerateOptions gen{.seed = seed, .ops = ops, .processes = processes, .values = 5,
                              .info_probability = 0.01, .corrupted_reads = corrupted};
          check_row(gen, {}, format("| %8zu | %4u | %llu | %-3s | ", ops, processes,
                                    static_cast<unsigned long long>(seed), corrupted != 0 ? "yes" : "no"));
        }
}

// Every history under DIR/data (Knossos' corpus), cas-register or as its folder says.
void corpus(const std::filesystem::path& dir) {
  double total_s = 0, worst_s = 0;
  std::string worst;
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "data")) {
    if (entry.path().extension() != ".edn") continue;
    std::string path = entry.path().string();
    LinearOptions options;
    options.model = path.find("multi-register") != std::string::npos ? "multi-register"
                    : path.find("mutex") != std::string::npos      ? "mutex"
                                                                   : "cas-register";
    options.initial_value = 0;
    options.nil_read_matches_any = true;
    History history = read_history(entry.path());
    double cpu = timed_check(history, options).cpu_s;
    total_s += cpu;
    ++files;
    if (cpu > worst_s) worst_s = cpu, worst = entry.path().filename().string();
  }
  std::printf("corpus: %d Knossos histories: total %.2f ms CPU, slowest %.3f ms (%s)\n", files, total_s * 1e3,
              worst_s * 1e3, worst.c_str());
}

// Every history file in DIR (.jsonl, .json, .edn), checked with MODEL the way Go's testing.B
// times Porcupine: the first check (cold), then the mean over at least 20 more and 0.5 s (warm).
// For a head-to-head on Porcupine's own test data converted to JSONL (bench/README.md).
void files(const std::filesystem::path& dir, const std::string& model) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    if (ext == ".jsonl" || ext == ".json" || ext == ".edn") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<double> cold_us, warm_us;
  int invalid = 0;
  std::string slowest;
  double slowest_us = 0;
  LinearOptions options;
  options.model = model;
  options.threads = 1;
  for (const auto& path : paths) {
    History history = read_history(path);
    Timed cold = timed_check(history, options);
    invalid += cold.result.verdict == Verdict::invalid;
    int runs = 0;
    double start_s = cpu_s();
    while (runs < 20 || cpu_s() - start_s < 0.5) {
      check_linearizable(history, options);
      ++runs;
    }
    cold_us.push_back(cold.cpu_s * 1e6);
    warm_us.push_back((cpu_s() - start_s) / runs * 1e6);
    if (warm_us.back() >= slowest_us) slowest_us = warm_us.back(), slowest = path.filename().string();
    std::printf("%-24s %-8s cold %9.1f us  warm %9.1f us\n", path.filename().c_str(),
                std::string(to_string(cold.result.verdict)).c_str(), cold_us.back(), warm_us.back());
  }
  if (paths.empty()) return;
  std::printf("files: %zu histories (%d invalid), %s: warm median %.1f us, max %.1f us (%s), total %.2f ms; "
              "cold median %.1f us, max %.1f us, total %.2f ms\n",
              paths.size(), invalid, model.c_str(), median(warm_us), slowest_us, slowest.c_str(), std::accumulate(warm_us.begin(), warm_us.end(), 0.0) / 1e3, median(cold_us),
              *std::max_element(cold_us.begin(), cold_us.end()), std::accumulate(cold_us.begin(), cold_us.end(), 0.0) / 1e3);
}

int check_file(int argc, char** argv) {
  LinearOptions options;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--knossos") == 0) {
      options.initial_value = 0;
      options.nil_read_matches_any = true;
    } else {
      options.model = argv[i];
    }
  }
  CheckResult result = check_linearizable(read_history(argv[2]), options);
  std::printf("%s\n", to_json(result).dump(2).c_str());
  return exit_code(result.verdict);
}

}  // namespace

int main(int argc, char** argv) {
  std::string suite = argc > 1 ? argv[1] : "all";
  if (suite == "check" && argc > 2) return check_file(argc, argv);
  if (suite == "files" && argc > 2) {
    files(argv[2], argc > 3 ? argv[3] : "cas-register");
    return 0;
  }
  if (suite == "corpus" && argc > 2) {
    corpus(argv[2]);
    return 0;
  }
  if (suite == "all" || suite == "typical") typical();
  if (suite == "all" || suite == "hard") hard();
  if (suite == "all" || suite == "kv") kv();
  if (suite == "all" || suite == "scale") scale();
  if (suite == "all" || suite == "unique") unique();
  if (suite == "all" || suite == "invalid") invalid();
  return 0;
}
