#include "harness/runner.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "core/log.h"
#include "core/store.h"
#include "harness/cluster_lifetime.h"
#include "harness/fault_interpreter.h"
#include "harness/recorder.h"
#include "harness/results.h"
#include "harness/schedule.h"
#include "harness/workers.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) {
  // Second signal: the user insists. Die now; the journal lets `faultline clean` finish up.
  if (g_stop_signals.fetch_add(1) >= 1) _exit(130);
}

std::string random_run_id() {
  std::random_device device;
  char id[8];
  std::snprintf(id, sizeof id, "%06x", device() & 0xffffffu);
  return id;
}

// spec.yaml as run (defaults, overrides and seed filled in); returns the text written.
std::string write_spec(const Test& test, const std::filesystem::path& run_dir) {
  YAML::Emitter out;
  out << test.resolved;
  std::string text = std::string(out.c_str()) + "\n";
  write_file(run_dir / "spec.yaml", text);
  return text;
}

// The generator phase: workers, the fault schedule and the progress line, until the time limit
// or a stop signal. Returns whether a signal cut it short.
bool generate(Test& test, Workers& workers, FaultInterpreter& faults, Recorder& recorder,
              ProgressStyle progress_style) {
  StopFlag phase_over, progress_done;
  Schedule schedule = schedule_for(test);
  workers.start(phase_over);
  std::thread nemesis([&] { faults.run(schedule, recorder, phase_over); });
  ProgressSource source{workers.counts(), [&] { return faults.active(); }, recorder.start(),
                        test.spec.time_limit_s};
  std::thread progress([&] { print_progress(progress_style, source, progress_done); });
  auto deadline = recorder.at(test.spec.time_limit_s);
  while (Clock::now() < deadline && g_stop_signals.load() == 0) std::this_thread::sleep_for(50ms);
  bool interrupted = g_stop_signals.load() > 0;
  phase_over.request();
  workers.join();
  nemesis.join();
  progress_done.request();
  progress.join();
  return interrupted;
}

}  // namespace

bool stop_requested() { return g_stop_signals.load() > 0; }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

RunOutcome run_test(Test& test, const RunOptions& options) {
  const Spec& spec = test.spec;
  Announcer announce(options.progress);
  RunOutcome outcome;
  outcome.run_dir = create_run_dir(options.store_dir, spec.name);
  log::open_file(outcome.run_dir / "faultline.log");
  RunFacts facts;
  facts.run_dir = outcome.run_dir;
  facts.run_id = random_run_id();
  facts.spec_text = write_spec(test, outcome.run_dir);
  log::info("run " + facts.run_id + " of " + spec.file.string() + ", seed " +
            std::to_string(spec.seed) + ", into " + outcome.run_dir.string());
  {
    // Heals and tears down on a throw.
    ClusterLifetime lifetime(test, facts.run_id, outcome.run_dir, announce);
    lifetime.bring_up();
    facts.record = write_run_record(test, facts, outcome.run_dir);
    Recorder recorder(outcome.run_dir / "history.jsonl");
    FaultInterpreter faults(test, lifetime.nemesis_context());
    Workers workers(test, lifetime.cluster(), recorder);
    workers.run_initial_ops();
    facts.interrupted = generate(test, workers, faults, recorder, options.progress);
    faults.heal(recorder);
    if (!facts.interrupted) {
      announce("healed; waiting for the cluster, then final reads");
      facts.recovery_problem = lifetime.wait_recovered();
      workers.run_final_ops();
    }
    lifetime.shut_down();
  }
  outcome.interrupted = facts.interrupted;
  outcome.verdict = check_and_write_results(test, facts, announce);
  return outcome;
}

}  // namespace faultline
