// StreamEventParser (SAX) against the document-based ParseOpenAiEvent / ParseTritonEvent /
// ParseOpenAiBody: the same events and bodies must give the same results, including for
// malformed and truncated ones.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/response_parsers.h"
#include "net/stream_event_parser.h"

namespace loadgen::net {
namespace {

using Format = StreamEventParser::Format;

const std::vector<std::string>& Events() {
  static const std::vector<std::string> events = {
      R"({"choices":[{"text":"Hel","index":0}]})",
      R"({"choices":[{"text":"lo","finish_reason":"length"}],"usage":{"completion_tokens":2}})",
      R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null}}]})",
      R"({"choices":[{"delta":{"content":"Hi \u00e9\n\"q\""}}]})",
      R"({"choices":[{"delta":{"reasoning_content":"think"}}]})",
      R"({"choices":[{"delta":{"reasoning_content":"a","content":"b"}}]})",
      R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10}})",
      R"({"choices":[{"text":"first"},{"text":"second"}]})",
      R"({"choices":[{"delta":{"content":"x"}},{"delta":{"content":"y"}}]})",
      R"({"choices":[{"logprobs":{"content":[{"token":"t","text":"no"}]},"text":"yes"}]})",
      R"({"nested":{"choices":[{"text":"no"}],"usage":{"completion_tokens":99}},"choices":[{"text":"ok"}]})",
      R"({"usage":{"completion_tokens":4.0}})",
      R"({"usage":{"prompt_tokens":12.0,"prompt_tokens_details":{"cached_tokens":3}}})",
      R"({"choices":[],"usage":{"completion_tokens":5,"prompt_tokens":1234567890123}})",
      R"({"choices":[{"text":"x","usage":{"prompt_tokens":8}}],"prompt_tokens":9})",
      R"({"usage":null,"choices":null})",
      R"({"choices":{"text":"not an array"}})",
      R"({"error":{"message":"context too long","code":400}})",
      R"({"error":"plain text error"})",
      R"({"error":null,"choices":[{"text":"fine"}]})",
      R"({"error":42})",
      R"({"model_name":"stream","model_version":"1","text_output":"tok0 "})",
      R"({"model_name":"stream","text_output":""})",
      R"({"text_output":["not","a string"]})",
      R"([1,2,3])",
      R"("just a string")",
      R"({"choices":[{"text":"a"})",
      R"({"choices":[{"text":"a"}]} trailing)",
      R"({})",
      "",
      "[DONE]",
  };
  return events;
}

void ExpectSame(const std::string& event, Format format, bool compare_errors) {
  JsonReader json;
  ParsedResponse reference;
  EventKind reference_kind;
  if (format == Format::kTriton) {
    reference_kind = ParseTritonEvent(event, "text_output", json, &reference);
  } else {
    reference_kind = ParseOpenAiEvent(event, format == Format::kOpenAiChat, json, &reference);
  }
  StreamEventParser parser;
  ParsedResponse got;
  const EventKind kind = parser.Parse(event, format, "text_output", &got);
  const std::string where =
      "event: " + event + " format " + std::to_string(static_cast<int>(format));
  EXPECT_EQ(kind, reference_kind) << where;
  if (kind != EventKind::kError) {
    EXPECT_EQ(got.output, reference.output) << where;
    EXPECT_EQ(got.usage_tokens, reference.usage_tokens) << where;
    EXPECT_EQ(got.prompt_tokens, reference.prompt_tokens) << where;
    EXPECT_EQ(got.content_chunks, reference.content_chunks) << where;
    EXPECT_EQ(got.done, reference.done) << where;
  } else if (compare_errors) {
    EXPECT_EQ(got.error, reference.error) << where;
  }
}

TEST(StreamEventParser, AgreesWithTheDocumentParsers) {
  for (const std::string& event : Events()) {
    for (Format format : {Format::kOpenAiCompletions, Format::kOpenAiChat, Format::kTriton}) {
      if (format == Format::kTriton && event == "[DONE]") continue;  // not a Triton event
      ExpectSame(event, format, /*compare_errors=*/true);
    }
  }
}

TEST(StreamEventParser, AgreesOnEveryTruncationAndByteFlip) {
  for (const std::string& event : Events()) {
    for (size_t cut = 0; cut < event.size(); ++cut) {
      ExpectSame(event.substr(0, cut), Format::kOpenAiChat, false);
      ExpectSame(event.substr(0, cut), Format::kOpenAiCompletions, false);
    }
    for (size_t i = 0; i < event.size(); ++i) {
      for (char c : {'"', '{', '}', '[', ']', ',', ':', 'x', '\\'}) {
        std::string mutated = event;
        mutated[i] = c;
        if (mutated == "[DONE]") continue;
        ExpectSame(mutated, Format::kOpenAiChat, false);
        ExpectSame(mutated, Format::kOpenAiCompletions, false);
        ExpectSame(mutated, Format::kTriton, false);
      }
    }
  }
}

const std::vector<std::string>& Bodies() {
  static const std::vector<std::string> bodies = {
      R"({"id":"c","object":"text_completion","choices":[{"index":0,"text":" one two","finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})",
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"Hi \u00e9\n\"q\""},"finish_reason":"stop"}],"usage":{"completion_tokens":3}})",
      R"({"choices":[{"message":{"role":"assistant","reasoning_content":"think","content":"answer"}}]})",
      R"({"choices":[{"message":{"reasoning_content":"only thinking","content":null}}]})",
      R"({"choices":[{"message":{"content":""}}],"usage":{"completion_tokens":0}})",
      R"({"choices":[{"text":""}]})",
      R"({"choices":[{"delta":{"content":"a stream chunk, not a body"}}]})",
      R"({"choices":[{"text":"first"},{"text":"second"}]})",
      R"({"choices":[],"usage":{"completion_tokens":7}})",
      R"({"choices":[{"text":"t"}],"usage":{"prompt_tokens":11,"total_tokens":11}})",
      R"({"choices":[{"text":"t","usage":{"prompt_tokens":8}}],"prompt_tokens":9})",
      R"({"choices":null})",
      R"({"choices":["not an object"]})",
      R"({"choices":[[{"text":"nested"}]]})",
      R"({"choices":{"text":"not an array"}})",
      R"({"usage":{"completion_tokens":4}})",
      R"({"nested":{"choices":[{"text":"no"}]},"choices":[{"text":"ok","logprobs":{"text":"no"}}]})",
      R"({"error":{"message":"context too long","code":400}})",
      R"({"error":"plain text error","choices":[{"text":"x"}]})",
      R"({"error":null,"choices":[{"text":"fine"}]})",
      R"([{"choices":[{"text":"in an array"}]}])",
      R"({"choices":[{"text":"a"}]} trailing)",
      "",
  };
  return bodies;
}

void ExpectSameBody(const std::string& body, bool chat, bool compare_errors) {
  JsonReader json;
  ParsedResponse reference;
  const bool reference_ok = ParseOpenAiBody(body, chat, json, &reference);
  StreamEventParser parser;
  ParsedResponse got;
  const bool ok = parser.ParseOpenAiBody(body, chat, &got);
  const std::string where = "body: " + body + (chat ? " (chat)" : " (completions)");
  EXPECT_EQ(ok, reference_ok) << where;
  if (ok) {
    EXPECT_EQ(got.output, reference.output) << where;
    EXPECT_EQ(got.usage_tokens, reference.usage_tokens) << where;
    EXPECT_EQ(got.prompt_tokens, reference.prompt_tokens) << where;
    EXPECT_EQ(got.content_chunks, reference.content_chunks) << where;
  } else if (compare_errors) {
    EXPECT_EQ(got.error, reference.error) << where;
  }
}

TEST(StreamEventParser, ReadsWholeBodiesLikeTheDocumentParser) {
  for (const std::string& body : Bodies()) {
    for (const bool chat : {false, true}) ExpectSameBody(body, chat, /*compare_errors=*/true);
  }
}

TEST(StreamEventParser, ReadsWholeBodiesLikeTheDocumentParserOnEveryTruncationAndByteFlip) {
  for (const std::string& body : Bodies()) {
    for (size_t cut = 0; cut < body.size(); ++cut) {
      ExpectSameBody(body.substr(0, cut), false, false);
      ExpectSameBody(body.substr(0, cut), true, false);
    }
    for (size_t i = 0; i < body.size(); ++i) {
      for (char c : {'"', '{', '}', '[', ']', ',', ':', 'x', '\\'}) {
        std::string mutated = body;
        mutated[i] = c;
        ExpectSameBody(mutated, false, false);
        ExpectSameBody(mutated, true, false);
      }
    }
  }
}

TEST(StreamEventParser, ReusedAcrossEventsAndAfterErrors) {
  StreamEventParser parser;
  ParsedResponse r;
  EXPECT_EQ(parser.Parse(R"({"choices":[{"delta":{"content":"a"}}]})", Format::kOpenAiChat, {}, &r),
            EventKind::kContent);
  EXPECT_EQ(parser.Parse(R"({"choices":[{"delta":)", Format::kOpenAiChat, {}, &r),
            EventKind::kError);
  r.error.clear();
  EXPECT_EQ(parser.Parse(R"({"choices":[{"delta":{"content":"b"}}]})", Format::kOpenAiChat, {}, &r),
            EventKind::kContent);
  EXPECT_EQ(parser.Parse(R"({"choices":[],"usage":{"completion_tokens":2}})", Format::kOpenAiChat,
                         {}, &r),
            EventKind::kNoOutput);
  EXPECT_EQ(parser.Parse("[DONE]", Format::kOpenAiChat, {}, &r), EventKind::kDone);
  EXPECT_EQ(r.output, "ab");
  EXPECT_EQ(r.content_chunks, 2);
  EXPECT_EQ(r.usage_tokens, 2);
  EXPECT_TRUE(r.done);
}

TEST(StreamEventParser, ReadsPromptTokensFromTheUsageChunkAndBody) {
  StreamEventParser parser;
  ParsedResponse r;
  EXPECT_EQ(parser.Parse(R"({"choices":[{"delta":{"content":"a"}}],"usage":null})",
                         Format::kOpenAiChat, {}, &r),
            EventKind::kContent);
  EXPECT_EQ(r.prompt_tokens, -1);
  // llama.cpp's and vLLM's include_usage chunk: no choices, then usage.
  EXPECT_EQ(
      parser.Parse(
          R"({"choices":[],"usage":{"completion_tokens":4,"prompt_tokens":17,"total_tokens":21}})",
          Format::kOpenAiChat, {}, &r),
      EventKind::kNoOutput);
  EXPECT_EQ(r.prompt_tokens, 17);
  EXPECT_EQ(r.usage_tokens, 4);
  // Only root.usage counts, not a prompt_tokens elsewhere.
  ParsedResponse nested;
  EXPECT_EQ(
      parser.Parse(R"({"prompt_tokens":9,"choices":[{"text":"x","usage":{"prompt_tokens":8}}]})",
                   Format::kOpenAiCompletions, {}, &nested),
      EventKind::kContent);
  EXPECT_EQ(nested.prompt_tokens, -1);
  // Triton events carry no OpenAI usage.
  ParsedResponse triton;
  parser.Parse(R"({"text_output":"t","usage":{"prompt_tokens":3}})", Format::kTriton, "text_output",
               &triton);
  EXPECT_EQ(triton.prompt_tokens, -1);
  ParsedResponse body;
  EXPECT_TRUE(parser.ParseOpenAiBody(
      R"({"choices":[{"text":"ab"}],"usage":{"prompt_tokens":5,"completion_tokens":2}})", false,
      &body));
  EXPECT_EQ(body.prompt_tokens, 5);
  EXPECT_EQ(body.usage_tokens, 2);
  // A truncated usage chunk is an error; the next response starts unknown again.
  ParsedResponse cut;
  EXPECT_EQ(
      parser.Parse(R"({"choices":[],"usage":{"prompt_tokens":17)", Format::kOpenAiChat, {}, &cut),
      EventKind::kError);
  cut.Reset();
  EXPECT_EQ(cut.prompt_tokens, -1);
}

}  // namespace
}  // namespace loadgen::net
