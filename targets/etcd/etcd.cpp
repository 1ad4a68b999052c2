// etcd (Debian's etcd-server, v3 API through its JSON gateway).
//
// Outcome mapping (the Two Generals lesson, see README "Outcomes"):
//  - the request never left the harness (connection refused, connect timeout): fail;
//  - a read that errs or times out: fail — a read has no effect, so it did not "happen";
//  - a cas whose compare did not match (etcd answers succeeded=false): fail;
//  - a write or cas that was sent and then timed out, lost its connection, or got an error
//    from etcd other than a definite refusal: info — it may yet take effect;
//  - etcd's definite refusals (gRPC InvalidArgument, ResourceExhausted): fail.
//
// The transfer workload's ops (workloads/transfer.cpp): account i is the key acct/<i> (its
// balance), the applied-transfer log is the keys under log/ (each [id, from, to, amount,
// from_after, key]). A transfer reads both accounts and, with an idempotency key, the log entry
// log/k/<key>: present, it answers ok "duplicate" (applied before). Then one txn: compare both
// accounts' mod_revision (unchanged since the read) and, with a key, that log/k/<key> does not
// exist (version 0); success: both balances and the log entry. The entry under the key is the
// dedupe store, written in the same txn as the balances; without a key each application writes
// log/n/<id>-<random>, and nothing recognises a resend. A compare that did not match (an
// account moved) is read again and retried within the op's time; the reads send nothing that
// changes state, so their failure is fail. "read-accounts": both prefixes at one revision.
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "core/log.h"
#include "targets/http.h"
#include "targets/servers.h"
#include "targets/target.h"

namespace faultline {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

enum class ReadMode { linearizable, serializable };

constexpr int kClientPort = 2379;
constexpr int kPeerPort = 2380;
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcResourceExhausted = 8;

std::string client_url(const NodeInfo& node) {
  return "http://" + node.address + ":" + std::to_string(kClientPort);
}

class EtcdClient final : public Client {
 public:
  EtcdClient(const NodeInfo& node, const ClientOptions& options, ReadMode read_mode)
      : base_url_(client_url(node)), timeout_ms_(options.timeout_ms), read_mode_(read_mode) {}

  Completion invoke(const Op& op) override {
    if (op.f == "read") return read(op);
    if (op.f == "write") return write(op);
    if (op.f == "cas") return cas(op);
    if (op.f == "acquire") return acquire(op);
    if (op.f == "release") return release(op);
    if (op.f == "open-accounts") return open_accounts(op.value);
    if (op.f == "transfer") return transfer(op.value);
    if (op.f == "read-accounts") return read_accounts();
    return {OpType::fail, nullptr, "etcd client does not support op " + op.f};
  }

 private:
  struct Call {
    HttpResponse http;
    json body;  // parsed JSON response when the call returned 200
  };

  Call call(const std::string& path, const json& request) {
    Call result;
    result.http = session_.post_json(base_url_ + path, request.dump(), timeout_ms_);
    if (result.http.transport_ok() && result.http.status == 200)
      result.body = json::parse(result.http.body, nullptr, false);
    return result;
  }

  // The outcome of a call that did not succeed, for an op with side effects.
  static Completion unsuccessful_mutation(const Call& c) {
    if (!c.http.request_sent) return {OpType::fail, nullptr, "not sent: " + c.http.error};
    if (!c.http.transport_ok())
      return {OpType::info, nullptr, (c.http.timed_out() ? "timeout: " : "") + c.http.error};
    json error = json::parse(c.http.body, nullptr, false);
    std::string message = error.is_object() ? error.value("error", c.http.body) : c.http.body;
    int code = error.is_object() ? error.value("code", -1) : -1;
    if (code == kGrpcInvalidArgument || code == kGrpcResourceExhausted)
      return {OpType::fail, nullptr, message};
    return {OpType::info, nullptr, message};
  }

  static bool succeeded(const Call& c) { return c.body.is_object(); }

  Completion read(const Op& op) {
    json request = {{"key", base64_encode(op.key)}};
    if (read_mode_ == ReadMode::serializable) request["serializable"] = true;
    Call c = call("/v3/kv/range", request);
    if (!succeeded(c)) {
      std::string why = c.http.transport_ok() ? c.http.body : c.http.error;
      return {OpType::fail, nullptr, "read: " + why};
    }
    auto kvs = c.body.find("kvs");
    if (kvs == c.body.end() || kvs->empty()) return {OpType::ok, nullptr, {}};
    return {OpType::ok, parse_value(base64_decode((*kvs)[0].value("value", ""))), {}};
  }

  Completion write(const Op& op) {
    Call c = call("/v3/kv/put", {{"key", base64_encode(op.key)},
                                 {"value", base64_encode(value_text(op.value))}});
    if (!succeeded(c)) return unsuccessful_mutation(c);
    return {OpType::ok, op.value, {}};
  }

  Completion cas(const Op& op) {
    if (!op.value.is_array() || op.value.size() != 2)
      return {OpType::fail, nullptr, "cas value must be [expected, new]"};
    std::string key = base64_encode(op.key);
    json request = {
        {"compare", json::array({{{"key", key},
                                  {"result", "EQUAL"},
                                  {"target", "VALUE"},
                                  {"value", base64_encode(value_text(op.value[0]))}}})},
        {"success", json::array({{{"request_put",
                                   {{"key", key}, {"value", base64_encode(value_text(op.value[1]))}}}}})}};
    Call c = call("/v3/kv/txn", request);
    if (!succeeded(c)) return unsuccessful_mutation(c);
    // proto3 JSON leaves out false: no "succeeded" means the compare did not match.
    if (!c.body.value("succeeded", false)) return {OpType::fail, op.value, "compare failed"};
    return {OpType::ok, op.value, {}};
  }

  // etcd's lock service (v3lock through the gateway): a lease of ceil(ttl) seconds, then
  // /v3/lock/lock, which waits until the lock is ours; the lock key it returns is what unlock
  // deletes. op.value: the ttl in ms. The lease is not kept alive: it is the lock's ttl.
  Completion acquire(const Op& op) {
    if (!lock_key_.empty()) return {OpType::fail, nullptr, "not sent: this process already holds it"};
    long long ttl_ms = op.value.is_number() ? op.value.get<long long>() : 5000;
    Call grant = call("/v3/lease/grant", {{"TTL", std::to_string((ttl_ms + 999) / 1000)}});
    if (!succeeded(grant) || !grant.body.contains("ID")) {
      Completion c = unsuccessful_mutation(grant);
      c.type = OpType::fail;  // a lease alone locks nothing
      return c;
    }
    std::string lease = grant.body["ID"].is_string() ? grant.body["ID"].get<std::string>()
                                                     : grant.body["ID"].dump();
    Call lock = call("/v3/lock/lock", {{"name", base64_encode(op.key)}, {"lease", lease}});
    if (!succeeded(lock)) return unsuccessful_mutation(lock);
    lock_key_ = lock.body.value("key", "");
    lease_ = lease;
    return {OpType::ok, nullptr, {}};
  }

  Completion release(const Op&) {
    if (lock_key_.empty()) return {OpType::fail, nullptr, "not sent: this process does not hold it"};
    Call unlock = call("/v3/lock/unlock", {{"key", lock_key_}});
    if (!succeeded(unlock)) return unsuccessful_mutation(unlock);
    lock_key_.clear();
    call("/v3/lease/revoke", {{"ID", lease_}});  // tidy; the ttl would end it anyway
    return {OpType::ok, nullptr, {}};
  }

  static json put(const std::string& key, const json& value) {
    return {{"request_put", {{"key", base64_encode(key)}, {"value", base64_encode(value.dump())}}}};
  }

  // Every account in one txn, unless acct/0 exists (opened before: by an attempt whose answer
  // was lost).
  Completion open_accounts(const json& value) {
    if (!value.is_object() || !value.contains("balances") || !value["balances"].is_array())
      return {OpType::fail, nullptr, "not sent: open-accounts needs balances"};
    json puts = json::array();
    for (std::size_t i = 0; i < value["balances"].size(); ++i)
      puts.push_back(put("acct/" + std::to_string(i), value["balances"][i]));
    Call c = call("/v3/kv/txn", {{"compare", json::array({{{"key", base64_encode("acct/0")},
                                                           {"result", "EQUAL"},
                                                           {"target", "VERSION"},
                                                           {"version", "0"}}})},
                                 {"success", puts}});
    if (!succeeded(c)) return unsuccessful_mutation(c);
    return {OpType::ok, value, {}};
  }

  struct Entry {
    bool found = false;
    json value;
    std::string mod_revision;
  };

  // A linearizable read of one key; nullopt when the read failed.
  std::optional<Entry> get(const std::string& key) {
    Call c = call("/v3/kv/range", {{"key", base64_encode(key)}});
    if (!succeeded(c)) return std::nullopt;
    Entry e;
    auto kvs = c.body.find("kvs");
    if (kvs == c.body.end() || kvs->empty()) return e;
    e.found = true;
    e.value = parse_value(base64_decode((*kvs)[0].value("value", "")));
    e.mod_revision = (*kvs)[0].value("mod_revision", "0");
    return e;
  }

  Completion transfer(const json& v) {
    for (const char* field : {"id", "from", "to", "amount"})
      if (!v.is_object() || !v.contains(field) || !v[field].is_number_integer())
        return {OpType::fail, nullptr, "not sent: malformed transfer " + v.dump()};
    std::int64_t amount = v["amount"].get<std::int64_t>();
    std::string from = "acct/" + std::to_string(v["from"].get<std::int64_t>());
    std::string to = "acct/" + std::to_string(v["to"].get<std::int64_t>());
    std::string key = v.contains("key") && v["key"].is_string() ? v["key"].get<std::string>() : "";
    std::string entry = key.empty() ? "log/n/" + std::to_string(v["id"].get<std::int64_t>()) + "-" +
                                          std::to_string(random_())
                                    : "log/k/" + key;
    json answer = v;
    constexpr int kTries = 10;  // compares lost to concurrent transfers on the same accounts
    for (int attempt = 0; attempt < kTries; ++attempt) {
      auto a = get(from), b = get(to);
      std::optional<Entry> known = key.empty() ? Entry{} : get(entry);
      if (!a || !b || !known) return {OpType::fail, nullptr, "read before the txn failed"};
      if (known->found) {
        answer["duplicate"] = true;
        return {OpType::ok, answer, {}};
      }
      if (!a->found || !b->found || !a->value.is_number_integer() || !b->value.is_number_integer()) {
        answer["declined"] = "no such account";
        return {OpType::fail, answer, "declined: no such account"};
      }
      std::int64_t from_after = a->value.get<std::int64_t>() - amount;
      if (v.contains("min_balance") && v["min_balance"].is_number_integer() &&
          from_after < v["min_balance"].get<std::int64_t>()) {
        answer["declined"] = "insufficient funds";
        return {OpType::fail, answer, "declined: insufficient funds"};
      }
      json compare = json::array(
          {{{"key", base64_encode(from)}, {"result", "EQUAL"}, {"target", "MOD"}, {"mod_revision", a->mod_revision}},
           {{"key", base64_encode(to)}, {"result", "EQUAL"}, {"target", "MOD"}, {"mod_revision", b->mod_revision}}});
      if (!key.empty())
        compare.push_back({{"key", base64_encode(entry)}, {"result", "EQUAL"}, {"target", "VERSION"}, {"version", "0"}});
      json row = {v["id"], v["from"], v["to"], amount, from_after, key.empty() ? json() : json(key)};
      Call c = call("/v3/kv/txn",
                    {{"compare", compare},
                     {"success", json::array({put(from, from_after),
                                              put(to, b->value.get<std::int64_t>() + amount),
                                              put(entry, row)})}});
      if (!succeeded(c)) return unsuccessful_mutation(c);
      if (c.body.value("succeeded", false)) return {OpType::ok, answer, {}};
    }
    return {OpType::fail, nullptr, "the accounts kept changing: " + std::to_string(kTries) + " compares lost"};
  }

  // Every account and the whole log at one revision (the first range's).
  Completion read_accounts() {
    auto range = [&](const std::string& prefix, const std::string& revision) {
      std::string end = prefix;
      end.back() = static_cast<char>(end.back() + 1);  // "acct/" -> "acct0": the prefix's range
      json request = {{"key", base64_encode(prefix)}, {"range_end", base64_encode(end)}};
      if (!revision.empty()) request["revision"] = revision;
      return call("/v3/kv/range", request);
    };
    Call accounts = range("acct/", "");
    if (!succeeded(accounts)) return {OpType::fail, nullptr, "read accounts: " + accounts.http.error};
    std::string revision = accounts.body.value("header", json::object()).value("revision", "");
    Call log = range("log/", revision);
    if (!succeeded(log)) return {OpType::fail, nullptr, "read log: " + log.http.error};
    std::map<std::int64_t, json> balances;  // by account number, not the keys' text order
    for (const auto& kv : accounts.body.value("kvs", json::array()))
      balances[std::stoll(base64_decode(kv.value("key", "")).substr(5))] =
          parse_value(base64_decode(kv.value("value", "")));
    json out = {{"balances", json::array()}, {"applied", json::array()}};
    for (const auto& [account, balance] : balances) out["balances"].push_back(balance);
    for (const auto& kv : log.body.value("kvs", json::array()))
      out["applied"].push_back(parse_value(base64_decode(kv.value("value", ""))));
    return {OpType::ok, out, {}};
  }

  HttpSession session_;
  std::mt19937_64 random_{std::random_device{}()};  // log entry names without a key
  std::string lock_key_;  // held: the key /v3/lock/lock returned (base64)
  std::string lease_;
  std::string base_url_;
  long timeout_ms_;
  ReadMode read_mode_;
};

class EtcdTarget final : public Target, public ProcessControl, public PrimaryAware,
                         public StorageControl {
 public:
  explicit EtcdTarget(ReadMode read_mode) : read_mode_(read_mode) {}
  ~EtcdTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override {
    return {"read", "write", "cas", "acquire", "release", "open-accounts", "transfer",
            "read-accounts"};
  }

  void start(const ClusterContext& context) override {
    nodes_ = context.cluster.nodes();
    std::string initial_cluster;
    for (const auto& n : nodes_)
      initial_cluster += (initial_cluster.empty() ? "" : ",") + n.name + "=http://" + n.address +
                         ":" + std::to_string(kPeerPort);
    for (const auto& n : nodes_) {
      std::string dir = context.cluster.files().node_dir(n.name);
      if (mount_) {  // etcd wants its data folder 0700
        context.cluster.files().make_dir(n.name, dir + "/data.backing", {"", 0700});
        context.cluster.files().make_dir(n.name, dir + "/data", {"", 0700});
        mount_(n.name, dir + "/data.backing", dir + "/data");
      }
      data_dirs_[n.name] = dir + "/data";
      std::string peer = "http://" + n.address + ":" + std::to_string(kPeerPort);
      SpawnOptions spawn{{"etcd", "--name", n.name, "--data-dir", dir + "/data",
                          "--listen-client-urls", client_url(n), "--advertise-client-urls",
                          client_url(n), "--listen-peer-urls", peer,
                          "--initial-advertise-peer-urls", peer, "--initial-cluster",
                          initial_cluster, "--initial-cluster-state", "new",
                          "--initial-cluster-token", "faultline-" + context.run_id},
                         {},
                         dir + "/etcd.log"};
      servers_.spawn(context.cluster, n.name, "etcd", std::move(spawn));
    }
    wait_healthy(30s);
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last_problem;
    HttpSession session;
    while (std::chrono::steady_clock::now() < deadline) {
      last_problem = health_problem(session);
      if (last_problem.empty()) return;
      std::this_thread::sleep_for(200ms);
    }
    throw TargetError("etcd cluster not healthy after " + std::to_string(timeout.count()) +
                      " s: " + last_problem + "\n" + servers_.log_tails());
  }

  std::unique_ptr<Client> open_client(const NodeInfo& node, const ClientOptions& options) override {
    return std::make_unique<EtcdClient>(node, options, read_mode_);
  }

  void stop() noexcept override { servers_.stop_all(); }

  std::vector<int> kill(const std::string& node) override { return servers_.kill(node); }
  std::vector<int> restart(const std::string& node) override { return servers_.restart(node); }
  std::vector<int> pause(const std::string& node) override { return servers_.pause(node); }
  std::vector<int> resume(const std::string& node) override { return servers_.resume(node); }
  std::string process_description() const override { return "etcd"; }

  void use_data_mount(Mount mount) override { mount_ = std::move(mount); }
  std::string data_dir(const std::string& node) const override { return data_dirs_.at(node); }

  // The member a majority of the members name as leader (none during an election, or when no
  // majority answers: an isolated old leader that still thinks it leads does not count).
  std::vector<std::string> primaries() override {
    HttpSession session;
    std::map<std::string, int> votes;
    std::map<std::string, std::string> member_node;
    for (const auto& n : nodes_) {
      HttpResponse r = session.post_json(client_url(n) + "/v3/maintenance/status", "{}", 500);
      if (!r.transport_ok() || r.status != 200) continue;
      json status = json::parse(r.body, nullptr, false);
      if (!status.is_object()) continue;
      std::string leader = status.value("leader", "");
      if (!leader.empty() && leader != "0") ++votes[leader];
      if (status.contains("header")) member_node[status["header"].value("member_id", "")] = n.name;
    }
    for (const auto& [leader, count] : votes)
      if (count > static_cast<int>(nodes_.size()) / 2 && member_node.count(leader))
        return {member_node[leader]};
    return {};
  }

  std::string version() const override { return "etcd " + (version_.empty() ? "?" : version_); }

  json limitations() const override {
    return {{"clock", "clock faults not effective on etcd: Go reads time without libc, so "
                      "libfaketime cannot skew it"}};
  }

 private:
  // Empty when every member answers and all agree on one leader.
  std::string health_problem(HttpSession& session) {
    std::string leader;
    for (const auto& n : nodes_) {
      HttpResponse r = session.post_json(client_url(n) + "/v3/maintenance/status", "{}", 1000);
      if (!r.transport_ok() || r.status != 200)
        return n.name + " does not answer (" + (r.transport_ok() ? r.body : r.error) + ")";
      json status = json::parse(r.body, nullptr, false);
      std::string l = status.is_object() ? status.value("leader", "") : "";
      if (l.empty() || l == "0") return n.name + " has no leader";
      if (!leader.empty() && l != leader) return "members disagree on the leader";
      leader = l;
      version_ = status.value("version", version_);
    }
    return {};
  }

  ReadMode read_mode_;
  std::vector<NodeInfo> nodes_;
  ServerSet servers_{"etcd"};
  std::string version_;
  Mount mount_;                                   // set when a storage nemesis runs
  std::map<std::string, std::string> data_dirs_;  // --data-dir of each node
};

const bool registered = TargetRegistry::add("etcd", [](FieldReader& options, int) {
  std::string read = options.choice("read", {"linearizable", "serializable"}, "linearizable");
  return std::make_unique<EtcdTarget>(read == "serializable" ? ReadMode::serializable
                                                             : ReadMode::linearizable);
});

}  // namespace
}  // namespace faultline
