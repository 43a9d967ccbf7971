// A streaming (SAX) reader of the JSON in stream events: it picks out only the fields a chunk
// can carry for us (output text, reasoning text, usage's completion_tokens and prompt_tokens,
// an error) without building a document, so a chunk costs one pass over its bytes and allocates
// nothing. Whole responses (non-streamed bodies, KServe) are read as documents (JsonReader)
// instead.
#ifndef LOADGEN_NET_STREAM_EVENT_PARSER_H_
#define LOADGEN_NET_STREAM_EVENT_PARSER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/response_parsers.h"

namespace loadgen::net {

class StreamEventParser {
 public:
  enum class Format : uint8_t { kOpenAiCompletions, kOpenAiChat, kTriton };

  StreamEventParser();
  ~StreamEventParser();
  StreamEventParser(const StreamEventParser&) = delete;
  StreamEventParser& operator=(const StreamEventParser&) = delete;

  /// Parses one event's data; appends output text to out->output and counts it, like
  /// ParseOpenAiEvent / ParseTritonEvent (same results, same errors).
  EventKind Parse(std::string_view data, Format format, std::string_view triton_output_name,
                  ParsedResponse* out);

  /// Parses a whole non-streamed OpenAI body (choices[0].text, or choices[0].message.content
  /// when `chat`; usage; error) like ParseOpenAiBody (same results, same errors), without a
  /// document: a non-streamed request's largest cost was building that document.
  bool ParseOpenAiBody(std::string_view body, bool chat, ParsedResponse* out);

 private:
  enum class Outcome : uint8_t { kOk, kInvalidJson, kNotAnObject, kError };
  // Runs the SAX handler over `data`; on kError / kInvalidJson out->error says why, and the
  // output appended by this call is removed.
  Outcome Run(std::string_view data, Format format, bool whole_body,
              std::string_view triton_output_name, ParsedResponse* out);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_STREAM_EVENT_PARSER_H_
