#include "net/stream_event_parser.h"

#include <boost/json/basic_parser_impl.hpp>

namespace loadgen::net {

namespace json = boost::json;
using boost::system::error_code;

namespace {

// Where the parser is in the document, as far as we care.
enum class Node : uint8_t {
  kIgnored,  // a subtree we skip
  kRoot,     // the top-level object
  kChoices,  // root.choices (array)
  kChoice0,  // root.choices[0]
  kDelta,    // choices[0].delta (chat stream), choices[0].message (chat body)
  kUsage,    // root.usage
  kError,    // root.error (object form)
};

// Which field a scalar value is.
enum class Field : uint8_t {
  kNone,
  kContent,    // the output text
  kReasoning,  // reasoning_content
  kCompletionTokens,
  kPromptTokens,
  kErrorText,  // root.error as a string, or root.error.message
};

struct Handler {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr int kMaxDepth = 64;

  struct Frame {
    Node node;
    bool is_array;
    uint32_t count;  // elements begun so far (arrays)
  };

  // Per event.
  StreamEventParser::Format format = StreamEventParser::Format::kOpenAiChat;
  bool whole_body = false;  // a non-streamed response, not a stream event
  std::string_view triton_output_name;
  ParsedResponse* out = nullptr;
  size_t content_bytes = 0;
  bool saw_reasoning = false;
  bool saw_error = false;
  bool root_is_object = false;
  bool saw_first_choice = false;  // root.choices[0] was an object

  Frame stack[kMaxDepth];
  int depth = 0;
  // What the value about to begin is: set by the last key, or by the array it is in.
  Field field = Field::kNone;
  Node next_container = Node::kIgnored;
  bool in_string = false;
  std::string key;  // a key split across parts (rare)

  void Reset() {
    content_bytes = 0;
    saw_reasoning = false;
    saw_error = false;
    root_is_object = false;
    saw_first_choice = false;
    depth = 0;
    field = Field::kNone;
    next_container = Node::kIgnored;
    in_string = false;
    key.clear();
  }

  // A value begins. In an array its role depends on its position; in an object the key
  // before it has already set field / next_container.
  void BeginValue() {
    if (depth == 0 || !stack[depth - 1].is_array) return;
    Frame& parent = stack[depth - 1];
    const uint32_t i = parent.count++;
    field = Field::kNone;
    next_container = (parent.node == Node::kChoices && i == 0) ? Node::kChoice0 : Node::kIgnored;
  }

  void OnKey(std::string_view k) {
    field = Field::kNone;
    next_container = Node::kIgnored;
    const bool chat = format == StreamEventParser::Format::kOpenAiChat;
    switch (stack[depth - 1].node) {
      case Node::kRoot:
        if (format == StreamEventParser::Format::kTriton) {
          if (k == triton_output_name) field = Field::kContent;
        } else if (k == "choices") {
          next_container = Node::kChoices;
        } else if (k == "usage") {
          next_container = Node::kUsage;
        }
        if (k == "error") {
          field = Field::kErrorText;
          next_container = Node::kError;
          saw_error = true;  // unless the value is null
        }
        break;
      case Node::kChoice0:
        if (chat && k == (whole_body ? "message" : "delta")) next_container = Node::kDelta;
        if (!chat && k == "text") field = Field::kContent;
        break;
      case Node::kDelta:
        if (k == "content") field = Field::kContent;
        // A body's reasoning is not output and not counted (ParseOpenAiBody).
        if (k == "reasoning_content" && !whole_body) field = Field::kReasoning;
        break;
      case Node::kUsage:
        if (k == "completion_tokens") field = Field::kCompletionTokens;
        if (k == "prompt_tokens") field = Field::kPromptTokens;
        break;
      case Node::kError:
        if (k == "message") field = Field::kErrorText;
        break;
      default:
        break;
    }
  }

  bool Open(bool is_array, error_code& ec) {
    if (depth >= kMaxDepth) {
      ec = json::error::too_deep;
      return false;
    }
    BeginValue();
    Node node;
    if (depth == 0) {
      root_is_object = !is_array;
      node = is_array ? Node::kIgnored : Node::kRoot;
    } else {
      node = next_container;
      // The node must have the expected kind, else its subtree is ignored.
      if ((node == Node::kChoices) != is_array) node = Node::kIgnored;
      if (node == Node::kChoice0) saw_first_choice = true;
    }
    stack[depth++] = Frame{node, is_array, 0};
    field = Field::kNone;
    next_container = Node::kIgnored;
    return true;
  }

  bool Close() {
    --depth;
    field = Field::kNone;
    next_container = Node::kIgnored;
    return true;
  }

  void StringPart(std::string_view s) {
    if (!in_string) {
      BeginValue();
      in_string = true;
    }
    switch (field) {
      case Field::kContent:
        out->output.append(s.data(), s.size());
        content_bytes += s.size();
        break;
      case Field::kReasoning:
        if (!s.empty()) saw_reasoning = true;
        break;
      case Field::kErrorText:
        out->error.append(s.data(), s.size());
        break;
      default:
        break;
    }
  }

  void Scalar() {
    BeginValue();
    field = Field::kNone;
  }

  void Number(int64_t v) {
    BeginValue();
    if (field == Field::kCompletionTokens) out->usage_tokens = v;
    if (field == Field::kPromptTokens) out->prompt_tokens = v;
    field = Field::kNone;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code& ec) { return Open(false, ec); }
  bool on_object_end(std::size_t, error_code&) { return Close(); }
  bool on_array_begin(error_code& ec) { return Open(true, ec); }
  bool on_array_end(std::size_t, error_code&) { return Close(); }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    if (key.empty()) {
      OnKey(std::string_view(s.data(), s.size()));
    } else {
      key.append(s.data(), s.size());
      OnKey(key);
      key.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    StringPart(std::string_view(s.data(), s.size()));
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code&) {
    StringPart(std::string_view(s.data(), s.size()));
    in_string = false;
    field = Field::kNone;
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(int64_t v, json::string_view, error_code&) {
    Number(v);
    return true;
  }
  bool on_uint64(uint64_t v, json::string_view, error_code&) {
    Number(static_cast<int64_t>(v));
    return true;
  }
  bool on_double(double v, json::string_view, error_code&) {
    Number(static_cast<int64_t>(v));
    return true;
  }
  bool on_bool(bool, error_code&) {
    Scalar();
    return true;
  }
  bool on_null(error_code&) {
    BeginValue();
    if (depth == 1 && field == Field::kErrorText) saw_error = false;  // "error": null
    field = Field::kNone;
    return true;
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

struct StreamEventParser::Impl {
  json::basic_parser<Handler> parser{json::parse_options()};
};

StreamEventParser::StreamEventParser() : impl_(std::make_unique<Impl>()) {}
StreamEventParser::~StreamEventParser() = default;

StreamEventParser::Outcome StreamEventParser::Run(std::string_view data, Format format,
                                                  bool whole_body,
                                                  std::string_view triton_output_name,
                                                  ParsedResponse* out) {
  json::basic_parser<Handler>& parser = impl_->parser;
  Handler& h = parser.handler();
  parser.reset();
  h.Reset();
  h.format = format;
  h.whole_body = whole_body;
  h.triton_output_name = triton_output_name;
  h.out = out;
  const size_t output_before = out->output.size();
  const size_t error_before = out->error.size();
  error_code ec;
  const size_t used = parser.write_some(false, data.data(), data.size(), ec);
  if (!ec && used != data.size()) ec = json::error::extra_data;
  if (ec) {
    out->output.resize(output_before);
    out->error = "invalid JSON (" + ec.message() + ")";
    return Outcome::kInvalidJson;
  }
  if (!h.root_is_object) {
    out->output.resize(output_before);
    return Outcome::kNotAnObject;
  }
  if (h.saw_error) {
    out->output.resize(output_before);
    const std::string message = out->error.substr(error_before);
    out->error = "server error: " + message;
    return Outcome::kError;
  }
  out->error.resize(error_before);
  return Outcome::kOk;
}

EventKind StreamEventParser::Parse(std::string_view data, Format format,
                                   std::string_view triton_output_name, ParsedResponse* out) {
  if (format != Format::kTriton && data == "[DONE]") {
    out->done = true;
    return EventKind::kDone;
  }
  switch (Run(data, format, /*whole_body=*/false, triton_output_name, out)) {
    case Outcome::kOk:
      break;
    case Outcome::kNotAnObject:
      out->error = "stream event is not a JSON object";
      return EventKind::kError;
    case Outcome::kInvalidJson:
    case Outcome::kError:
      return EventKind::kError;
  }
  const Handler& h = impl_->parser.handler();
  if (h.content_bytes > 0) {
    ++out->content_chunks;
    return EventKind::kContent;
  }
  if (h.saw_reasoning) {
    ++out->content_chunks;
    return EventKind::kReasoning;
  }
  return EventKind::kNoOutput;
}

bool StreamEventParser::ParseOpenAiBody(std::string_view body, bool chat, ParsedResponse* out) {
  const Format format = chat ? Format::kOpenAiChat : Format::kOpenAiCompletions;
  switch (Run(body, format, /*whole_body=*/true, {}, out)) {
    case Outcome::kOk:
      break;
    case Outcome::kNotAnObject:
      out->error = "response is not a JSON object";
      return false;
    case Outcome::kInvalidJson:
    case Outcome::kError:
      return false;
  }
  const Handler& h = impl_->parser.handler();
  if (!h.saw_first_choice) {
    out->output.resize(out->output.size() - h.content_bytes);
    out->error = "response has no choices";
    return false;
  }
  if (h.content_bytes > 0) out->content_chunks = 1;
  return true;
}

}  // namespace loadgen::net
