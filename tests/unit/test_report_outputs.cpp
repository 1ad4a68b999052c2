// summary.md, junit.xml and report.html contents, compare, and the serve listing, on hand-built
// runs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "reports/compare.h"
#include "reports/format.h"
#include "reports/render.h"
#include "reports/report.h"
#include "reports/serve.h"
#include "tests/integration/support.h"
#include "tests/unit/http_client.h"
#include "tests/unit/report_test_support.h"

using namespace faultline;
using namespace faultline::report;
using namespace faultline::testing;

namespace {

// Checks that `text` contains each of `parts`, naming the one missing.
void check_contains_all(const std::string& text, std::initializer_list<std::string> parts) {
  for (const auto& part : parts) {
    INFO("expected to find: " << part);
    CHECK(contains(text, part));
  }
}

// A valid run: ok everywhere, a partition in the middle costing some availability.
RunData valid_run() {
  RunData run;
  run.dir = "/tmp/store/unit-register/20260101T000000.000Z";
  run.spec_text = kUnitSpec;
  run.history = HistoryBuilder()
                    .op(0, "write", "k1", 0, 1, OpType::ok, 1)
                    .op(1, "read", "k1", 2, 3, OpType::ok, 1)
                    .nemesis("start-partition", 10, partition_value("n3"))
                    .op(0, "read", "k1", 11, 12, OpType::ok, 1)
                    .op(1, "write", "k1", 13, 20, OpType::fail, 2)
                    .nemesis("stop-partition", 30)
                    .op(0, "read", "k1", 31, 32, OpType::ok, 1)
                    .build();
  run.results = results_for("valid", {linear_check("valid")});
  return run;
}

// The same test with a stale read under the partition, and every op failing there.
RunData invalid_run() {
  RunData run = valid_run();
  run.history = HistoryBuilder()
                    .op(0, "write", "k1", 0, 1, OpType::ok, 1)
                    .op(1, "read", "k1", 2, 3, OpType::ok, 1)
                    .nemesis("start-partition", 10, partition_value("n3"))
                    .op(0, "write", "k1", 11, 12, OpType::ok, 2)
                    .op(1, "read", "k1", 13, 20, OpType::ok, 1, "n3")
                    .op(2, "read", "k1", 14, 21, OpType::fail, nullptr, "n3")
                    .op(3, "read", "k1", 14, 22, OpType::fail, nullptr, "n3")
                    .op(4, "read", "k1", 15, 23, OpType::fail, nullptr, "n3")
                    .nemesis("stop-partition", 30)
                    .op(0, "read", "k1", 31, 32, OpType::ok, 2)
                    .build();
  std::int64_t read = -1;
  for (const auto& op : run.history)
    if (op.process == 1 && op.type == OpType::invoke && op.time_ns == 13 * kMs) read = op.index;
  nlohmann::json failure = {{"key", "k1"},
                            {"reason", "read returning 1 (op " + std::to_string(read) +
                                           ", process 1) cannot take effect"},
                            {"blocked_op", {{"index", read}, {"f", "read"}}},
                            {"longest_prefix", {0, 4}}};
  run.results = results_for("invalid", {linear_check("invalid", {failure})});
  return run;
}

}  // namespace

TEST_CASE("report: summary.md of a valid run has the verdict, the dual table and the run folder") {
  RunData run = valid_run();
  std::string md = render_summary_md(run, analyze(run));
  check_contains_all(
      md, {"## faultline: unit-register — ✅ valid",
           "| Guarantee claimed | Observed | What it cost | Not exercised |",
           "| linearizable register (per key) (linearizable) | held: linearizable |",
           "partition ×1: ok 50.0%, fail 50.0%, info 0.0%", "| healthy | ", "clock faults",
           "No anomalies.", "Run folder: `/tmp/store/unit-register/20260101T000000.000Z`",
           "Reproduce: `faultline run /tmp/store/unit-register/20260101T000000.000Z/spec.yaml "
           "--seed 42`"});
}

TEST_CASE("report: summary.md of an invalid run lists each anomaly on one line") {
  RunData run = invalid_run();
  std::string md = render_summary_md(run, analyze(run));
  check_contains_all(md, {"❌ invalid", "**violated**", "**Anomalies (1):**",
                          "- `nonlinearizable-read` key k1: read returning 1",
                          "faults: partition ×1 — invalid (nonlinearizable-read ×1)"});
}

TEST_CASE(
    "report: junit.xml has one testcase per checker, and a violation is a failure with the "
    "explanation") {
  RunData valid = valid_run();
  std::string ok = render_junit(valid, analyze(valid));
  CHECK(contains(ok, "<testsuites name=\"faultline\" tests=\"1\" failures=\"0\" errors=\"0\""));
  CHECK(contains(ok,
                 "<testcase classname=\"faultline.unit-register\" name=\"linearizable "
                 "(cas-register): linearizable register (per key)\""));
  CHECK_FALSE(contains(ok, "<failure"));

  RunData invalid = invalid_run();
  std::string bad = render_junit(invalid, analyze(invalid));
  check_contains_all(bad,
                     {"failures=\"1\"",
                      "<failure type=\"invalid\" message=\"not linearizable: key k1: stale read\">",
                      "[nonlinearizable-read] Read returning 1",
                      "n3 could not reach n1, n2 (minority side, 1 of 3 nodes)"});

  RunData unknown = valid_run();
  unknown.results = results_for("unknown", {linear_check("unknown")});
  unknown.results["interrupted"] = true;
  std::string undecided = render_junit(unknown, analyze(unknown));
  check_contains_all(undecided,
                     {"<error type=\"unknown\"", "name=\"run completed\"", "errors=\"2\""});
}

TEST_CASE("report: report.html is one self-contained page with every section") {
  RunData run = invalid_run();
  run.history[0].value = "</script><b>";  // text from the history must not end a script
  std::string html = render_html(run, analyze(run));
  check_contains_all(
      html, {"id=\"dual\"", "id=\"questions\"", "id=\"anomalies\"", "id=\"latency-chart\"",
             "id=\"throughput-chart\"", "id=\"timeline-canvas\"", "id=\"fl-data\"", "id=\"spec\""});
  CHECK(contains(html, "<svg class=\"anomaly-timeline\""));
  CHECK(contains(
      html, "faultline run /tmp/store/unit-register/20260101T000000.000Z/spec.yaml --seed 42"));
  CHECK(contains(html, "uPlot"));
  CHECK_FALSE(contains(html, "src=\"http"));  // nothing loaded from elsewhere
  CHECK_FALSE(contains(html, "href=\"http"));
  CHECK_FALSE(contains(html, "</script><b>"));
  CHECK(contains(html, "What happened during faults (partitions)"));
}

TEST_CASE("report: compare flags a worse verdict, new anomaly types and lost availability") {
  RunData baseline = valid_run(), run = invalid_run();
  Comparison worse = compare_runs(run, baseline, CompareOptions{});
  CHECK(worse.regressed());
  std::string text = describe(worse);
  CHECK(contains(text, "worse: verdict: invalid (baseline valid)"));
  CHECK(contains(text, "worse: new anomaly type: nonlinearizable-read ×1"));
  CHECK(contains(text, "worse: availability under partition: ok 40.0% vs 50.0%"));

  Comparison same = compare_runs(baseline, baseline, CompareOptions{});
  CHECK_FALSE(same.regressed());
  CHECK(contains(describe(same), "no regression"));

  // The p99 threshold: the partition's only ok op takes 1 ms in the baseline, 7 ms here.
  RunData slow = valid_run();
  for (auto& op : slow.history)
    if (op.time_ns == 12 * kMs) op.time_ns = 18 * kMs;
  CHECK(compare_runs(slow, baseline, CompareOptions{50, 5}).regressed());
  CHECK_FALSE(compare_runs(slow, baseline, CompareOptions{1000, 5}).regressed());
}

TEST_CASE("report: write_run_reports writes the three files, and serve lists the run and serves them") {
  char pattern[] = "/tmp/faultline-report-unit-XXXXXX";
  std::filesystem::path store = ::mkdtemp(pattern);
  RunData run = invalid_run();
  std::filesystem::path dir = store / "unit-register" / "20260101T000000.000Z";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "spec.yaml") << run.spec_text;
  std::ofstream(dir / "results.json") << run.results.dump(2);
  {
    std::ofstream history(dir / "history.jsonl");
    for (const auto& op : run.history) history << op_to_line(op) << "\n";
  }
  auto written = write_run_reports(dir);
  REQUIRE(written.size() == 3);
  for (const auto& file : written) CHECK(std::filesystem::file_size(file) > 100);
  CHECK(contains(write_run_reports_line(dir), "reports: " + (dir / "report.html").string()));
  CHECK(
      contains(write_run_reports_line(store / "missing"), "reports not written: no results.json"));

  ReportServer server(ServeOptions{0, store});
  std::atomic<bool> stop{false};
  std::thread serving([&] { server.run(stop); });
  std::string index = http_get(server.port(), "/");
  CHECK(contains(index, "HTTP/1.1 200 OK"));
  CHECK(
      contains(index, "<tr class=\"invalid\"><td>20260101T000000.000Z</td><td>unit-register</td>"));
  CHECK(contains(index, "href=\"/runs/unit-register/20260101T000000.000Z/report.html\""));
  std::string report =
      http_get(server.port(), "/runs/unit-register/20260101T000000.000Z/report.html");
  CHECK(contains(report, "Content-Type: text/html"));
  CHECK(contains(report, "id=\"dual\""));
  CHECK(contains(http_get(server.port(), "/runs/../../etc/passwd"), "404 Not Found"));
  CHECK(contains(
      http_get(server.port(), "/runs/unit-register/20260101T000000.000Z/../../../etc/hostname"),
      "404"));
  stop = true;
  serving.join();
  std::filesystem::remove_all(store);
}

TEST_CASE(
    "report: a long run is sampled so report.html stays small, and throughput still counts every op") {
  RunData run = valid_run();
  HistoryBuilder builder;
  const int ops = 100000;  // about 8 minutes at 200 ops/s
  for (int i = 0; i < ops; ++i)
    builder.op(i % 10, "read", "k1", i * 5.0, i * 5.0 + 2, i % 50 == 0 ? OpType::fail : OpType::ok,
               1);
  run.history = builder.build();
  Analysis analysis = analyze(run);
  std::string html = render_html(run, analysis);
  CHECK(html.size() < 1'500'000);
  CHECK(contains(html, "\"total_ops\":100000"));
  CHECK_FALSE(contains(html, "\"ok_stride\":1,"));
  std::size_t at = html.find("\"throughput\":{\"fail\":[");
  REQUIRE(at != std::string::npos);
  CHECK(contains(html.substr(at, 200), "\"fail\":[4,4,4"));  // 200 ops/s, every 50th fails
}

TEST_CASE("shell_quote: a pasted word runs nothing, whatever it holds") {
  CHECK(shell_quote("store/etcd-register/20261125T130402.633Z/spec.yaml") ==
        "store/etcd-register/20261125T130402.633Z/spec.yaml");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("$(touch x)") == "'$(touch x)'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  // What a shell makes of each quoted word is the word itself, and nothing ran.
  TempDir dir;
  std::string marker = (dir.path() / "ran").string();
  for (std::string word : {std::string("$(touch ") + marker + ")", std::string("`touch ") + marker + "`",
                           std::string("a'b\"c"), std::string("*"), std::string("x;touch ") + marker,
                           std::string("~root"), std::string("line\nbreak"), std::string("$HOME")}) {
    Output out = run_program("sh", {"-c", "printf %s " + shell_quote(word)});
    CHECK(out.text == word + "\n");
  }
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("report: hostile names are quoted in Reproduce and escaped in summary.md") {
  RunData run = valid_run();
  run.dir = "/tmp/store/$(touch x)/20260101T000000.000Z";
  run.results["name"] = "<img src=x onerror=alert(1)> *bold* [link](http://e) a|b";
  std::string md = render_summary_md(run, analyze(run));
  check_contains_all(md, {"## faultline: &lt;img src=x onerror=alert(1)&gt; \\*bold\\* "
                          "\\[link\\](http://e) a\\|b",
                          "Reproduce: `faultline run '/tmp/store/$(touch x)/20260101T000000.000Z/"
                          "spec.yaml' --seed 42`"});
  CHECK_FALSE(contains(md, "<img"));
  std::string html = render_html(run, analyze(run));
  CHECK(contains(html, "faultline run &#39;/tmp/store/$(touch x)/20260101T000000.000Z/spec.yaml&#39;"));
  CHECK(markdown_code("a`b") == "``a`b``");
  CHECK(markdown_code("`x`") == "`` `x` ``");
}

TEST_CASE("report: the shrunk counterexample heads the anomalies in report.html and summary.md") {
  RunData run = invalid_run();
  checker::CheckResult check = checker::check_linearizable(run.history, checker::LinearOptions{});
  REQUIRE(check.details.contains("counterexample"));
  const nlohmann::json& shrunk = check.details["counterexample"];
  run.results["checks"][0]["details"] = check.details;
  Analysis a = analyze(run);
  REQUIRE(a.counterexamples.size() == 1);
  CHECK(a.anomalies.size() == 1);  // a counterexample is not one more anomaly
  std::string headline = "These " + std::to_string(shrunk["ops"].size()) + " ops of " +
                         std::to_string(shrunk["from_ops"].get<int>()) + " show it";
  CHECK(a.counterexamples[0].headline == headline);
  CHECK(a.counterexamples[0].ops.size() == shrunk["ops"].size());
  std::string html = render_html(run, a);
  check_contains_all(html, {"id=\"counterexample-1\"", headline, "on key <code>k1</code>"});
  CHECK(html.find("id=\"counterexample-1\"") < html.find("id=\"anomaly-1\""));
  check_contains_all(render_summary_md(run, a), {"**Anomalies (1):**", "- " + headline});
}

TEST_CASE("report: what a run could not heal or clean is named in summary.md, report.html and junit.xml") {
  RunData run = valid_run();
  run.results["not_healed"] = {"partition one n3-x-n1,n2: n3 (root@192.0.2.13:22) is not answering: timed out"};
  run.results["not_cleaned"] = {"n3: root@192.0.2.13:22 (run ab12cd): timed out"};
  Analysis a = analyze(run);
  std::string md = render_summary_md(run, a);
  check_contains_all(md, {"**Left undone:**",
                          "- not healed: partition one n3-x-n1,n2: n3 (root@192.0.2.13:22) is not answering",
                          "- not cleaned: n3: root@192.0.2.13:22 (run ab12cd)"});
  check_contains_all(render_html(run, a),
                     {"<dt>Left undone</dt>", "<li>not cleaned: n3: root@192.0.2.13:22"});
  // CI sees a host left dirty even when the verdict is valid.
  check_contains_all(render_junit(run, a),
                     {"name=\"run completed\"", "not healed: partition one n3-x-n1,n2",
                      "not cleaned: n3: root@192.0.2.13:22"});

  RunData clean = valid_run();
  CHECK_FALSE(contains(render_summary_md(clean, analyze(clean)), "Left undone"));
}
