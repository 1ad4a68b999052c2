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
// Text from a run (names, summaries, headlines) inside Markdown, table cells included: the
// characters that would format, link or end a cell are backslash-escaped (\ ` * _ [ ] ~ |),
// HTML is turned into entities (& < >), and newlines into spaces. GitHub renders it as typed.
std::string markdown_cell(std::string_view text);
// `text` as one Markdown code span: a backtick fence longer than any run of backticks inside,
// newlines as spaces.
std::string markdown_code(std::string_view text);

// `word` as one word for a POSIX shell: left bare when it holds only characters no shell
// treats specially (letters, digits, and _ . / : = @ % + , -), else in single quotes, each '
// inside written '\''. Pasting the result runs no command substitution, expansion or glob.
std::string shell_quote(std::string_view word);

}  // namespace faultline::report
