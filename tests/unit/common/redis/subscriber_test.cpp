// Pub/sub for the node bus: channels, patterns, unsubscribe, resubscription after a restart.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "common/redis/client.h"
#include "common/redis/subscriber.h"
#include "redis_server.h"

namespace wsgw::redis::testing {
namespace {

using namespace std::chrono_literals;

class SubscriberTest : public RedisTest {
 protected:
  std::vector<Message> received() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  Subscriber::MessageCallback collector() {
    return [this](const Message& m) {
      std::lock_guard lock(mutex_);
      messages_.push_back(m);
    };
  }
  // PUBLISH answers how many subscribers got the message: retry until `want` did, which also
  // proves the subscription is live.
  bool publish_until_received(Client& client, const std::string& channel, const std::string& payload,
                              int64_t want = 1) {
    return eventually([&] {
      Reply r = client.command_sync(Command{"PUBLISH"}.arg(channel).arg(payload), 1s);
      return r.is_integer() && r.integer() >= want;
    });
  }

  std::mutex mutex_;
  std::vector<Message> messages_;
};

TEST_F(SubscriberTest, ChannelsAndPatterns) {
  Client client(server().client_options());
  std::atomic<int> state_changes{0};
  Subscriber sub(server().subscriber_options(), collector(), [&](bool up) {
    if (up) ++state_changes;
  });
  sub.subscribe("wsgw.bus.node-a");
  sub.psubscribe("wsgw.bus.all.*");
  sub.subscribe("wsgw.bus.node-a");  // duplicate: no second subscription
  ASSERT_TRUE(eventually([&] { return sub.active_subscriptions() == 2; }));
  EXPECT_TRUE(sub.connected());
  EXPECT_EQ(state_changes.load(), 1);

  const std::string binary("kick\0sid\r\n", 10);
  ASSERT_TRUE(publish_until_received(client, "wsgw.bus.node-a", binary));
  ASSERT_TRUE(publish_until_received(client, "wsgw.bus.all.drain", "now"));
  EXPECT_EQ(client.command_sync({"PUBLISH", "wsgw.bus.node-b", "not for us"}, 1s), Reply::make_integer(0));
  ASSERT_TRUE(eventually([&] { return received().size() == 2; }));
  auto msgs = received();
  EXPECT_EQ(msgs[0].channel, "wsgw.bus.node-a");
  EXPECT_EQ(msgs[0].pattern, "");
  EXPECT_EQ(msgs[0].payload, binary);
  EXPECT_EQ(msgs[1].channel, "wsgw.bus.all.drain");
  EXPECT_EQ(msgs[1].pattern, "wsgw.bus.all.*");
  EXPECT_EQ(msgs[1].payload, "now");
  EXPECT_EQ(sub.messages_received(), 2u);
}

TEST_F(SubscriberTest, UnsubscribeStopsDelivery) {
  Client client(server().client_options());
  Subscriber sub(server().subscriber_options(), collector());
  sub.subscribe("c1");
  sub.psubscribe("p.*");
  ASSERT_TRUE(eventually([&] { return sub.active_subscriptions() == 2; }));
  sub.unsubscribe("c1");
  sub.punsubscribe("p.*");
  ASSERT_TRUE(eventually([&] { return sub.active_subscriptions() == 0; }));
  EXPECT_EQ(client.command_sync({"PUBLISH", "c1", "x"}, 1s), Reply::make_integer(0));
  EXPECT_EQ(client.command_sync({"PUBLISH", "p.1", "x"}, 1s), Reply::make_integer(0));
  sub.subscribe("c2");
  ASSERT_TRUE(publish_until_received(client, "c2", "y"));
  ASSERT_TRUE(eventually([&] { return received().size() == 1; }));
  EXPECT_EQ(received()[0].channel, "c2");
}

TEST_F(SubscriberTest, ResubscribesAfterServerRestart) {
  std::atomic<int> ups{0}, downs{0};
  Subscriber sub(server().subscriber_options(), collector(), [&](bool up) { ++(up ? ups : downs); });
  sub.subscribe("bus");
  sub.psubscribe("bus.*");
  ASSERT_TRUE(eventually([&] { return sub.active_subscriptions() == 2; }));

  server().kill_hard();
  ASSERT_TRUE(eventually([&] { return !sub.connected(); }, 3s));
  sub.subscribe("added-while-down");  // remembered and sent after the reconnect
  ASSERT_TRUE(server().restart());
  ASSERT_TRUE(eventually([&] { return sub.connected() && sub.active_subscriptions() == 3; }, 5s));
  EXPECT_EQ(downs.load(), 1);
  EXPECT_EQ(ups.load(), 2);
  EXPECT_EQ(sub.reconnects(), 1u);

  Client client(server().client_options());
  ASSERT_TRUE(publish_until_received(client, "bus", "1"));
  ASSERT_TRUE(publish_until_received(client, "bus.x", "2"));
  ASSERT_TRUE(publish_until_received(client, "added-while-down", "3"));
  ASSERT_TRUE(eventually([&] { return received().size() == 3; }));
}

TEST_F(SubscriberTest, StopsPromptlyWhileDisconnected) {
  SubscriberOptions options = server().subscriber_options();
  options.port = 1;
  options.reconnect_min_backoff = 5s;
  options.reconnect_max_backoff = 5s;
  const auto start = std::chrono::steady_clock::now();
  {
    Subscriber sub(options, collector());
    sub.subscribe("x");
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(sub.connected());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace wsgw::redis::testing
