#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "net/sse_framer.h"

namespace loadgen::net {
namespace {

std::vector<std::string> FeedPieces(const std::vector<std::string_view>& pieces,
                                    bool* at_boundary = nullptr) {
  SseFramer framer;
  std::vector<std::string> events;
  for (std::string_view piece : pieces) {
    EXPECT_TRUE(framer.Feed(piece, [&](std::string_view data) {
      events.emplace_back(data);
      return true;
    }));
  }
  if (at_boundary) *at_boundary = framer.AtEventBoundary();
  return events;
}

// Every way of cutting `stream` into two or three pieces gives the same events.
void ExpectSameAtEverySplit(std::string_view stream, const std::vector<std::string>& expected) {
  for (size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(FeedPieces({stream.substr(0, i), stream.substr(i)}), expected) << "split at " << i;
    for (size_t j = i; j <= stream.size(); ++j) {
      EXPECT_EQ(FeedPieces({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}),
                expected)
          << "split at " << i << " and " << j;
    }
  }
}

TEST(SseFramer, OpenAiStreamAtEveryByteBoundary) {
  const std::string stream =
      "data: {\"choices\":[{\"text\":\"a\"}]}\n\n"
      "data: {\"choices\":[{\"text\":\"b\"}]}\n\n"
      "data: [DONE]\n\n";
  ExpectSameAtEverySplit(
      stream, {"{\"choices\":[{\"text\":\"a\"}]}", "{\"choices\":[{\"text\":\"b\"}]}", "[DONE]"});
}

TEST(SseFramer, CrLfAndCrLineEndsAtEveryByteBoundary) {
  ExpectSameAtEverySplit("data: x\r\n\r\ndata: y\r\rdata:z\n\n", {"x", "y", "z"});
}

TEST(SseFramer, MultiLineDataIsJoinedWithLf) {
  EXPECT_EQ(FeedPieces({"data: one\ndata: two\ndata\n\n"}),
            (std::vector<std::string>{"one\ntwo\n"}));
}

TEST(SseFramer, CommentsAndOtherFieldsAreSkipped) {
  EXPECT_EQ(FeedPieces({": ping\n\nevent: message\nid: 7\nretry: 10\ndata:  two spaces\n\n"}),
            (std::vector<std::string>{" two spaces"}));
}

TEST(SseFramer, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(FeedPieces({"\n\n\r\n: c\n\n"}).empty());
}

TEST(SseFramer, ReportsAnUnfinishedEventAtTheEnd) {
  bool boundary = true;
  EXPECT_EQ(FeedPieces({"data: a\n\ndata: b\n"}, &boundary), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(boundary);
  EXPECT_TRUE(FeedPieces({"data: a\n\ndata: partial"}, &boundary).size() == 1);
  EXPECT_FALSE(boundary);
  FeedPieces({"data: a\n\n"}, &boundary);
  EXPECT_TRUE(boundary);
}

TEST(SseFramer, StopsWhenTheHandlerSaysSo) {
  SseFramer framer;
  int calls = 0;
  EXPECT_FALSE(framer.Feed("data: a\n\ndata: b\n\n", [&](std::string_view) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
}

TEST(SseFramer, RejectsAnEndlessLine) {
  SseFramer framer;
  const std::string chunk(1 << 20, 'x');
  bool ok = true;
  for (int i = 0; i < 20 && ok; ++i) {
    ok = framer.Feed(chunk, [](std::string_view) { return true; });
  }
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace loadgen::net
