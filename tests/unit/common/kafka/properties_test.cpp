#include "common/kafka/properties.h"

#include <gtest/gtest.h>

#include "common/kafka/producer.h"

namespace wsgw::kafka {
namespace {

TEST(KafkaProperties, KeyValueItemsLaterOverrideEarlier) {
  Properties p;
  std::string error;
  ASSERT_TRUE(parse_properties({"security.protocol=SASL_SSL", "sasl.jaas.config=a=b", "empty=",
                                "security.protocol=SSL"},
                               p, error))
      << error;
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p["security.protocol"], "SSL");
  EXPECT_EQ(p["sasl.jaas.config"], "a=b") << "only the first '=' separates";
  EXPECT_EQ(p["empty"], "");
}

TEST(KafkaProperties, MalformedItemsAreRejectedWithoutEchoingTheValue) {
  for (const char* bad : {"no-equals-sign", "=value", "bad key=1", "key\n=1"}) {
    Properties p;
    std::string error;
    EXPECT_FALSE(parse_properties({bad}, p, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
  Properties p;
  std::string error;
  EXPECT_FALSE(parse_properties({"sasl password=hunter2"}, p, error));
  EXPECT_EQ(error.find("hunter2"), std::string::npos);
}

TEST(KafkaProperties, LibrdkafkaRejectsAnUnknownPropertyAtCreation) {
  // The shape is all we check; the client names the property it does not know.
  ProducerConfig c;
  c.brokers = "127.0.0.1:1";
  c.extra = {{"no.such.property", "1"}};
  std::string error;
  EXPECT_EQ(Producer::create(c, error), nullptr);
  EXPECT_NE(error.find("no.such.property"), std::string::npos) << error;
}

}  // namespace
}  // namespace wsgw::kafka
