// Parsers for the bodies endpoints answer with: OpenAI completions/chat (streamed SSE events
// and whole JSON), KServe v2 infer responses (JSON and the binary-tensor extension), and
// Triton's generate_stream events. Each fills a ParsedResponse that is reused request after
// request (its buffers keep their capacity).
#ifndef LOADGEN_NET_RESPONSE_PARSERS_H_
#define LOADGEN_NET_RESPONSE_PARSERS_H_

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen::net {

/// What one response said, accumulated over its events.
struct ParsedResponse {
  std::string output;          // content text (or tensor bytes): the accuracy-log bytes
  int64_t usage_tokens = -1;   // completion tokens reported by the server's usage, if any
  int64_t prompt_tokens = -1;  // input tokens reported by the server's usage, if any
  int64_t content_chunks = 0;  // events that carried output (content or reasoning)
  bool done = false;           // OpenAI's [DONE] was seen
  std::string error;           // why the response is malformed or an error, if it is

  void Reset() {
    output.clear();
    usage_tokens = -1;
    prompt_tokens = -1;
    content_chunks = 0;
    done = false;
    error.clear();
  }
};

/// What one streamed event carried.
enum class EventKind : uint8_t {
  kContent,    // output text (a token, or tokens the server coalesced)
  kReasoning,  // only reasoning_content (a thinking model's hidden tokens)
  kNoOutput,   // a role-only, usage-only or empty final chunk
  kDone,       // OpenAI's "[DONE]"
  kError,      // malformed JSON or an error object: ParsedResponse::error says which
};

/// Parses JSON text into a value that lives in a reused arena, so a parse allocates only when a
/// document outgrows what earlier ones needed. The value is valid until the next Parse.
class JsonReader {
 public:
  JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  /// nullptr (and `error` set) if `text` is not one JSON document.
  const boost::json::value* Parse(std::string_view text, std::string* error);

 private:
  unsigned char parser_scratch_[4096];
  unsigned char arena_[16384];
  boost::json::monotonic_resource resource_;
  boost::json::parser parser_;
  boost::json::value value_;
};

/// One `data:` payload of an OpenAI completions or chat stream. (The client reads events with
/// StreamEventParser, which gives the same results without building a document; this one is
/// its reference in the tests.)
EventKind ParseOpenAiEvent(std::string_view data, bool chat, JsonReader& json, ParsedResponse* out);

/// A whole (non-streamed) OpenAI completions or chat response. False if malformed.
bool ParseOpenAiBody(std::string_view body, bool chat, JsonReader& json, ParsedResponse* out);

/// One `data:` payload of Triton's generate_stream; the text is the string field
/// `output_name` (e.g. "text_output").
EventKind ParseTritonEvent(std::string_view data, std::string_view output_name, JsonReader& json,
                           ParsedResponse* out);

/// A KServe v2 infer response. `json_length` is the Inference-Header-Content-Length of the
/// binary-tensor extension (the JSON part's size; the rest of the body is the tensors), or
/// the whole body size for plain JSON. The output bytes are each output tensor, in response
/// order, in the binary-tensor layout (little-endian elements; BYTES elements as a 4-byte
/// length and the bytes), so JSON and binary responses give the same accuracy-log bytes.
bool ParseKserveBody(std::string_view body, size_t json_length, JsonReader& json,
                     ParsedResponse* out);

}  // namespace loadgen::net

#endif  // LOADGEN_NET_RESPONSE_PARSERS_H_
