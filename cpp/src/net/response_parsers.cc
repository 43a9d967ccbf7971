#include "net/response_parsers.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cstring>
#include <new>

#include "net/v2_layout.h"

namespace loadgen::net {

namespace json = boost::json;

JsonReader::JsonReader()
    : resource_(arena_, sizeof(arena_)),
      parser_(json::storage_ptr(), json::parse_options(), parser_scratch_,
              sizeof(parser_scratch_)) {}

const json::value* JsonReader::Parse(std::string_view text, std::string* error) {
  // The previous document lived in the arena; its memory is reclaimed all at once.
  value_ = json::value();
  resource_.release();
  parser_.reset(json::storage_ptr(&resource_));
  boost::system::error_code ec;
  parser_.write(text.data(), text.size(), ec);  // one complete document, or an error
  if (ec) {
    parser_.reset();
    error->assign("invalid JSON (");
    error->append(ec.message());
    error->push_back(')');
    return nullptr;
  }
  // Not an assignment: that would copy the arena's document into value_'s default storage.
  value_.~value();
  new (&value_) json::value(parser_.release());
  return &value_;
}

namespace {

std::string_view StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  const json::string* s = v->if_string();
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

bool IntegerValue(const json::value& v, int64_t* out) {
  if (const int64_t* i = v.if_int64()) {
    *out = *i;
    return true;
  }
  if (const uint64_t* u = v.if_uint64()) {
    *out = static_cast<int64_t>(*u);
    return true;
  }
  if (const double* d = v.if_double()) {
    *out = static_cast<int64_t>(*d);
    return true;
  }
  return false;
}

// usage.completion_tokens and usage.prompt_tokens, when the chunk carries usage
// (stream_options.include_usage).
void ReadUsage(const json::object& o, ParsedResponse* out) {
  const json::value* usage = o.if_contains("usage");
  if (usage == nullptr || !usage->is_object()) return;
  const json::object& fields = usage->get_object();
  int64_t tokens;
  const json::value* n = fields.if_contains("completion_tokens");
  if (n != nullptr && IntegerValue(*n, &tokens)) out->usage_tokens = tokens;
  n = fields.if_contains("prompt_tokens");
  if (n != nullptr && IntegerValue(*n, &tokens)) out->prompt_tokens = tokens;
}

// An {"error": ...} object (OpenAI servers report failures mid-stream this way).
bool ReadError(const json::object& o, ParsedResponse* out) {
  const json::value* e = o.if_contains("error");
  if (e == nullptr || e->is_null()) return false;
  out->error = "server error: ";
  if (const json::string* s = e->if_string()) {
    out->error.append(s->data(), s->size());
  } else if (e->is_object()) {
    const std::string_view message = StringField(e->get_object(), "message");
    out->error.append(message.data(), message.size());
  }
  return true;
}

const json::object* FirstChoice(const json::object& o) {
  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) return nullptr;
  return choices->get_array()[0].if_object();
}

}  // namespace

EventKind ParseOpenAiEvent(std::string_view data, bool chat, JsonReader& reader,
                           ParsedResponse* out) {
  if (data == "[DONE]") {
    out->done = true;
    return EventKind::kDone;
  }
  const json::value* v = reader.Parse(data, &out->error);
  if (v == nullptr) return EventKind::kError;
  const json::object* o = v->if_object();
  if (o == nullptr) {
    out->error = "stream event is not a JSON object";
    return EventKind::kError;
  }
  if (ReadError(*o, out)) return EventKind::kError;
  ReadUsage(*o, out);
  const json::object* choice = FirstChoice(*o);
  if (choice == nullptr) return EventKind::kNoOutput;
  std::string_view content;
  std::string_view reasoning;
  if (chat) {
    const json::value* delta = choice->if_contains("delta");
    if (delta != nullptr && delta->is_object()) {
      content = StringField(delta->get_object(), "content");
      reasoning = StringField(delta->get_object(), "reasoning_content");
    }
  } else {
    content = StringField(*choice, "text");
  }
  if (!content.empty()) {
    out->output.append(content.data(), content.size());
    ++out->content_chunks;
    return EventKind::kContent;
  }
  if (!reasoning.empty()) {
    ++out->content_chunks;
    return EventKind::kReasoning;
  }
  return EventKind::kNoOutput;
}

bool ParseOpenAiBody(std::string_view body, bool chat, JsonReader& reader, ParsedResponse* out) {
  const json::value* v = reader.Parse(body, &out->error);
  if (v == nullptr) return false;
  const json::object* o = v->if_object();
  if (o == nullptr) {
    out->error = "response is not a JSON object";
    return false;
  }
  if (ReadError(*o, out)) return false;
  ReadUsage(*o, out);
  const json::object* choice = FirstChoice(*o);
  if (choice == nullptr) {
    out->error = "response has no choices";
    return false;
  }
  std::string_view content;
  if (chat) {
    const json::value* message = choice->if_contains("message");
    if (message != nullptr && message->is_object()) {
      content = StringField(message->get_object(), "content");
    }
  } else {
    content = StringField(*choice, "text");
  }
  out->output.append(content.data(), content.size());
  if (!content.empty()) out->content_chunks = 1;
  return true;
}

EventKind ParseTritonEvent(std::string_view data, std::string_view output_name, JsonReader& reader,
                           ParsedResponse* out) {
  const json::value* v = reader.Parse(data, &out->error);
  if (v == nullptr) return EventKind::kError;
  const json::object* o = v->if_object();
  if (o == nullptr) {
    out->error = "stream event is not a JSON object";
    return EventKind::kError;
  }
  if (ReadError(*o, out)) return EventKind::kError;
  const std::string_view text = StringField(*o, output_name);
  if (text.empty()) return EventKind::kNoOutput;
  out->output.append(text.data(), text.size());
  ++out->content_chunks;
  return EventKind::kContent;
}

namespace {

// Bytes per element of a KServe v2 datatype; 0 for BYTES, -1 if unknown.
int ElementSize(std::string_view type) {
  if (type == "BOOL" || type == "UINT8" || type == "INT8") return 1;
  if (type == "UINT16" || type == "INT16" || type == "FP16" || type == "BF16") return 2;
  if (type == "UINT32" || type == "INT32" || type == "FP32") return 4;
  if (type == "UINT64" || type == "INT64" || type == "FP64") return 8;
  if (type == "BYTES") return 0;
  return -1;
}

bool AppendElement(const json::value& v, std::string_view type, std::string* out,
                   std::string* error) {
  if (type == "BYTES") {
    const json::string* s = v.if_string();
    if (s == nullptr) {
      *error = "BYTES output element is not a string";
      return false;
    }
    AppendV2BytesElement(std::string_view(s->data(), s->size()), out);
    return true;
  }
  double d = 0;
  int64_t i = 0;
  if (const bool* b = v.if_bool()) {
    i = *b ? 1 : 0;
    d = static_cast<double>(i);
  } else if (const int64_t* p = v.if_int64()) {
    i = *p;
    d = static_cast<double>(i);
  } else if (const uint64_t* u = v.if_uint64()) {
    i = static_cast<int64_t>(*u);
    d = static_cast<double>(*u);
  } else if (const double* f = v.if_double()) {
    d = *f;
    i = static_cast<int64_t>(d);
  } else {
    *error = "output element is not a number";
    return false;
  }
  if (type == "FP32")
    AppendV2Element(static_cast<float>(d), out);
  else if (type == "FP64")
    AppendV2Element(d, out);
  else if (type == "BOOL" || type == "UINT8" || type == "INT8")
    AppendV2Element(static_cast<uint8_t>(i), out);
  else if (type == "UINT16" || type == "INT16")
    AppendV2Element(static_cast<uint16_t>(i), out);
  else if (type == "UINT32" || type == "INT32")
    AppendV2Element(static_cast<uint32_t>(i), out);
  else if (type == "UINT64" || type == "INT64")
    AppendV2Element(static_cast<uint64_t>(i), out);
  else {
    *error = "JSON data of datatype " + std::string(type) + " is not supported";
    return false;
  }
  return true;
}

// Row-major flattening of nested data arrays.
bool AppendData(const json::value& v, std::string_view type, std::string* out, std::string* error) {
  if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a) {
      if (!AppendData(e, type, out, error)) return false;
    }
    return true;
  }
  return AppendElement(v, type, out, error);
}

}  // namespace

bool ParseKserveBody(std::string_view body, size_t json_length, JsonReader& reader,
                     ParsedResponse* out) {
  if (json_length > body.size()) {
    out->error = "Inference-Header-Content-Length is larger than the body";
    return false;
  }
  const json::value* v = reader.Parse(body.substr(0, json_length), &out->error);
  if (v == nullptr) return false;
  const json::object* o = v->if_object();
  if (o == nullptr) {
    out->error = "response is not a JSON object";
    return false;
  }
  if (ReadError(*o, out)) return false;
  const json::value* outputs = o->if_contains("outputs");
  if (outputs == nullptr || !outputs->is_array()) {
    out->error = "response has no outputs array";
    return false;
  }
  size_t binary_offset = json_length;
  for (const json::value& item : outputs->get_array()) {
    const json::object* output = item.if_object();
    if (output == nullptr) {
      out->error = "an output is not an object";
      return false;
    }
    const std::string_view type = StringField(*output, "datatype");
    if (ElementSize(type) < 0) {
      out->error = "unknown output datatype '" + std::string(type) + "'";
      return false;
    }
    int64_t binary_size = -1;
    if (const json::value* params = output->if_contains("parameters")) {
      if (params->is_object()) {
        if (const json::value* n = params->get_object().if_contains("binary_data_size")) {
          if (!IntegerValue(*n, &binary_size) || binary_size < 0) {
            out->error = "invalid binary_data_size";
            return false;
          }
        }
      }
    }
    if (binary_size >= 0) {
      if (binary_offset + static_cast<size_t>(binary_size) > body.size()) {
        out->error = "binary output data is shorter than binary_data_size";
        return false;
      }
      out->output.append(body.data() + binary_offset, static_cast<size_t>(binary_size));
      binary_offset += static_cast<size_t>(binary_size);
    } else {
      const json::value* data = output->if_contains("data");
      if (data == nullptr) {
        out->error = "an output has neither data nor binary_data_size";
        return false;
      }
      if (!AppendData(*data, type, &out->output, &out->error)) return false;
    }
    ++out->content_chunks;
  }
  return true;
}

}  // namespace loadgen::net
