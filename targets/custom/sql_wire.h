// One SQL connection of a declared target, on the PostgreSQL wire (libpq) or the MySQL wire
// (libmariadb), with every step bounded by a deadline: both libraries' non-blocking APIs, polled
// on the socket, so a partitioned or paused server costs an op its timeout, never a thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline::custom {

using SqlClock = std::chrono::steady_clock;

// How one statement ended.
struct SqlResult {
  enum class Kind {
    done,      // the server answered without error
    error,     // the server answered with an error (code set)
    not_sent,  // nothing reached the server (the connection was known bad before the send)
    lost,      // the connection broke after the statement was (perhaps partly) sent
    timeout,   // no answer before the deadline
  };
  Kind kind = Kind::lost;
  std::string message;  // one line
  std::string sqlstate;  // five characters when the server sent an error
  std::string number;    // the server's own error number, where the wire has one (MySQL: 1213)
  std::string command;   // PostgreSQL's command tag when done ("COMMIT", "ROLLBACK")
  std::vector<std::optional<std::string>> rows;  // first column of each row; nullopt for NULL
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Opens the connection. On failure returns false and leaves the reason in error(): nothing
  // was sent on behalf of any op.
  virtual bool open(SqlClock::time_point deadline) = 0;
  virtual bool is_open() const = 0;
  virtual void close() = 0;
  virtual const std::string& error() const = 0;
  // Runs one statement. After lost or timeout the connection is closed: its state is unknown.
  virtual SqlResult exec(const std::string& sql, SqlClock::time_point deadline) = 0;
};

// Where to connect: host, port, user, password, database (rendered templates; absent keys take
// the library's defaults).
using SqlEndpoint = std::map<std::string, std::string>;

// `protocol`: "postgres" or "mysql".
std::unique_ptr<SqlConnection> make_sql_connection(const std::string& protocol,
                                                   const SqlEndpoint& endpoint);

// Whether a server error means the server rolled the transaction back (SQLSTATE class 40:
// serialization failure, deadlock; MySQL's deadlock and Galera's certification failure are
// 1213 / 40001): a COMMIT answered so did not commit.
inline bool rolled_back(const SqlResult& r) { return r.sqlstate.rfind("40", 0) == 0; }

}  // namespace faultline::custom
