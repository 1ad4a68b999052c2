// Text that came from a user (spec values, history fields, names) and is echoed back in a
// message or a report. A hostile string must not drive the terminal (ESC sequences), cut or
// forge a line (NUL, newline), or flood the screen (a 1 MB field): printable() makes it safe
// to print. The one helper for every place that echoes user text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace faultline {

// Long enough to recognise a value, short enough to keep an error message on a screen.
inline constexpr std::size_t kEchoBytesMax = 200;

// Newlines::keep is for whole messages made of several lines (a server log tail); a single
// field always escapes them, or it could forge a line of its own.
enum class Newlines { escape, keep };

// `text` with control bytes escaped (\n \t \r, others \xNN; C1 controls \u0080..\u009f), bytes
// that are not UTF-8 escaped as \xNN, and cut after `max_bytes` bytes of input at a character
// boundary, with the full size said ("… (1048576 bytes in all)").
std::string printable(std::string_view text, std::size_t max_bytes = kEchoBytesMax,
                      Newlines newlines = Newlines::escape);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): what JSON output (nlohmann's dump) requires of every string.
bool is_valid_utf8(std::string_view text);

}  // namespace faultline
