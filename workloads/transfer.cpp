// Transfer workload: exactly-once under retries (the Two Generals problem made testable).
// Accounts start with equal balances (one "open-accounts" op before the clients start); clients
// move small amounts between two random accounts. A client that does not learn an attempt's
// outcome (info: timeout, lost connection after COMMIT was sent) resends the same request, as a
// payment client does (at-least-once delivery), and keeps resending while it has no answer
// (an attempt that fails after an unknown one does not tell whether the first applied); a
// definite answer (ok, or declined for insufficient funds) ends it. After the faults are
// healed one read returns every balance and the store's applied-transfer log, which the
// exactly-once checker (checker/transfer/exactly_once.h) grades.
//
// Spec options (workload:): accounts (default 8), initial_balance (100), max_amount (a
// transfer moves 1..max_amount, default 5), idempotency_key: per-transfer (every resend
// carries the transfer's key: the store must apply it once) | per-attempt (a new key each
// attempt, as a client that loses its key in a crash) | none (no key: what a store without
// dedupe does with resends), negative_balances: forbid (a debit below 0 is declined) | allow,
// max_attempts (sends of one transfer, default 1000: a
// client that keeps resending until the store answers, one send per tick of its rate), claim (exactly-once).
#include <atomic>

#include "checker/transfer/exactly_once.h"
#include "workloads/workload.h"

namespace faultline {
namespace {

using nlohmann::json;

enum class Keys { per_transfer, per_attempt, none };

struct TransferOptions {
  int accounts = 8;
  int initial_balance = 100;
  int max_amount = 5;
  Keys keys = Keys::per_transfer;
  bool forbid_negative = true;
  int max_attempts = 1000;
};

class TransferWorkload final : public Workload {
 public:
  explicit TransferWorkload(TransferOptions options) : options_(options) {}

  std::vector<std::string> ops() const override {
    return {"open-accounts", "transfer", "read-accounts"};
  }

  std::vector<Op> initial_ops() const override {
    Op open;
    open.f = "open-accounts";
    open.value = {{"balances", std::vector<int>(static_cast<std::size_t>(options_.accounts),
                                                options_.initial_balance)}};
    return {open};
  }

  Op generate(Rng& rng) override {
    auto accounts = static_cast<unsigned>(options_.accounts);
    auto from = static_cast<std::int64_t>(rng() % accounts);
    auto to = static_cast<std::int64_t>((static_cast<unsigned>(from) + 1 + rng() % (accounts - 1)) % accounts);
    Op op;
    op.type = OpType::invoke;
    op.f = "transfer";
    op.value = {{"id", next_id_.fetch_add(1)}, {"from", from}, {"to", to},
                {"amount", 1 + static_cast<int>(rng() % static_cast<unsigned>(options_.max_amount))},
                {"attempt", 1}};
    if (options_.forbid_negative) op.value["min_balance"] = 0;
    set_key(op.value);
    return op;
  }

  // Resend while no attempt has given a definite answer: after an info, and after a fail that
  // followed one (unless the store declined it, which is an answer).
  std::optional<Op> retry(const Op& done) override {
    if (done.f != "transfer" || !done.value.is_object() || done.type == OpType::ok)
      return std::nullopt;
    int attempt = done.value.value("attempt", 1);
    bool unanswered = done.type == OpType::info ||
                      (attempt > 1 && done.type == OpType::fail && !done.value.contains("declined"));
    if (!unanswered || attempt >= options_.max_attempts) return std::nullopt;
    Op again;
    again.type = OpType::invoke;
    again.f = "transfer";
    again.value = done.value;
    again.value.erase("declined");
    again.value.erase("duplicate");
    again.value["attempt"] = attempt + 1;
    set_key(again.value);
    return again;
  }

  std::vector<Op> final_ops() const override {
    Op read;
    read.f = "read-accounts";
    return {read, read};  // a second chance if the first times out
  }

  checker::Checkers checkers() const override { return {checker::exactly_once_checker()}; }

  std::string guarantee() const override {
    return "each transfer applied exactly once under resends (idempotency key: " +
           std::string(options_.keys == Keys::per_transfer  ? "one per transfer"
                       : options_.keys == Keys::per_attempt ? "a new one per attempt"
                                                            : "none") +
           ")";
  }

 private:
  void set_key(json& value) const {
    std::string id = std::to_string(value["id"].get<std::int64_t>());
    switch (options_.keys) {
      case Keys::per_transfer: value["key"] = "t" + id; break;
      case Keys::per_attempt: value["key"] = "t" + id + "-" + std::to_string(value["attempt"].get<int>()); break;
      case Keys::none: value.erase("key"); break;
    }
  }

  TransferOptions options_;
  std::atomic<std::int64_t> next_id_{0};
};

const bool registered = WorkloadRegistry::add("transfer", [](FieldReader& options) {
  TransferOptions o;
  o.accounts = static_cast<int>(options.integer("accounts", 8, 2, 100000));
  o.initial_balance = static_cast<int>(options.integer("initial_balance", 100, 0, 1000000000));
  o.max_amount = static_cast<int>(options.integer("max_amount", 5, 1, 1000000));
  std::string keys =
      options.choice("idempotency_key", {"per-transfer", "per-attempt", "none"}, "per-transfer");
  o.keys = keys == "per-transfer" ? Keys::per_transfer
           : keys == "per-attempt" ? Keys::per_attempt
                                   : Keys::none;
  o.forbid_negative = options.choice("negative_balances", {"forbid", "allow"}, "forbid") == "forbid";
  o.max_attempts = static_cast<int>(options.integer("max_attempts", 1000, 1, 100000));
  options.choice("claim", {"exactly-once"}, "exactly-once");
  return std::make_unique<TransferWorkload>(o);
});

}  // namespace
}  // namespace faultline
