#include "core/edn.h"

#include <cassert>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "core/text.h"

namespace faultline::edn {

ParseError::ParseError(std::size_t line, std::size_t column, const std::string& what)
    : std::runtime_error(what), line_(line), column_(column) {}

namespace {

using nlohmann::json;

// Bounds recursion so a hostile file cannot overflow the stack.
constexpr int kMaxDepth_levels = 256;

// ASCII space as std::isspace sees it in the C locale, inline: the reader calls it per byte.
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

bool is_delimiter(char c) {
  return is_space(c) || c == ',' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ';';
}

class Parser {
 public:
  // A text valid as a whole needs no check per string or symbol: each is cut from it at ASCII
  // bytes, which never split a UTF-8 sequence, and escapes append whole code points. Checking
  // per token (to say where the bad bytes are) costs a history of small ops a twentieth.
  explicit Parser(std::string_view text) : text_(text), text_utf8_(is_valid_utf8(text)) {}

  // Skips space, commas and comments. Returns false at the end of input.
  bool skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') advance();
      } else if (is_space(c) || c == ',') {
        advance();
      } else {
        return true;
      }
    }
    return false;
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }
  std::size_t line() const { return line_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError(line_, column_, "line " + std::to_string(line_) + ", column " +
                                         std::to_string(column_) + ": " + what);
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    advance();
  }

  // Reads one value (after any space and comments).
  json value(int depth = 0) {
    if (depth > kMaxDepth_levels) fail("nesting deeper than 256 levels");
    if (!skip_space()) fail("unexpected end of input, expected a value");
    char c = peek();
    switch (c) {
      case '[':
        advance();
        return sequence(']', depth);
      case '(':
        advance();
        return sequence(')', depth);
      case '{':
        advance();
        return map(depth);
      case '"':
        return string();
      case '#':
        return dispatch(depth);
      case '\\':
        return character();
      case ')':
      case ']':
      case '}':
        fail(std::string("unexpected '") + c + "'");
      default:
        return atom();
    }
  }

  // Skips a #_ discard if one comes next. Returns true if it did.
  bool skip_discard(int depth) {
    if (!skip_space()) return false;
    if (peek() == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '_') {
      advance();
      advance();
      (void)value(depth + 1);
      return true;
    }
    return false;
  }

  // Reads elements up to `close` (which is consumed): `read(line)` reads each, at depth + 1.
  template <typename Read>
  void elements(char close, int depth, Read&& read) {
    for (;;) {
      while (skip_discard(depth)) {
      }
      if (!skip_space()) fail(std::string("unexpected end of input, expected '") + close + "'");
      if (peek() == close) {
        advance();
        return;
      }
      read(line_);
    }
  }

  // One top-level form at `depth`: a map to `visit_map` as its entries, anything else to
  // `visit_value`.
  template <typename VisitMap, typename VisitValue>
  void form(int depth, std::size_t line, VisitMap&& visit_map, VisitValue&& visit_value) {
    if (skip_space() && peek() == '{') {
      advance();
      Entries entries;
      map_entries(depth, entries);
      visit_map(std::move(entries), line);
    } else {
      visit_value(value(depth), line);
    }
  }

 private:
  void advance() {
    assert(pos_ < text_.size());
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  json sequence(char close, int depth) {
    json array = json::array();
    elements(close, depth, [&](std::size_t) { array.push_back(value(depth + 1)); });
    return array;
  }

  json map(int depth) {
    Entries entries;
    map_entries(depth, entries);
    json object = json::object();
    for (auto& [key, v] : entries) object[std::move(key)] = std::move(v);
    return object;
  }

  // The entries of a map whose '{' was read, up to its '}'.
  void map_entries(int depth, Entries& entries) {
    json key;
    bool have_key = false;
    elements('}', depth, [&](std::size_t) {
      json v = value(depth + 1);
      if (!have_key) {
        key = std::move(v);
        have_key = true;
        return;
      }
      entries.emplace_back(key.is_string() ? std::move(key.get_ref<std::string&>()) : key.dump(),
                           std::move(v));
      have_key = false;
    });
    if (have_key) fail("map with an odd number of forms");
  }

  json string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      char c = peek();
      advance();
      if (c == '"') {
        // JSON output (dump) throws on bad UTF-8: refuse it here, where the line is known.
        if (!text_utf8_ && !is_valid_utf8(out)) fail("a string that is not valid UTF-8: \"" + printable(out) + "\"");
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) fail("unterminated string");
      char e = peek();
      advance();
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'u': {
          unsigned code = hex4();
          if (code >= 0xDC00 && code <= 0xDFFF) fail("a \\u escape of a lone low surrogate");
          if (code >= 0xD800 && code <= 0xDBFF) {  // a UTF-16 pair: \\uD83D\\uDE00
            if (peek() != '\\') fail("a \\u escape of a high surrogate without its pair");
            advance();
            if (peek() != 'u') fail("a \\u escape of a high surrogate without its pair");
            advance();
            unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("a \\u escape of a high surrogate without its pair");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: out.push_back(e); break;  // \" \\ and anything else taken literally
      }
    }
  }

  // The four hex digits of a \\u escape.
  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("bad \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      char h = peek();
      if (!std::isxdigit(static_cast<unsigned char>(h))) fail("bad \\u escape");
      code = code * 16 + static_cast<unsigned>(std::isdigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
      advance();
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  json character() {
    expect('\\');
    std::string_view token = read_token();
    if (token.empty()) {
      if (at_end()) fail("bad character literal");
      std::string one(1, peek());
      advance();
      return one;
    }
    if (token == "newline") return "\n";
    if (token == "space") return " ";
    if (token == "tab") return "\t";
    return std::string(token);
  }

  json dispatch(int depth) {
    expect('#');
    char c = peek();
    if (c == '{') {
      advance();
      return sequence('}', depth);  // a set: order is not meaningful
    }
    if (c == '_') {
      advance();
      (void)value(depth + 1);
      return value(depth);
    }
    // A tagged literal (#inst "...", #jepsen.history.Op{...}, #object[...]): keep the value.
    std::string_view tag = read_token();
    if (tag.empty()) fail("expected a tag, a set or a discard after '#'");
    return value(depth + 1);
  }

  // A symbol, keyword, number or tag, as a view of the text (no copy: most tokens are numbers
  // and keywords, a few bytes each). Symbols and keywords become strings: UTF-8 only.
  std::string_view read_token() {
    std::size_t start = pos_;
    while (!at_end() && !is_delimiter(peek())) advance();
    std::string_view token = text_.substr(start, pos_ - start);
    if (!text_utf8_ && !is_valid_utf8(token)) fail("a symbol that is not valid UTF-8: " + printable(token));
    return token;
  }

  json atom() {
    std::size_t token_line = line_, token_column = column_;
    std::string_view token = read_token();
    if (token.empty()) fail("expected a value");
    if (token == "nil") return nullptr;
    if (token == "true") return true;
    if (token == "false") return false;
    if (token[0] == ':') {
      token.remove_prefix(token.size() > 1 && token[1] == ':' ? 2 : 1);
      return std::string(token);
    }
    char first = token[0];
    bool numeric = std::isdigit(static_cast<unsigned char>(first)) ||
                   ((first == '-' || first == '+') && token.size() > 1 &&
                    std::isdigit(static_cast<unsigned char>(token[1])));
    if (!numeric) return std::string(token);  // a symbol
    if (token.back() == 'N') token.remove_suffix(1);  // bigint suffix
    if (auto integer = integer_of(token)) return *integer;
    if (token.back() == 'M') token.remove_suffix(1);  // big decimal suffix
    if (auto real = real_of(token)) return *real;
    throw ParseError(token_line, token_column,
                     "line " + std::to_string(token_line) + ", column " +
                         std::to_string(token_column) + ": bad number '" + printable(token) + "'");
  }

  static std::optional<std::int64_t> integer_of(std::string_view token) {
    std::int64_t integer = 0;
    const char* begin = token.data() + (token[0] == '+' ? 1 : 0);
    const char* end = token.data() + token.size();
    auto [ptr, ec] = std::from_chars(begin, end, integer);
    if (ec == std::errc() && ptr == end) return integer;
    return std::nullopt;
  }

  // A real or a ratio (1/3).
  static std::optional<double> real_of(std::string_view token) {
    std::string text(token);  // strtod wants a terminated string; reals are rare in histories
    auto slash = text.find('/');
    char* parsed_end = nullptr;
    if (slash != std::string::npos) {
      double numerator = std::strtod(text.c_str(), &parsed_end);
      double denominator = std::strtod(text.c_str() + slash + 1, &parsed_end);
      if (*parsed_end == '\0' && denominator != 0) return numerator / denominator;
    } else {
      double real = std::strtod(text.c_str(), &parsed_end);
      if (*parsed_end == '\0') return real;
    }
    return std::nullopt;
  }

  std::string_view text_;
  bool text_utf8_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
};

}  // namespace

json parse(std::string_view text) {
  Parser parser(text);
  while (parser.skip_discard(0)) {
  }
  json result = parser.value();
  while (parser.skip_discard(0)) {
  }
  if (parser.skip_space()) parser.fail("unexpected content after the value");
  return result;
}

void parse_each(std::string_view text,
                const std::function<void(Entries&&, std::size_t line)>& visit_map,
                const std::function<void(json&&, std::size_t line)>& visit_value) {
  Parser parser(text);
  bool first = true;
  for (;;) {
    while (parser.skip_discard(0)) {
    }
    if (!parser.skip_space()) return;
    char c = parser.peek();
    if (first && (c == '[' || c == '(')) {
      // One top-level collection holding the ops: stream its elements.
      parser.expect(c);
      parser.elements(c == '[' ? ']' : ')', 0,
                      [&](std::size_t line) { parser.form(1, line, visit_map, visit_value); });
      while (parser.skip_discard(0)) {
      }
      if (parser.skip_space()) parser.fail("unexpected content after the top-level collection");
      return;
    }
    first = false;
    parser.form(0, parser.line(), visit_map, visit_value);
  }
}

}  // namespace faultline::edn
