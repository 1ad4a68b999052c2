// The store: one folder per run, store/<spec name>/<UTC time>/, and store/latest pointing at
// the newest run.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace faultline {

// A test name becomes one folder of the store, store/<name>/: it must be one safe path
// component there. Allowed: 1 to kRunNameBytesMax of letters, digits, '.', '_' and '-',
// starting with a letter or digit (so never "." or "..", a hidden file, or an option), and not
// "latest" (store/latest is the link to the newest run). Returns why `name` is not allowed, or
// an empty string when it is.
inline constexpr std::size_t kRunNameBytesMax = 128;
std::string run_name_problem(std::string_view name);

// Creates the run folder and repoints store/latest at it. Throws std::invalid_argument when
// `test_name` is not allowed (run_name_problem).
std::filesystem::path create_run_dir(const std::filesystem::path& store_dir,
                                     const std::string& test_name);

// Writes `text` to `path` atomically (temporary file, then rename).
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace faultline
