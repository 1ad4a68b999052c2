// A libpq connection whose every step is bounded by a deadline (libpq's blocking calls have no
// read timeout): the non-blocking API, polled on the socket until the deadline.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "targets/sql_result.h"

namespace faultline::pg {

using Clock = std::chrono::steady_clock;

using StepResult = SqlResult;

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens a connection (conninfo in libpq's keyword=value form). On failure returns false and
  // leaves the reason in error(); nothing was sent on behalf of any op.
  bool open(const std::string& conninfo, Clock::time_point deadline);
  bool is_open() const { return conn_ != nullptr; }
  void close();
  const std::string& error() const { return error_; }

  // Runs one statement with text parameters ($1, $2, ...), waiting until the deadline.
  // After lost or timeout the connection is closed: its state is unknown.
  StepResult exec(const std::string& sql, const std::vector<std::string>& params,
                  Clock::time_point deadline);

  int server_version() const { return conn_ ? PQserverVersion(conn_.get()) : 0; }

 private:
  // Waits until the socket is readable (or writable); false on timeout or poll error.
  bool wait_socket(bool for_write, Clock::time_point deadline);
  std::string libpq_error() const;

  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Finish> conn_;
  std::string error_;
};

// SQLSTATE classes the outcome mapping cares about.
inline bool is_serialization_failure(const std::string& sqlstate) { return sqlstate == "40001"; }
inline bool is_deadlock(const std::string& sqlstate) { return sqlstate == "40P01"; }
// Class 40: the server rolled the transaction back.
inline bool is_rollback_class(const std::string& sqlstate) { return sqlstate.rfind("40", 0) == 0; }

}  // namespace faultline::pg
