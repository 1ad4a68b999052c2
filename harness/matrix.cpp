#include "harness/matrix.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "core/spec_reader.h"
#include "core/store.h"
#include "harness/runner.h"
#include "harness/spec.h"
#include "reports/matrix.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxCells = 10'000;  // a typo in `repeat` should not queue a year of runs

struct AxisValue {
  std::string label;
  std::vector<std::pair<std::string, YAML::Node>> sets;  // dotted path -> value
  YAML::Mark mark;
};

struct Axis {
  std::string name;
  std::vector<AxisValue> values;
};

YAML::Node load_yaml(const fs::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw SpecError(file.string(), YAML::Mark(), "cannot read the file");
  } catch (const YAML::ParserException& e) {
    throw SpecError(file.string(), e.mark, "not valid YAML: " + e.msg);
  }
}

std::vector<std::string> paths_of(FieldReader& reader, const YAML::Node& node,
                                  const std::string& what) {
  if (node.IsScalar()) return {node.as<std::string>()};
  if (node.IsSequence() && node.size() > 0) {
    std::vector<std::string> paths;
    for (const auto& p : node) {
      if (!p.IsScalar()) reader.fail(p, what + ": expected a dotted path such as target.isolation");
      paths.push_back(p.as<std::string>());
    }
    return paths;
  }
  reader.fail(node, what + ": expected a dotted path or a list of them");
}

AxisValue read_value(const YAML::Node& node, const std::vector<std::string>& axis_paths,
                     const std::string& file, const std::string& context) {
  AxisValue value;
  value.mark = node.Mark();
  if (node.IsScalar()) {
    if (axis_paths.empty())
      throw SpecError(file, node.Mark(), context + ": a bare value needs the axis's `set:` paths");
    value.label = node.as<std::string>();
    for (const auto& path : axis_paths) value.sets.emplace_back(path, node);
    return value;
  }
  if (!node.IsMap())
    throw SpecError(file, node.Mark(), context + ": expected a value, or {label, value} or {label, set}");
  FieldReader reader(node, file, context);
  value.label = reader.string("label");
  if (reader.has("set")) {
    YAML::Node sets = reader.raw("set");
    if (!sets.IsMap() || sets.size() == 0) reader.fail(sets, context + ".set: expected {path: value, ...}");
    for (const auto& entry : sets) {
      if (!entry.first.IsScalar()) reader.fail(entry.first, context + ".set: a path is not a word");
      value.sets.emplace_back(entry.first.as<std::string>(), entry.second);
    }
  } else {
    if (axis_paths.empty()) reader.fail_key("label", context + ": give `set:` here or on the axis");
    YAML::Node v = reader.raw("value");
    if (!v.IsDefined() || v.IsNull()) reader.fail_key("label", context + ": expected a `value:`");
    for (const auto& path : axis_paths) value.sets.emplace_back(path, v);
  }
  reader.finish();
  return value;
}

std::vector<Axis> read_axes(FieldReader& top, const std::string& file) {
  YAML::Node list = top.raw("axes");
  if (!list.IsSequence() || list.size() == 0)
    top.fail(list, "axes: expected a list of {name, set, values}");
  std::vector<Axis> axes;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string context = "axes[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) top.fail(list[i], context + ": expected {name, set, values}");
    FieldReader reader(list[i], file, context);
    Axis axis;
    axis.name = reader.string("name");
    std::vector<std::string> paths;
    if (reader.has("set")) paths = paths_of(reader, reader.raw("set"), context + ".set");
    YAML::Node values = reader.raw("values");
    if (!values.IsSequence() || values.size() == 0)
      reader.fail(values, context + ".values: expected a non-empty list");
    for (std::size_t j = 0; j < values.size(); ++j) {
      axis.values.push_back(read_value(values[j], paths, file,
                                       context + ".values[" + std::to_string(j) + "]"));
      for (std::size_t k = 0; k < j; ++k)
        if (axis.values[k].label == axis.values[j].label)
          reader.fail(values[j], context + ": two values labelled '" + axis.values[j].label + "'");
    }
    reader.finish();
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<std::uint64_t> read_seeds(FieldReader& top) {
  if (top.has("seeds") && top.has("repeat")) top.fail_key("repeat", "give seeds or repeat, not both");
  std::vector<std::uint64_t> seeds;
  if (top.has("seeds")) {
    YAML::Node list = top.raw("seeds");
    if (!list.IsSequence() || list.size() == 0) top.fail(list, "seeds: expected a list of integers");
    for (const auto& s : list) {
      try {
        seeds.push_back(s.as<std::uint64_t>());
      } catch (const YAML::Exception&) {
        top.fail(s, "seeds: expected a non-negative integer");
      }
    }
    return seeds;
  }
  auto repeat = top.integer("repeat", 1, 1, 1000);
  for (long long s = 1; s <= repeat; ++s) seeds.push_back(static_cast<std::uint64_t>(s));
  return seeds;
}

// Sets `path` ("target.isolation") in `spec`, making mappings on the way.
void set_path(YAML::Node spec, const std::string& path, const YAML::Node& value) {
  YAML::Node at = spec;
  std::size_t from = 0;
  for (std::size_t dot; (dot = path.find('.', from)) != std::string::npos; from = dot + 1) {
    std::string part = path.substr(from, dot - from);
    if (!at[part] || !at[part].IsMap()) at[part] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = at[part];
    at.reset(next);
  }
  at[path.substr(from)] = YAML::Clone(value);
}

// Spec names are one path component of the store: keep letters, digits, '.', '_' and '-'.
std::string safe_name(const std::string& text) {
  std::string out;
  for (char c : text)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out;
}

std::string cell_name(const std::string& matrix, const std::vector<std::string>& labels,
                      std::uint64_t seed) {
  std::string name = matrix;
  for (const auto& l : labels) name += "-" + l;
  return safe_name(name + "-s" + std::to_string(seed));
}

void expand(Matrix& matrix, const std::vector<Axis>& axes, const YAML::Node& base,
            std::optional<double> time_limit_s) {
  std::vector<std::size_t> pick(axes.size(), 0);
  while (true) {
    std::vector<std::string> labels;
    for (std::size_t a = 0; a < axes.size(); ++a) labels.push_back(axes[a].values[pick[a]].label);
    for (std::uint64_t seed : matrix.seeds) {
      YAML::Node spec = YAML::Clone(base);
      for (std::size_t a = 0; a < axes.size(); ++a)
        for (const auto& [path, value] : axes[a].values[pick[a]].sets) set_path(spec, path, value);
      MatrixCell cell{labels, seed, cell_name(matrix.name, labels, seed), ""};
      spec["name"] = cell.name;
      spec["seed"] = seed;
      if (time_limit_s) spec["time_limit_s"] = *time_limit_s;
      YAML::Emitter out;
      out << spec;
      cell.spec_text = std::string(out.c_str()) + "\n";
      try {
        load_test_text(cell.spec_text, cell.name + ".yaml");
      } catch (const SpecError& e) {
        const AxisValue& last = axes.back().values[pick.back()];
        throw SpecError(matrix.file.string(), last.mark,
                        "the cell " + cell.name + " is not a valid spec: " + e.what());
      }
      matrix.cells.push_back(std::move(cell));
      if (matrix.cells.size() > kMaxCells)
        throw SpecError(matrix.file.string(), YAML::Mark(),
                        "more than " + std::to_string(kMaxCells) + " cells");
    }
    std::size_t a = axes.size();
    while (a > 0 && ++pick[a - 1] == axes[a - 1].values.size()) pick[--a] = 0;
    if (a == 0) return;
  }
}

std::string duration_text(double seconds) {
  char text[32];
  int s = static_cast<int>(seconds + 0.5);
  std::snprintf(text, sizeof text, "%dm%02ds", s / 60, s % 60);
  return text;
}

}  // namespace

bool is_matrix_file(const fs::path& file) {
  try {
    YAML::Node root = YAML::LoadFile(file.string());
    return root.IsMap() && root["axes"];
  } catch (const YAML::Exception&) {
    return false;  // load_test reports the real error
  }
}

Matrix load_matrix(const fs::path& file, std::optional<double> time_limit_s) {
  YAML::Node root = load_yaml(file);
  if (!root.IsMap()) throw SpecError(file.string(), root.Mark(), "expected a mapping at the top level");
  FieldReader top(root, file.string(), "matrix");
  Matrix matrix;
  matrix.file = file;
  matrix.name = top.string("name");
  if (matrix.name.empty() || safe_name(matrix.name) != matrix.name || matrix.name == "latest" ||
      matrix.name.size() > 128)
    top.fail_key("name", "name: expected letters, digits, '.', '_' or '-' (one folder name)");
  fs::path base_file = file.parent_path() / top.string("spec");
  if (time_limit_s == std::nullopt && top.has("time_limit_s"))
    time_limit_s = top.number("time_limit_s", std::nullopt, 1, 86400);
  else
    top.raw("time_limit_s");
  matrix.seeds = read_seeds(top);
  std::vector<Axis> axes = read_axes(top, file.string());
  top.finish();
  for (const auto& axis : axes) {
    matrix.axis_names.push_back(axis.name);
    matrix.axis_labels.emplace_back();
    for (const auto& v : axis.values) matrix.axis_labels.back().push_back(v.label);
  }
  YAML::Node base = load_yaml(base_file);
  if (!base.IsMap()) throw SpecError(base_file.string(), base.Mark(), "expected a mapping at the top level");
  expand(matrix, axes, base, time_limit_s);
  return matrix;
}

MatrixOutcome run_matrix(const Matrix& matrix, const MatrixOptions& options) {
  MatrixOutcome outcome;
  outcome.dir = create_run_dir(options.store_dir, matrix.name);
  report::MatrixRecord record;
  record.name = matrix.name;
  record.matrix_file = matrix.file.string();
  record.started_utc = outcome.dir.filename().string();
  record.axis_names = matrix.axis_names;
  record.axis_labels = matrix.axis_labels;
  record.seeds = matrix.seeds;
  for (const auto& cell : matrix.cells) {
    fs::path spec_file = outcome.dir / "cells" / (cell.name + ".yaml");
    fs::create_directories(spec_file.parent_path());
    write_file(spec_file, cell.spec_text);
    report::MatrixCellRecord r;
    r.labels = cell.labels;
    r.seed = cell.seed;
    r.verdict = "not run";
    r.command = "faultline run " + spec_file.string();
    record.cells.push_back(r);
  }
  report::write_matrix_record(outcome.dir, record);

  auto started = std::chrono::steady_clock::now();
  outcome.verdict = checker::Verdict::valid;
  std::size_t done = 0;
  for (std::size_t i = 0; i < matrix.cells.size() && !stop_requested(); ++i) {
    const MatrixCell& cell = matrix.cells[i];
    report::MatrixCellRecord& r = record.cells[i];
    auto cell_start = std::chrono::steady_clock::now();
    try {
      Test test = load_test_text(cell.spec_text, (outcome.dir / "cells" / (cell.name + ".yaml")).string());
      RunOutcome run = run_test(test, RunOptions{outcome.dir / "runs", options.progress});
      r.run_dir = fs::relative(run.run_dir, outcome.dir).string();
      r.verdict = std::string(checker::to_string(run.verdict));
    } catch (const std::exception& e) {
      r.verdict = "unknown";
      r.error = e.what();
    }
    r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start).count();
    outcome.verdict = checker::worst(outcome.verdict, checker::parse_verdict(r.verdict));
    report::write_matrix_record(outcome.dir, record);
    ++done;
    double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double left_s = elapsed_s / static_cast<double>(done) * static_cast<double>(matrix.cells.size() - done);
    std::cout << "matrix " << done << "/" << matrix.cells.size() << ", " << duration_text(elapsed_s)
              << " elapsed, ~" << duration_text(left_s) << " left: " << cell.name << " "
              << r.verdict << (r.error.empty() ? "" : " (" + r.error + ")") << std::endl;
  }
  record.finished = done == matrix.cells.size();
  if (!record.finished) outcome.verdict = checker::worst(outcome.verdict, checker::Verdict::unknown);
  report::write_matrix_record(outcome.dir, record);
  report::write_matrix_reports(outcome.dir);
  return outcome;
}

}  // namespace faultline
