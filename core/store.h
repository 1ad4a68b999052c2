// The store: one folder per run, store/<spec name>/<UTC time>/, and store/latest pointing at
// the newest run.
#pragma once

#include <filesystem>
#include <string>

namespace faultline {

// Creates the run folder and repoints store/latest at it.
std::filesystem::path create_run_dir(const std::filesystem::path& store_dir,
                                     const std::string& test_name);

// Writes `text` to `path` atomically (temporary file, then rename).
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace faultline
