// ConversationBodies (net/conversation_bodies.h): a later turn's chat request carries the
// earlier user messages and the answers the server gave, in order, as exact JSON.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "net/conversation_bodies.h"

namespace loadgen::net {
namespace {

// A body as python/loadgen/net/requests.py renders a chat turn: one user message.
std::string Body(const std::string& text, size_t* begin, size_t* end) {
  const std::string head = "{\"model\":\"m\",\"messages\":[";
  const std::string message = "{\"role\":\"user\",\"content\":\"" + text + "\"}";
  *begin = head.size();
  *end = head.size() + message.size();
  return head + message + "],\"max_tokens\":8,\"stream\":true}";
}

TEST(ConversationBodies, ALaterTurnCarriesTheHistoryWithTheAnswersReceived) {
  std::vector<std::string> bodies(4);
  ConversationLayout layout;
  const char* texts[] = {"hi", "and then?", "thanks", "alone"};
  for (uint32_t i = 0; i < 4; ++i) {
    size_t b, e;
    bodies[i] = Body(texts[i], &b, &e);
    // Samples 0, 1, 2 are conversation 0's turns 2, 0, 1 (any order); sample 3 is alone.
    const uint32_t turn = i == 0 ? 2 : i == 1 ? 0 : 1;
    if (i < 3) layout.turns.push_back({i, 0, turn, b, e});
  }
  // So the conversation is "and then?" (sample 1), "thanks" (sample 2), "hi" (sample 0).
  ConversationBodies conversations(layout, bodies);
  std::string storage;
  EXPECT_EQ(conversations.Body(1, bodies[1], &storage), bodies[1]);  // a first turn: as is
  EXPECT_EQ(conversations.Body(3, bodies[3], &storage), bodies[3]);  // no conversation
  conversations.RecordAnswer(1, "A \"quoted\"\nline");
  conversations.RecordAnswer(2, "ok");
  conversations.RecordAnswer(3, "ignored");
  EXPECT_EQ(conversations.Body(0, bodies[0], &storage),
            "{\"model\":\"m\",\"messages\":["
            "{\"role\":\"user\",\"content\":\"and then?\"},"
            "{\"role\":\"assistant\",\"content\":\"A \\\"quoted\\\"\\nline\"},"
            "{\"role\":\"user\",\"content\":\"thanks\"},"
            "{\"role\":\"assistant\",\"content\":\"ok\"},"
            "{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,\"stream\":true}");
  // A newer answer replaces the older one (the conversation ran again).
  conversations.RecordAnswer(2, "");
  EXPECT_NE(std::string(conversations.Body(0, bodies[0], &storage))
                .find("{\"role\":\"assistant\",\"content\":\"\"}"),
            std::string::npos);
}

TEST(ConversationBodies, RefusesALayoutThatDoesNotFitTheBodies) {
  size_t b, e;
  const std::vector<std::string> bodies = {Body("a", &b, &e), Body("b", &b, &e)};
  auto build = [&](std::vector<ConversationTurn> turns) {
    ConversationLayout layout{std::move(turns)};
    ConversationBodies c(layout, bodies);
  };
  EXPECT_THROW(build({{5, 0, 0, b, e}}), std::invalid_argument);        // no sample 5
  EXPECT_THROW(build({{0, 0, 0, b, e + 999}}), std::invalid_argument);  // outside the body
  EXPECT_THROW(build({{0, 0, 0, b, e}, {1, 0, 0, b, e}}), std::invalid_argument);  // turn twice
  EXPECT_THROW(build({{0, 0, 1, b, e}}), std::invalid_argument);                   // no turn 0
  EXPECT_NO_THROW(build({{0, 0, 0, b, e}, {1, 0, 1, b, e}}));
}

TEST(ConversationBodies, EscapesControlCharactersAndKeepsUtf8) {
  std::string out;
  AppendJsonString("a\x01\t\\ \xc3\xa9", &out);
  EXPECT_EQ(out, "\"a\\u0001\\t\\\\ \xc3\xa9\"");
}

}  // namespace
}  // namespace loadgen::net
