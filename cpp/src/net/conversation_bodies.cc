#include "net/conversation_bodies.h"

#include <stdexcept>

namespace loadgen::net {

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

ConversationBodies::ConversationBodies(const ConversationLayout& layout,
                                       const std::vector<std::string>& bodies)
    : turns_(bodies.size()), user_messages_(bodies.size()), answers_(bodies.size()) {
  for (const ConversationTurn& t : layout.turns) {
    const std::string where = "conversation turn (sample " + std::to_string(t.sample) + ")";
    if (t.sample >= bodies.size()) throw std::invalid_argument(where + ": no such sample");
    const std::string& body = bodies[t.sample];
    if (t.message_begin >= t.message_end || t.message_end > body.size()) {
      throw std::invalid_argument(where + ": the user message is outside the body");
    }
    Turn& turn = turns_[t.sample];
    if (turn.in_conversation) throw std::invalid_argument(where + ": the sample is given twice");
    turn = {true, t.turn, t.message_begin, t.message_end, t.conversation};
    if (t.conversation >= conversation_.size()) conversation_.resize(t.conversation + 1);
    std::vector<uint64_t>& samples = conversation_[t.conversation];
    if (t.turn >= samples.size()) samples.resize(t.turn + 1, UINT64_MAX);
    if (samples[t.turn] != UINT64_MAX) {
      throw std::invalid_argument(where + ": conversation " + std::to_string(t.conversation) +
                                  " has turn " + std::to_string(t.turn) + " twice");
    }
    samples[t.turn] = t.sample;
    user_messages_[t.sample] = body.substr(t.message_begin, t.message_end - t.message_begin);
  }
  for (size_t c = 0; c < conversation_.size(); ++c) {
    for (size_t k = 0; k < conversation_[c].size(); ++k) {
      if (conversation_[c][k] == UINT64_MAX) {
        throw std::invalid_argument("conversation " + std::to_string(c) + " has no turn " +
                                    std::to_string(k));
      }
    }
  }
}

std::string_view ConversationBodies::Body(uint64_t sample, std::string_view body,
                                          std::string* storage) const {
  if (sample >= turns_.size() || !turns_[sample].in_conversation || turns_[sample].turn == 0) {
    return body;
  }
  const Turn& turn = turns_[sample];
  const std::vector<uint64_t>& earlier = conversation_[turn.conversation];
  storage->clear();
  storage->append(body.substr(0, turn.message_begin));
  for (uint32_t k = 0; k < turn.turn; ++k) {
    const uint64_t s = earlier[k];
    storage->append(user_messages_[s]);
    storage->append(",{\"role\":\"assistant\",\"content\":");
    storage->append(answers_[s].empty() ? std::string_view("\"\"") : answers_[s]);
    storage->append("},");
  }
  storage->append(body.substr(turn.message_begin));
  return *storage;
}

void ConversationBodies::RecordAnswer(uint64_t sample, std::string_view answer) {
  if (sample >= turns_.size() || !turns_[sample].in_conversation) return;
  std::string& kept = answers_[sample];
  kept.clear();
  AppendJsonString(answer, &kept);
}

}  // namespace loadgen::net
