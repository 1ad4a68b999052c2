// Linearizability checker figures: printed, not asserted. See bench/README.md.
//
//   bench_linear                       all suites below
//   bench_linear typical|hard|kv|scale one suite
//   bench_linear check FILE [MODEL] [--knossos]   check one history file, print the result JSON
//                                      (--knossos: initial value 0, nil reads match any value)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

CheckResult timed_check(const History& history, LinearOptions options = {}) {
  if (options.threads == 0) options.threads = 1;
  return check_linearizable(history, options);
}

// Many small histories like a 5-client etcd register test: 80 ops, a few timeouts.
void typical() {
  std::vector<double> times_us;
  int invalid = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    GenerateOptions gen{.seed = seed, .ops = 80, .processes = 5, .values = 5, .info_probability = 0.02};
    History history = generate_register_history(gen);
    CheckResult result = timed_check(history);
    invalid += result.verdict != Verdict::valid;
    times_us.push_back(result.check_time_s * 1e6);
  }
  std::printf("typical: 2000 histories, 80 ops, 5 clients, 2%% info: median %.1f us, mean %.1f us, max %.1f us (%d not valid)\n",
              median(times_us), std::accumulate(times_us.begin(), times_us.end(), 0.0) / times_us.size(),
              *std::max_element(times_us.begin(), times_us.end()), invalid);
}

// The hardest of a family with many timeouts and few values: long-pending info writes and cas
// multiply the orders to try.
void hard() {
  double worst_s = 0;
  std::uint64_t worst_seed = 0, worst_states = 0;
  std::vector<double> times_s;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    GenerateOptions gen{.seed = seed, .ops = 300, .processes = 5, .values = 3, .info_probability = 0.05};
    CheckResult result = timed_check(generate_register_history(gen));
    times_s.push_back(result.check_time_s);
    if (result.check_time_s > worst_s) {
      worst_s = result.check_time_s;
      worst_seed = seed;
      worst_states = result.details["states_explored"].get<std::uint64_t>();
    }
  }
  std::printf("hard: 200 histories, 300 ops, 5 clients, 3 values, 5%% info: median %.3f ms, hardest %.3f ms (seed %llu, %llu states)\n",
              median(times_s) * 1e3, worst_s * 1e3, static_cast<unsigned long long>(worst_seed),
              static_cast<unsigned long long>(worst_states));
}

// A 50-client kv history split per key.
void kv() {
  for (unsigned threads : {1u, 0u}) {
    std::vector<double> times_ms;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      GenerateOptions gen{.seed = seed, .ops = 2000, .processes = 50, .keys = 10, .values = 5, .info_probability = 0.01};
      LinearOptions options;
      options.model = "kv";
      options.threads = threads;
      times_ms.push_back(check_linearizable(generate_register_history(gen), options).check_time_s * 1e3);
    }
    std::printf("kv: 20 histories, 2000 ops, 50 clients, 10 keys, 1%% info, %s: median %.2f ms, max %.2f ms\n",
                threads == 1 ? "1 thread" : "all cores", median(times_ms),
                *std::max_element(times_ms.begin(), times_ms.end()));
  }
}

// One row of the scaling table, in a child process so that its peak RSS is its own.
void scale_row(std::size_t ops, unsigned processes, double info_probability) {
  std::fflush(stdout);
  pid_t child = fork();
  if (child != 0) {
    int status = 0;
    waitpid(child, &status, 0);
    return;
  }
  GenerateOptions gen{.seed = 42, .ops = ops, .processes = processes, .values = 5,
                      .info_probability = info_probability};
  History history = generate_register_history(gen);
  long history_mib = peak_rss_mib();
  LinearOptions options;
  options.time_limit_s = 10;
  options.threads = 1;
  CheckResult result = check_linearizable(history, options);
  std::printf("| %8zu | %4u | %4.0f%% | %-8s | %9.3f | %10llu | %6ld | %6ld |\n", ops, processes,
              info_probability * 100, std::string(to_string(result.verdict)).c_str(), result.check_time_s,
              static_cast<unsigned long long>(result.details["states_explored"].get<std::uint64_t>()),
              history_mib, peak_rss_mib());
  std::fflush(stdout);
  _exit(0);
}

void scale() {
  std::printf("| ops      | clients | info | verdict  | time (s)  | states     | RSS before (MiB) | peak RSS (MiB) |\n");
  std::printf("|---------:|-----:|-----:|----------|----------:|-----------:|-------:|-------:|\n");
  for (double info : {0.0, 0.01})
    for (unsigned processes : {1u, 5u, 20u, 100u})
      for (std::size_t ops : {1'000ul, 10'000ul, 100'000ul, 1'000'000ul}) scale_row(ops, processes, info);
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
  if (suite == "all" || suite == "typical") typical();
  if (suite == "all" || suite == "hard") hard();
  if (suite == "all" || suite == "kv") kv();
  if (suite == "all" || suite == "scale") scale();
  return 0;
}
