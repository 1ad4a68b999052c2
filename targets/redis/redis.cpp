// Redis (Debian's redis-server and redis-sentinel 7.0): a primary and N-1 replicas, one
// redis-server per node (n1 is the first primary), and a Sentinel on every node next to it.
// Clients follow the current master as their node's Sentinel names it (then the other
// Sentinels), as Sentinel-aware client libraries do; hiredis underneath.
//
// Spec options (target:): min_replicas_to_write (Redis' min-replicas-to-write, default 0),
// down_after_ms (Sentinel's down-after-milliseconds, default 2000), failover_timeout_ms
// (default 6000).
//
// Ops: add / read on a set (SADD, SMEMBERS), acquire / release of a lock
// (SET key token NX PX ttl, and a Lua compare-and-delete), timed-write (a Lua script: TIME, then
// SET, so the time is the server's at the write; returned as {"server_time_us": t}). Outcome
// mapping:
//  - no connection to a Sentinel or the master (refused, connect timeout): fail;
//  - errors Redis returns before executing (READONLY from a demoted master, NOREPLICAS,
//    MASTERDOWN, LOADING, BUSY): fail;
//  - a read that errs or times out: fail;
//  - a mutation sent, then timeout or connection loss: info;
//  - SET NX that finds the lock held, a release whose token does not match: fail.
// Abilities: kill / pause act on redis-server (the node's Sentinel keeps running), the primary is
// the master most Sentinels name, and the clock of both follows the clock nemesis' offset file
// through libfaultline_clock.so (libfaketime hangs redis at start: see preload/clock_shift.cpp);
// under a storage nemesis redis' dir (AOF, RDB) is the node folder's data/, on faultline-lyingfs.
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "targets/servers.h"
#include "targets/target.h"

namespace faultline {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kRedisPort = 6379;
constexpr int kSentinelPort = 26379;
const char* kMasterName = "faultline";

// Deletes the key only if it still holds our token.
const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else "
    "return 0 end";

// Sets the key and returns the server's time, atomically (Redis 7 replicates a script's effects,
// so TIME may precede a write).
const char* kTimedWriteScript = "local t = redis.call('TIME') redis.call('SET', KEYS[1], ARGV[1]) return t";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(int ms) { return {ms / 1000, (ms % 1000) * 1000}; }

// One synchronous connection. Errors are kept, not thrown.
class Connection {
 public:
  Connection(const std::string& host, int port, int timeout_ms) {
    context_ = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout_ms));
    if (!context_) {
      error_ = "out of memory";
    } else if (context_->err) {
      error_ = host + ":" + std::to_string(port) + ": " + context_->errstr;
    } else {
      redisSetTimeout(context_, to_timeval(timeout_ms));
    }
  }
  ~Connection() {
    if (context_) redisFree(context_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Null on a transport error (error() says which): the command may or may not have run.
  Reply command(const std::vector<std::string>& args) {
    if (!connected()) return nullptr;
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (!reply) error_ = context_->errstr[0] ? context_->errstr : "connection lost";
    return Reply(reply);
  }

 private:
  redisContext* context_ = nullptr;
  std::string error_;
};

std::string reply_text(const redisReply* r) {
  if (!r) return "";
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR)
    return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return "";
}

// A TIME reply ([seconds, microseconds]) in microseconds since the epoch.
std::optional<std::int64_t> time_us(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
  return std::stoll(reply_text(r->element[0])) * 1000000 + std::stoll(reply_text(r->element[1]));
}

// "key:value" lines of an INFO reply.
std::map<std::string, std::string> parse_info(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (auto colon = line.find(':'); colon != std::string::npos && line[0] != '#')
      out[line.substr(0, colon)] = line.substr(colon + 1);
    start = end + 2;
  }
  return out;
}

// The master address one Sentinel names, or "" when it does not answer.
std::string ask_sentinel(const std::string& sentinel_host, int timeout_ms) {
  Connection c(sentinel_host, kSentinelPort, timeout_ms);
  Reply r = c.command({"SENTINEL", "get-master-addr-by-name", kMasterName});
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "";
  return reply_text(r->element[0]);
}

// Errors Redis gives before it executes anything: the op certainly did not happen.
bool is_refusal(const std::string& error) {
  for (const char* prefix : {"READONLY", "NOREPLICAS", "MASTERDOWN", "LOADING", "BUSY", "NOSCRIPT",
                             "MISCONF", "TRYAGAIN", "CLUSTERDOWN"})
    if (error.rfind(prefix, 0) == 0) return true;
  return false;
}

std::atomic<std::uint64_t> g_token_counter{0};

class RedisClient final : public Client {
 public:
  RedisClient(NodeInfo node, std::vector<NodeInfo> all, const ClientOptions& options)
      : node_(std::move(node)), all_(std::move(all)), timeout_ms_(options.timeout_ms),
        token_(node_.name + "-" + std::to_string(++g_token_counter)) {}

  Completion invoke(const Op& op) override {
    if (op.f == "add") return add(op);
    if (op.f == "read") return read(op);
    if (op.f == "acquire") return acquire(op);
    if (op.f == "release") return release(op);
    if (op.f == "timed-write") return timed_write(op);
    return {OpType::fail, nullptr, "redis client does not support op " + op.f};
  }

 private:
  // Connects to the master the Sentinels name (the node's own first). Empty string: connected.
  std::string connect() {
    if (master_ && master_->connected()) return {};
    master_.reset();
    std::vector<const NodeInfo*> order{&node_};
    for (const auto& n : all_)
      if (n.name != node_.name) order.push_back(&n);
    for (const NodeInfo* sentinel : order) {
      std::string address = ask_sentinel(sentinel->address, timeout_ms_);
      if (address.empty()) continue;
      master_ = std::make_unique<Connection>(address, kRedisPort, timeout_ms_);
      if (master_->connected()) return {};
      std::string error = master_->error();
      master_.reset();
      return "master " + error;
    }
    return "no Sentinel answered";
  }

  // Runs a command on the master. On a transport error or refusal the connection is dropped,
  // so the next op asks the Sentinels again.
  struct Result {
    Reply reply;
    std::optional<Completion> failed;  // set when there is no usable reply
  };
  Result run(const std::vector<std::string>& args, bool mutation) {
    if (std::string error = connect(); !error.empty())
      return {nullptr, Completion{OpType::fail, nullptr, "not sent: " + error}};
    Reply reply = master_->command(args);
    if (!reply) {
      std::string error = master_->error();
      master_.reset();
      return {nullptr, Completion{mutation ? OpType::info : OpType::fail, nullptr, error}};
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string error = reply_text(reply.get());
      master_.reset();
      return {nullptr, Completion{mutation && !is_refusal(error) ? OpType::info : OpType::fail,
                                  nullptr, error}};
    }
    return {std::move(reply), std::nullopt};
  }

  Completion add(const Op& op) {
    Result r = run({"SADD", op.key, op.value.dump()}, true);
    if (r.failed) return *r.failed;
    return {OpType::ok, op.value, {}};
  }

  Completion read(const Op& op) {
    Result r = run({"SMEMBERS", op.key}, false);
    if (r.failed) return *r.failed;
    json elements = json::array();
    for (std::size_t i = 0; i < r.reply->elements; ++i) {
      json e = json::parse(reply_text(r.reply->element[i]), nullptr, false);
      elements.push_back(e.is_discarded() ? json(reply_text(r.reply->element[i])) : e);
    }
    std::sort(elements.begin(), elements.end());
    return {OpType::ok, elements, {}};
  }

  // op.value: the lock's time to live in ms.
  Completion acquire(const Op& op) {
    if (holding_) return {OpType::fail, nullptr, "not sent: this process already holds it"};
    std::string ttl = std::to_string(op.value.is_number() ? op.value.get<long long>() : 5000);
    Result r = run({"SET", op.key, token_, "NX", "PX", ttl}, true);
    if (r.failed) return *r.failed;
    if (r.reply->type == REDIS_REPLY_NIL) return {OpType::fail, nullptr, "held by another"};
    holding_ = true;
    return {OpType::ok, nullptr, {}};
  }

  Completion release(const Op& op) {
    if (!holding_) return {OpType::fail, nullptr, "not sent: this process does not hold it"};
    Result r = run({"EVAL", kReleaseScript, "1", op.key, token_}, true);
    if (r.failed) return *r.failed;
    holding_ = false;
    if (r.reply->integer != 1) return {OpType::fail, nullptr, "no longer held (expired or taken)"};
    return {OpType::ok, nullptr, {}};
  }

  Completion timed_write(const Op& op) {
    Result r = run({"EVAL", kTimedWriteScript, "1", op.key, op.value.dump()}, true);
    if (r.failed) return *r.failed;
    std::optional<std::int64_t> us = time_us(r.reply.get());
    if (!us) return {OpType::info, nullptr, "the script returned no [seconds, microseconds]"};
    return {OpType::ok, json{{"server_time_us", *us}}, {}};
  }

  NodeInfo node_;
  std::vector<NodeInfo> all_;
  int timeout_ms_;
  std::string token_;
  bool holding_ = false;
  std::unique_ptr<Connection> master_;
};

struct RedisOptions {
  int min_replicas_to_write = 0;
  int down_after_ms = 2000;
  int failover_timeout_ms = 6000;
};

class RedisTarget final : public Target, public ProcessControl, public PrimaryAware,
                          public ClockControl, public StorageControl {
 public:
  explicit RedisTarget(RedisOptions options) : options_(options) {}
  ~RedisTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override {
    return {"add", "read", "acquire", "release", "timed-write"};
  }

  void start(const ClusterContext& context) override {
    nodes_ = context.cluster.nodes();
    const NodeInfo& first = nodes_.front();
    int quorum = static_cast<int>(nodes_.size()) / 2 + 1;
    NodeFiles& files = context.cluster.files();
    for (const auto& n : nodes_) {
      std::string dir = files.node_dir(n.name);
      std::string data = dir;
      if (mount_) {  // the AOF and the RDB in a folder of their own, on the storage mount
        data = dir + "/data";
        files.make_dir(n.name, dir + "/data.backing");
        files.make_dir(n.name, data);
        mount_(n.name, dir + "/data.backing", data);
      }
      data_dirs_[n.name] = data;
      files.write_file(n.name, dir + "/redis.conf", redis_conf(n, first, data));
      files.write_file(n.name, dir + "/sentinel.conf", sentinel_conf(first, dir, quorum));
      std::vector<std::pair<std::string, std::string>> env;
      if (auto it = clock_files_.find(n.name); it != clock_files_.end())
        env = {{"LD_PRELOAD", files.upload(n.name, clock_shift_library())},
               {"FAULTLINE_CLOCK_FILE", it->second}};
      servers_.spawn(context.cluster, n.name, "redis",
                     {{"redis-server", dir + "/redis.conf"}, env, dir + "/redis.log"});
      servers_.spawn(context.cluster, n.name, "sentinel",
                     {{"redis-sentinel", dir + "/sentinel.conf"}, env, dir + "/sentinel.log"});
    }
    wait_healthy(60s);
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string problem;
    while (std::chrono::steady_clock::now() < deadline) {
      problem = health_problem();
      if (problem.empty()) return;
      std::this_thread::sleep_for(250ms);
    }
    throw TargetError("redis not healthy after " + std::to_string(timeout.count()) + " s: " +
                      problem + "\n" + servers_.log_tails());
  }

  std::unique_ptr<Client> open_client(const NodeInfo& node, const ClientOptions& options) override {
    return std::make_unique<RedisClient>(node, nodes_, options);
  }

  void stop() noexcept override { servers_.stop_all(); }

  std::string version() const override { return "redis " + (version_.empty() ? "?" : version_); }

  json limitations() const override {
    return {{"kill", "kill acts on redis-server; the node's Sentinel keeps running"},
            {"pause", "pause acts on redis-server; the node's Sentinel keeps running"}};
  }

  std::vector<int> kill(const std::string& node) override { return servers_.kill(node); }
  std::vector<int> restart(const std::string& node) override { return servers_.restart(node); }
  std::vector<int> pause(const std::string& node) override { return servers_.pause(node); }
  std::vector<int> resume(const std::string& node) override { return servers_.resume(node); }
  std::string process_description() const override {
    return "redis-server (the Sentinel keeps running)";
  }

  // The master a majority of the Sentinels name.
  std::vector<std::string> primaries() override {
    std::map<std::string, int> votes;
    for (const auto& n : nodes_) {
      std::string address = ask_sentinel(n.address, 500);
      if (!address.empty()) ++votes[address];
    }
    for (const auto& [address, count] : votes)
      if (count > static_cast<int>(nodes_.size()) / 2)
        for (const auto& n : nodes_)
          if (n.address == address) return {n.name};
    return {};
  }

  void use_clock_files(std::map<std::string, std::string> files) override {
    clock_shift_library();  // fail before anything starts when the library is missing
    clock_files_ = std::move(files);
  }

  void use_data_mount(Mount mount) override { mount_ = std::move(mount); }
  std::string data_dir(const std::string& node) const override { return data_dirs_.at(node); }

  // Redis TIME against the harness' wall clock, at the midpoint of the call.
  std::optional<double> measure_clock_offset_ms(const std::string& node) override {
    for (const auto& n : nodes_) {
      if (n.name != node) continue;
      Connection c(n.address, kRedisPort, 500);
      auto before = std::chrono::system_clock::now();
      Reply r = c.command({"TIME"});
      auto after = std::chrono::system_clock::now();
      std::optional<std::int64_t> server_us = time_us(r.get());
      if (!server_us) return std::nullopt;
      double local_us = std::chrono::duration<double, std::micro>(
                            (before + (after - before) / 2).time_since_epoch())
                            .count();
      return (static_cast<double>(*server_us) - local_us) / 1000.0;
    }
    return std::nullopt;
  }

 private:
  std::string redis_conf(const NodeInfo& node, const NodeInfo& first, const std::string& dir) const {
    std::ostringstream conf;
    conf << "bind 0.0.0.0\nport " << kRedisPort << "\nprotected-mode no\n"
         << "dir " << dir << "\nappendonly yes\nappendfsync everysec\n"
         << "save \"\"\ndaemonize no\nlogfile \"\"\n"
         << "min-replicas-to-write " << options_.min_replicas_to_write << "\n"
         << "min-replicas-max-lag 10\n";
    if (node.name != first.name) conf << "replicaof " << first.address << " " << kRedisPort << "\n";
    return conf.str();
  }

  std::string sentinel_conf(const NodeInfo& first, const std::string& dir, int quorum) const {
    std::ostringstream conf;
    conf << "bind 0.0.0.0\nport " << kSentinelPort << "\nprotected-mode no\n"
         << "dir " << dir << "\ndaemonize no\nlogfile \"\"\n"
         << "sentinel monitor " << kMasterName << " " << first.address << " " << kRedisPort << " "
         << quorum << "\n"
         << "sentinel down-after-milliseconds " << kMasterName << " " << options_.down_after_ms
         << "\n"
         << "sentinel failover-timeout " << kMasterName << " " << options_.failover_timeout_ms
         << "\n"
         << "sentinel parallel-syncs " << kMasterName << " 1\n";
    return conf.str();
  }

  // Empty when every redis answers, every Sentinel names the same master, and that master has
  // all the others as online replicas.
  std::string health_problem() {
    std::string master;
    for (const auto& n : nodes_) {
      Connection sentinel(n.address, kSentinelPort, 1000);
      Reply r = sentinel.command({"SENTINEL", "master", kMasterName});
      if (!r || r->type != REDIS_REPLY_ARRAY) return n.name + "'s Sentinel does not answer";
      std::map<std::string, std::string> fields;
      for (std::size_t i = 0; i + 1 < r->elements; i += 2)
        fields[reply_text(r->element[i])] = reply_text(r->element[i + 1]);
      std::string address = fields["ip"];
      if (!master.empty() && address != master) return "Sentinels disagree on the master";
      master = address;
      if (fields["flags"] != "master") return n.name + "'s Sentinel flags the master " + fields["flags"];
      // A Sentinel fails over only with the others' votes, and reconfigures only the replicas
      // it knows: wait until each knows every other Sentinel and every replica.
      auto count = [&](const char* field) { return std::atoi(fields[field].c_str()); };
      int others = static_cast<int>(nodes_.size()) - 1;
      if (count("num-other-sentinels") < others)
        return n.name + "'s Sentinel does not know the other Sentinels yet";
      if (count("num-slaves") < others) return n.name + "'s Sentinel does not know every replica yet";
    }
    for (const auto& n : nodes_) {
      Connection c(n.address, kRedisPort, 1000);
      Reply r = c.command({"INFO", "replication"});
      if (!r || r->type != REDIS_REPLY_STRING) return n.name + "'s redis does not answer";
      auto info = parse_info(reply_text(r.get()));
      if (n.address == master) {
        if (info["role"] != "master") return n.name + " is not yet master";
        if (info["connected_slaves"] != std::to_string(nodes_.size() - 1))
          return "the master has " + info["connected_slaves"] + " replicas";
        Reply server = c.command({"INFO", "server"});
        if (server) version_ = parse_info(reply_text(server.get()))["redis_version"];
      } else if (info["role"] != "slave" || info["master_host"] != master ||
                 info["master_link_status"] != "up") {
        return n.name + " does not replicate from the master yet";
      }
    }
    return {};
  }

  RedisOptions options_;
  std::vector<NodeInfo> nodes_;
  ServerSet servers_{"redis"};
  std::map<std::string, std::string> clock_files_;  // offset file on each node
  Mount mount_;                                     // set when a storage nemesis runs
  std::map<std::string, std::string> data_dirs_;    // redis' dir on each node
  std::string version_;
};

const bool registered = TargetRegistry::add("redis", [](FieldReader& options, int) {
  RedisOptions o;
  o.min_replicas_to_write = static_cast<int>(options.integer("min_replicas_to_write", 0, 0, 8));
  o.down_after_ms = static_cast<int>(options.integer("down_after_ms", 2000, 100, 600000));
  o.failover_timeout_ms =
      static_cast<int>(options.integer("failover_timeout_ms", 6000, 100, 600000));
  return std::make_unique<RedisTarget>(o);
});

}  // namespace
}  // namespace faultline
