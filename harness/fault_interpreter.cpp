#include "harness/fault_interpreter.h"

#include "core/log.h"

namespace faultline {
namespace {

using nlohmann::json;

void record_nemesis(Recorder& recorder, const std::string& f, OpType type, json value,
                    const std::string& error = {}) {
  Op op;
  op.process = kNemesisProcess;
  op.type = type;
  op.f = f;
  op.value = std::move(value);
  op.error = error;
  recorder.record(std::move(op));
}

// Runs `action` (start or stop of a fault) and records it as invoke + info. Returns whether it
// succeeded.
template <class Action>
bool nemesis_step(Recorder& recorder, const std::string& f, Action&& action) {
  record_nemesis(recorder, f, OpType::invoke, nullptr);
  try {
    json what = action();
    log::info(f + ": " + what.dump());
    record_nemesis(recorder, f, OpType::info, what);
    return true;
  } catch (const std::exception& e) {
    log::error(f + " failed: " + e.what());
    record_nemesis(recorder, f, OpType::info, nullptr, e.what());
    return false;
  }
}

}  // namespace

FaultInterpreter::FaultInterpreter(Test& test, NemesisContext context)
    : test_(test),
      context_(std::move(context)),
      rng_(test.spec.seed ^ 0xD1B54A32D192ED03ull),
      active_(test.nemeses.size()) {}

void FaultInterpreter::run(const Schedule& schedule, Recorder& recorder, StopFlag& phase_over) {
  for (const FaultOp& op : schedule) {
    if (phase_over.wait_until(recorder.at(op.at_s))) return;
    execute(op, recorder);
  }
}

void FaultInterpreter::execute(const FaultOp& op, Recorder& recorder) {
  const std::string& fault = test_.nemeses[op.nemesis].first;
  auto& nemesis = test_.nemeses[op.nemesis].second;
  if (op.action == FaultOp::Action::start) {
    if (nemesis_step(recorder, "start-" + fault, [&] { return nemesis->start(context_, rng_); }))
      set_active(op.nemesis, fault + " " + nemesis->describe_active());
  } else {
    nemesis_step(recorder, "stop-" + fault, [&] { return nemesis->stop(context_); });
    set_active(op.nemesis, "");
  }
}

void FaultInterpreter::heal(Recorder& recorder) {
  for (std::size_t i = 0; i < test_.nemeses.size(); ++i) {
    const std::string& fault = test_.nemeses[i].first;
    auto& nemesis = test_.nemeses[i].second;  // not a structured binding: clang 14 cannot capture one
    if (!nemesis->describe_active().empty())
      nemesis_step(recorder, "stop-" + fault, [&] { return nemesis->stop(context_); });
    else
      try {
        nemesis->stop(context_);  // nothing in force: undo quietly whatever a failed start left
      } catch (const std::exception& e) {
        log::warn("heal " + fault + ": " + e.what());
      }
    set_active(i, "");
  }
}

void FaultInterpreter::set_active(std::size_t nemesis, std::string text) {
  std::lock_guard lock(active_mutex_);
  active_[nemesis] = std::move(text);
}

std::string FaultInterpreter::active() const {
  std::lock_guard lock(active_mutex_);
  std::string text;
  for (const auto& a : active_)
    if (!a.empty()) text += (text.empty() ? "" : "; ") + a;
  return text;
}

}  // namespace faultline
