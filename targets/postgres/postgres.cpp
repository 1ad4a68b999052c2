// PostgreSQL (Debian's postgresql-15), one server on node n1, transactions through libpq.
//
// Ops: "txn" with Elle micro-ops ["append", k, v], ["w", k, v], ["r", k, nil]. Keys are
// integers; one table kv(k bigint primary key, v jsonb) serves both workloads: an append
// concatenates [v] to the row's JSON array (INSERT ... ON CONFLICT DO UPDATE), a write stores
// the bare number, a read returns the row's JSON (nil when the row does not exist: the empty
// list of list-append, the initial nil of rw-register).
//
// Each op is BEGIN ISOLATION LEVEL <level>; one statement per micro-op; COMMIT, on the client's
// own connection, all within ClientOptions.timeout_ms (the server's statement_timeout is the
// same, so a statement stuck on a lock is cancelled there too). (Re)connecting, before the op
// starts, has a budget of its own: max(timeout_ms, 2 s).
//
// Outcome mapping (the Two Generals lesson, see README "Outcomes"):
//  - the connection could not be opened (refused, connect timeout): fail — nothing was sent;
//  - any error or timeout before COMMIT was sent — serialization failure (40001), deadlock
//    (40P01), statement timeout, lost connection: fail. The transaction is rolled back
//    (ROLLBACK, or the connection is closed, which makes the server abort it); a transaction
//    whose COMMIT never reached the server cannot commit;
//  - COMMIT answered "COMMIT": ok; answered "ROLLBACK" (the server had aborted it): fail;
//  - COMMIT answered with a class-40 error (serialization failure, deadlock): fail — the
//    server reports the transaction rolled back;
//  - COMMIT sent, then the connection broke, the deadline passed, or any other error
//    (FATAL shutdown, ...): info — it may have committed.
//
// The server: initdb, data and socket in /tmp/faultline-pg-<run id>/ on the node (owned by the
// postgres user; made through NodeFiles, which journals it first; removed at stop), because PostgreSQL
// refuses to run as root and the run folder may sit under a path the postgres user cannot
// traverse (a 0700 home or mkdtemp folder). Started with `setpriv --reuid=postgres ...
// --pdeathsig keep` rather than runuser: setpriv execs in place (no forking parent), so the
// spawned pid is the postmaster and the die-with-the-harness signal survives the uid change.
// Logs: postgres.log and initdb.log in n1's node folder, fetched into the run folder's
// nodes/n1/ at stop.
#include <signal.h>

#include <algorithm>
#include <thread>

#include "core/log.h"
#include "targets/postgres/pg_connection.h"
#include "targets/servers.h"
#include "targets/target.h"

namespace faultline {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using pg::Clock;
using pg::StepResult;

constexpr int kPort = 5432;
constexpr const char* kServerUser = "postgres";
constexpr std::chrono::milliseconds kConnectBudget{2000};

struct Isolation {
  std::string name;  // as in the spec: serializable, repeatable-read, read-committed
  std::string sql;   // SERIALIZABLE, REPEATABLE READ, READ COMMITTED
};

Isolation isolation_named(const std::string& name) {
  if (name == "repeatable-read") return {name, "REPEATABLE READ"};
  if (name == "read-committed") return {name, "READ COMMITTED"};
  return {name, "SERIALIZABLE"};
}

std::string conninfo(const std::string& address, int timeout_ms) {
  return "host=" + address + " port=" + std::to_string(kPort) + " user=" + kServerUser +
         " dbname=postgres application_name=faultline keepalives=1 keepalives_idle=5" +
         " options='-c statement_timeout=" + std::to_string(timeout_ms) +
         " -c client_connection_check_interval=1000'";
}

const char* describe_sqlstate(const std::string& sqlstate) {
  if (pg::is_serialization_failure(sqlstate)) return "serialization failure";
  if (pg::is_deadlock(sqlstate)) return "deadlock";
  if (sqlstate == "57014") return "statement timeout";
  return nullptr;
}

std::string step_text(const StepResult& r) {
  const char* what = describe_sqlstate(r.sqlstate);
  std::string code = r.sqlstate.empty() ? "" : " [" + r.sqlstate + "]";
  return (what ? std::string(what) + ": " : "") + r.message + code;
}

// The SQL of one micro-op and its parameters; empty SQL when the micro-op is malformed.
struct Statement {
  std::string sql;
  std::vector<std::string> params;
};

Statement statement_for(const json& mop) {
  if (!mop.is_array() || mop.size() != 3 || !mop[0].is_string() || !mop[1].is_number_integer())
    return {};
  std::string f = mop[0].get<std::string>();
  std::string key = std::to_string(mop[1].get<std::int64_t>());
  if (f == "r") return {"SELECT v::text FROM kv WHERE k = $1", {key}};
  if (!mop[2].is_number_integer()) return {};
  std::string value = std::to_string(mop[2].get<std::int64_t>());
  if (f == "append")
    return {"INSERT INTO kv AS t (k, v) VALUES ($1, jsonb_build_array($2::bigint)) "
            "ON CONFLICT (k) DO UPDATE SET v = t.v || excluded.v",
            {key, value}};
  if (f == "w")
    return {"INSERT INTO kv (k, v) VALUES ($1, to_jsonb($2::bigint)) "
            "ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            {key, value}};
  return {};
}

class PostgresClient final : public Client {
 public:
  PostgresClient(std::string conninfo, Isolation isolation, int timeout_ms)
      : conninfo_(std::move(conninfo)),
        begin_sql_("BEGIN ISOLATION LEVEL " + isolation.sql),
        timeout_(timeout_ms) {}

  Completion invoke(const Op& op) override {
    if (op.f != "txn" || !op.value.is_array())
      return {OpType::fail, nullptr, "postgres client does not support op " + op.f};
    // Opening the connection (a new backend process) has its own budget, as a Jepsen client's
    // open! has: a short op timeout must not starve every reconnect.
    if (!connection_.is_open() &&
        !connection_.open(conninfo_, Clock::now() + std::max(timeout_, kConnectBudget)))
      return {OpType::fail, nullptr, "connect: " + connection_.error()};
    auto deadline = Clock::now() + timeout_;

    StepResult begin = connection_.exec(begin_sql_, {}, deadline);
    if (begin.kind != StepResult::Kind::done) return abandon(begin, "BEGIN");
    json completed = json::array();
    for (const json& mop : op.value) {
      Statement statement = statement_for(mop);
      if (statement.sql.empty()) {
        StepResult bad;
        bad.kind = StepResult::Kind::error;
        bad.message = "malformed micro-op " + mop.dump();
        return abandon(bad, "micro-op");
      }
      StepResult r = connection_.exec(statement.sql, statement.params, deadline);
      if (r.kind != StepResult::Kind::done) return abandon(r, mop.dump());
      json filled = mop;
      if (mop[0] == "r") filled[2] = read_value(r);
      completed.push_back(std::move(filled));
    }
    return commit(deadline, std::move(completed));
  }

 private:
  static json read_value(const StepResult& r) {
    if (r.rows.empty() || !r.rows[0]) return nullptr;
    json v = json::parse(*r.rows[0], nullptr, false);
    return v.is_discarded() ? json(*r.rows[0]) : v;
  }

  // Something went wrong before COMMIT was sent: the transaction cannot have committed.
  Completion abandon(const StepResult& r, const std::string& at) {
    if (connection_.is_open()) {
      StepResult rollback = connection_.exec("ROLLBACK", {}, Clock::now() + timeout_);
      if (rollback.kind != StepResult::Kind::done) connection_.close();
    }
    return {OpType::fail, nullptr, at + ": " + step_text(r)};
  }

  Completion commit(Clock::time_point deadline, json completed) {
    StepResult r = connection_.exec("COMMIT", {}, deadline);
    switch (r.kind) {
      case StepResult::Kind::done:
        if (r.command == "COMMIT") return {OpType::ok, std::move(completed), {}};
        return {OpType::fail, nullptr, "COMMIT answered " + r.command};
      case StepResult::Kind::error:
        if (pg::is_rollback_class(r.sqlstate)) return {OpType::fail, nullptr, "COMMIT: " + step_text(r)};
        connection_.close();
        return {OpType::info, nullptr, "COMMIT: " + step_text(r)};
      case StepResult::Kind::not_sent:
        return {OpType::fail, nullptr, "COMMIT not sent: " + r.message};
      case StepResult::Kind::lost:
      case StepResult::Kind::timeout:
        return {OpType::info, nullptr, "COMMIT: " + r.message};
    }
    return {OpType::info, nullptr, "COMMIT: unknown outcome"};
  }

  std::string conninfo_;
  std::string begin_sql_;
  std::chrono::milliseconds timeout_;
  pg::Connection connection_;
};

// The newest /usr/lib/postgresql/<major>/bin on `node` holding a postgres binary (Debian's
// layout).
std::string find_bin_dir(NodeFiles& files, const std::string& node) {
  const std::string root = "/usr/lib/postgresql";
  std::string best;
  int best_major = -1;
  for (const auto& entry : files.list_dir(node, root)) {
    int major = std::atoi(entry.c_str());
    std::string bin = root + "/" + entry + "/bin";
    if (major > best_major && files.exists(node, bin + "/postgres")) {
      best_major = major;
      best = bin;
    }
  }
  if (best.empty())
    throw TargetError("PostgreSQL is not installed on " + node + ": no " + root +
                      "/*/bin/postgres (Debian package postgresql-15; scripts/install-deps.sh "
                      "installs it)");
  return best;
}

std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  std::vector<std::string> full{"setpriv", std::string("--reuid=") + kServerUser,
                                std::string("--regid=") + kServerUser, "--init-groups",
                                "--pdeathsig", "keep", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

class PostgresTarget final : public Target {
 public:
  explicit PostgresTarget(Isolation isolation) : isolation_(std::move(isolation)) {}
  ~PostgresTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override { return {"txn"}; }

  void start(const ClusterContext& context) override {
    const NodeInfo& node = context.cluster.nodes().front();
    node_ = node;
    files_ = &context.cluster.files();
    bin_ = find_bin_dir(*files_, node.name);
    log_dir_ = files_->node_dir(node.name);
    make_work_dir(context);
    std::string data = work_dir_ + "/data";
    CommandResult init = context.cluster.run(
        node.name, as_server_user({bin_ + "/initdb", "-D", data, "-U", kServerUser,
                                   "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"}));
    files_->write_file(node.name, log_dir_ + "/initdb.log", init.output);
    if (!init.ok())
      throw TargetError("initdb failed (exit " + std::to_string(init.exit_code) + ")\n" +
                        log_tail(*files_, node.name, log_dir_ + "/initdb.log", 12));
    files_->write_file(node.name, work_dir_ + "/pg_hba.conf",
                       "local all all trust\nhost all all samenet trust\n");
    SpawnOptions spawn{
        as_server_user({bin_ + "/postgres", "-D", data, "-p", std::to_string(kPort), "-k",
                        work_dir_ + "/socket", "-c", "listen_addresses=" + node.address, "-c",
                        "hba_file=" + work_dir_ + "/pg_hba.conf", "-c", "max_connections=300",
                        "-c", "shared_buffers=32MB", "-c", "deadlock_timeout=100ms", "-c",
                        "log_line_prefix=%m [%p] "}),
        {},
        log_dir_ + "/postgres.log"};
    log::info("postgres on " + node.name + ": data in " + data + ", log in " + spawn.log_path);
    server_ = context.cluster.spawn(node.name, spawn);
    wait_healthy(30s);
    create_schema();
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    auto deadline = Clock::now() + timeout;
    std::string problem;
    while (Clock::now() < deadline) {
      if (!server_ || !server_->running()) {
        problem = "the server exited";
        break;
      }
      pg::Connection probe;
      if (probe.open(conninfo(node_.address, 1000), Clock::now() + 1s)) {
        StepResult r = probe.exec("SHOW server_version", {}, Clock::now() + 1s);
        if (r.kind == StepResult::Kind::done && !r.rows.empty() && r.rows[0]) {
          version_ = *r.rows[0];
          return;
        }
        problem = r.message;
      } else {
        problem = probe.error();
      }
      std::this_thread::sleep_for(200ms);
    }
    throw TargetError("postgres on " + node_.name + " not serving after " +
                      std::to_string(timeout.count()) + " s: " + problem + "\n" +
                      log_tail(*files_, node_.name, log_dir_ + "/postgres.log", 12));
  }

  std::unique_ptr<Client> open_client(const NodeInfo&, const ClientOptions& options) override {
    return std::make_unique<PostgresClient>(conninfo(node_.address, options.timeout_ms),
                                            isolation_, options.timeout_ms);
  }

  void stop() noexcept override {
    if (server_) {
      // SIGINT is PostgreSQL's fast shutdown (SIGTERM's smart one waits for every client).
      server_->signal(SIGCONT);
      server_->signal(SIGINT);
      if (!server_->wait_for_exit(10s)) server_->stop(2s);
    }
    server_.reset();
    if (files_) {
      for (const char* log : {"/postgres.log", "/initdb.log"}) fetch_quietly(log_dir_ + log);
      if (!work_dir_.empty()) remove_quietly(work_dir_);
      work_dir_.clear();
      files_ = nullptr;
    }
  }

  std::string version() const override {
    return "PostgreSQL " + (version_.empty() ? "?" : version_) + " (" + isolation_.name + ")";
  }

  json limitations() const override {
    return {{"nodes", "one PostgreSQL server on n1: no replication, so partitions between nodes "
                      "do not affect it"}};
  }

 private:
  // /tmp/faultline-pg-<run id> on the node, owned by the server user (the node folder may sit
  // under a path that user cannot traverse); made through NodeFiles, which journals it first.
  void make_work_dir(const ClusterContext& context) {
    work_dir_ = "/tmp/faultline-pg-" + context.run_id;
    files_->make_dir(node_.name, work_dir_, {kServerUser, 0711});
    files_->make_dir(node_.name, work_dir_ + "/socket", {kServerUser, 0755});
  }

  void fetch_quietly(const std::string& path) noexcept {
    try {
      if (files_->exists(node_.name, path)) files_->fetch(node_.name, path);
    } catch (const std::exception& e) {
      log::warn("postgres: could not fetch " + path + ": " + e.what());
    }
  }

  void remove_quietly(const std::string& path) noexcept {
    try {
      files_->remove(node_.name, path);
    } catch (const std::exception& e) {
      log::warn("postgres: could not remove " + path + " (teardown will): " + e.what());
    }
  }

  void create_schema() {
    pg::Connection c;
    auto deadline = Clock::now() + 10s;
    if (!c.open(conninfo(node_.address, 10000), deadline))
      throw TargetError("postgres: cannot connect to create the table: " + c.error());
    StepResult r = c.exec("CREATE TABLE IF NOT EXISTS kv (k bigint PRIMARY KEY, v jsonb NOT NULL)",
                          {}, deadline);
    if (r.kind != StepResult::Kind::done)
      throw TargetError("postgres: cannot create the table: " + step_text(r));
  }

  Isolation isolation_;
  NodeInfo node_;
  NodeFiles* files_ = nullptr;  // set by start()
  std::string bin_;             // paths on node_
  std::string log_dir_;
  std::string work_dir_;
  std::unique_ptr<NodeProcess> server_;
  std::string version_;
};

const bool registered = TargetRegistry::add("postgres", [](FieldReader& options, int node_count) {
  if (node_count != 1)
    options.fail_key("nodes", "postgres runs one server: set nodes: 1 (got " +
                                  std::to_string(node_count) + ")");
  std::string isolation = options.choice(
      "isolation", {"serializable", "repeatable-read", "read-committed"}, "serializable");
  return std::make_unique<PostgresTarget>(isolation_named(isolation));
});

}  // namespace
}  // namespace faultline
