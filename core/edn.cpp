#include "core/edn.h"

#include <algorithm>
#include <array>
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

// What ends a symbol, keyword or number: ASCII space as std::isspace sees it in the C locale,
// commas, brackets, quotes and comments. A table: the reader asks it per byte.
constexpr std::array<bool, 256> kDelimiters = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : std::string_view(" \t\n\v\f\r,()[]{}\";")) table[c] = true;
  return table;
}();
bool is_delimiter(char c) { return kDelimiters[static_cast<unsigned char>(c)]; }
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

class Parser {
 public:
  // A text valid as a whole needs no check per string or symbol: each is cut from it at ASCII
  // bytes, which never split a UTF-8 sequence, and escapes append whole code points. Checking
  // per token (to say where the bad bytes are) costs a history of small ops a twentieth.
  Parser(std::string_view text, Tape& tape)
      : text_(text), text_utf8_(is_valid_utf8(text)), tape_(tape) {}

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
    throw ParseError(line_, column(), "line " + std::to_string(line_) + ", column " +
                                          std::to_string(column()) + ": " + what);
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    advance();
  }

  // Reads one value (after any space and comments) onto the tape.
  void value(int depth = 0) {
    if (depth > kMaxDepth_levels) fail("nesting deeper than 256 levels");
    if (!skip_space()) fail("unexpected end of input, expected a value");
    std::size_t start = pos_;
    auto at = static_cast<std::uint32_t>(tape_.nodes.size());
    char c = peek();
    switch (c) {
      case '[':
        advance();
        sequence(']', depth);
        break;
      case '(':
        advance();
        sequence(')', depth);
        break;
      case '{':
        advance();
        map(depth);
        break;
      case '"':
        string();
        break;
      case '#':
        dispatch(depth);
        break;
      case '\\':
        character();
        break;
      case ')':
      case ']':
      case '}':
        fail(std::string("unexpected '") + c + "'");
      default:
        atom();
    }
    tape_.nodes[at].source = text_.substr(start, pos_ - start);
  }

  // Skips a #_ discard if one comes next. Returns true if it did.
  bool skip_discard(int depth) {
    if (!skip_space()) return false;
    if (peek() == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '_') {
      advance();
      advance();
      discard(depth + 1);
      return true;
    }
    return false;
  }

  // Reads elements up to `close` (which is consumed) onto the tape, calling
  // read_one(line) to read each; returns their number.
  template <typename ReadOne>
  std::uint32_t elements(char close, int depth, ReadOne&& read_one) {
    std::uint32_t count = 0;
    for (;;) {
      while (skip_discard(depth)) {
      }
      if (!skip_space()) fail(std::string("unexpected end of input, expected '") + close + "'");
      if (peek() == close) {
        advance();
        return count;
      }
      read_one(line_);
      ++count;
    }
  }

 private:
  void advance() {
    assert(pos_ < text_.size());
    if (text_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }
  std::size_t column() const { return pos_ - line_start_ + 1; }

  // A new node with no children; valid until the next push.
  Node& push(Kind kind) {
    Node& node = tape_.nodes.emplace_back();
    node.kind = kind;
    node.end = static_cast<std::uint32_t>(tape_.nodes.size());
    return node;
  }
  void push_null() { push(Kind::null); }
  void push_boolean(bool b) { push(Kind::boolean).boolean = b; }
  void push_integer(std::int64_t i) { push(Kind::integer).integer = i; }
  void push_real(double r) { push(Kind::real).real = r; }
  void push_string(std::string_view text) { push(Kind::string).text = text; }
  void push_copy(std::string&& text) { push_string(tape_.copies.emplace_back(std::move(text))); }

  // A form read and dropped (#_).
  void discard(int depth) {
    std::size_t size = tape_.nodes.size();
    value(depth);
    tape_.nodes.resize(size);
  }

  // A container of `kind`: `read` reads its children onto the tape after it, returning their
  // number.
  template <typename Read>
  void container(Kind kind, Read&& read) {
    auto at = static_cast<std::uint32_t>(tape_.nodes.size());
    push(kind);
    std::uint32_t size = read();
    auto end = static_cast<std::uint32_t>(tape_.nodes.size());
    std::uint16_t below = 0;  // the parser bounds the levels (kMaxDepth_levels)
    for (std::uint32_t child = at + 1; child < end; child = tape_.nodes[child].end)
      below = std::max(below, tape_.nodes[child].levels);
    Node& node = tape_.nodes[at];
    node.size = size;
    node.end = end;
    node.levels = static_cast<std::uint16_t>(below + 1);
  }

  void sequence(char close, int depth) {
    container(Kind::array,
              [&] { return elements(close, depth, [&](std::size_t) { value(depth + 1); }); });
  }

  void map(int depth) {
    container(Kind::object, [&] {
      bool key_expected = true;
      std::uint32_t forms = elements('}', depth, [&](std::size_t) {
        auto key = static_cast<std::uint32_t>(tape_.nodes.size());
        value(depth + 1);
        if (key_expected && tape_.nodes[key].kind != Kind::string) {
          // A key that is not a string becomes its JSON text, as in a JSON object: {0 100}.
          std::string printed = to_json(Value(tape_, key)).dump();
          std::string_view source = tape_.nodes[key].source;
          tape_.nodes.resize(key);
          push_copy(std::move(printed));
          tape_.nodes[key].source = source;
        }
        key_expected = !key_expected;
      });
      if (forms % 2 == 1) fail("map with an odd number of forms");
      return forms / 2;
    });
  }

  void string() {
    expect('"');
    std::size_t start = pos_;
    std::string out;
    bool escaped = false;
    for (;;) {
      if (at_end()) fail("unterminated string");
      char c = peek();
      advance();
      if (c == '"') {
        std::string_view text =
            escaped ? std::string_view(out) : text_.substr(start, pos_ - 1 - start);
        // JSON output (dump) throws on bad UTF-8: refuse it here, where the line is known.
        if (!text_utf8_ && !is_valid_utf8(text))
          fail("a string that is not valid UTF-8: \"" + printable(text) + "\"");
        return escaped ? push_copy(std::move(out)) : push_string(text);
      }
      if (c != '\\') {
        if (escaped) out.push_back(c);
        continue;
      }
      if (!escaped) out.assign(text_.substr(start, pos_ - 1 - start));
      escaped = true;
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
            if (low < 0xDC00 || low > 0xDFFF)
              fail("a \\u escape of a high surrogate without its pair");
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
      code = code * 16 +
             static_cast<unsigned>(std::isdigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
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

  void character() {
    expect('\\');
    std::string_view token = read_token();
    if (token.empty()) {
      if (at_end()) fail("bad character literal");
      std::string_view one = text_.substr(pos_, 1);
      advance();
      return push_string(one);
    }
    if (token == "newline") return push_string("\n");
    if (token == "space") return push_string(" ");
    if (token == "tab") return push_string("\t");
    push_string(token);
  }

  void dispatch(int depth) {
    expect('#');
    char c = peek();
    if (c == '{') {
      advance();
      return sequence('}', depth);  // a set: order is not meaningful
    }
    if (c == '_') {
      advance();
      discard(depth + 1);
      return value(depth);
    }
    // A tagged literal (#inst "...", #jepsen.history.Op{...}, #object[...]): keep the value.
    std::string_view tag = read_token();
    if (tag.empty()) fail("expected a tag, a set or a discard after '#'");
    value(depth + 1);
  }

  // A symbol, keyword, number or tag, as a view of the text (no copy: most tokens are numbers
  // and keywords, a few bytes each). Symbols and keywords become strings: UTF-8 only.
  std::string_view read_token() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && !is_delimiter(text_[pos_])) ++pos_;  // no newline in a token
    std::string_view token = text_.substr(start, pos_ - start);
    if (!text_utf8_ && !is_valid_utf8(token))
      fail("a symbol that is not valid UTF-8: " + printable(token));
    return token;
  }

  void atom() {
    std::size_t token_line = line_, token_column = column();
    std::string_view token = read_token();
    if (token.empty()) fail("expected a value");
    if (token == "nil") return push_null();
    if (token == "true" || token == "false") return push_boolean(token == "true");
    if (token[0] == ':') {
      token.remove_prefix(token.size() > 1 && token[1] == ':' ? 2 : 1);
      return push_string(token);
    }
    char first = token[0];
    bool numeric = std::isdigit(static_cast<unsigned char>(first)) ||
                   ((first == '-' || first == '+') && token.size() > 1 &&
                    std::isdigit(static_cast<unsigned char>(token[1])));
    if (!numeric) return push_string(token);  // a symbol
    if (token.back() == 'N') token.remove_suffix(1);  // bigint suffix
    if (auto integer = integer_of(token)) return push_integer(*integer);
    if (token.back() == 'M') token.remove_suffix(1);  // big decimal suffix
    if (auto real = real_of(token)) return push_real(*real);
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
  Tape& tape_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t line_start_ = 0;  // where line_ begins: columns are counted from it
};

}  // namespace

json to_json(Value value) {
  const Node& node = value.node();
  switch (node.kind) {
    case Kind::null: return nullptr;
    case Kind::boolean: return node.boolean;
    case Kind::integer: return node.integer;
    case Kind::real: return node.real;
    case Kind::string: return std::string(node.text);
    case Kind::array: {
      json array = json::array();
      for (Value element : Items(value)) array.push_back(to_json(element));
      return array;
    }
    case Kind::object: {
      json object = json::object();  // the last of duplicate keys counts
      for (Value key = value.first_child(); !(key == value.after()); key = key.after().after())
        object[std::string(key.node().text)] = to_json(key.after());
      return object;
    }
  }
  return nullptr;
}

void parse_into(std::string_view text, Tape& tape) {
  tape.clear();
  Parser parser(text, tape);
  while (parser.skip_discard(0)) {
  }
  parser.value();
  while (parser.skip_discard(0)) {
  }
  if (parser.skip_space()) parser.fail("unexpected content after the value");
}

json parse(std::string_view text) {
  Tape tape;
  parse_into(text, tape);
  return to_json(Value(tape, 0));
}

void parse_each(std::string_view text, const std::function<void(Value, std::size_t line)>& visit) {
  Tape tape;
  Parser parser(text, tape);
  auto form = [&](int depth, std::size_t line) {
    tape.clear();
    parser.value(depth);
    visit(Value(tape, 0), line);
  };
  bool first = true;
  for (;;) {
    while (parser.skip_discard(0)) {
    }
    if (!parser.skip_space()) return;
    char c = parser.peek();
    if (first && (c == '[' || c == '(')) {
      // One top-level collection holding the ops: stream its elements.
      parser.expect(c);
      parser.elements(c == '[' ? ']' : ')', 0, [&](std::size_t line) { form(1, line); });
      while (parser.skip_discard(0)) {
      }
      if (parser.skip_space()) parser.fail("unexpected content after the top-level collection");
      return;
    }
    first = false;
    form(0, parser.line());
  }
}

}  // namespace faultline::edn
