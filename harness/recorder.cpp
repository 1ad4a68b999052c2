#include "harness/recorder.h"

namespace faultline {

Recorder::Recorder(const std::filesystem::path& file) : writer_(file), start_(Clock::now()) {}

Op Recorder::record(Op op) {
  op.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  return writer_.append(std::move(op));
}

Clock::time_point Recorder::at(double s) const {
  return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace faultline
