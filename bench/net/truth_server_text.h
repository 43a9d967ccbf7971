// What the native truth server writes and counts, as truth_server.py does: the token words,
// JSON text, Python's truthiness and int test of request fields, the prompt and its length.
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace truth_server {

namespace json = boost::json;

// Token words: the 16 of truth_server.py (one token each in common BPE vocabularies).
inline constexpr const char* kWords[16] = {"the", "of", "and", "to",   "in",  "is", "it", "that",
                                           "for", "on", "as",  "with", "was", "at", "by", "be"};

inline void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// A JSON string of `text` read as Latin-1 (as truth_server.py decodes the request path).
inline void AppendLatin1String(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
    } else if (c >= 0x80) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

// Python's bool() of a JSON value.
inline bool Truthy(const json::value* v) {
  if (v == nullptr) return false;
  switch (v->kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v->get_bool();
    case json::kind::int64:
      return v->get_int64() != 0;
    case json::kind::uint64:
      return v->get_uint64() != 0;
    case json::kind::double_:
      return v->get_double() != 0.0;
    case json::kind::string:
      return !v->get_string().empty();
    case json::kind::array:
      return !v->get_array().empty();
    case json::kind::object:
      return !v->get_object().empty();
  }
  return false;
}

// A JSON integer as Python's isinstance(v, int) sees it (true is 1), else nullopt.
inline std::optional<int64_t> AsInt(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
  if (v->is_bool()) return v->get_bool() ? 1 : 0;
  return std::nullopt;
}

inline std::string JsonOrNull(const json::value* v) { return v ? json::serialize(*v) : "null"; }

inline const json::value* Field(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

// The prompt as truth_server.py's prompt_of joins it.
inline std::string PromptOf(const json::object& req, bool chat) {
  std::string out;
  bool first = true;
  auto join = [&](std::string_view part) {  // " ".join(parts)
    if (!first) out.push_back(' ');
    first = false;
    out.append(part);
  };
  if (chat) {
    const json::value* messages = Field(req, "messages");
    if (messages == nullptr || !messages->is_array()) return out;
    for (const json::value& m : messages->get_array()) {
      if (!m.is_object()) continue;
      const json::value* content = Field(m.get_object(), "content");
      if (content == nullptr) continue;
      if (content->is_string()) {
        join(content->get_string());
      } else if (content->is_array()) {
        for (const json::value& item : content->get_array()) {
          if (!item.is_object()) continue;
          const json::value* text = Field(item.get_object(), "text");
          if (text != nullptr && text->is_string()) join(text->get_string());
        }
      }
    }
    return out;
  }
  const json::value* prompt = Field(req, "prompt");
  if (prompt == nullptr) return out;
  if (prompt->is_string()) return std::string(prompt->get_string());
  if (prompt->is_array()) {
    for (const json::value& item : prompt->get_array()) {
      if (item.is_string()) {
        join(item.get_string());
      } else if (item.is_array()) {
        std::string ids;
        bool first_id = true;
        for (const json::value& id : item.get_array()) {
          if (!first_id) ids.push_back(' ');
          first_id = false;
          ids += json::serialize(id);
        }
        join(ids);
      } else {
        join(json::serialize(item));
      }
    }
    return out;
  }
  return json::serialize(*prompt);
}

// len(str) and len(str.split()) of Python, for UTF-8 text (ASCII whitespace only).
inline int64_t CodePoints(std::string_view s) {
  int64_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline int64_t Words(std::string_view s) {
  int64_t n = 0;
  bool in_word = false;
  for (const unsigned char c : s) {
    const bool space = c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

}  // namespace truth_server
