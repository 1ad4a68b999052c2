#include "checker/linear/generate.h"

#include <map>
#include <random>

namespace faultline::checker::linear {
namespace {

struct Pending {
  std::int64_t process = 0;
  std::string f;
  std::string key;
  nlohmann::json value;  // the invocation's
  bool applied = false;
  bool took_effect = false;  // a cas whose compare matched, or any write or read
  nlohmann::json result;     // a read's value
};

class Simulation {
 public:
  explicit Simulation(const GenerateOptions& options) : options_(options), rng_(options.seed) {
    clients_.resize(options.processes);
    for (unsigned i = 0; i < options.processes; ++i) process_of_.push_back(i);
  }

  History run() {
    std::size_t invoked = 0;
    std::size_t busy = 0;
    while (invoked < options_.ops || busy > 0) {
      maybe_apply_late_op();
      unsigned client = uniform(options_.processes);
      std::optional<Pending>& slot = clients_[client];
      if (!slot) {
        if (invoked == options_.ops) continue;
        slot = invoke(process_of_[client]);
        ++invoked, ++busy;
      } else if (chance(options_.info_probability)) {
        // Timed out: it took effect already, will later, or never.
        emit(slot->process, OpType::info, slot->f, slot->key, slot->value);
        if (!slot->applied && chance(0.5)) late_.push_back(*slot);
        slot.reset();
        process_of_[client] += options_.processes;
        --busy;
      } else if (!slot->applied) {
        apply(*slot);
      } else {
        bool ok = slot->took_effect;
        emit(slot->process, ok ? OpType::ok : OpType::fail, slot->f, slot->key,
             slot->f == "read" ? slot->result : slot->value);
        slot.reset();
        --busy;
      }
    }
    corrupt_reads();
    return std::move(history_);
  }

 private:
  unsigned uniform(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  Pending invoke(std::int64_t process) {
    Pending op;
    op.process = process;
    op.key = options_.keys > 1 ? "k" + std::to_string(uniform(options_.keys)) : "";
    double kind = std::uniform_real_distribution<double>(0, 1)(rng_);
    double write_fraction = options_.unique_writes ? 1 - options_.read_fraction : (1 - options_.read_fraction) / 2;
    if (kind < options_.read_fraction) {
      op.f = "read";
    } else if (kind < options_.read_fraction + write_fraction) {
      op.f = "write";
      op.value = options_.unique_writes ? nlohmann::json(++writes_) : nlohmann::json(uniform(options_.values));
    } else {
      op.f = "cas";
      op.value = {uniform(options_.values), uniform(options_.values)};
    }
    emit(process, OpType::invoke, op.f, op.key, op.value);
    return op;
  }

  void apply(Pending& op) {
    nlohmann::json& reg = registers_[op.key];
    op.applied = true;
    op.took_effect = op.f != "cas" || reg == op.value[0];
    if (op.f == "read") op.result = reg;
    if (op.f == "write") reg = op.value;
    if (op.f == "cas" && op.took_effect) reg = op.value[1];
  }

  void corrupt_reads() {
    std::vector<std::size_t> reads;
    for (std::size_t i = 0; i < history_.size(); ++i)
      if (history_[i].type == OpType::ok && history_[i].f == "read") reads.push_back(i);
    for (unsigned n = 0; n < options_.corrupted_reads && !reads.empty() && options_.values > 1; ++n) {
      std::size_t pick = uniform(static_cast<unsigned>(reads.size()));
      nlohmann::json& value = history_[reads[pick]].value;
      unsigned shift = 1 + uniform(options_.values - 1);
      value = value.is_null() ? shift - 1 : (value.get<unsigned>() + shift) % options_.values;
      reads.erase(reads.begin() + static_cast<std::ptrdiff_t>(pick));
    }
  }

  // An info op left to take effect after its completion does so at a random later moment.
  void maybe_apply_late_op() {
    if (late_.empty() || !chance(0.1)) return;
    std::size_t i = uniform(static_cast<unsigned>(late_.size()));
    apply(late_[i]);
    late_.erase(late_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void emit(std::int64_t process, OpType type, const std::string& f, const std::string& key,
            nlohmann::json value) {
    append_op(history_, process, type, f, key, std::move(value));
  }

  const GenerateOptions& options_;
  std::mt19937_64 rng_;
  std::vector<std::optional<Pending>> clients_;
  std::vector<std::int64_t> process_of_;
  std::vector<Pending> late_;
  std::int64_t writes_ = 0;
  std::map<std::string, nlohmann::json> registers_;
  History history_;
};

}  // namespace

void append_op(History& history, std::int64_t process, OpType type, std::string f, std::string key,
               nlohmann::json value) {
  Op op;
  op.index = static_cast<std::int64_t>(history.size());
  op.time_ns = op.index * 1000;
  op.process = process;
  op.type = type;
  op.f = std::move(f);
  op.key = std::move(key);
  op.value = std::move(value);
  history.push_back(std::move(op));
}

History generate_register_history(const GenerateOptions& options) {
  return Simulation(options).run();
}

}  // namespace faultline::checker::linear
