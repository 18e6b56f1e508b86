#include "gateway/cluster/bus_command.h"

#include <gtest/gtest.h>

#include <string>

namespace wsgw::cluster {
namespace {

TEST(BusCommand, LogLevelAcceptsEachLevel) {
  for (std::string level : {"trace", "debug", "info", "warn", "error"}) {
    const auto c = parse_bus_command("log-level " + level);
    ASSERT_TRUE(c.ok()) << level << ": " << c.error;
    EXPECT_EQ(c.kind, BusCommand::Kind::log_level);
    EXPECT_EQ(c.level, level);
    EXPECT_EQ(c.command_label(), "log-level");
    EXPECT_EQ(c.result_label(), "ok");
  }
}

TEST(BusCommand, LevelPointsAtStaticStorageNotTheInput) {
  std::string text = "log-level debug";
  const auto c = parse_bus_command(text);
  text.assign(text.size(), 'x');
  EXPECT_EQ(c.level, "debug");
}

TEST(BusCommand, DrainAndSurroundingWhiteSpace) {
  for (std::string_view text : {"drain", "  drain\n", "\tdrain\r\n"}) {
    const auto c = parse_bus_command(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(c.kind, BusCommand::Kind::drain);
    EXPECT_EQ(c.command_label(), "drain");
  }
  EXPECT_TRUE(parse_bus_command(" log-level \t warn \n").ok());
}

TEST(BusCommand, KnownVerbsWithBadArgumentsAreMalformed) {
  for (std::string_view text : {"log-level", "log-level verbose", "log-level info extra",
                                "log-level INFO", "log-level critical", "drain now"}) {
    const auto c = parse_bus_command(text);
    EXPECT_EQ(c.status, BusCommand::Status::malformed) << text;
    EXPECT_EQ(c.result_label(), "malformed");
    EXPECT_NE(c.command_label(), "unknown") << text;
    EXPECT_FALSE(c.error.empty());
  }
}

TEST(BusCommand, UnknownVerbsEmptyAndOversizedAreUnknown) {
  const std::string huge = "drain" + std::string(kMaxBusCommandBytes, ' ');
  for (std::string_view text : {std::string_view(""), std::string_view("   "),
                                std::string_view("DRAIN"), std::string_view("reboot"),
                                std::string_view("log-levelx info"), std::string_view(huge)}) {
    const auto c = parse_bus_command(text);
    EXPECT_EQ(c.status, BusCommand::Status::unknown) << text;
    EXPECT_EQ(c.command_label(), "unknown");
    EXPECT_EQ(c.result_label(), "unknown");
    EXPECT_FALSE(c.error.empty());
  }
}

TEST(BusCommand, ErrorTextNeverEchoesControlBytesOrLongInput) {
  const std::string text = std::string("\x01\x1b[31m") + std::string(200, 'a');
  const auto c = parse_bus_command(text);
  EXPECT_EQ(c.status, BusCommand::Status::unknown);
  EXPECT_LT(c.error.size(), 80u);
  for (char ch : c.error) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << int(ch);
}

TEST(BusCommand, NulBytesAreNotSeparators) {
  EXPECT_FALSE(parse_bus_command(std::string_view("drain\0x", 7)).ok());
}

TEST(BusCommand, Channels) {
  EXPECT_EQ(bus_node_channel("gw-a"), "wsgw:bus:gw-a");
  EXPECT_EQ(kBusChannel, "wsgw:bus");
}

}  // namespace
}  // namespace wsgw::cluster
