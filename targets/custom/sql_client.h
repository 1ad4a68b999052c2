// The declared SQL client of a custom target (target.client.sql): where to connect, the
// statement that begins a transaction at the claimed isolation level, per micro-op SQL
// templates for the transactional workloads (list-append's append and r, rw-register's w and
// r), the schema, and which errors mean what. One client serves any server on the PostgreSQL
// or MySQL wire: PostgreSQL, CockroachDB, YugabyteDB, MySQL, MariaDB, TiDB.
//
// Each txn op: begin; each micro-op's statements; commit, on the client's own connection,
// within ClientOptions.timeout_ms. Outcomes (README "Outcomes"):
//  - the connection could not be opened: fail (nothing was sent);
//  - anything that goes wrong before COMMIT is sent (an error, a timeout, a lost connection):
//    fail, and the transaction is rolled back (ROLLBACK, or the connection closed): a
//    transaction whose COMMIT never reached the server cannot commit;
//  - COMMIT answered: ok (PostgreSQL's "ROLLBACK" tag: fail);
//  - COMMIT answered with an error: the spec's `errors:` rules first (SQLSTATE or error number
//    -> ok / fail / info), then the protocol default: class 40 (serialization failure,
//    deadlock, Galera's certification failure 1213 / 40001) rolled back: fail; any other: info;
//  - COMMIT sent, then the connection broke or the deadline passed: info.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "targets/custom/sql_wire.h"
#include "targets/custom/template.h"
#include "targets/target.h"

namespace faultline::custom {

// How a read micro-op's last statement's rows become its value.
enum class ReadShape {
  value,  // the first row's first column, parsed as JSON when it is ("3" -> 3); no row: nil
  list,   // the first row's first column split at `separator`, each piece a JSON number
  rows,   // the first column of every row, each parsed as `value`: a list (no rows: nil)
};

struct SqlMicroOp {
  std::vector<Template> statements;
  ReadShape shape = ReadShape::value;  // reads only
  std::string separator = ",";
};

struct SqlErrorRule {
  std::string code;  // an SQLSTATE ("40001") or a server error number ("1213")
  OpType then = OpType::fail;
};

struct SqlSpec {
  std::string protocol;  // postgres | mysql
  std::vector<std::pair<std::string, Template>> connect;  // host, port, user, password, database
  std::vector<Template> session;  // run after each connect ({timeout_ms} known there)
  std::vector<Template> schema;   // run once on the first node before the test
  Template begin, commit, rollback;
  std::map<std::string, SqlMicroOp> micro_ops;  // append, w, r
  std::vector<SqlErrorRule> errors;             // for an error answered to COMMIT
};

// Reads target.client.sql. `node_placeholders` as for the HTTP client.
SqlSpec read_sql_spec(FieldReader& sql, const std::string& context,
                      const std::set<std::string>& node_placeholders);

// The op names a declared SQL client serves: "txn" and, per micro-op mapped, "txn:F" (the
// transactional workloads name the micro-ops they generate so a missing one is a load error).
std::vector<std::string> sql_supported_ops(const SqlSpec& spec);

// The outcome of a COMMIT that returned `r`, by the rules above. Pure.
OpType commit_outcome(const SqlSpec& spec, const SqlResult& r);

// A read micro-op's value from its statement's rows; nullopt (with `why`) when the rows do not
// parse into the shape.
std::optional<nlohmann::json> read_value(const SqlMicroOp& op, const SqlResult& r, std::string& why);

// A connection to the node whose placeholders are `node_values`, opened, its session
// statements run; on failure nullptr and `why`.
std::unique_ptr<SqlConnection> connect_sql(const SqlSpec& spec, const Values& node_values,
                                           int timeout_ms, SqlClock::time_point deadline,
                                           std::string& why);

// Runs the schema statements on the node. Throws TargetError naming the failing statement.
void create_schema(const SqlSpec& spec, const Values& node_values);

std::unique_ptr<Client> make_sql_client(const SqlSpec& spec, Values node_values,
                                        const ClientOptions& options);

}  // namespace faultline::custom
