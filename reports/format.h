// Small text helpers shared by the report writers: numbers as a reviewer reads them, escaping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::report {

// "2.1 ms", "840 ms", "1.3 s"; "–" for a negative (absent) value.
std::string format_ms(std::int64_t ns);
// Seconds since test start with one decimal: "12.3 s".
std::string format_s(std::int64_t ns);
// A share in [0, 1] as "97.4%".
std::string format_percent(double share);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

std::string html_escape(std::string_view text);  // also fine for XML text and attributes
// Markdown table cells: escapes '|' and turns newlines into spaces.
std::string markdown_cell(std::string_view text);

}  // namespace faultline::report
