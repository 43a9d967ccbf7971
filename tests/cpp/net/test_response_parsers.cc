#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "net/response_parsers.h"

namespace loadgen::net {
namespace {

TEST(OpenAiEvent, CompletionsTextAndUsageInTheFinishChunk) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"text":"Hel","index":0}]})", false, json, &r),
            EventKind::kContent);
  EXPECT_EQ(
      ParseOpenAiEvent(
          R"({"choices":[{"text":"lo","finish_reason":"length"}],"usage":{"completion_tokens":2,"prompt_tokens":5}})",
          false, json, &r),
      EventKind::kContent);
  EXPECT_EQ(ParseOpenAiEvent("[DONE]", false, json, &r), EventKind::kDone);
  EXPECT_EQ(r.output, "Hello");
  EXPECT_EQ(r.content_chunks, 2);
  EXPECT_EQ(r.usage_tokens, 2);
  EXPECT_EQ(r.prompt_tokens, 5);
  EXPECT_TRUE(r.done);
}

TEST(OpenAiEvent, ChatRoleChunkUsageChunkAndReasoning) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"delta":{"role":"assistant"}}]})", true, json, &r),
            EventKind::kNoOutput);
  EXPECT_EQ(
      ParseOpenAiEvent(R"({"choices":[{"delta":{"reasoning_content":"hmm"}}]})", true, json, &r),
      EventKind::kReasoning);
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"delta":{"content":"Hi"}}]})", true, json, &r),
            EventKind::kContent);
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[],"usage":{"completion_tokens":7}})", true, json, &r),
            EventKind::kNoOutput);
  EXPECT_EQ(r.output, "Hi");  // reasoning is not in the accuracy-log output
  EXPECT_EQ(r.content_chunks, 2);
  EXPECT_EQ(r.usage_tokens, 7);
}

TEST(OpenAiEvent, MalformedAndErrorEvents) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"text":"a"})", false, json, &r), EventKind::kError);
  EXPECT_NE(r.error.find("invalid JSON"), std::string::npos);
  r.Reset();
  EXPECT_EQ(ParseOpenAiEvent("[1,2]", false, json, &r), EventKind::kError);
  r.Reset();
  EXPECT_EQ(ParseOpenAiEvent(R"({"error":{"message":"context too long"}})", false, json, &r),
            EventKind::kError);
  EXPECT_EQ(r.error, "server error: context too long");
  // The reader recovers after an error.
  r.Reset();
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"text":"ok"}]})", false, json, &r),
            EventKind::kContent);
  EXPECT_EQ(r.output, "ok");
}

TEST(OpenAiEvent, LargeDocumentsOutgrowTheArena) {
  JsonReader json;
  ParsedResponse r;
  const std::string text(100000, 'z');
  EXPECT_EQ(ParseOpenAiEvent("{\"choices\":[{\"text\":\"" + text + "\"}]}", false, json, &r),
            EventKind::kContent);
  EXPECT_EQ(r.output, text);
}

TEST(OpenAiBody, CompletionsAndChat) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_TRUE(ParseOpenAiBody(R"({"choices":[{"text":"abc"}],"usage":{"completion_tokens":3}})",
                              false, json, &r));
  EXPECT_EQ(r.output, "abc");
  EXPECT_EQ(r.usage_tokens, 3);
  EXPECT_EQ(r.prompt_tokens, -1);  // not reported
  r.Reset();
  EXPECT_TRUE(ParseOpenAiBody(
      R"({"choices":[{"text":"abc"}],"usage":{"prompt_tokens":42,"completion_tokens":3}})", false,
      json, &r));
  EXPECT_EQ(r.prompt_tokens, 42);
  EXPECT_EQ(r.usage_tokens, 3);
  r.Reset();
  EXPECT_TRUE(ParseOpenAiBody(R"({"choices":[{"message":{"role":"assistant","content":"hey"}}]})",
                              true, json, &r));
  EXPECT_EQ(r.output, "hey");
  EXPECT_EQ(r.usage_tokens, -1);
  r.Reset();
  EXPECT_FALSE(ParseOpenAiBody(R"({"choices":[]})", true, json, &r));
  EXPECT_FALSE(ParseOpenAiBody("not json", true, json, &r));
}

TEST(TritonEvent, TextOutputAndTheEmptyFinalResponse) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_EQ(ParseTritonEvent(R"({"model_name":"stream","model_version":"1","text_output":"tok0 "})",
                             "text_output", json, &r),
            EventKind::kContent);
  EXPECT_EQ(
      ParseTritonEvent(R"({"model_name":"stream","text_output":""})", "text_output", json, &r),
      EventKind::kNoOutput);
  EXPECT_EQ(ParseTritonEvent(R"({"error":"model failed"})", "text_output", json, &r),
            EventKind::kError);
  EXPECT_EQ(r.output, "tok0 ");
  EXPECT_EQ(r.content_chunks, 1);
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}

std::string Fp32(float v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}

TEST(KserveBody, JsonOutputsInBinaryLayout) {
  JsonReader json;
  ParsedResponse r;
  const std::string body =
      R"({"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[1,2],"data":[[1.5,-2]]},)"
      R"({"name":"s","datatype":"BYTES","shape":[1],"data":["hi"]},)"
      R"({"name":"i","datatype":"INT32","shape":[1],"data":[7]}]})";
  ASSERT_TRUE(ParseKserveBody(body, body.size(), json, &r)) << r.error;
  EXPECT_EQ(r.output, Fp32(1.5f) + Fp32(-2.0f) + Le32(2) + "hi" + Le32(7));
}

TEST(KserveBody, BinaryTensorExtensionGivesTheSameBytes) {
  JsonReader json;
  ParsedResponse r;
  const std::string header =
      R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"s","datatype":"BYTES","shape":[1],"data":["hi"]}]})";
  const std::string body = header + Fp32(1.5f) + Fp32(-2.0f);
  ASSERT_TRUE(ParseKserveBody(body, header.size(), json, &r)) << r.error;
  EXPECT_EQ(r.output, Fp32(1.5f) + Fp32(-2.0f) + Le32(2) + "hi");
}

TEST(KserveBody, MalformedResponses) {
  JsonReader json;
  ParsedResponse r;
  EXPECT_FALSE(ParseKserveBody(R"({"error":"bad input"})", 21, json, &r));
  EXPECT_EQ(r.error, "server error: bad input");
  const std::string no_outputs = R"({"model_name":"m"})";
  EXPECT_FALSE(ParseKserveBody(no_outputs, no_outputs.size(), json, &r));
  const std::string short_binary =
      R"({"outputs":[{"name":"y","datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  EXPECT_FALSE(ParseKserveBody(short_binary + "1234", short_binary.size(), json, &r));
  const std::string bad_type = R"({"outputs":[{"name":"y","datatype":"FP99","data":[1]}]})";
  EXPECT_FALSE(ParseKserveBody(bad_type, bad_type.size(), json, &r));
  EXPECT_FALSE(ParseKserveBody("{}", 10, json, &r));
}

}  // namespace
}  // namespace loadgen::net
