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
//
// Ops besides "txn": "add" (INSERT of (key, value) into set_elements, in BEGIN ... COMMIT, with
// the txn mapping above) and "read" (every value of the key, one SELECT: any error is fail), so
// the set workload checks that every acknowledged commit survives a crash.
//
// The transfer workload's ops (workloads/transfer.cpp): "open-accounts" (one INSERT of every
// account, the txn mapping), "transfer" and "read-accounts". A transfer is one transaction:
// its row in transfer_log (transfer id, accounts, amount, idempotency key), the debit (refused
// below min_balance: ROLLBACK, fail "declined"), the credit, the debited balance into the log
// row, COMMIT. The dedupe store is transfer_log's UNIQUE idempotency_key, inserted first: a
// resend whose key is there (committed, or committing: the insert waits for it) inserts nothing,
// is rolled back and answers ok "duplicate" (applied before); a request without a key (NULL)
// never conflicts, so every resend applies again. Since the log row and both balance changes
// commit together, the final read (balances and the whole log in one SELECT: one snapshot)
// proves which transfers applied and how often.
//
// Spec options (target:): isolation; fsync: on | off (default on; off: PostgreSQL never flushes,
// which only a storage fault exposes); synchronous_commit: on | off (default on: COMMIT returns
// once its WAL is flushed; off: before, so a crash loses the last commits acknowledged: the
// target measures what that buys, the commit p50 in both settings, at start and names the trade
// in limitations.durability); commit_delay_ms (default 0): each COMMIT waits that long between
// writing its commit record and flushing it (PostgreSQL's commit_delay, with commit_siblings 0
// so that it always applies), as on a slow disk: it widens the window between COMMIT received
// and COMMIT answered, where a pause or crash leaves a client not knowing whether it committed.
//
// Abilities: kill (SIGKILL of the postmaster and its backends, which hold its shared memory: a
// crash; restart runs crash recovery on the same data), pause (SIGSTOP of the same tree), clock
// (libfaultline_clock.so, measured with clock_timestamp()), storage (the data folder on
// faultline-lyingfs, mounted before initdb).
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
  std::string label;  // for error texts: the micro-op
};

// The set workload's table: one row per element added.
constexpr const char* kSetSchema =
    "CREATE TABLE IF NOT EXISTS set_elements (k text, v bigint, PRIMARY KEY (k, v))";
// The transfer workload's tables: the balances, and the log that is both the dedupe store
// (idempotency_key UNIQUE; NULL when sent without a key) and the record of what applied.
constexpr const char* kAccountsSchema =
    "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)";
constexpr const char* kTransferLogSchema =
    "CREATE TABLE IF NOT EXISTS transfer_log (seq bigserial PRIMARY KEY, idempotency_key text "
    "UNIQUE, transfer bigint NOT NULL, src bigint NOT NULL, dst bigint NOT NULL, amount bigint "
    "NOT NULL, src_after bigint)";

// One snapshot of every balance and the whole log (one statement: one snapshot at any level).
constexpr const char* kReadAccountsSql =
    "SELECT json_build_object('balances', (SELECT coalesce(json_agg(balance ORDER BY id), '[]') "
    "FROM accounts), 'applied', (SELECT coalesce(json_agg(json_build_array(transfer, src, dst, "
    "amount, src_after, idempotency_key) ORDER BY seq), '[]') FROM transfer_log))::text";

// A transfer request's fields as statement parameters; nullopt when one is missing.
struct TransferRequest {
  std::string id, from, to, amount, key, min_balance;  // key, min_balance: "" when absent
};

std::optional<TransferRequest> transfer_request(const json& v) {
  for (const char* field : {"id", "from", "to", "amount"})
    if (!v.is_object() || !v.contains(field) || !v[field].is_number_integer()) return std::nullopt;
  auto text = [&](const char* field) { return std::to_string(v[field].get<std::int64_t>()); };
  TransferRequest r{text("id"), text("from"), text("to"), text("amount"), "", ""};
  if (v.contains("key") && v["key"].is_string()) r.key = v["key"].get<std::string>();
  if (v.contains("min_balance") && v["min_balance"].is_number_integer()) r.min_balance = text("min_balance");
  return r;
}

Statement statement_for(const json& mop) {
  if (!mop.is_array() || mop.size() != 3 || !mop[0].is_string() || !mop[1].is_number_integer())
    return {};
  std::string f = mop[0].get<std::string>();
  std::string key = std::to_string(mop[1].get<std::int64_t>());
  if (f == "r") return {"SELECT v::text FROM kv WHERE k = $1", {key}, mop.dump()};
  if (!mop[2].is_number_integer()) return {};
  std::string value = std::to_string(mop[2].get<std::int64_t>());
  if (f == "append")
    return {"INSERT INTO kv AS t (k, v) VALUES ($1, jsonb_build_array($2::bigint)) "
            "ON CONFLICT (k) DO UPDATE SET v = t.v || excluded.v",
            {key, value}, mop.dump()};
  if (f == "w")
    return {"INSERT INTO kv (k, v) VALUES ($1, to_jsonb($2::bigint)) "
            "ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            {key, value}, mop.dump()};
  return {};
}

class PostgresClient final : public Client {
 public:
  PostgresClient(std::string conninfo, Isolation isolation, int timeout_ms)
      : conninfo_(std::move(conninfo)),
        begin_sql_("BEGIN ISOLATION LEVEL " + isolation.sql),
        timeout_(timeout_ms) {}

  Completion invoke(const Op& op) override {
    if (op.f == "txn" && op.value.is_array()) return txn(op.value);
    if (op.f == "add" && op.value.is_number_integer())
      return transaction({{"INSERT INTO set_elements (k, v) VALUES ($1, $2)",
                           {op.key, std::to_string(op.value.get<std::int64_t>())}, "INSERT"}},
                         [&](std::size_t, const StepResult&) {}, op.value);
    if (op.f == "read")
      return select_json(
          "SELECT coalesce(json_agg(v ORDER BY v), '[]')::text FROM set_elements WHERE k = $1",
          {op.key});
    if (op.f == "open-accounts" && op.value.is_object() && op.value.contains("balances"))
      return transaction({{"INSERT INTO accounts (id, balance) SELECT ordinality - 1, "
                           "value::bigint FROM jsonb_array_elements_text($1::jsonb) WITH "
                           "ORDINALITY ON CONFLICT (id) DO NOTHING",
                           {op.value["balances"].dump()}, "INSERT accounts"}},
                         [&](std::size_t, const StepResult&) {}, op.value);
    if (op.f == "transfer") return transfer(op.value);
    if (op.f == "read-accounts") return select_json(kReadAccountsSql, {});
    return {OpType::fail, nullptr, "postgres client does not support op " + op.f + " " +
                                       op.value.dump()};
  }

 private:
  // Opens the connection if needed. Opening it (a new backend process) has its own budget, as
  // a Jepsen client's open! has: a short op timeout must not starve every reconnect.
  bool connect() {
    return connection_.is_open() ||
           connection_.open(conninfo_, Clock::now() + std::max(timeout_, kConnectBudget));
  }

  Completion txn(const json& mops) {
    std::vector<Statement> statements;
    for (const json& mop : mops) {
      statements.push_back(statement_for(mop));
      if (statements.back().sql.empty())
        return {OpType::fail, nullptr, "not sent: malformed micro-op " + mop.dump()};
    }
    json completed = mops;
    return transaction(statements, [&](std::size_t i, const StepResult& r) {
      if (mops[i][0] == "r") completed[i][2] = read_value(r);
    }, completed);
  }

  // BEGIN, the statements, COMMIT within one deadline, mapped as the file's comment says;
  // `each(i, result)` sees each statement's result, `value` is what an ok op returns (by then
  // filled in through `each`).
  template <class Each>
  Completion transaction(const std::vector<Statement>& statements, Each&& each, const json& value) {
    if (!connect()) return {OpType::fail, nullptr, "connect: " + connection_.error()};
    auto deadline = Clock::now() + timeout_;
    StepResult begin = connection_.exec(begin_sql_, {}, deadline);
    if (begin.kind != StepResult::Kind::done) return abandon(begin, "BEGIN");
    for (std::size_t i = 0; i < statements.size(); ++i) {
      StepResult r = connection_.exec(statements[i].sql, statements[i].params, deadline);
      if (r.kind != StepResult::Kind::done) return abandon(r, statements[i].label);
      each(i, r);
    }
    return commit(deadline, value);
  }

  // One transfer, as the file's comment says: the log row (the dedupe), debit, credit, COMMIT.
  Completion transfer(const json& request) {
    auto r = transfer_request(request);
    if (!r) return {OpType::fail, nullptr, "not sent: malformed transfer " + request.dump()};
    if (!connect()) return {OpType::fail, nullptr, "connect: " + connection_.error()};
    auto deadline = Clock::now() + timeout_;
    StepResult begin = connection_.exec(begin_sql_, {}, deadline);
    if (begin.kind != StepResult::Kind::done) return abandon(begin, "BEGIN");
    StepResult logged = connection_.exec(
        "INSERT INTO transfer_log (idempotency_key, transfer, src, dst, amount) VALUES "
        "(NULLIF($1, ''), $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING seq::text",
        {r->key, r->id, r->from, r->to, r->amount}, deadline);
    if (logged.kind != StepResult::Kind::done) return abandon(logged, "INSERT transfer_log");
    json answer = request;
    if (logged.rows.empty()) {
      // The key is in the store: applied before. This transaction changed nothing.
      roll_back();
      answer["duplicate"] = true;
      return {OpType::ok, answer, {}};
    }
    StepResult debit = connection_.exec(
        "UPDATE accounts SET balance = balance - $2::bigint WHERE id = $1::bigint AND "
        "balance - $2::bigint >= coalesce(NULLIF($3, '')::bigint, balance - $2::bigint) "
        "RETURNING balance::text",
        {r->from, r->amount, r->min_balance}, deadline);
    if (debit.kind != StepResult::Kind::done) return abandon(debit, "UPDATE debit");
    if (debit.rows.empty() || !debit.rows[0]) {
      roll_back();
      answer["declined"] = "insufficient funds (or no such account)";
      return {OpType::fail, answer, "declined: insufficient funds"};
    }
    StepResult credit = connection_.exec(
        "UPDATE accounts SET balance = balance + $2::bigint WHERE id = $1::bigint",
        {r->to, r->amount}, deadline);
    if (credit.kind != StepResult::Kind::done) return abandon(credit, "UPDATE credit");
    if (credit.command != "UPDATE 1") {
      roll_back();
      answer["declined"] = "no such account";
      return {OpType::fail, answer, "declined: no account " + r->to};
    }
    StepResult noted = connection_.exec("UPDATE transfer_log SET src_after = $2::bigint WHERE seq = $1::bigint",
                                        {*logged.rows[0], *debit.rows[0]}, deadline);
    if (noted.kind != StepResult::Kind::done) return abandon(noted, "UPDATE transfer_log");
    return commit(deadline, request);
  }

  // A read changes nothing: whatever goes wrong, it is a fail. Returns the one JSON value the
  // query selects.
  Completion select_json(const std::string& sql, const std::vector<std::string>& params) {
    if (!connect()) return {OpType::fail, nullptr, "connect: " + connection_.error()};
    StepResult r = connection_.exec(sql, params, Clock::now() + timeout_);
    if (r.kind != StepResult::Kind::done) {
      if (r.kind == StepResult::Kind::error) connection_.close();
      return {OpType::fail, nullptr, "read: " + step_text(r)};
    }
    return {OpType::ok, read_value(r), {}};
  }

  static json read_value(const StepResult& r) {
    if (r.rows.empty() || !r.rows[0]) return nullptr;
    json v = json::parse(*r.rows[0], nullptr, false);
    return v.is_discarded() ? json(*r.rows[0]) : v;
  }

  // Something went wrong before COMMIT was sent: the transaction cannot have committed.
  Completion abandon(const StepResult& r, const std::string& at) {
    roll_back();
    return {OpType::fail, nullptr, at + ": " + step_text(r)};
  }

  // Ends the open transaction without committing; a connection that cannot is closed, which
  // makes the server abort it.
  void roll_back() {
    if (!connection_.is_open()) return;
    StepResult rollback = connection_.exec("ROLLBACK", {}, Clock::now() + timeout_);
    if (rollback.kind != StepResult::Kind::done) connection_.close();
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

struct PostgresOptions {
  Isolation isolation;
  bool synchronous_commit = true;
  bool fsync = true;
  int commit_delay_ms = 0;
};

// The median time COMMIT takes, over `commits` one-row transactions on a connection with
// synchronous_commit set to `setting`; nullopt when the probe could not run.
std::optional<double> commit_p50_ms(const std::string& conninfo, const std::string& setting,
                                    int commits) {
  pg::Connection c;
  auto deadline = Clock::now() + 20s;
  if (!c.open(conninfo, deadline)) return std::nullopt;
  if (c.exec("SET synchronous_commit = " + setting, {}, deadline).kind != StepResult::Kind::done)
    return std::nullopt;
  std::vector<double> ms;
  for (int i = 0; i < commits; ++i) {
    if (c.exec("BEGIN", {}, deadline).kind != StepResult::Kind::done ||
        c.exec("INSERT INTO commit_probe VALUES ($1)", {std::to_string(i)}, deadline).kind !=
            StepResult::Kind::done)
      return std::nullopt;
    auto before = Clock::now();
    if (c.exec("COMMIT", {}, deadline).kind != StepResult::Kind::done) return std::nullopt;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

class PostgresTarget final : public Target, public ProcessControl, public ClockControl,
                             public StorageControl {
 public:
  explicit PostgresTarget(PostgresOptions options) : options_(std::move(options)) {}
  ~PostgresTarget() override { stop(); }

  std::vector<std::string> supported_ops() const override {
    return {"txn", "txn:append", "txn:w", "txn:r", "add", "read", "open-accounts", "transfer", "read-accounts"};
  }

  void start(const ClusterContext& context) override {
    const NodeInfo& node = context.cluster.nodes().front();
    node_ = node;
    files_ = &context.cluster.files();
    bin_ = find_bin_dir(*files_, node.name);
    log_dir_ = files_->node_dir(node.name);
    make_work_dir(context);
    std::string data = work_dir_ + "/data";
    if (mount_) {
      // initdb wants the data folder empty or absent, owned by the server user, mode 0700: the
      // mount shows the backing folder's owner and mode.
      files_->make_dir(node.name, work_dir_ + "/data.backing", {kServerUser, 0700});
      files_->make_dir(node.name, data, {kServerUser, 0700});
      mount_(node.name, work_dir_ + "/data.backing", data);
    }
    // On a storage mount initdb must sync what it made, or the first lose-unsynced would take
    // the catalog with it: a setup that never finished, not a crash of a running server.
    std::vector<std::string> initdb{bin_ + "/initdb", "-D", data, "-U", kServerUser,
                                    "--auth=trust", "-E", "UTF8", "--locale=C"};
    if (!mount_) initdb.push_back("--no-sync");
    CommandResult init = context.cluster.run(node.name, as_server_user(initdb));
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
                        // in the data folder, not /dev/shm, where a kill -9 would leave them
                        "dynamic_shared_memory_type=mmap", "-c",
                        "log_line_prefix=%m [%p] ", "-c",
                        std::string("synchronous_commit=") +
                            (options_.synchronous_commit ? "on" : "off"),
                        "-c", std::string("fsync=") + (options_.fsync ? "on" : "off"), "-c",
                        "commit_delay=" + std::to_string(options_.commit_delay_ms * 1000), "-c",
                        "commit_siblings=0"}),
        {},
        log_dir_ + "/postgres.log"};
    if (!clock_file_.empty())
      spawn.env = {{"LD_PRELOAD", files_->upload(node.name, clock_shift_library())},
                   {"FAULTLINE_CLOCK_FILE", clock_file_}};
    log::info("postgres on " + node.name + ": data in " + data + ", log in " + spawn.log_path);
    // SIGINT is PostgreSQL's fast shutdown (SIGTERM's smart one waits for every client).
    servers_.spawn(context.cluster, node.name, "postgres", spawn, {SIGINT, true});
    wait_healthy(30s);
    create_schema();
    if (!options_.synchronous_commit) measure_durability_trade();
  }

  void wait_healthy(std::chrono::seconds timeout) override {
    auto deadline = Clock::now() + timeout;
    std::string problem;
    while (Clock::now() < deadline) {
      if (!servers_.running(node_.name)) {
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
                                            options_.isolation, options.timeout_ms);
  }

  void stop() noexcept override {
    servers_.stop_all();  // fetches postgres.log
    if (files_) {
      fetch_quietly(log_dir_ + "/initdb.log");
      // Under a storage mount the folder goes at teardown, once the mount is gone.
      if (!work_dir_.empty() && !mount_) remove_quietly(work_dir_);
      work_dir_.clear();
      files_ = nullptr;
    }
  }

  std::string version() const override {
    return "PostgreSQL " + (version_.empty() ? "?" : version_) + " (" + options_.isolation.name +
           (options_.synchronous_commit ? "" : ", synchronous_commit off") +
           (options_.fsync ? "" : ", fsync off") +
           (options_.commit_delay_ms ? ", commit_delay " + std::to_string(options_.commit_delay_ms) + " ms" : "") + ")";
  }

  json limitations() const override {
    json out = {{"nodes", "one PostgreSQL server on n1: no replication, so partitions between "
                          "nodes do not affect it"}};
    if (!durability_trade_.empty()) out["durability"] = durability_trade_;
    if (options_.commit_delay_ms > 0)
      out["commit_delay"] = "every COMMIT waited " + std::to_string(options_.commit_delay_ms) +
                            " ms before its WAL flush (commit_delay, as on a slow disk), which "
                            "widens the window in which a fault leaves a commit unanswered; "
                            "latencies are not those of this machine's disk";
    if (!options_.fsync)
      out["fsync"] = "fsync off: PostgreSQL never flushes its WAL or data files, so a crash that "
                     "loses the page cache (lose-unsynced) loses committed transactions, and may "
                     "leave the cluster unrecoverable; a process crash alone does not";
    return out;
  }

  std::vector<int> kill(const std::string& node) override { return servers_.kill(node); }
  std::vector<int> restart(const std::string& node) override { return servers_.restart(node); }
  std::vector<int> pause(const std::string& node) override { return servers_.pause(node); }
  std::vector<int> resume(const std::string& node) override { return servers_.resume(node); }
  std::string process_description() const override {
    return "the postmaster and its backends (a crash: restart runs WAL recovery)";
  }

  void use_clock_files(std::map<std::string, std::string> files) override {
    clock_shift_library();  // fail before anything starts when the library is missing
    if (auto it = files.find("n1"); it != files.end()) clock_file_ = it->second;
  }

  // clock_timestamp() (the current time, where now() is the transaction's start) against the
  // harness's wall clock at the midpoint of the query.
  void use_data_mount(Mount mount) override { mount_ = std::move(mount); }
  std::string data_dir(const std::string&) const override { return work_dir_ + "/data"; }

  std::optional<double> measure_clock_offset_ms(const std::string& node) override {
    if (node != node_.name) return std::nullopt;
    pg::Connection c;
    if (!c.open(conninfo(node_.address, 1000), Clock::now() + 1s)) return std::nullopt;
    auto before = std::chrono::system_clock::now();
    StepResult r = c.exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text",
                          {}, Clock::now() + 1s);
    auto after = std::chrono::system_clock::now();
    if (r.kind != StepResult::Kind::done || r.rows.empty() || !r.rows[0]) return std::nullopt;
    double local_us = std::chrono::duration<double, std::micro>(
                          (before + (after - before) / 2).time_since_epoch())
                          .count();
    return (std::stod(*r.rows[0]) - local_us) / 1000.0;
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
      throw TargetError("postgres: cannot connect to create the tables: " + c.error());
    for (const char* sql : {"CREATE TABLE IF NOT EXISTS kv (k bigint PRIMARY KEY, v jsonb NOT NULL)",
                            kSetSchema, kAccountsSchema, kTransferLogSchema,
                            "CREATE TABLE IF NOT EXISTS commit_probe (i bigint)"}) {
      StepResult r = c.exec(sql, {}, deadline);
      if (r.kind != StepResult::Kind::done)
        throw TargetError("postgres: cannot create the tables: " + step_text(r));
    }
  }

  // What synchronous_commit off buys and costs, measured on this server before the test: the
  // setting is per session, so both sides run against the same server and disk.
  void measure_durability_trade() {
    constexpr int kCommits = 200;
    std::string info = conninfo(node_.address, 10000);
    auto on = commit_p50_ms(info, "on", kCommits);
    auto off = commit_p50_ms(info, "off", kCommits);
    char text[400];
    if (on && off)
      std::snprintf(text, sizeof text,
                    "synchronous_commit off: COMMIT returns before its WAL is flushed, so a crash "
                    "loses acknowledged commits (up to 3 x wal_writer_delay, 600 ms by default); "
                    "bought: commit p50 %.3f ms instead of %.3f ms with it on (%d commits each, "
                    "measured at start)",
                    *off, *on, kCommits);
    else
      std::snprintf(text, sizeof text,
                    "synchronous_commit off: COMMIT returns before its WAL is flushed, so a crash "
                    "loses acknowledged commits; the commit latency it buys could not be measured");
    durability_trade_ = text;
    log::info("postgres: " + durability_trade_);
  }

  PostgresOptions options_;
  NodeInfo node_;
  NodeFiles* files_ = nullptr;  // set by start()
  std::string bin_;             // paths on node_
  std::string log_dir_;
  std::string work_dir_;
  std::string clock_file_;  // the offset file on node_, when the clock nemesis runs
  Mount mount_;             // set when a storage nemesis runs
  ServerSet servers_{"postgres"};
  std::string version_;
  std::string durability_trade_;  // limitations.durability, once measured
};

const bool registered = TargetRegistry::add("postgres", [](FieldReader& options, int node_count) {
  if (node_count != 1)
    options.fail_key("nodes", "postgres runs one server: set nodes: 1 (got " +
                                  std::to_string(node_count) + ")");
  PostgresOptions o;
  o.isolation = isolation_named(options.choice(
      "isolation", {"serializable", "repeatable-read", "read-committed"}, "serializable"));
  o.synchronous_commit = options.choice("synchronous_commit", {"on", "off"}, "on") == "on";
  o.fsync = options.choice("fsync", {"on", "off"}, "on") == "on";
  o.commit_delay_ms = static_cast<int>(options.integer("commit_delay_ms", 0, 0, 100));
  return std::make_unique<PostgresTarget>(o);
});

}  // namespace
}  // namespace faultline
