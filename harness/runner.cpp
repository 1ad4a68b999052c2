#include "harness/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "core/stats.h"
#include "cluster/local_cluster.h"
#include "core/store.h"
#include "reports/report.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) {
  // Second signal: the user insists. Die now; the journal lets `faultline clean` finish up.
  if (g_stop_signals.fetch_add(1) >= 1) _exit(130);
}

// One stop flag that sleepers can wait on.
class StopFlag {
 public:
  void request() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool requested() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // Sleeps until `deadline`; returns true if stop was requested first.
  bool wait_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_until(lock, deadline, [&] { return stopped_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

std::string random_run_id() {
  std::random_device device;
  char id[8];
  std::snprintf(id, sizeof id, "%06x", device() & 0xffffffu);
  return id;
}

std::string node_name(int i) { return "n" + std::to_string(i + 1); }

class Run {
 public:
  Run(Test& test, const RunOptions& options) : test_(test), spec_(test.spec), options_(options) {}

  RunOutcome execute() {
    outcome_.run_dir = create_run_dir(options_.store_dir, spec_.name);
    log::open_file(outcome_.run_dir / "faultline.log");
    write_spec();
    std::vector<std::string> names;
    for (int i = 0; i < spec_.nodes; ++i) names.push_back(node_name(i));
    run_id_ = random_run_id();
    const std::string& run_id = run_id_;
    log::info("run " + run_id + " of " + spec_.file.string() + ", seed " +
              std::to_string(spec_.seed) + ", into " + outcome_.run_dir.string());
    cluster_ = make_local_cluster({run_id, names, outcome_.run_dir});
    try {
      NemesisContext context = nemesis_context();
      for (auto& [fault, nemesis] : test_.nemeses) nemesis->setup(context);
      json limitations = test_.target->limitations();
      for (const auto& [fault, note] : limitations.items())
        if (uses_fault(fault)) announce("note: " + note.get<std::string>());
      announce("starting " + spec_.system + " on " + std::to_string(spec_.nodes) + " nodes");
      test_.target->start({*cluster_, run_id});
      announce(test_.target->version() + " is up; running " + spec_.workload + " for " +
               std::to_string(static_cast<int>(spec_.time_limit_s)) + " s");
      writer_ = std::make_unique<HistoryWriter>(outcome_.run_dir / "history.jsonl");
      test_start_ = Clock::now();
      generate();
      finish();
    } catch (...) {
      heal_quietly();  // ends a strobing clock before teardown removes its files
      shut_down();
      throw;
    }
    shut_down();
    check();
    return outcome_;
  }

 private:
  NemesisContext nemesis_context() { return NemesisContext{*cluster_, *test_.target, run_id_}; }

  bool uses_fault(const std::string& fault) const {
    for (const auto& [name, nemesis] : test_.nemeses)
      if (name == fault) return true;
    return false;
  }

  std::int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - test_start_)
        .count();
  }

  void announce(const std::string& line) {
    log::info(line);
    if (options_.progress != ProgressStyle::none) std::cout << line << std::endl;
  }

  void write_spec() {
    YAML::Emitter out;
    out << test_.resolved;
    spec_text_ = std::string(out.c_str()) + "\n";
    write_file(outcome_.run_dir / "spec.yaml", spec_text_);
  }

  Op record(Op op) {
    op.time_ns = now_ns();
    return writer_->append(std::move(op));
  }

  // The generator phase: workers and the nemesis until the time limit or a stop signal.
  void generate() {
    std::vector<std::thread> threads;
    for (int w = 0; w < spec_.concurrency; ++w) threads.emplace_back([this, w] { worker(w); });
    std::thread nemesis([this] { nemesis_loop(); });
    std::thread progress([this] { progress_loop(); });
    auto deadline = test_start_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(spec_.time_limit_s));
    while (Clock::now() < deadline && g_stop_signals.load() == 0) std::this_thread::sleep_for(50ms);
    outcome_.interrupted = g_stop_signals.load() > 0;
    phase_over_.request();
    for (auto& t : threads) t.join();
    nemesis.join();
    progress_done_.request();
    progress.join();
  }

  Completion invoke_guarded(Client& client, const Op& op) {
    try {
      return client.invoke(op);
    } catch (const std::exception& e) {
      // A client bug or an unexpected answer: the op may have happened.
      log::warn("client threw on " + op.f + ": " + e.what());
      return {OpType::info, nullptr, std::string("client error: ") + e.what()};
    }
  }

  // Invokes `op` through `client` and records both ends. Returns the completion type.
  OpType perform(Client& client, Op op) {
    op.type = OpType::invoke;
    Op invoked = record(op);
    Completion c = invoke_guarded(client, invoked);
    Op done = invoked;
    done.type = c.type;
    if (!c.value.is_null() || c.type == OpType::ok) done.value = c.value;
    done.error = c.error;
    record(std::move(done));
    switch (c.type) {
      case OpType::ok: ++ok_ops_; break;
      case OpType::fail: ++fail_ops_; break;
      default: ++info_ops_; break;
    }
    return c.type;
  }

  void worker(int w) {
    Rng rng(spec_.seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w + 1)));
    const NodeInfo& node = cluster_->nodes()[static_cast<std::size_t>(w) % cluster_->nodes().size()];
    ClientOptions client_options{spec_.timeout_ms};
    auto client = test_.target->open_client(node, client_options);
    std::int64_t process = w;
    auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(spec_.concurrency / spec_.rate_per_s));
    // Stagger the workers so they do not fire in lockstep.
    auto next = test_start_ + interval * static_cast<int>(rng() % 1000) / 1000;
    while (!phase_over_.wait_until(next)) {
      next = std::max(next + interval, Clock::now());
      Op op = test_.workload->generate(rng);
      op.process = process;
      op.node = node.name;
      if (perform(*client, std::move(op)) == OpType::info) {
        // The process may still have an op in flight forever: continue as a fresh process,
        // with a fresh connection (Jepsen: process + concurrency).
        process += spec_.concurrency;
        client = test_.target->open_client(node, client_options);
      }
    }
    std::int64_t seen = highest_process_.load();
    while (process > seen && !highest_process_.compare_exchange_weak(seen, process)) {
    }
  }

  void record_nemesis(const std::string& f, OpType type, json value, const std::string& error = {}) {
    Op op;
    op.process = kNemesisProcess;
    op.type = type;
    op.f = f;
    op.value = std::move(value);
    op.error = error;
    record(std::move(op));
  }

  // Runs `action` (start or stop of a fault) and records it as invoke + info.
  template <class Action>
  bool nemesis_step(const std::string& f, Action&& action) {
    record_nemesis(f, OpType::invoke, nullptr);
    try {
      json what = action();
      log::info(f + ": " + what.dump());
      record_nemesis(f, OpType::info, what);
      return true;
    } catch (const std::exception& e) {
      log::error(f + " failed: " + e.what());
      record_nemesis(f, OpType::info, nullptr, e.what());
      return false;
    }
  }

  void set_active_fault(const std::string& text) {
    std::lock_guard lock(fault_mutex_);
    active_fault_ = text;
  }

  std::string active_fault() {
    std::lock_guard lock(fault_mutex_);
    return active_fault_;
  }

  // Quiet for interval_s, one fault for interval_s, repeat; a fault in force when the phase
  // ends is undone at once.
  void nemesis_loop() {
    if (test_.nemeses.empty()) return;
    if (!test_.timeline.empty()) return timeline_loop();
    Rng rng(spec_.seed ^ 0xD1B54A32D192ED03ull);
    NemesisContext context = nemesis_context();
    auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(spec_.interval_s));
    while (!phase_over_.wait_until(Clock::now() + interval)) {
      auto& [fault, nemesis] = test_.nemeses[rng() % test_.nemeses.size()];
      bool started = nemesis_step("start-" + fault, [&] { return nemesis->start(context, rng); });
      if (started) set_active_fault(fault + " " + nemesis->describe_active());
      phase_over_.wait_until(Clock::now() + interval);
      nemesis_step("stop-" + fault, [&] { return nemesis->stop(context); });
      set_active_fault("");
    }
  }

  // The explicit schedule: each entry starts at its at_s and stops duration_s later; entries
  // without a duration hold until the final heal.
  void timeline_loop() {
    Rng rng(spec_.seed ^ 0xD1B54A32D192ED03ull);
    NemesisContext context = nemesis_context();
    struct Event {
      double at_s;
      bool start;
      std::size_t entry;
    };
    std::vector<Event> events;
    for (std::size_t i = 0; i < test_.timeline.size(); ++i) {
      const TimelineEntry& e = test_.timeline[i];
      events.push_back({e.at_s, true, i});
      if (e.duration_s) events.push_back({e.at_s + *e.duration_s, false, i});
    }
    // By time; at equal times stops first, so back-to-back entries of one fault do not overlap.
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.at_s != b.at_s ? a.at_s < b.at_s : (!a.start && b.start);
    });
    std::vector<std::string> active(test_.timeline.size());
    for (const Event& event : events) {
      auto when = test_start_ + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(event.at_s));
      if (phase_over_.wait_until(when)) return;  // the rest is undone by the final heal
      auto& [fault, nemesis] = test_.nemeses[test_.timeline[event.entry].nemesis];
      if (event.start) {
        if (nemesis_step("start-" + fault, [&] { return nemesis->start(context, rng); }))
          active[event.entry] = fault + " " + nemesis->describe_active();
      } else {
        nemesis_step("stop-" + fault, [&] { return nemesis->stop(context); });
        active[event.entry].clear();
      }
      std::string text;
      for (const auto& a : active)
        if (!a.empty()) text += (text.empty() ? "" : "; ") + a;
      set_active_fault(text);
    }
  }

  void progress_loop() {
    if (options_.progress == ProgressStyle::none) return;
    bool live = options_.progress == ProgressStyle::live_line;
    auto period = live ? 1s : 10s;
    std::int64_t last_total = 0;
    auto last_time = Clock::now();
    while (!progress_done_.wait_until(Clock::now() + period)) {
      std::int64_t ok = ok_ops_, fail = fail_ops_, info = info_ops_;
      std::int64_t total = ok + fail + info;
      auto now = Clock::now();
      double rate = static_cast<double>(total - last_total) /
                    std::chrono::duration<double>(now - last_time).count();
      last_total = total;
      last_time = now;
      std::string fault = active_fault();
      char line[256];
      std::snprintf(line, sizeof line, "[%5.1fs/%.0fs] %6.0f ops/s  ok %lld  fail %lld  info %lld  fault: %s",
                    std::chrono::duration<double>(now - test_start_).count(), spec_.time_limit_s,
                    rate, static_cast<long long>(ok), static_cast<long long>(fail),
                    static_cast<long long>(info), fault.empty() ? "none" : fault.c_str());
      if (live)
        std::cout << "\r\033[K" << line << std::flush;
      else
        std::cout << line << std::endl;
    }
    if (live) std::cout << std::endl;
  }

  // Heal everything, wait for the cluster, then the workload's final ops.
  void finish() {
    NemesisContext context = nemesis_context();
    for (auto& [fault, nemesis] : test_.nemeses)
      if (!nemesis->describe_active().empty())
        nemesis_step("stop-" + fault, [&] { return nemesis->stop(context); });
      else
        try {
          nemesis->stop(context);  // nothing in force: undo quietly whatever a failed start left
        } catch (const std::exception& e) {
          log::warn("heal " + fault + ": " + e.what());
        }
    if (outcome_.interrupted) return;
    announce("healed; waiting for the cluster, then final reads");
    try {
      test_.target->wait_healthy(60s);
    } catch (const TargetError& e) {
      log::warn(std::string("cluster did not recover after healing: ") + e.what());
      recovery_problem_ = e.what();
    }
    auto ops = test_.workload->final_ops();
    std::int64_t process = std::max<std::int64_t>(highest_process_.load() + 1, spec_.concurrency);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const NodeInfo& node = cluster_->nodes()[i % cluster_->nodes().size()];
      auto client = test_.target->open_client(node, ClientOptions{spec_.timeout_ms});
      Op op = ops[i];
      op.process = process++;
      op.node = node.name;
      perform(*client, std::move(op));
    }
  }

  void heal_quietly() noexcept {
    if (!cluster_) return;
    NemesisContext context = nemesis_context();
    for (auto& [fault, nemesis] : test_.nemeses) {
      try {
        nemesis->stop(context);
      } catch (const std::exception& e) {
        log::warn("heal " + fault + ": " + e.what());
      }
    }
  }

  void shut_down() noexcept {
    test_.target->stop();
    if (cluster_) cluster_->teardown();
  }

  void check() {
    announce("checking the history");
    History history = read_history(outcome_.run_dir / "history.jsonl");
    auto checks = test_.workload->check(history, CheckLimits{spec_.check_time_limit_s});
    checker::Verdict verdict = checker::Verdict::valid;
    json checks_json = json::array();
    for (const auto& c : checks) {
      verdict = checker::worst(verdict, c.verdict);
      checks_json.push_back(checker::to_json(c));
    }
    if (outcome_.interrupted) verdict = checker::worst(verdict, checker::Verdict::unknown);
    outcome_.verdict = verdict;
    HistoryStats stats = compute_stats(history);
    json results = {
        {"name", spec_.name},
        {"spec_file", spec_.file.string()},
        {"seed", spec_.seed},
        {"run_id", run_id_},
        {"target", {{"system", spec_.system}, {"version", test_.target->version()}, {"nodes", spec_.nodes}}},
        {"workload", spec_.workload},
        {"guarantee", test_.workload->guarantee()},
        {"verdict", checker::to_string(verdict)},
        {"valid", verdict == checker::Verdict::valid},
        {"interrupted", outcome_.interrupted},
        {"recovery_problem", recovery_problem_},
        {"checks", checks_json},
        {"stats", to_json(stats)},
        {"limitations", test_.target->limitations()},
    };
    write_file(outcome_.run_dir / "results.json", results.dump(2) + "\n");
    std::ostringstream summary;
    summary << "ops: " << stats.ok_ops << " ok, " << stats.fail_ops << " fail, " << stats.info_ops
            << " info in " << static_cast<int>(stats.duration_s) << " s ("
            << static_cast<int>(stats.ops_per_s) << " ops/s); faults:";
    for (const auto& [f, n] : stats.nemesis_ops) summary << " " << f << " x" << n;
    if (stats.nemesis_ops.empty()) summary << " none";
    announce(summary.str());
    for (const auto& c : checks)
      announce(c.checker + " (" + c.model + "): " + std::string(checker::to_string(c.verdict)) +
               " in " + std::to_string(c.check_time_s) + " s — " + c.summary);
    // The reports get the history already in memory rather than parsing the file again.
    announce(report::write_run_reports_line(
        report::RunData{outcome_.run_dir, spec_text_, std::move(results), std::move(history)}));
  }

  Test& test_;
  const Spec& spec_;
  RunOptions options_;
  RunOutcome outcome_;
  std::string run_id_;  // names the run's namespaces, links and journal
  std::string spec_text_;  // spec.yaml as written
  std::unique_ptr<NodeControl> cluster_;
  std::unique_ptr<HistoryWriter> writer_;
  Clock::time_point test_start_;
  StopFlag phase_over_;
  StopFlag progress_done_;
  std::atomic<std::int64_t> ok_ops_{0}, fail_ops_{0}, info_ops_{0};
  std::atomic<std::int64_t> highest_process_{0};  // final ops use fresh processes above it
  std::mutex fault_mutex_;
  std::string active_fault_;
  std::string recovery_problem_;
};

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

RunOutcome run_test(Test& test, const RunOptions& options) { return Run(test, options).execute(); }

}  // namespace faultline
