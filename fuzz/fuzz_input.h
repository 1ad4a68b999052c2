// What every fuzz target holds the code to: any input ends in a result or in a bad-input error
// (HistoryError, SpecError: exit 254 with file and line). Any other exception would be exit 255
// ("internal error") on a user's file, so it is a finding: the target aborts and libFuzzer (or
// the replay driver, fuzz/replay_main.cpp) reports the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "core/history.h"
#include "core/spec_reader.h"

namespace faultline::fuzz {

template <class Body>
void expect_result_or_bad_input(Body&& body) {
  try {
    body();
  } catch (const HistoryError&) {
  } catch (const SpecError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: not a bad-input error (would exit 255): %s\n", e.what());
    std::abort();
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace faultline::fuzz
