// The nemesis schedule as data: random faults and timelines become one list of fault ops, pure
// and seeded (harness/schedule.h). Hand-checked small cases, and the rules over many seeds.
#include <catch2/catch.hpp>

#include <set>

#include "harness/schedule.h"

using namespace faultline;

namespace {

constexpr auto kStart = FaultOp::Action::start;
constexpr auto kStop = FaultOp::Action::stop;

std::string spec_text(const std::string& nemesis) {
  return "name: t\n"
         "target:   { system: etcd, nodes: 3 }\n"
         "workload: { name: register }\n"
         "nemesis: " + nemesis + "\n"
         "time_limit_s: 30\nseed: 7\n";
}

}  // namespace

TEST_CASE("schedule: random faults are quiet, one fault, quiet, ... with each start's stop") {
  Schedule s = random_schedule(1, 10, 60, 42);
  // Starts at 10, 30, 50 (all before 60); each stops interval_s later, even past the limit.
  REQUIRE(s == Schedule{{10, kStart, 0}, {20, kStop, 0}, {30, kStart, 0},
                        {40, kStop, 0},  {50, kStart, 0}, {60, kStop, 0}});
  CHECK(random_schedule(3, 10, 10, 42).empty());  // the first start would be at the limit
  CHECK(random_schedule(0, 10, 60, 42).empty());  // no faults asked for
}

TEST_CASE("schedule: the same seed gives the same random schedule, over many seeds") {
  std::set<std::vector<std::size_t>> choices_seen;
  std::vector<int> draws(4);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Schedule s = random_schedule(4, 0.5, 30, seed);
    REQUIRE(s == random_schedule(4, 0.5, 30, seed));
    REQUIRE(s.size() == 60);  // 30 starts, at 0.5, 1.5, ... 29.5
    std::vector<std::size_t> choices;
    for (std::size_t i = 0; i < s.size(); i += 2) {
      // Pairs: a start then the stop of the same nemesis one interval later; never overlapping.
      const FaultOp& start = s[i];
      const FaultOp& stop = s[i + 1];
      REQUIRE(start.action == kStart);
      REQUIRE(stop.action == kStop);
      REQUIRE(stop.nemesis == start.nemesis);
      REQUIRE(start.nemesis < 4);
      REQUIRE(start.at_s == Approx(0.5 * static_cast<double>(i + 1)));
      REQUIRE(stop.at_s == Approx(start.at_s + 0.5));
      REQUIRE(start.at_s < 30);
      choices.push_back(start.nemesis);
      ++draws[start.nemesis];
    }
    choices_seen.insert(choices);
  }
  CHECK(choices_seen.size() == 200);  // the seed matters
  // 6000 draws of 4 faults: each about a quarter (1500, standard deviation ~34).
  for (int n : draws) {
    CHECK(n > 1300);
    CHECK(n < 1700);
  }
}

TEST_CASE("schedule: a timeline is ordered by time, stops first at equal times") {
  std::vector<TimelineEntry> timeline{
      {.at_s = 5, .duration_s = 5, .nemesis = 0},   // 5..10
      {.at_s = 10, .duration_s = 2, .nemesis = 1},  // starts as entry 0 stops
      {.at_s = 1, .duration_s = std::nullopt, .nemesis = 2},  // held to the final heal
      {.at_s = 10, .duration_s = 3, .nemesis = 3},  // same time as entry 1: entry order
  };
  Schedule s = timeline_schedule(timeline);
  REQUIRE(s == Schedule{{1, kStart, 2},
                        {5, kStart, 0},
                        {10, kStop, 0},
                        {10, kStart, 1},
                        {10, kStart, 3},
                        {12, kStop, 1},
                        {13, kStop, 3}});
}

TEST_CASE("schedule: back-to-back timeline entries of one fault never overlap") {
  // Entry 1 starts when entry 0 stops; listed first, its start still comes after the stop.
  std::vector<TimelineEntry> timeline{{.at_s = 4, .duration_s = 2, .nemesis = 1},
                                      {.at_s = 2, .duration_s = 2, .nemesis = 0}};
  CHECK(timeline_schedule(timeline) ==
        Schedule{{2, kStart, 0}, {4, kStop, 0}, {4, kStart, 1}, {6, kStop, 1}});
}

TEST_CASE("schedule: a test's schedule comes from its timeline or its random faults") {
  Test timeline = load_test_text(
      spec_text("{ timeline: [ {at_s: 3, fault: kill, duration_s: 4}, {at_s: 2, fault: partition} ] }"),
      "spec.yaml");
  CHECK(schedule_for(timeline) == Schedule{{2, kStart, 1}, {3, kStart, 0}, {7, kStop, 0}});

  Test random = load_test_text(spec_text("{ faults: [partition, kill], interval_s: 5 }"), "spec.yaml");
  Schedule s = schedule_for(random);
  CHECK(s == schedule_for(load_test_text(spec_text("{ faults: [partition, kill], interval_s: 5 }"),
                                         "spec.yaml")));
  REQUIRE(s.size() == 6);  // starts at 5, 15, 25 within the 30 s limit
  CHECK(s.front().at_s == 5);
  CHECK(s.back().at_s == 30);

  Test quiet = load_test_text(spec_text("{ faults: [] }"), "spec.yaml");
  CHECK(schedule_for(quiet).empty());
}
