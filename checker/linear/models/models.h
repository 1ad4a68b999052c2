// One factory (or direct check) per model file; model.cpp lists them by name.
#pragma once

#include "checker/linear/model.h"

namespace faultline::checker::linear {

std::unique_ptr<Model> make_register(const LinearOptions& options);      // register.cpp
std::unique_ptr<Model> make_cas_register(const LinearOptions& options);  // register.cpp
std::optional<DirectOutcome> check_register_unique_writes(std::span<const ObjectOp> ops,
                                                          const LinearOptions& options);  // register.cpp
// A read (or an ok cas's compare) that no op could have produced by then, or that real time
// forces to be stale; nullopt when there is none. register.cpp.
std::optional<DirectOutcome> refute_register(std::span<const ObjectOp> ops, const LinearOptions& options);
std::unique_ptr<Model> make_multi_register(const LinearOptions& options);
std::unique_ptr<Model> make_set(const LinearOptions& options);
std::unique_ptr<Model> make_fifo_queue(const LinearOptions& options);
std::unique_ptr<Model> make_mutex(const LinearOptions& options);
DirectOutcome check_counter(std::span<const ObjectOp> ops, const LinearOptions& options);
DirectOutcome check_unique_ids(std::span<const ObjectOp> ops, const LinearOptions& options);

}  // namespace faultline::checker::linear
