// report.html: one self-contained page. The tables, the answers and the anomaly timelines are
// rendered here as HTML and SVG (readable without JavaScript); the charts and the paged history
// timeline are drawn by reports/assets/report.js (with uPlot) from a JSON block in the page.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "reports/assets.h"
#include "reports/format.h"
#include "reports/render.h"

namespace faultline::report {
namespace {

using nlohmann::json;

// Past this many client ops the page embeds every non-ok op and an even sample of ok ops, so a
// long run stays a few MB at most (a 60 s run at 200 ops/s, 12k ops, embeds all of them).
constexpr std::size_t kMaxOpsEmbedded = 40000;
constexpr std::int64_t kTick_ns = 100'000;  // op times travel to the page in 0.1 ms ticks
constexpr int kSvgWidth = 960;
constexpr int kSvgLaneHeight = 34;
constexpr int kSvgLeft = 130;
constexpr int kSvgTop = 22;
constexpr double kSvgCharWidth = 6.2;  // 11px sans-serif, roughly

// "9.912 s": op times in a short timeline need milliseconds.
std::string axis_time(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(ns) / 1e9);
  return text;
}

std::string outcome_class(OpType type) {
  switch (type) {
    case OpType::ok:
      return "ok";
    case OpType::fail:
      return "fail";
    default:
      return "info";
  }
}

// JSON inside <script>: "</" would end the element.
std::string script_safe(std::string text) {
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3))
    text.replace(at, 2, "<\\/");
  return text;
}

// The data the page's script draws: fault windows, ops (columns), throughput per second.
json chart_data(const RunData& run, const Analysis& a) {
  json windows = json::array();
  for (const auto& w : a.windows)
    windows.push_back({w.start_ns / kTick_ns, w.end_ns / kTick_ns, w.fault, w.description()});
  std::size_t stride = 1;
  std::size_t ok_count = 0;
  for (const auto& s : a.spans) ok_count += s.outcome == OpType::ok;
  if (a.spans.size() > kMaxOpsEmbedded)
    stride = (ok_count + kMaxOpsEmbedded / 2 - 1) / (kMaxOpsEmbedded / 2);
  RunRecord record = record_of(run);
  json process = json::array(), worker = json::array(), start = json::array(), duration = json::array(),
       outcome = json::array(), label = json::array(), labels = json::array();
  std::map<std::string, std::size_t> label_ids;
  std::size_t ok_seen = 0;
  for (const auto& s : a.spans) {
    if (s.outcome == OpType::ok && ok_seen++ % stride != 0) continue;
    process.push_back(s.process);
    worker.push_back(record.worker_of(s.process));
    start.push_back(s.invoke_ns / kTick_ns);
    duration.push_back(s.complete_ns < 0 ? -1 : (s.complete_ns - s.invoke_ns) / kTick_ns);
    outcome.push_back(s.outcome == OpType::ok ? 0 : s.outcome == OpType::fail ? 1 : 2);
    auto [it, added] = label_ids.emplace(s.label(), label_ids.size());
    if (added) labels.push_back(it->first);
    label.push_back(it->second);
  }
  // Throughput: completions per second by outcome (never-completed ops count at invocation).
  std::size_t seconds = static_cast<std::size_t>(a.end_ns / 1'000'000'000) + 1;
  std::vector<int> ok(seconds), fail(seconds), info(seconds);
  for (const auto& s : a.spans) {
    std::size_t second = static_cast<std::size_t>(
        std::max<std::int64_t>(0, s.complete_ns >= 0 ? s.complete_ns : s.invoke_ns) /
        1'000'000'000);
    second = std::min(second, seconds - 1);
    (s.outcome == OpType::ok ? ok : s.outcome == OpType::fail ? fail : info)[second]++;
  }
  return {{"tick_ns", kTick_ns},
          {"end", a.end_ns / kTick_ns},
          {"windows", windows},
          {"lanes", record.concurrency},  // 0: workers unknown, lanes are processes
          {"total_ops", a.spans.size()},
          {"ok_stride", stride},
          {"ops", {{"p", process}, {"w", worker}, {"s", start}, {"d", duration}, {"o", outcome}, {"l", label}}},
          {"labels", labels},
          {"throughput", {{"ok", ok}, {"fail", fail}, {"info", info}}}};
}

class HtmlWriter {
 public:
  HtmlWriter(const RunData& run, const Analysis& a) : run_(run), a_(a) {}

  std::string write() {
    std::string verdict = verdict_of(run_);
    out_ << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         << "<title>" << h(run_.results.value("name", std::string("run"))) << " — " << verdict
         << " — faultline</title>\n<style>" << assets::uplot_css << "\n"
         << assets::report_css << "</style></head>\n<body class=\"verdict-" << verdict << "\">\n";
    header(verdict);
    nav();
    dual_table();
    questions();
    anomalies();
    charts();
    checks();
    spec();
    out_ << "<footer>Written by faultline from the run folder " << h(run_.dir.string())
         << ". Charts: uPlot 1.6.32 (MIT), inlined.</footer>\n";
    out_ << "<script type=\"application/json\" id=\"fl-data\">"
         << script_safe(chart_data(run_, a_).dump()) << "</script>\n<script>" << assets::uplot_js
         << "</script>\n<script>" << assets::report_js << "</script>\n</body></html>\n";
    return out_.str();
  }

 private:
  static std::string h(const std::string& text) { return html_escape(text); }

  void header(const std::string& verdict) {
    const json& r = run_.results;
    const json& target = r.value("target", json::object());
    out_ << "<header>\n<h1>" << h(r.value("name", std::string("run"))) << " <span class=\"badge "
         << verdict << "\">" << verdict << "</span></h1>\n";
    std::string guarantee = r.value("guarantee", std::string("?"));
    std::string held = verdict == "valid"     ? "is consistent with"
                       : verdict == "invalid" ? "violates"
                                              : "could not be graded against";
    out_ << "<p class=\"lede\">faultline drove a <b>" << h(r.value("workload", std::string("?")))
         << "</b> workload against <b>" << h(target.value("version", std::string("?")))
         << "</b> on " << target.value("nodes", 0)
         << (target.value("nodes", 0) == 1 ? " node" : " nodes") << " for " << format_s(a_.end_ns)
         << ", injecting "
         << (a_.faults_injected.empty() ? std::string("no faults")
                                        : h(join(a_.faults_injected, ", ")) + " faults")
         << ". The recorded history <b>" << held << "</b> the claimed guarantee, <i>"
         << h(guarantee) << "</i>.</p>\n<dl class=\"facts\">\n";
    auto fact = [&](const std::string& name, const std::string& html) {
      out_ << "<dt>" << name << "</dt><dd>" << html << "</dd>\n";
    };
    fact("System", h(target.value("system", std::string("?"))));
    fact("Version", h(target.value("version", std::string("?"))));
    fact("Nodes", std::to_string(target.value("nodes", 0)));
    fact("Workload", h(r.value("workload", std::string("?"))));
    fact("Guarantee claimed", h(guarantee));
    fact("Spec", "<code>" + h(r.value("spec_file", std::string("?"))) + "</code>");
    fact("Seed", std::to_string(r.value("seed", std::uint64_t{0})));
    fact("Duration", format_s(a_.end_ns));
    const json& stats = r.value("stats", json::object());
    fact("Client ops", std::to_string(a_.spans.size()) + " (ok " +
                           std::to_string(stats.value("ok_ops", 0)) + ", fail " +
                           std::to_string(stats.value("fail_ops", 0)) + ", info " +
                           std::to_string(stats.value("info_ops", 0)) + ")");
    fact("Verdict",
         "<span class=\"badge " + verdict + "\">" + verdict + "</span>" +
             (r.value("interrupted", false) ? " (interrupted: the run was cut short)" : "") +
             (verdict_notes_text(run_).empty() ? "" : " — " + h(verdict_notes_text(run_))));
    fact("Reproduce", "<code>" + h(reproduce_command(run_)) + "</code>");
    out_ << "</dl>\n<p class=\"note\">Outcomes: <span class=\"key ok\">ok</span> took effect; "
         << "<span class=\"key fail\">fail</span> certainly did not; <span class=\"key "
            "info\">info</span> "
         << "unknown (a timeout: it may take effect at any later time, or never). Fault windows "
         << "(<span class=\"key fault\">shaded</span>) run from the nemesis applying a fault to "
            "its healing.</p>\n</header>\n";
  }

  void nav() {
    out_ << "<nav><a href=\"#dual\">Claimed vs observed</a> · <a href=\"#questions\">Review "
            "questions</a> · "
         << "<a href=\"#anomalies\">Anomalies (" << a_.anomalies.size()
         << ")</a> · <a href=\"#charts\">Latency "
         << "and throughput</a> · <a href=\"#timeline\">History timeline</a> · <a "
            "href=\"#checks\">Checker "
         << "output</a> · <a href=\"#spec\">Spec</a></nav>\n";
  }

  void cost_table() {
    out_ << "<table "
            "class=\"cost\"><thead><tr><th>phase</th><th>time</th><th>ops</th><th>ok</th><th>fail</"
            "th>"
         << "<th>info</th><th>ok/s</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody>\n";
    for (const auto& p : a_.phases) {
      out_ << "<tr class=\""
           << (p.phase == "healthy"              ? "healthy"
               : p.phase.rfind("after ", 0) == 0 ? "after"
                                                 : "faulty")
           << "\"><td>" << h(p.phase) << (p.windows > 0 ? " ×" + std::to_string(p.windows) : "")
           << "</td><td>" << format_s(static_cast<std::int64_t>(p.duration_s * 1e9)) << "</td><td>"
           << p.total() << "</td><td>" << format_percent(p.ok_share()) << "</td><td>"
           << format_percent(p.fail_share()) << "</td><td>" << format_percent(p.info_share())
           << "</td><td>" << static_cast<std::int64_t>(p.ok_per_s() + 0.5) << "</td><td>"
           << format_ms(p.latency_ns_p50) << "</td><td>" << format_ms(p.latency_ns_p95)
           << "</td><td>" << format_ms(p.latency_ns_p99) << "</td></tr>\n";
    }
    out_ << "</tbody></table><p class=\"note\">Ops count in the phase in force when they were "
            "invoked; "
         << "<i>after X</i> is the " << format_s(kAfterHeal_ns)
         << " after each heal (at most half the quiet time "
         << "before the next fault). ok/s: ok ops per second of "
         << "the phase. fail includes definite negative answers (a cas whose compare did not "
            "match): read a fault "
         << "row against the healthy one. Latency is over ok ops.</p>";
  }

  void dual_table() {
    out_ << "<section id=\"dual\"><h2>Claimed vs observed</h2>\n<table class=\"dual\"><thead><tr>"
         << "<th>Guarantee claimed</th><th>Observed</th><th>What it cost</th><th>Not "
            "exercised</th></tr></thead><tbody>\n";
    const json& checks = run_.results.value("checks", json::array());
    auto counts = anomaly_type_counts(run_, a_);
    std::size_t rows = std::max<std::size_t>(1, checks.size());
    for (std::size_t i = 0; i < rows; ++i) {
      json check = i < checks.size() ? checks[i] : json::object();
      std::string verdict = check.value("verdict", std::string("unknown"));
      std::string status = verdict == "valid"     ? "held"
                           : verdict == "invalid" ? "violated"
                                                  : "undecided";
      out_ << "<tr><td><b>" << h(run_.results.value("guarantee", std::string("?")))
           << "</b><br><span class=\"note\">checker "
           << h(check.value("checker", std::string("none"))) << ", model "
           << h(check.value("model", std::string("?"))) << "</span></td><td><span class=\"badge "
           << verdict << "\">" << status << "</span><p>"
           << h(check.value("summary", std::string("no checker ran"))) << "</p>";
      if (!counts.empty()) {
        out_ << "<ul class=\"types\">";
        for (const auto& [type, n] : counts)
          out_ << "<li><code>" << h(type) << "</code> ×" << n << "</li>";
        out_ << "</ul>";
      }
      out_ << "</td>";
      if (i == 0) {
        out_ << "<td class=\"cost-cell\" rowspan=\"" << rows << "\">";
        cost_table();
        out_ << "</td><td class=\"gaps-cell\" rowspan=\"" << rows << "\"><ul class=\"gaps\">";
        for (const auto& n : a_.not_exercised)
          out_ << "<li><b>" << h(n.what) << "</b>: " << h(n.why) << "</li>";
        if (a_.not_exercised.empty())
          out_ << "<li>nothing: every fault kind ran and every op completed</li>";
        out_ << "</ul></td>";
      }
      out_ << "</tr>\n";
    }
    out_ << "</tbody></table></section>\n";
  }

  void questions() {
    out_ << "<section id=\"questions\"><h2>Review questions</h2>\n<dl class=\"answers\">\n";
    for (const auto& qa : a_.answers)
      out_ << "<dt>" << h(qa.question) << "</dt><dd>" << h(qa.answer) << "</dd>\n";
    out_ << "</dl></section>\n";
  }

  // Ops as bars on process lanes, real time left to right; the focus op outlined.
  void anomaly_timeline(const Anomaly& an) {
    std::map<std::int64_t, const OpSpan*> by_index;
    for (const auto& s : a_.spans) by_index[s.index] = &s;
    std::vector<const OpSpan*> ops;
    for (std::int64_t i : an.ops)
      if (by_index.contains(i)) ops.push_back(by_index[i]);
    if (ops.empty()) return;
    std::int64_t t0 = ops.front()->invoke_ns, t1 = t0;
    std::vector<std::int64_t> lanes;
    std::map<std::int64_t, std::string> lane_node;
    for (const OpSpan* s : ops) {
      lane_node[s->process] = s->node;
      t0 = std::min(t0, s->invoke_ns);
      t1 = std::max({t1, s->invoke_ns, s->complete_ns});
      if (std::find(lanes.begin(), lanes.end(), s->process) == lanes.end())
        lanes.push_back(s->process);
    }
    std::sort(lanes.begin(), lanes.end());
    std::int64_t pad = std::max<std::int64_t>((t1 - t0) / 20, 1'000'000);
    t0 -= pad;
    t1 += pad;
    int plot = kSvgWidth - kSvgLeft - 20;
    auto x = [&](std::int64_t t) {
      return kSvgLeft + static_cast<double>(t - t0) * plot / static_cast<double>(t1 - t0);
    };
    int height = kSvgTop + static_cast<int>(lanes.size()) * kSvgLaneHeight + 26;
    char buffer[512];
    out_ << "<svg class=\"anomaly-timeline\" viewBox=\"0 0 " << kSvgWidth << " " << height
         << "\" width=\"" << kSvgWidth << "\" height=\"" << height
         << "\" role=\"img\" aria-label=\"timeline of the ops involved\">\n";
    for (const auto& w : a_.windows) {
      if (w.end_ns < t0 || w.start_ns > t1) continue;
      double from = x(std::max(w.start_ns, t0)), to = x(std::min(w.end_ns, t1));
      std::snprintf(buffer, sizeof buffer,
                    "<rect class=\"fault\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>"
                    "<text class=\"fault-label\" x=\"%.1f\" y=\"14\">%s</text>\n",
                    from, kSvgTop - 6, std::max(1.0, to - from), height - kSvgTop - 14, from + 3,
                    h(w.fault + ": " + w.description()).substr(0, 120).c_str());
      out_ << buffer;
    }
    for (std::size_t lane = 0; lane < lanes.size(); ++lane) {
      int y = kSvgTop + static_cast<int>(lane) * kSvgLaneHeight;
      std::string node =
          lane_node[lanes[lane]].empty() ? "" : " (" + h(lane_node[lanes[lane]]) + ")";
      std::snprintf(buffer, sizeof buffer,
                    "<text class=\"lane\" x=\"4\" y=\"%d\">process %lld%s</text>"
                    "<line class=\"lane-line\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n",
                    y + 20, static_cast<long long>(lanes[lane]), node.c_str(), kSvgLeft,
                    kSvgWidth - 20, y + kSvgLaneHeight - 2, y + kSvgLaneHeight - 2);
      out_ << buffer;
    }
    for (const OpSpan* s : ops) {
      int lane =
          static_cast<int>(std::find(lanes.begin(), lanes.end(), s->process) - lanes.begin());
      int y = kSvgTop + lane * kSvgLaneHeight + 6;
      double from = x(s->invoke_ns), to = s->complete_ns < 0 ? x(t1) : x(s->complete_ns);
      std::string cls = outcome_class(s->outcome) + (s->index == an.focus ? " focus" : "") +
                        (s->complete_ns < 0 ? " open" : "");
      std::string title =
          "op " + std::to_string(s->index) + ": " + s->label() + " (" + outcome_class(s->outcome) +
          (s->node.empty() ? "" : ", node " + s->node) + ", " + format_s(s->invoke_ns) + "–" +
          (s->complete_ns < 0 ? std::string("never") : format_s(s->complete_ns)) + ")";
      std::snprintf(buffer, sizeof buffer,
                    "<g><title>%s</title><rect class=\"op %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                    "height=\"16\" rx=\"3\"/>",
                    h(title).c_str(), cls.c_str(), from, y, std::max(2.0, to - from));
      out_ << buffer;
      std::string label =
          (an.names.contains(s->index) ? an.names.at(s->index) + ": " : std::string()) +
          s->label() + (s->index == an.focus ? " ✗" : "");
      // Labels that would run off the right edge end where their bar ends instead.
      bool flush_right = from + kSvgCharWidth * static_cast<double>(label.size()) > kSvgWidth - 10;
      std::snprintf(buffer, sizeof buffer,
                    "<text class=\"op-label\" x=\"%.1f\" y=\"%d\"%s>%s</text></g>\n",
                    flush_right ? to : from + 2, y + 27, flush_right ? " text-anchor=\"end\"" : "",
                    h(label).c_str());
      out_ << buffer;
    }
    std::snprintf(buffer, sizeof buffer,
                  "<text class=\"axis\" x=\"%d\" y=\"%d\">%s</text><text class=\"axis\" x=\"%d\" "
                  "y=\"%d\" text-anchor=\"end\">%s</text>\n",
                  kSvgLeft, height - 4, axis_time(t0).c_str(), kSvgWidth - 20, height - 4,
                  ("+" + format_ms(t1 - t0)).c_str());
    out_ << buffer << "</svg>\n";
  }

  void anomalies() {
    out_ << "<section id=\"anomalies\"><h2>Anomalies</h2>\n";
    if (a_.anomalies.empty())
      out_ << "<p>None: the checkers found no history that contradicts the claim.</p>\n";
    for (std::size_t i = 0; i < a_.counterexamples.size(); ++i)
      anomaly_article(a_.counterexamples[i], "counterexample-" + std::to_string(i + 1),
                      h(a_.counterexamples[i].headline));
    for (std::size_t i = 0; i < a_.anomalies.size(); ++i) {
      const Anomaly& an = a_.anomalies[i];
      anomaly_article(an, "anomaly-" + std::to_string(i + 1),
                      std::to_string(i + 1) + ". <code>" + h(an.type) + "</code>");
    }
    out_ << "</section>\n";
  }

  // `title` is HTML.
  void anomaly_article(const Anomaly& an, const std::string& id, const std::string& title) {
    out_ << "<article class=\"anomaly\" id=\"" << id << "\"><h3>" << title
         << (an.key.empty() ? "" : " on key <code>" + h(an.key) + "</code>")
         << "</h3>\n<ol class=\"steps\">";
    for (const auto& sentence : an.sentences) out_ << "<li>" << h(sentence) << "</li>";
    out_ << "</ol>\n";
    anomaly_timeline(an);
    out_ << "<p class=\"note\">Each bar is one op, from invocation to completion, on its "
            "process's lane; ✗ marks the op no order explains. Hover a bar for details. The axis "
            "runs from the first invocation shown to the last completion.</p></article>\n";
  }

  void charts() {
    out_ << "<section id=\"charts\"><h2>Latency and throughput</h2>\n"
         << "<p class=\"note\">Every op's latency against the time it was invoked (log scale), "
            "coloured by outcome; "
         << "fault windows shaded. Drag to zoom, double-click to reset.</p>\n"
         << "<div id=\"latency-chart\" class=\"chart\"></div>\n<div id=\"throughput-chart\" "
            "class=\"chart\"></div>\n"
         << "<p id=\"sampling-note\" class=\"note\"></p></section>\n"
         << "<section id=\"timeline\"><h2>History timeline</h2>\n<p class=\"note\">One lane per "
            "client worker "
         << "(a worker continues under a new process number after an op with unknown outcome); "
            "each bar is one op "
         << "from invocation to completion. Page through time with the buttons.</p>\n"
         << "<div class=\"pager\"><button id=\"tl-prev\">◀ earlier</button> <span "
            "id=\"tl-range\"></span> "
         << "<button id=\"tl-next\">later ▶</button> <label>page <select id=\"tl-span\"><option "
            "value=\"1\">1 s</option>"
         << "<option value=\"2\" selected>2 s</option><option value=\"5\">5 s</option><option "
            "value=\"10\">10 s</option>"
         << "</select></label></div>\n<canvas id=\"timeline-canvas\" width=\"1200\" "
            "height=\"300\"></canvas>"
         << "<div id=\"timeline-tip\" class=\"tip\"></div></section>\n";
  }

  void checks() {
    out_ << "<section id=\"checks\"><h2>Checker output</h2>\n";
    for (const auto& check : run_.results.value("checks", json::array())) {
      std::string details = check.value("details", json::object()).dump(1);
      if (details.size() > 20000)
        details = details.substr(0, 20000) + "\n… (truncated; see results.json)";
      out_ << "<details><summary><b>" << h(check.value("checker", std::string("?"))) << "</b> ("
           << h(check.value("model", std::string("?")))
           << "): " << h(check.value("verdict", std::string("?"))) << " in "
           << check.value("check_time_s", 0.0) << " s</summary><pre>" << h(details)
           << "</pre></details>\n";
    }
    out_ << "</section>\n";
  }

  void spec() {
    out_ << "<section id=\"spec\"><h2>Spec (as run)</h2><pre>" << h(run_.spec_text)
         << "</pre></section>\n";
  }

  const RunData& run_;
  const Analysis& a_;
  std::ostringstream out_;
};

}  // namespace

std::string render_html(const RunData& run, const Analysis& analysis) {
  return HtmlWriter(run, analysis).write();
}

}  // namespace faultline::report
