// What `faultline check` costs on big history files: wall time and peak RSS of the whole
// process (read + check), as a user runs it. Printed, not asserted. See bench/README.md.
//
// Usage:
//   bench_parse write DIR            generate the files below into DIR (once; ~1.5 GB)
//   bench_parse run DIR [FAULTLINE]  run `FAULTLINE check` on each (default: the faultline
//                                    binary next to this build) and print the table
// Files: list-append txns from checker/txn/simulate.h (100k and 1M txns, seed 42, checked as
// strict-serializable) and a single cas-register history from checker/linear/generate.h
// (1M ops, 5 clients, 1% info, seed 42), each as JSONL (op_to_line) and as Jepsen EDN.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checker/linear/generate.h"
#include "checker/txn/simulate.h"

using namespace faultline;
namespace fs = std::filesystem;

namespace {

struct Bench {
  std::string name;   // file name without extension
  std::string model;  // --model
  double wall_goal_s;   // 0: none given (the issue sets goals for 1M only)
  double rss_goal_mib;  // 0: none given
};

const std::vector<Bench> kBenches = {
    {"txn-100k", "list-append", 0, 0},
    {"txn-1m", "list-append", 3, 1000},
    {"register-1m", "cas-register", 2, 0},
};

bool is_keyword(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

// JSON as Jepsen writes EDN: word-like strings (f, type, micro-op names) as keywords.
void write_edn(std::ostream& out, const nlohmann::json& v) {
  if (v.is_array()) {
    out << '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out << ' ';
      write_edn(out, v[i]);
    }
    out << ']';
  } else if (v.is_object()) {
    out << '{';
    bool first = true;
    for (const auto& [key, value] : v.items()) {
      out << (first ? ":" : ", :") << key << ' ';
      write_edn(out, value);
      first = false;
    }
    out << '}';
  } else if (v.is_null()) {
    out << "nil";
  } else if (v.is_string() && is_keyword(v.get<std::string>())) {
    out << ':' << v.get<std::string>();
  } else {
    out << v.dump();
  }
}

void write_files(const fs::path& dir, const std::string& name, const History& history) {
  std::ofstream jsonl(dir / (name + ".jsonl")), edn(dir / (name + ".edn"));
  edn << "[";
  for (const Op& op : history) {
    jsonl << op_to_line(op) << '\n';
    nlohmann::json j = op_to_json(op);
    j["time"] = j["time_ns"];  // Jepsen's name
    j.erase("time_ns");
    write_edn(edn, j);
    edn << '\n';
  }
  edn << "]\n";
  std::printf("wrote %s.{jsonl,edn}: %zu ops\n", (dir / name).c_str(), history.size());
}

void write_all(const fs::path& dir) {
  fs::create_directories(dir);
  for (std::size_t txns : {100'000, 1'000'000}) {
    checker::txn::SimulationOptions o;
    o.txn_count = txns;
    o.seed = 42;
    write_files(dir, txns == 100'000 ? "txn-100k" : "txn-1m", checker::txn::simulate_list_append(o));
  }
  checker::linear::GenerateOptions g;
  g.seed = 42;
  g.ops = 1'000'000;
  g.processes = 5;
  g.info_probability = 0.01;
  write_files(dir, "register-1m", checker::linear::generate_register_history(g));
  std::ofstream small(dir / "small.jsonl");
  for (const Op& op : checker::linear::generate_register_history({.seed = 1, .ops = 20}))
    small << op_to_line(op) << '\n';
}

// A list-append history of `txns` (a multiple of 1M) as JSONL, from 1M-txn simulations one
// after another: each on keys and processes of its own, later in real time than the one
// before, so the whole is strictly serializable and never held in memory at once.
void write_big(const fs::path& dir, std::size_t txns) {
  constexpr std::size_t kChunk_txns = 1'000'000;
  constexpr std::int64_t kChunk_ids = 1'000'000;  // keys and processes per chunk stay below this
  fs::create_directories(dir);
  fs::path path = dir / ("txn-" + std::to_string(txns / kChunk_txns) + "m.jsonl");
  std::ofstream out(path);
  std::int64_t index = 0, time_ns = 0;
  for (std::size_t chunk = 0; chunk * kChunk_txns < txns; ++chunk) {
    checker::txn::SimulationOptions o;
    o.txn_count = kChunk_txns;
    o.seed = 42 + chunk;
    History history = checker::txn::simulate_list_append(o);
    auto offset = static_cast<std::int64_t>(chunk) * kChunk_ids;
    std::int64_t start_ns = time_ns;
    for (Op& op : history) {
      op.index = index++;
      op.process += offset;
      op.time_ns += start_ns;
      time_ns = op.time_ns + 1000;
      if (op.value.is_array())
        for (nlohmann::json& mop : op.value) mop[1] = mop[1].get<std::int64_t>() + offset;
      out << op_to_line(op) << '\n';
    }
    std::printf("chunk %zu: %zu ops\n", chunk, history.size());
    std::fflush(stdout);
  }
  std::printf("wrote %s: %lld ops\n", path.c_str(), static_cast<long long>(index));
}

struct Run {
  double wall_s = 0;
  double cpu_s = 0;  // user + system: what wall time would be on an idle machine, near enough
  double rss_mib = 0;
  int status = -1;
};

Run run_check(const std::string& faultline, const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(faultline.c_str()), const_cast<char*>("check")};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  std::fflush(stdout);  // else the child's exec loses nothing, but its exit would flush a copy
  pid_t child = fork();
  if (child == 0) {
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(child, &status, 0, &usage);
  Run r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  r.cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void run_all(const fs::path& dir, const std::string& faultline) {
  std::printf("| file | model | wall (s) | CPU (s) | goal | peak RSS (MiB) | goal | exit |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Bench& b : kBenches)
    for (const char* ext : {".jsonl", ".edn"}) {
      fs::path file = dir / (b.name + ext);
      Run r = run_check(faultline, {file.string(), "--model", b.model});
      auto goal = [](double g) { return g > 0 ? "< " + std::to_string(int(g)) : std::string("—"); };
      std::printf("| %s | %s | %.2f | %.2f | %s | %.0f | %s | %d |\n", file.filename().c_str(),
                  b.model.c_str(), r.wall_s, r.cpu_s, goal(b.wall_goal_s).c_str(), r.rss_mib,
                  goal(b.rss_goal_mib).c_str(), r.status);
      std::fflush(stdout);
    }
  // Start-up: one tiny file per process, the median of 21 runs, against 21 files in one process.
  std::string small = (dir / "small.jsonl").string();
  std::vector<double> walls;
  for (int i = 0; i < 21; ++i) walls.push_back(run_check(faultline, {small}).wall_s);
  std::sort(walls.begin(), walls.end());
  std::vector<std::string> many(21, small);
  double one_process = run_check(faultline, many).wall_s;
  std::printf("\nsmall.jsonl (20 ops): one process per file: median %.1f ms; 21 files in one "
              "process: %.1f ms in total (%.2f ms a file)\n",
              walls[10] * 1e3, one_process * 1e3, one_process * 1e3 / 21);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "write" && argc == 3) {
    write_all(argv[2]);
    return 0;
  }
  if (mode == "write-txns" && argc == 4) {
    write_big(argv[2], std::stoull(argv[3]));
    return 0;
  }
  if (mode == "run" && (argc == 3 || argc == 4)) {
    std::string faultline = argc == 4 ? argv[3] : FAULTLINE_BINARY;
    run_all(argv[2], faultline);
    return 0;
  }
  std::fprintf(stderr,
               "usage: bench_parse write DIR | bench_parse write-txns DIR TXNS | "
               "bench_parse run DIR [FAULTLINE]\n");
  return 2;
}
