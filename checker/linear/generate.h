// Random register histories that are linearizable by construction, for tests, benchmarks and
// self-checks: a simulated client pool runs against one sequential register per key, each op
// taking effect at a random moment between its invocation and completion.
#pragma once

#include <cstdint>

#include "core/history.h"

namespace faultline::checker::linear {

struct GenerateOptions {
  std::uint64_t seed = 1;
  std::size_t ops = 100;          // invocations
  unsigned processes = 5;         // clients, each with one op in flight at most
  unsigned keys = 1;              // 1: ops carry no key
  unsigned values = 5;            // values written are 0 .. values - 1
  double info_probability = 0;    // an op ends info (timed out); it may then take effect later
  double read_fraction = 0.5;     // the rest is split evenly between write and cas
  bool unique_writes = false;     // no cas, and every write a fresh value 1, 2, ... (values unused)
  // Ok reads whose result is then changed to another value of 0 .. values - 1, picked at random
  // (the history may stay linearizable: another op may explain the new value).
  unsigned corrupted_reads = 0;
};

// Appends an op with the next index, and time_ns = 1 µs per position.
void append_op(History& history, std::int64_t process, OpType type, std::string f, std::string key,
               nlohmann::json value);

// f read (ok value: the register's value, null while absent), write (value v), cas ([old, new],
// fail when the compare does not match). After an info, a client continues as a new process.
History generate_register_history(const GenerateOptions& options);

}  // namespace faultline::checker::linear
