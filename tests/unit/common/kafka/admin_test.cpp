#include "common/kafka/admin.h"

#include <gtest/gtest.h>

#include <chrono>

#include "kafka_test_support.h"

namespace wsgw::kafka {
namespace {

using testing::shared_cluster;

// librdkafka 2.0.2's mock cluster names a controller (id 0) that is none of its brokers (ids 1..N),
// so CreateTopics cannot reach it there: these tests cover validation and failure paths only. The
// successful path needs a real broker (integration tests); the demo stack uses
// MockCluster::create_topic instead.

TEST(Admin, RejectsInvalidSpecsBeforeContactingTheCluster) {
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(create_topics(shared_cluster().bootstrap_servers(), {{"ok", 1, 1}, {"bad", 0, 1}}, error, 3000));
  EXPECT_NE(error.find("bad"), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));

  error.clear();
  EXPECT_FALSE(create_topics("", {{"t", 1, 1}}, error));
  EXPECT_NE(error.find("brokers"), std::string::npos);

  error.clear();
  EXPECT_FALSE(create_topics("127.0.0.1:1", {{"t", 1, 1}}, error, 100, {{"no.such.property", "1"}}));
  EXPECT_NE(error.find("no.such.property"), std::string::npos) << error;

  error.clear();
  EXPECT_TRUE(create_topics("127.0.0.1:1", {}, error));  // nothing to do
}

TEST(Admin, GivesUpAfterTheTimeoutWhenNoControllerAnswers) {
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(create_topics("127.0.0.1:1", {{"t", 1, 1}}, error, 300, testing::quiet()));
  EXPECT_NE(error.find("imed out"), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

}  // namespace
}  // namespace wsgw::kafka
