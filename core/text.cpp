#include "core/text.h"

#include <simdjson.h>

#include <cstdio>

namespace faultline {

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = lead >= 0xC2 && lead <= 0xDF   ? 2
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                      : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char second = byte(i + 1);
  if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
  if (lead == 0xED && second > 0x9F) return 0;  // a UTF-16 surrogate
  if (lead == 0xF0 && second < 0x90) return 0;  // overlong
  if (lead == 0xF4 && second > 0x8F) return 0;  // past U+10FFFF
  return length;
}

void append_hex_escape(std::string& out, const char* format, unsigned value) {
  char escape[8];
  std::snprintf(escape, sizeof escape, format, value);
  out += escape;
}

}  // namespace

// simdjson's validator: the same rules as utf8_sequence_length (no overlong forms, surrogates
// or code points past U+10FFFF), at SIMD speed (EDN checks every symbol and string).
bool is_valid_utf8(std::string_view text) { return simdjson::validate_utf8(text.data(), text.size()); }

std::string printable(std::string_view text, std::size_t max_bytes, Newlines newlines) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && i < max_bytes) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      append_hex_escape(out, "\\x%02x", c);
    } else if (c == '\n') {
      out += newlines == Newlines::keep ? "\n" : "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      append_hex_escape(out, "\\x%02x", c);
    } else if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      // C1 controls (U+0080..U+009F): some terminals take U+009B as an escape sequence.
      append_hex_escape(out, "\\u%04x", static_cast<unsigned char>(text[i + 1]));
    } else {
      out.append(text.substr(i, length));
    }
    i += length == 0 ? 1 : length;
  }
  if (i < text.size()) out += "… (" + std::to_string(text.size()) + " bytes in all)";
  return out;
}

}  // namespace faultline
