#pragma once
// Operator-supplied librdkafka properties (`--kafka-option KEY=VALUE`, repeatable) for the
// connection settings a real cluster needs and our flags do not cover: security.protocol,
// sasl.mechanisms, sasl.username/password, ssl.ca.location, client.rack, ... Both daemons pass
// them to every producer, consumer and admin client they create, applied after our own settings
// (so they may also override a tuning default). librdkafka itself validates names and values
// when the client is created; this only checks the KEY=VALUE shape.
#include <map>
#include <string>
#include <vector>

namespace wsgw::kafka {

using Properties = std::map<std::string, std::string>;

// "key=value" items (the value may contain '=' and may be empty; the key may not). Later items
// override earlier ones. Fails on the first malformed item, naming it in `error` — without its
// value, which may be a secret.
bool parse_properties(const std::vector<std::string>& items, Properties& out, std::string& error);

}  // namespace wsgw::kafka
