// How one SQL statement ended, whatever the wire: shared by the PostgreSQL target's connection
// (targets/postgres/pg_connection.h) and the declared SQL client's (targets/custom/sql_wire.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct SqlResult {
  enum class Kind {
    done,      // the server answered without error
    error,     // the server answered with an error (sqlstate set)
    not_sent,  // nothing reached the server (the connection was known bad before the send)
    lost,      // the connection broke after the statement was (perhaps partly) sent
    timeout,   // no answer before the deadline
  };
  Kind kind = Kind::lost;
  std::string message;   // error text, one line
  std::string sqlstate;  // five characters when the server sent an error
  std::string number;    // the server's own error number, where the wire has one (MySQL: 1213)
  std::string severity;  // PostgreSQL's ERROR, FATAL, PANIC
  std::string command;   // PostgreSQL's command tag when done ("COMMIT", "ROLLBACK", "INSERT 0 1")
  // First column of each row, as text; nullopt for SQL NULL.
  std::vector<std::optional<std::string>> rows;
};

}  // namespace faultline
