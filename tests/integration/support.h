// Helpers for integration tests: run the real faultline binary and look at the host.
#pragma once

#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/history.h"

namespace faultline::testing {

namespace bp = boost::process;

struct Output {
  int exit_code = -1;
  std::string text;
};

// Runs a program to completion, stdout and stderr together.
inline Output run_program(const std::string& program, const std::vector<std::string>& args) {
  bp::ipstream out;
  auto found = bp::search_path(program);
  bp::child child(found.empty() ? boost::filesystem::path(program) : found, bp::args(args),
                  (bp::std_out & bp::std_err) > out);
  Output result;
  for (std::string line; std::getline(out, line);) result.text += line + "\n";
  child.wait();
  result.exit_code = child.exit_code();
  return result;
}

inline Output run_faultline(const std::vector<std::string>& args) {
  return run_program(FAULTLINE_BIN, args);
}

// A fresh folder for one test's store and specs, removed at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/faultline-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// What one run may leave on the host: its namespaces, links, journal and server processes
// (found by the run's folder in their command line), and the host's own iptables rules (which
// must never change). Scoped to the run so that other runs on the machine do not disturb it.
struct HostState {
  std::string namespaces;
  std::string links;
  std::string servers;
  std::string journal;
  std::string host_iptables;
};

inline std::string lines_containing(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out += line + "\n";
  return out;
}

inline std::string host_iptables() {
  std::string rules;
  std::istringstream in(run_program("iptables-save", {}).text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') rules += line + "\n";
  return rules;
}

// `run_id`: as in results.json or the first line of faultline.log; `run_root`: a folder that
// holds the run's store (server data directories live below it).
inline HostState run_leftovers(const std::string& run_id, const std::filesystem::path& run_root) {
  HostState s;
  s.namespaces = lines_containing(run_program("ip", {"netns", "list"}).text, "fl" + run_id + "-");
  std::string links = run_program("ip", {"-o", "link", "show"}).text;
  s.links = lines_containing(links, "flb" + run_id) + lines_containing(links, "flv" + run_id);
  s.servers = run_program("pgrep", {"-f", run_root.string() + "/"}).text;
  if (std::filesystem::exists("/run/faultline/" + run_id + ".journal")) s.journal = run_id;
  s.host_iptables = host_iptables();
  return s;
}

// The run id from a run folder's log ("run 1a2b3c of ...").
inline std::string run_id_of(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "faultline.log");
  std::string line;
  std::getline(in, line);
  auto at = line.find("] info: run ");
  return at == std::string::npos ? "" : line.substr(at + 12, 6);
}

// Nothing of the run in `dir` is left on the host, and the host's own rules are as they were.
inline void require_host_clean(const TempDir& dir, const std::string& host_rules_before) {
  std::string run_id = run_id_of(dir.path() / "store" / "latest");
  REQUIRE(run_id.size() == 6);
  HostState after = run_leftovers(run_id, dir.path());
  CHECK(after.namespaces.empty());
  CHECK(after.links.empty());
  CHECK(after.servers.empty());
  CHECK(after.journal.empty());
  CHECK(after.host_iptables == host_rules_before);
}

// How many `f` nemesis ops (start-partition, stop-kill) took effect in `history`.
inline int count_nemesis(const History& history, const std::string& f) {
  int n = 0;
  for (const auto& op : history) n += op.is_nemesis() && op.f == f && op.type == OpType::info;
  return n;
}

// Polls `predicate` every 100 ms until it holds or `timeout` passes.
template <class Predicate>
bool eventually(std::chrono::seconds timeout, Predicate predicate) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return predicate();
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits until a running test's history records that nemesis action `f` (e.g. "start-partition")
// took effect: its info entry, which carries what was done.
inline bool wait_for_nemesis(const std::filesystem::path& history_path, const std::string& f,
                             std::chrono::seconds timeout) {
  std::string needle = "\"f\":\"" + f + "\",\"value\"";
  return eventually(timeout, [&] {
    return std::filesystem::exists(history_path) &&
           slurp(history_path).find(needle) != std::string::npos;
  });
}

// The nemesis entries of a history with the given f and type info (what each action did).
inline std::vector<nlohmann::json> nemesis_infos(const std::filesystem::path& history_path,
                                                 const std::string& f) {
  std::vector<nlohmann::json> out;
  std::ifstream in(history_path);
  for (std::string line; std::getline(in, line);) {
    auto op = nlohmann::json::parse(line, nullptr, false);
    if (op.is_object() && op.value("process", nlohmann::json()) == "nemesis" &&
        op.value("f", "") == f && op.value("type", "") == "info")
      out.push_back(op);
  }
  return out;
}

// The one start and one stop of `fault` a run recorded: what each did.
struct FaultAction {
  nlohmann::json start, stop;
};

struct RunResult {
  Output output;
  std::filesystem::path dir;  // the run folder
  nlohmann::json results;
  History history;
};

// Runs `spec_text` (written into `dir`) with the store in `dir`, plus `extra` flags.
inline RunResult run_spec(const TempDir& dir, const std::string& spec_text,
                          const std::vector<std::string>& extra = {}) {
  RunResult r;
  std::vector<std::string> args{"run", dir.write("spec.yaml", spec_text), "--store",
                                (dir.path() / "store").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  r.output = run_faultline(args);
  r.dir = dir.path() / "store" / "latest";
  if (std::filesystem::exists(r.dir / "results.json")) r.results = read_json(r.dir / "results.json");
  if (std::filesystem::exists(r.dir / "history.jsonl"))
    r.history = read_history(r.dir / "history.jsonl");
  return r;
}

// REQUIREs that the run started and stopped `fault` exactly once; returns what both did.
inline FaultAction one_action(const RunResult& r, const std::string& fault) {
  auto starts = nemesis_infos(r.dir / "history.jsonl", "start-" + fault);
  auto stops = nemesis_infos(r.dir / "history.jsonl", "stop-" + fault);
  REQUIRE(starts.size() == 1);
  REQUIRE(stops.size() == 1);
  return {starts[0]["value"], stops[0]["value"]};
}

// `fault` on the primaries, once: the leader (etcd) or master (Redis Sentinel) its start named
// in `field` is not the one the cluster had just before the heal.
inline void require_leader_moved(const RunResult& r, const std::string& fault, const std::string& field) {
  FaultAction action = one_action(r, fault);
  REQUIRE(action.start[field].size() == 1);
  std::string old_leader = action.start[field][0];
  nlohmann::json leaders = action.stop["primaries_before_heal"];
  INFO("old leader " << old_leader << ", leaders before heal " << leaders.dump());
  REQUIRE(leaders.size() == 1);
  CHECK(leaders[0] != old_leader);
}

// Redis servers and Sentinels of the run under `run_root`: they rewrite their process titles
// ("redis-server 0.0.0.0:6379"), so they are found by their working directory, the node folder
// their config names. Other runs' servers on the machine do not count.
inline std::string redis_servers(const std::filesystem::path& run_root) {
  std::istringstream pids(
      run_program("pgrep", {"-f", "^redis-(server|sentinel) 0\\.0\\.0\\.0:"}).text);
  std::string out;
  for (std::string pid; pids >> pid;) {
    std::error_code ec;
    auto cwd = std::filesystem::read_symlink("/proc/" + pid + "/cwd", ec).string();
    if (!ec && cwd.rfind(run_root.string(), 0) == 0) out += pid + " " + cwd + "\n";
  }
  return out;
}

// Nothing of the run in `run_dir` (under `run_root`) is left: namespaces, links, journal,
// clock offset files, server processes; and the host's iptables rules are as before.
inline void require_no_leftovers(const std::string& rules_before, const std::filesystem::path& run_dir,
                                 const std::filesystem::path& run_root) {
  std::string id = run_id_of(run_dir);
  REQUIRE(!id.empty());
  HostState after = run_leftovers(id, run_root);
  CHECK(after.namespaces == "");
  CHECK(after.links == "");
  CHECK(after.servers == "");
  CHECK(after.journal == "");
  CHECK(after.host_iptables == rules_before);
  for (const char* node : {"n1", "n2", "n3"})
    CHECK(!std::filesystem::exists("/run/faultline/" + id + "-" + node + ".clock"));
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::string chromium_path() { return bp::search_path("chromium").string(); }

// Loads `page` in headless Chromium; returns the DOM after the scripts ran, with Chromium's log.
inline Output chromium(const std::filesystem::path& page, const std::vector<std::string>& extra) {
  TempDir profile;
  std::vector<std::string> args = {"--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile.path().string(),
                                   "--enable-logging=stderr",
                                   "--v=0",
                                   "--virtual-time-budget=5000"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("file://" + page.string());
  return run_program(chromium_path(), args);
}

// Transfers with an attempt of unknown outcome that were resent afterwards: what makes a
// transfer run a test of dedupe at all.
inline std::int64_t resent_after_info(const History& h) {
  std::set<std::int64_t> unknown, resent;
  for (const auto& pair : pair_ops(h, kInMemoryHistory)) {
    const Op& in = h[pair.invoke];
    if (in.f != "transfer") continue;
    std::int64_t id = in.value["id"].get<std::int64_t>();
    if (pair.outcome(h) == OpType::info) unknown.insert(id);
    if (in.value["attempt"].get<int>() > 1 && unknown.contains(id)) resent.insert(id);
  }
  return static_cast<std::int64_t>(resent.size());
}

enum class TransferKeys { per_transfer, none };

// Runs examples/<name>.yaml (a transfer workload) and checks what every target must show.
// With keys: valid, answers lost after commit resent and recognised as applied, nothing
// applied twice. Without: invalid, transfers applied twice while the balances agree with the
// log and the total holds (double application, not broken bookkeeping), explained in
// report.html and summary.md. Both: the total is conserved.
// `resend_must_hit`: a resend meeting an applied transfer (a duplicate with keys, a double
// application without) is required: PostgreSQL's commit delay makes a pause land between commit
// and answer every run; on etcd that window is timing-bound (0-2 of 13-15 lost answers a run
// here), so a run that missed it must be valid instead.
inline RunResult run_transfer_example(const TempDir& dir, const std::string& name, TransferKeys keys,
                                      bool resend_must_hit = true) {
  auto r = run_spec(dir, slurp(FAULTLINE_SOURCE_DIR "/examples/" + name + ".yaml"));
  INFO(r.output.text);
  REQUIRE(r.results.contains("checks"));
  REQUIRE(r.results["checks"][0]["checker"] == "exactly-once-transfer");
  const nlohmann::json& details = r.results["checks"][0]["details"];
  INFO(details.dump(1).substr(0, 4000));
  CHECK(resent_after_info(r.history) > 0);
  CHECK(details["total_final"] == details["total_initial"]);
  CHECK(details["unexplained_accounts"].empty());
  CHECK(details["lost"].empty());
  if (keys == TransferKeys::per_transfer) {
    CHECK(r.output.exit_code == 0);
    CHECK(r.results["verdict"] == "valid");
    CHECK(details["keys"] == "per-transfer");
    CHECK(details["acknowledged"].get<int>() > 200);
    // Only a commit applied after its client gave up makes a resend the store already has.
    if (resend_must_hit)
      CHECK(details["acknowledged_duplicate"].get<int>() > 0);
    else if (details["acknowledged_duplicate"].get<int>() == 0)
      WARN("no resend met an applied transfer this run: the dedupe path went unexercised");
    CHECK(details["double_applied_count"] == 0);
    CHECK(slurp(r.dir / "report.html").find("dedupe store") != std::string::npos);
  } else {
    CHECK(details["keys"] == "none");
    // Without a key every resend of an applied transfer applies again, so no double
    // application means no lost answer was a commit: a true `valid`, where the window is
    // timing-bound (etcd), that this run did not hit.
    if (!resend_must_hit && details["double_applied_count"].get<int>() == 0) {
      WARN("no lost answer was a commit this run: the double application went unexercised");
      CHECK(r.output.exit_code == 0);
      CHECK(r.results["verdict"] == "valid");
      return r;
    }
    CHECK(r.output.exit_code == 1);
    CHECK(r.results["verdict"] == "invalid");
    CHECK(details["double_applied_count"].get<int>() > 0);
    CHECK(slurp(r.dir / "report.html").find("the resend was applied as a new transfer") !=
          std::string::npos);
    CHECK(slurp(r.dir / "summary.md").find("`double-applied` transfer") != std::string::npos);
  }
  return r;
}

}  // namespace faultline::testing
