// settings stage: splitting config-file lines into key, '=' and values.
#include "settings/config_grammar.h"

#include <cstdlib>
#include <utility>

namespace loadgen::settings {
namespace {

// The characters `istream >> std::string` skips in the classic locale.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::vector<std::string> SplitTokens(const std::string& line) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

// A value must be consumed entirely by strtoul (base 0) or by strtod.
bool IsNumber(const std::string& text) {
  const char* begin = text.c_str();
  const char* full_end = begin + text.size();
  char* end = nullptr;
  std::strtoull(begin, &end, 0);
  if (end == full_end) return true;
  std::strtod(begin, &end);
  return end == full_end;
}

ConfigLine ParseLine(const std::string& text, int number) {
  ConfigLine line;
  line.number = number;
  line.tokens = SplitTokens(text);
  int state = 0;  // 0: want key, 1: want '=', 2: want values
  for (size_t i = 0; i < line.tokens.size(); ++i) {
    const std::string& token = line.tokens[i];
    if (token == "#" && state != 2) break;
    if (state == 2) {
      if (!IsNumber(token)) {
        line.error = LineError::kBadValue;
        line.error_token = i;
        break;
      }
      line.values.push_back(token);
      continue;
    }
    if (state == 1 && token != "=") {
      line.error = LineError::kExpectedEquals;
      line.error_token = i;
      break;
    }
    if (state == 0) line.key = token;
    if (state == 1) line.has_equals = true;
    ++state;
  }
  return line;
}

}  // namespace

std::vector<ConfigLine> ParseLines(std::istream& in) {
  std::vector<ConfigLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) lines.push_back(ParseLine(text, ++number));
  return lines;
}

}  // namespace loadgen::settings
