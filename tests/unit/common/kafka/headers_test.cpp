#include "common/kafka/headers.h"

#include <gtest/gtest.h>

#include <ranges>
#include <vector>

#include "common/kafka/error.h"
#include "common/kafka/message.h"

namespace wsgw::kafka {
namespace {

TEST(OwnedHeaders, GetFindsTheLastValueWithThatName) {
  OwnedHeaders headers;
  headers.add("x-op", "emit");
  headers.add("x-room", "first");
  headers.add("x-room", "second");
  EXPECT_EQ(headers.get("x-op"), "emit");
  EXPECT_EQ(headers.get("x-room"), "second");
  EXPECT_EQ(headers.get("x-missing"), std::nullopt);
  EXPECT_EQ(headers.get("x-o"), std::nullopt);  // no prefix matches
  EXPECT_EQ(headers.size(), 3u);
}

TEST(OwnedHeaders, EmptyValueIsPresentNotMissing) {
  OwnedHeaders headers;
  headers.add("x-except", "");
  ASSERT_TRUE(headers.get("x-except").has_value());
  EXPECT_TRUE(headers.get("x-except")->empty());
}

TEST(OwnedHeaders, CopyOfOwnsBinaryBytesAndViewRoundTrips) {
  std::string name = "x-bin";
  std::string value("\0\x01\xff\x7f", 4);
  const std::vector<Header> source = {{name, value}, {"x-op", "event"}};
  OwnedHeaders owned = OwnedHeaders::copy_of(source);
  name.assign("changed");
  value.assign("changed");
  EXPECT_EQ(owned.get("x-bin"), std::string_view("\0\x01\xff\x7f", 4));
  const std::vector<Header> view = owned.view();
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0].name, "x-bin");
  EXPECT_EQ(view[0].value.size(), 4u);
  EXPECT_EQ(view[1].value, "event");
  owned.clear();
  EXPECT_TRUE(owned.empty());
}

static_assert(std::ranges::forward_range<MessageHeaders>, "headers work with range algorithms");

TEST(Message, DefaultIsInvalidAndReadsAsEmpty) {
  const Message message;
  EXPECT_FALSE(message.valid());
  EXPECT_TRUE(message.topic().empty());
  EXPECT_TRUE(message.key().empty());
  EXPECT_TRUE(message.value().empty());
  EXPECT_TRUE(message.headers().empty());
  EXPECT_EQ(message.headers().get("x-op"), std::nullopt);
  EXPECT_EQ(message.headers().begin(), message.headers().end());
  EXPECT_EQ(message.offset(), -1);
  EXPECT_EQ(message.timestamp_ms(), -1);
}

TEST(Errors, DescribeAndNameKnownCodes) {
  constexpr ErrorCode kQueueFull = -184;  // RD_KAFKA_RESP_ERR__QUEUE_FULL
  EXPECT_EQ(error_name(kQueueFull), "_QUEUE_FULL");
  EXPECT_NE(describe_error(kQueueFull).find("Queue full"), std::string_view::npos);
  EXPECT_EQ(error_name(kNoError), "NO_ERROR");
  EXPECT_FALSE(describe_error(123456).empty());  // unknown codes still get text
}

}  // namespace
}  // namespace wsgw::kafka
