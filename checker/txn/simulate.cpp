#include "checker/txn/simulate.h"

#include <random>
#include <unordered_map>

#include "checker/txn/txn_history.h"

namespace faultline::checker::txn {

using nlohmann::json;

namespace {

class Simulation {
 public:
  Simulation(const SimulationOptions& o, Workload workload)
      : o_(o), workload_(workload), rng_(o.seed), clients_(o.concurrency) {
    for (std::size_t i = 0; i < o.active_keys; ++i) active_.push_back(next_key_++);
    for (std::size_t c = 0; c < clients_.size(); ++c) clients_[c].process = static_cast<std::int64_t>(c);
  }

  History run() {
    std::size_t invoked = 0, in_flight = 0;
    while (invoked < o_.txn_count || in_flight > 0) {
      Client& c = clients_[pick(clients_.size())];
      if (!c.busy) {
        if (invoked == o_.txn_count) continue;
        invoke(c);
        ++invoked;
        ++in_flight;
      } else {
        complete(c);
        --in_flight;
      }
    }
    return std::move(history_);
  }

 private:
  struct Client {
    std::int64_t process = 0;
    bool busy = false;
    json txn;
  };

  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::int64_t choose_key() {
    std::size_t slot = pick(active_.size());
    std::int64_t key = active_[slot];
    if (++appends_[key] >= o_.appends_per_key_max) active_[slot] = next_key_++;  // retire it
    return key;
  }

  void invoke(Client& c) {
    c.txn = json::array();
    std::size_t mops = 1 + pick(o_.mops_per_txn_max);
    for (std::size_t i = 0; i < mops; ++i) {
      if (chance(0.5)) {
        c.txn.push_back({"r", active_[pick(active_.size())], nullptr});
      } else {
        std::int64_t key = choose_key();
        c.txn.push_back({workload_ == Workload::list_append ? "append" : "w", key, ++last_value_[key]});
      }
    }
    c.busy = true;
    emit(c.process, OpType::invoke, c.txn);
  }

  // The txn takes effect now, atomically: reads see every earlier committed write. A register
  // holds its latest value (nil before the first write), a list every value appended.
  void apply(json& txn) {
    for (json& mop : txn) {
      auto& list = state_[mop[1].get<std::int64_t>()];
      if (mop[0] != "r") {
        list.push_back(mop[2].get<std::int64_t>());
      } else if (workload_ == Workload::list_append) {
        mop[2] = list;
      } else {
        mop[2] = list.empty() ? json(nullptr) : json(list.back());
      }
    }
  }

  void complete(Client& c) {
    c.busy = false;
    if (chance(o_.fail_probability)) {
      emit(c.process, OpType::fail, c.txn);
    } else if (chance(o_.info_probability)) {
      json effect = c.txn;
      if (chance(0.5)) apply(effect);
      emit(c.process, OpType::info, c.txn);
      c.process += static_cast<std::int64_t>(o_.concurrency);
    } else {
      apply(c.txn);
      emit(c.process, OpType::ok, c.txn);
    }
  }

  void emit(std::int64_t process, OpType type, const json& value) {
    Op op;
    op.index = static_cast<std::int64_t>(history_.size());
    op.time_ns = op.index * 1000;
    op.process = process;
    op.type = type;
    op.f = "txn";
    op.value = value;
    history_.push_back(std::move(op));
  }

  const SimulationOptions& o_;
  const Workload workload_;
  std::mt19937_64 rng_;
  std::vector<Client> clients_;
  std::vector<std::int64_t> active_;
  std::int64_t next_key_ = 0;
  std::unordered_map<std::int64_t, std::size_t> appends_;
  std::unordered_map<std::int64_t, std::int64_t> last_value_;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> state_;
  History history_;
};

}  // namespace

History simulate_list_append(const SimulationOptions& options) {
  return Simulation(options, Workload::list_append).run();
}

History simulate_rw_register(const SimulationOptions& options) {
  return Simulation(options, Workload::rw_register).run();
}

}  // namespace faultline::checker::txn
