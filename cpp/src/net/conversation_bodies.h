// The request bodies of multi-turn conversations on the OpenAI chat endpoint (docs/net.md,
// "Conversations"). Every turn's body is pre-rendered with only its own user message; when
// turn k of a conversation is issued, its body is rebuilt with the conversation's history in
// front of that message: each earlier turn's user message and the answer the server actually
// gave to it. Runs on the client's I/O thread only (issue and completion both happen there),
// so it takes no lock; a body is built into the query slot's own buffer, whose capacity is
// reused.
#ifndef LOADGEN_NET_CONVERSATION_BODIES_H_
#define LOADGEN_NET_CONVERSATION_BODIES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen::net {

/// Where a conversation turn's user message sits in its sample's pre-rendered body: the JSON
/// object `{"role":"user","content":...}` is body[message_begin, message_end), an element of
/// the body's "messages" array.
struct ConversationTurn {
  uint64_t sample = 0;  // the QSL index of the turn
  uint32_t conversation = 0;
  uint32_t turn = 0;  // 0 for the first turn of its conversation
  size_t message_begin = 0;
  size_t message_end = 0;
};

/// Every turn of every conversation, in any order (a conversation's turns are 0, 1, ...).
struct ConversationLayout {
  std::vector<ConversationTurn> turns;
};

class ConversationBodies {
 public:
  /// `bodies[i]` is sample i's body. Throws std::invalid_argument for a layout that does not
  /// fit them (a sample out of range, a message outside its body, a turn missing or repeated).
  ConversationBodies(const ConversationLayout& layout, const std::vector<std::string>& bodies);

  /// The body to send for `sample`: `body` itself unless the sample is a later turn of a
  /// conversation, then the body with the history, built into `*storage`. A turn whose
  /// answer has not arrived (it failed) has an empty assistant message.
  std::string_view Body(uint64_t sample, std::string_view body, std::string* storage) const;
  /// Keeps the answer (the assistant text received) of `sample` if it is a turn that a later
  /// turn needs. Call before the sample is completed to the engine, which issues the next
  /// turn only after that.
  void RecordAnswer(uint64_t sample, std::string_view answer);

 private:
  struct Turn {
    bool in_conversation = false;
    uint32_t turn = 0;
    size_t message_begin = 0;
    size_t message_end = 0;
    uint32_t conversation = 0;
  };
  std::vector<Turn> turns_;                          // by sample
  std::vector<std::vector<uint64_t>> conversation_;  // samples of each conversation, by turn
  std::vector<std::string> user_messages_;           // by sample (empty if none)
  std::vector<std::string> answers_;                 // by sample, as JSON string literals
};

/// Appends `text` as a JSON string literal (quotes included). Bytes of 0x80 and above are
/// copied (UTF-8 passes through); quotes, backslashes and control characters are escaped.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace loadgen::net

#endif  // LOADGEN_NET_CONVERSATION_BODIES_H_
