// faultline: run a fault-injection test from a YAML spec, check recorded histories offline, and
// clean up after crashed runs. Exit codes (Jepsen's): 0 valid, 1 invalid, 2 unknown,
// 254 bad input (spec, flags, history file), 255 internal error.
#include <unistd.h>

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <iostream>
#include <optional>

#include "checker/linear/linearizability.h"
#include "checker/clock/timestamps.h"
#include "checker/session/session.h"
#include "checker/txn/elle.h"
#include "core/log.h"
#include "core/text.h"
#include "cluster/local_cluster.h"
#include "harness/runner.h"
#include "harness/spec.h"
#include "reports/compare.h"
#include "harness/analyze.h"
#include "harness/matrix.h"
#include "reports/matrix.h"
#include "reports/report.h"
#include "reports/serve.h"

namespace {

using namespace faultline;
using nlohmann::json;

constexpr int kExitBadInput = 254;
constexpr int kExitInternal = 255;

// An error message as printed: whatever user text it quotes made safe for a terminal, its lines
// kept (a target's error carries server log tails), its size bounded.
std::string echo(std::string_view message) {
  constexpr std::size_t kMessageBytesMax = 16 * 1024;
  return printable(message, kMessageBytesMax, Newlines::keep);
}

struct RunArgs {
  std::string spec;
  std::optional<double> time_limit_s;
  std::optional<int> concurrency;
  std::optional<int> node_count;
  std::optional<std::uint64_t> seed;
  std::string store = "store";
  bool quiet = false;
};

int run_command(const RunArgs& args) {
  Test test = load_test(args.spec, SpecOverrides{args.time_limit_s, args.concurrency, args.node_count,
                                                 args.seed});
  RunOptions options;
  options.store_dir = args.store;
  options.progress = args.quiet                ? ProgressStyle::none
                     : ::isatty(STDOUT_FILENO) ? ProgressStyle::live_line
                                               : ProgressStyle::periodic_lines;
  std::cout << "faultline: " << test.spec.name << " (" << args.spec << "), seed "
            << test.spec.seed << std::endl;
  install_stop_handlers();
  RunOutcome outcome = run_test(test, options);
  std::cout << "verdict: " << checker::to_string(outcome.verdict)
            << (outcome.interrupted ? " (interrupted: the run was cut short)" : "") << "\n"
            << "run folder: " << outcome.run_dir.string() << std::endl;
  return checker::exit_code(outcome.verdict);
}

struct CheckArgs {
  std::vector<std::string> files;
  std::string model = "cas-register";
  double time_limit_s = 0;
  bool json_output = false;
  std::string initial_value;
  std::string nil_read = "absent";
  std::string claim = "strict-serializable";
  bool allow_empty = false;
};

const std::vector<std::string> kTxnWorkloads = {"list-append", "rw-register"};

bool is_txn_model(const std::string& model) {
  return std::find(kTxnWorkloads.begin(), kTxnWorkloads.end(), model) != kTxnWorkloads.end();
}

// Session guarantees on register / kv histories (checker/session/session.h).
constexpr const char* kSessionModel = "session";
// Server timestamps against real-time order (checker/clock/timestamps.h).
constexpr const char* kTimestampsModel = "timestamps";

std::vector<std::string> all_check_models() {
  auto models = checker::linear_model_names();
  models.insert(models.end(), kTxnWorkloads.begin(), kTxnWorkloads.end());
  models.push_back(kSessionModel);
  models.push_back(kTimestampsModel);
  return models;
}

// The checker's name in results, as check_one's checker reports it.
std::string checker_name(const CheckArgs& args) {
  if (is_txn_model(args.model)) return "elle-" + args.model;
  if (args.model == kTimestampsModel) return "timestamps";
  return args.model == kSessionModel ? "session" : "linearizable";
}

// --initial-value: JSON, or a bare word (letters, digits, '_', '-', '.') as a string value.
// Returns the reason it is neither, or an empty string.
std::string initial_value_problem(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  if (!value.is_discarded())
    return nested_deeper_than(value, kMaxNesting_levels) ? "nested too deep" : "";
  bool bare_word = !text.empty() && std::isalpha(static_cast<unsigned char>(text[0])) &&
                   std::all_of(text.begin(), text.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                            c == '.';
                   });
  return bare_word ? "" : "'" + printable(text) + "' is neither JSON nor a bare word";
}

json initial_value(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;  // a bare word: a string value
}

// A number (seconds, percent, points): finite and at least `min_s` (CLI11's Range lets NaN through).
CLI::Validator finite_at_least(double min_s) {
  return CLI::Validator(
      [min_s](std::string& text) -> std::string {
        double value = 0;
        try {
          std::size_t used = 0;
          value = std::stod(text, &used);
          if (used != text.size()) return "'" + printable(text) + "' is not a number";
        } catch (const std::exception&) {
          return "'" + printable(text) + "' is not a number";
        }
        if (!std::isfinite(value) || value < min_s)
          return "expected a finite number of at least " + std::to_string(min_s) + ", got " +
                 printable(text);
        return {};
      },
      "NUMBER >= " + std::to_string(min_s));
}

// rw-register values are integers, and so must the initial one be (check_command refuses others).
std::optional<std::int64_t> txn_initial_value(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  if (!value.is_number_integer()) return std::nullopt;
  return value.get<std::int64_t>();
}

checker::TxnOptions txn_options(const CheckArgs& args) {
  checker::TxnOptions options;
  options.workload = args.model;
  options.claim = args.claim;
  options.time_limit_s = args.time_limit_s;
  if (!args.initial_value.empty()) options.initial_value = txn_initial_value(args.initial_value);
  return options;
}

// Linearizability for single-object models, the session-guarantee cycles for `session`,
// inversions of server times for `timestamps` (transactional models: check_file).
checker::CheckResult check_one(const History& history, const CheckArgs& args) {
  if (args.model == kSessionModel) return checker::check_session(history);
  if (args.model == kTimestampsModel) return checker::check_timestamps(history);
  checker::LinearOptions options;
  options.model = args.model;
  options.time_limit_s = args.time_limit_s;
  options.nil_read_matches_any = args.nil_read == "any";
  if (!args.initial_value.empty()) options.initial_value = initial_value(args.initial_value);
  return checker::check_linearizable(history, options);
}

bool has_client_ops(const History& history) {
  return std::any_of(history.begin(), history.end(), [](const Op& op) { return !op.is_nemesis(); });
}

// Checks one file. A torn last line is dropped and said; an empty history is unknown (nothing
// was tested) unless allowed.
// Transactional histories are compiled as they are read (no History held: a million txns).
checker::CheckResult check_file(const std::string& file, const CheckArgs& args,
                                std::size_t& torn_line) {
  checker::CheckResult empty;
  empty.checker = checker_name(args);
  empty.model = is_txn_model(args.model) ? args.claim : args.model;
  empty.summary = "the history has no client op: nothing was tested (--allow-empty accepts it)";
  if (is_txn_model(args.model)) {
    auto result = naming_source(
        file, [&] { return checker::check_transactions_file(file, txn_options(args), torn_line); });
    if (result) return *result;
    if (!args.allow_empty) return empty;
    return checker::check_transactions(History{}, txn_options(args));
  }
  HistoryRead read = read_history_file(file);
  torn_line = read.torn_line;
  if (!has_client_ops(read.history) && !args.allow_empty) return empty;
  return naming_source(file, [&] { return check_one(read.history, args); });
}

int check_command(const CheckArgs& args) {
  if (is_txn_model(args.model) && !args.initial_value.empty() && !txn_initial_value(args.initial_value)) {
    std::cerr << "faultline: bad flag: --initial-value " << args.initial_value << ": " << args.model
              << " values are integers\n";
    return kExitBadInput;
  }
  checker::Verdict worst = checker::Verdict::valid;
  json all = json::array();
  for (const auto& file : args.files) {
    std::size_t torn_line = 0;
    checker::CheckResult result = check_file(file, args, torn_line);
    std::string cut = torn_line == 0 ? ""
                                     : "history cut: its last line (line " +
                                           std::to_string(torn_line) + ") was torn and dropped";
    worst = checker::worst(worst, result.verdict);
    if (args.json_output) {
      json j = checker::to_json(result);
      j["file"] = file;
      j["history_cut_at_line"] = torn_line;
      all.push_back(j);
    } else {
      std::cout << file << ": " << checker::to_string(result.verdict) << " (" << result.model
                << ", " << result.check_time_s << " s)\n  " << result.summary << "\n";
      if (!cut.empty()) std::cout << "  " << cut << "\n";
    }
  }
  if (args.json_output) std::cout << all.dump(2) << "\n";
  return checker::exit_code(worst);
}

int clean_command(bool all) {
  auto done = clean_leftovers(all);
  for (const auto& line : done) std::cout << line << "\n";
  if (done.empty()) std::cout << "nothing to clean\n";
  return 0;
}

// Grades a stored run again and rewrites its results and reports; exits with the verdict.
int analyze_command(const std::string& run_dir, const report::RecheckOptions& options) {
  report::RunResults recheck = report::recheck_run(run_dir, options);
  for (const auto& c : recheck.checks)
    std::cout << c.checker << " (" << c.model << "): " << checker::to_string(c.verdict) << " in "
              << c.check_time_s << " s — " << c.summary << "\n";
  for (const auto& note : recheck.verdict_notes) std::cout << "unknown: " << note << "\n";
  std::cout << "verdict: " << checker::to_string(recheck.verdict) << "\n"
            << "rewrote: " << run_dir << "/results.json, report.html, summary.md, junit.xml"
            << std::endl;
  return checker::exit_code(recheck.verdict);
}

struct CompareArgs {
  std::string run_dir;
  std::string baseline_dir;
  report::CompareOptions options;
};

// Exit 1 when the run regressed against the baseline, 0 otherwise. Two matrix folders are
// compared cell by cell.
int compare_command(const CompareArgs& args) {
  if (report::read_matrix_record(args.run_dir) && report::read_matrix_record(args.baseline_dir)) {
    report::Comparison comparison =
        report::compare_matrices(args.run_dir, args.baseline_dir, args.options);
    std::cout << report::describe(comparison);
    return comparison.regressed() ? 1 : 0;
  }
  report::RunData run = report::load_run(args.run_dir);
  report::RunData baseline = report::load_run(args.baseline_dir);
  report::Comparison comparison = report::compare_runs(run, baseline, args.options);
  std::cout << report::describe(comparison);
  return comparison.regressed() ? 1 : 0;
}

struct MatrixArgs {
  std::string file;
  std::optional<double> time_limit_s;
  std::string store = "store";
  bool quiet = false;
};

int matrix_command(const MatrixArgs& args) {
  Matrix matrix = load_matrix(args.file, args.time_limit_s);
  std::cout << "faultline: matrix " << matrix.name << " (" << args.file << "): "
            << matrix.cells.size() << " runs" << std::endl;
  install_stop_handlers();
  MatrixOptions options;
  options.store_dir = args.store;
  options.progress = args.quiet ? ProgressStyle::none : ProgressStyle::periodic_lines;
  MatrixOutcome outcome = run_matrix(matrix, options);
  std::cout << "verdict: " << checker::to_string(outcome.verdict) << "\n"
            << "matrix folder: " << outcome.dir.string() << "\n"
            << "reports: " << (outcome.dir / "matrix.html").string() << ", matrix.md, junit.xml"
            << std::endl;
  return checker::exit_code(outcome.verdict);
}

// Loads each spec or matrix as a run would, starting nothing: for pre-commit hooks and CI.
int validate_command(const std::vector<std::string>& files) {
  int bad = 0;
  for (const auto& file : files) {
    try {
      if (is_matrix_file(file)) {
        Matrix matrix = load_matrix(file);
        std::cout << file << ": ok (matrix " << matrix.name << ", " << matrix.cells.size()
                  << " runs)\n";
      } else {
        Test test = load_test(file);
        std::cout << file << ": ok (" << test.spec.name << ": " << test.spec.system << ", "
                  << test.spec.workload << ")\n";
      }
    } catch (const SpecError& e) {
      std::cerr << "faultline: bad spec: " << e.what() << "\n";
      ++bad;
    }
  }
  return bad == 0 ? 0 : kExitBadInput;
}

std::atomic<bool> g_serve_stop{false};

int serve_command(const report::ServeOptions& options) {
  report::ReportServer server(options);
  struct sigaction action {};
  action.sa_handler = [](int) { g_serve_stop = true; };
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::cout << "faultline: serving the runs in " << options.store.string()
            << " at http://127.0.0.1:" << server.port() << "/ (Ctrl-C stops)" << std::endl;
  server.run(g_serve_stop);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A command that exits before reading all its input (ssh to a host that went away) must fail
  // as that command, not kill the harness with SIGPIPE: writes then report EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"faultline: fault-injection tests for distributed databases"};
  app.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run a test spec: cluster up, clients and faults, check");
  run_cmd->add_option("spec", run.spec, "The test spec (YAML)")->required();
  run_cmd->add_option("--time-limit", run.time_limit_s, "Seconds of load and faults")
      ->check(finite_at_least(1));
  run_cmd->add_option("--concurrency", run.concurrency, "Client workers")->check(CLI::Range(1, 1000));
  run_cmd->add_option("--nodes", run.node_count, "Cluster size")->check(CLI::Range(1, 9));
  run_cmd->add_option("--seed", run.seed, "Seed for ops and faults");
  run_cmd->add_option("--store", run.store, "Where run folders go")->capture_default_str();
  run_cmd->add_flag("--quiet", run.quiet, "No progress output");

  CheckArgs check;
  auto* check_cmd = app.add_subcommand("check", "Check recorded histories (JSONL, JSON or EDN)");
  check_cmd->add_option("history", check.files, "History files")->required();
  check_cmd->add_option("--model", check.model, "Model: a single-object model, list-append / rw-register, session or timestamps")
      ->check(CLI::IsMember(all_check_models()))
      ->capture_default_str();
  check_cmd->add_option("--time-limit", check.time_limit_s, "Seconds per file; past it: unknown")
      ->check(finite_at_least(0));
  check_cmd->add_flag("--json", check.json_output, "Print results as JSON");
  check_cmd->add_option("--initial-value", check.initial_value,
                        "Register value before any write (JSON, or a bare word as a string)")
      ->check(CLI::Validator(initial_value_problem, "JSON|WORD"));
  check_cmd->add_option("--nil-read", check.nil_read, "absent: a nil read means absent; any: matches any value")
      ->check(CLI::IsMember({"absent", "any"}));

  check_cmd->add_flag("--allow-empty", check.allow_empty,
                      "A history without client ops is valid (default: unknown, nothing tested)");
  check_cmd->add_option("--claim", check.claim, "Transactions: the isolation level claimed")
      ->check(CLI::IsMember(checker::txn_model_names()))
      ->capture_default_str();

  bool clean_all = false;
  auto* clean_cmd = app.add_subcommand("clean", "Remove what crashed or killed runs left behind");
  clean_cmd->add_flag("--all", clean_all, "Also runs whose harness is still alive");

  std::string analyze_dir;
  auto* analyze_cmd = app.add_subcommand(
      "analyze", "Check a stored run again; rewrite its results.json and reports");
  analyze_cmd->add_option("run_dir", analyze_dir, "A run folder (store/<name>/<time>)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report::RecheckOptions analyze_options;
  analyze_cmd->add_flag("--allow-empty", analyze_options.allow_empty,
                        "A history without client ops is valid (default: unknown, nothing tested)");

  CompareArgs compare;
  auto* compare_cmd = app.add_subcommand(
      "compare", "What got worse in a run against a baseline run (exit 1 on a regression)");
  compare_cmd->add_option("run_dir", compare.run_dir, "The run folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  compare_cmd->add_option("baseline_dir", compare.baseline_dir, "The baseline run folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  compare_cmd->add_option("--p99-threshold", compare.options.p99_threshold_pct,
                          "Percent growth of a phase's p99 latency that counts as a regression")
      ->check(finite_at_least(0).description("PERCENT >= 0"))
      ->capture_default_str();
  compare_cmd->add_option("--availability-threshold", compare.options.availability_threshold_pts,
                          "Percentage points of ok ops lost in a phase that count as a regression")
      ->check(finite_at_least(0).description("POINTS >= 0"))
      ->capture_default_str();

  MatrixArgs matrix;
  auto* matrix_cmd = app.add_subcommand(
      "matrix", "Run a matrix: every combination of axis values x seeds, one comparative report");
  matrix_cmd->add_option("matrix", matrix.file, "The matrix file (YAML)")->required();
  matrix_cmd->add_option("--time-limit", matrix.time_limit_s, "Seconds of load and faults per cell")
      ->check(CLI::Range(1.0, 86400.0));
  matrix_cmd->add_option("--store", matrix.store, "Where the matrix folder goes")->capture_default_str();
  matrix_cmd->add_flag("--quiet", matrix.quiet, "Only the line per finished cell");

  std::vector<std::string> validate_files;
  auto* validate_cmd = app.add_subcommand(
      "validate", "Check specs and matrices without running anything (exit 254 on an error)");
  validate_cmd->add_option("specs", validate_files, "Spec or matrix files")->required();

  report::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Serve the store's runs and reports on 127.0.0.1");
  serve_cmd->add_option("--port", serve.port, "TCP port (0: any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--store", serve.store, "The store to list")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }

  try {
    if (*run_cmd) return run_command(run);
    if (*check_cmd) return check_command(check);
    if (*clean_cmd) return clean_command(clean_all);
    if (*analyze_cmd) return analyze_command(analyze_dir, analyze_options);
    if (*compare_cmd) return compare_command(compare);
    if (*serve_cmd) return serve_command(serve);
    if (*matrix_cmd) return matrix_command(matrix);
    if (*validate_cmd) return validate_command(validate_files);
  } catch (const SpecError& e) {
    std::cerr << "faultline: bad spec: " << echo(e.what()) << "\n";
    return kExitBadInput;
  } catch (const HistoryError& e) {
    std::cerr << "faultline: bad history: " << echo(e.what()) << "\n";
    return kExitBadInput;
  } catch (const report::RunDirError& e) {
    std::cerr << "faultline: bad run folder: " << echo(e.what()) << "\n";
    return kExitBadInput;
  } catch (const TargetError& e) {
    std::cerr << "faultline: target failed: " << echo(e.what()) << "\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "faultline: internal error: " << echo(e.what()) << "\n";
    return kExitInternal;
  }
  return kExitInternal;
}
