// Link faults against real servers, through the link proxies: latency and bandwidth show in the
// phase figures and go away with the heal, a timeout or reset-peer on the leader's links costs
// it its leadership, slow-close holds back a server's EOF, and a SIGKILLed harness leaves no
// proxy and no NAT rule once `faultline clean` ran.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>

#include "reports/analysis.h"
#include "tests/integration/support.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string etcd_spec(const std::string& nemesis, int time_limit_s) {
  return "name: it-links\n"
         "target:   { system: etcd, nodes: 3 }\n"
         "workload: { name: register, keys: 4 }\n"
         "clients:  { concurrency: 6, rate_per_s: 100, timeout_ms: 3000 }\n"
         "nemesis:  " + nemesis + "\n"
         "time_limit_s: " + std::to_string(time_limit_s) + "\n"
         "seed: 11\n";
}

// Median latency (ms) of the ok client ops invoked within [from_s, to_s).
double p50_ms(const History& history, double from_s, double to_s) {
  std::map<std::int64_t, const Op*> invoked;
  std::vector<double> ms;
  for (const auto& op : history) {
    if (op.is_nemesis()) continue;
    if (op.type == OpType::invoke) {
      invoked[op.process] = &op;
      continue;
    }
    const Op* inv = invoked[op.process];
    double t = static_cast<double>(inv ? inv->time_ns : 0) / 1e9;
    if (inv && op.type == OpType::ok && t >= from_s && t < to_s)
      ms.push_back(static_cast<double>(op.time_ns - inv->time_ns) / 1e6);
  }
  if (ms.empty()) return -1;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// The link proxies of run `run_id` still running (pgrep lines).
std::string proxies_of(const std::string& run_id) {
  return run_program("pgrep", {"-af", "faultline-proxy .*/run/faultline/" + run_id + "-"}).text;
}

}  // namespace

// A slow link fault on every link, and how much it must add to the p50 of ok ops at least.
struct SlowLink {
  std::string fault, options;
  double min_added_ms;
};

TEST_CASE("links: etcd under latency 200 ms ± 50 or 2 KB/s links is slower while it lasts, linearizable, and heals") {
  // Latency: a write commits after a round trip to a follower (two delayed hops), a
  // linearizable read after a heartbeat round (two too). Bandwidth: etcd's replication stream
  // needs several KB/s at this rate, so bytes queue in the proxies and every round trip waits.
  SlowLink link = GENERATE(values<SlowLink>({{"latency", "latency_ms: 200, jitter_ms: 50", 250},
                                             {"bandwidth", "rate_kb_per_s: 2", 100}}));
  INFO("fault " << link.fault);
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec("{ timeline: [ {at_s: 4, fault: " + link.fault + ", nodes: all, " +
                                   link.options + ", duration_s: 8} ] }", 22));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  FaultAction action = one_action(r, link.fault);
  CHECK(action.start["links"].size() == 6);  // every direction of every link of 3 nodes

  report::Analysis analysis = report::analyze(report::load_run(r.dir));
  const report::PhaseFigures* healthy = report::find_phase(analysis, "healthy");
  const report::PhaseFigures* slow = report::find_phase(analysis, link.fault);
  REQUIRE(healthy);
  REQUIRE(slow);
  INFO("p50 healthy " << healthy->latency_ns_p50 / 1e6 << " ms, under " << link.fault << " "
                      << slow->latency_ns_p50 / 1e6 << " ms");
  CHECK(slow->latency_ns_p50 > healthy->latency_ns_p50 + link.min_added_ms * 1e6);

  // Healed: back to the latency before the fault, once held bytes have drained.
  double before = p50_ms(r.history, 1, 4), after = p50_ms(r.history, 15, 22);
  INFO("p50 before " << before << " ms, after the heal " << after << " ms");
  CHECK(after >= 0);
  CHECK(after < before + 50);
  CHECK(slurp(r.dir / "nodes" / "n1" / "proxy.log").find("toxics in force") != std::string::npos);
  require_no_leftovers(rules_before, r.dir, dir.path());
  CHECK(proxies_of(run_id_of(r.dir)) == "");
}

TEST_CASE("links: a timeout or reset-peer on the leader's links makes etcd elect another leader") {
  // A half-open link and one whose every connection is reset: either way the leader's
  // heartbeats stop reaching the followers, so they elect another.
  std::string fault = GENERATE(std::string("timeout"), std::string("reset-peer"));
  INFO("fault " << fault);
  std::string rules_before = host_iptables();
  TempDir dir;
  auto r = run_spec(dir, etcd_spec(
      "{ timeline: [ {at_s: 3, fault: " + fault + ", nodes: primaries, duration_s: 6} ] }", 13));
  INFO(r.output.text);
  CHECK(r.output.exit_code == 0);
  CHECK(r.results["verdict"] == "valid");
  require_leader_moved(r, fault, "nodes");
  require_no_leftovers(rules_before, r.dir, dir.path());
}

TEST_CASE("links: SIGKILL of the harness mid-latency, then clean, leaves no proxy and no NAT rule") {
  std::string rules_before = host_iptables();
  TempDir dir;
  std::string spec = dir.write("spec.yaml", etcd_spec(
      "{ timeline: [ {at_s: 3, fault: latency, nodes: all, latency_ms: 50} ] }", 60));
  auto store = dir.path() / "store";
  bp::child harness(FAULTLINE_BIN, bp::args({"run", spec, "--store", store.string(), "--quiet"}),
                    bp::std_out > bp::null, bp::std_err > bp::null);
  REQUIRE(wait_for_nemesis(store / "latest" / "history.jsonl", "start-latency", 60s));
  std::string run_id = run_id_of(store / "latest");
  REQUIRE(!run_id.empty());
  // In force: a proxy per node, and the NAT chain in each namespace.
  CHECK(!proxies_of(run_id).empty());
  CHECK(run_program("ip", {"netns", "exec", "fl" + run_id + "-n1", "iptables", "-t", "nat", "-S"})
            .text.find("FL-PROXY") != std::string::npos);
  ::kill(harness.id(), SIGKILL);
  harness.wait();

  // The proxies die with the harness, as its servers do; the rest waits for clean.
  CHECK(eventually(10s, [&] { return proxies_of(run_id).empty(); }));
  Output clean = run_faultline({"clean"});
  INFO(clean.text);
  CHECK(clean.exit_code == 0);
  CHECK(clean.text.find("removed namespace") != std::string::npos);
  require_no_leftovers(rules_before, store / "latest", dir.path());
  CHECK(proxies_of(run_id) == "");
  for (const char* node : {"n1", "n2", "n3"})
    CHECK(!std::filesystem::exists("/run/faultline/" + run_id + "-" + node + ".proxy"));
}

namespace {

// Milliseconds from a real Redis's reply to QUIT until its EOF reaches a client of `port`.
double quit_to_eof_ms(unsigned short port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(socket, boost::asio::buffer(std::string("QUIT\r\n")));
  char reply[16];
  boost::system::error_code ec;
  std::size_t got = boost::asio::read(socket, boost::asio::buffer(reply, 5), ec);  // "+OK\r\n"
  REQUIRE(got == 5);
  auto replied = std::chrono::steady_clock::now();
  boost::asio::read(socket, boost::asio::buffer(reply), ec);
  REQUIRE(ec == boost::asio::error::eof);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - replied).count();
}

}  // namespace

// etcd keeps its peer connections for the whole run, so an EOF held back is seen only where
// connections end: here a real redis-server that closes after QUIT, behind the proxy in its
// --upstream mode (the same copy loop as behind the namespace NAT).
TEST_CASE("links: slow-close holds a real server's EOF back by delay_ms while in force, not after") {
  TempDir dir;
  const unsigned short redis_port = 26391, proxy_port = 26392;
  bp::child redis("/usr/bin/redis-server",
                  bp::args({"--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", dir.path().string()}),
                  bp::std_out > bp::null);
  std::string toxics = dir.write("toxics", "");
  auto proxy_log = dir.path() / "proxy.log";
  bp::child proxy((std::filesystem::path(FAULTLINE_BIN).parent_path() / "faultline-proxy").string(),
                  bp::args({"--listen-port", std::to_string(proxy_port), "--config", toxics,
                            "--upstream", "127.0.0.1:" + std::to_string(redis_port)}),
                  bp::std_out > proxy_log.string());
  auto in_force = [&](const std::string& line) {
    return eventually(5s, [&] { return slurp(proxy_log).find(line) != std::string::npos; });
  };
  REQUIRE(in_force("0 toxics in force"));
  REQUIRE(eventually(5s, [&] { return run_program("redis-cli", {"-p", std::to_string(redis_port), "ping"}).text == "PONG\n"; }));

  double healthy_ms = quit_to_eof_ms(proxy_port);
  dir.write("toxics.next", "1 slow-close 127.0.0.1 receive 1 600 0\n");
  std::filesystem::rename(dir.path() / "toxics.next", toxics);  // the nemesis replaces it so too
  REQUIRE(in_force("1 toxics in force"));
  double slowed_ms = quit_to_eof_ms(proxy_port);
  dir.write("toxics.next", "");
  std::filesystem::rename(dir.path() / "toxics.next", toxics);
  REQUIRE(eventually(5s, [&] { return slurp(proxy_log).rfind("0 toxics in force") > slurp(proxy_log).find("1 toxics"); }));
  double healed_ms = quit_to_eof_ms(proxy_port);
  INFO("EOF after the reply: healthy " << healthy_ms << " ms, slow-close 600 ms " << slowed_ms
                                       << " ms, healed " << healed_ms << " ms");
  CHECK(healthy_ms < 100);
  CHECK(slowed_ms >= 590);
  CHECK(slowed_ms < 1500);
  CHECK(healed_ms < 100);
  proxy.terminate();
  redis.terminate();
}
