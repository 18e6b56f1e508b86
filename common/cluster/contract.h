#pragma once
// The contract between ws-gateway and ws-api (ARCHITECTURE.md, "Kafka headers"): topic names,
// header names and operation names. Routing data travels in Kafka headers so a gateway never
// decodes a payload; record values are opaque bytes (a ready-to-send Socket.IO packet
// downstream, the raw event arguments upstream) or, for internal envelopes, MessagePack.
// Changing anything here is a protocol change between the two daemons: add, never rename.
#include <string_view>

namespace wsgw::cluster {

// Topics.
inline constexpr std::string_view kUpstreamTopic = "wsgw.upstream";      // gateway -> ws-api
inline constexpr std::string_view kDownstreamTopic = "wsgw.downstream";  // ws-api -> one gateway's partition
inline constexpr std::string_view kBroadcastTopic = "wsgw.broadcast";    // ws-api -> every gateway
inline constexpr std::string_view kAcksTopic = "wsgw.acks";              // gateway -> the waiting ws-api replica

// Headers (values are UTF-8 text unless noted).
namespace header {
inline constexpr std::string_view op = "x-op";            // one of the ops below
inline constexpr std::string_view sid = "x-sid";          // Socket.IO socket id (encoded Snowflake)
inline constexpr std::string_view uid = "x-uid";          // user id (JWT sub)
inline constexpr std::string_view room = "x-room";        // room name
inline constexpr std::string_view ns = "x-ns";            // Socket.IO namespace
inline constexpr std::string_view event = "x-event";      // event name
inline constexpr std::string_view ack_id = "x-ack-id";    // decimal ack id
inline constexpr std::string_view node = "x-node";        // origin (upstream) or target (downstream) node name
inline constexpr std::string_view except = "x-except";    // comma-separated socket ids to skip
inline constexpr std::string_view is_volatile = "x-volatile";  // "1" when the message may be dropped
inline constexpr std::string_view binary_count = "x-attachments";  // number of binary attachments
inline constexpr std::string_view trace_id = "x-trace-id";
inline constexpr std::string_view detail = "x-detail";    // disconnect: the kick's reason text
inline constexpr std::string_view close_connection = "x-close";  // kick: "1" = the whole connection
// One timestamp per hop, decimal milliseconds since the Unix epoch.
inline constexpr std::string_view ts_gateway_in = "x-ts-gateway-in";
inline constexpr std::string_view ts_api = "x-ts-api";
inline constexpr std::string_view ts_gateway_out = "x-ts-gateway-out";
}  // namespace header

// Operations (x-op).
namespace op {
// upstream
inline constexpr std::string_view connect = "connect";        // value: MessagePack session envelope
inline constexpr std::string_view disconnect = "disconnect";  // value: reason text
inline constexpr std::string_view event = "event";            // value: raw JSON arguments (+ attachments)
inline constexpr std::string_view ack = "ack";                // client answered a server ack
// downstream
inline constexpr std::string_view emit = "emit";              // value: ready-to-send Socket.IO packet
inline constexpr std::string_view join = "join";
inline constexpr std::string_view leave = "leave";
inline constexpr std::string_view kick = "kick";
}  // namespace op

// Record layouts (both daemons follow these; tests on each side check them byte for byte).
//
// Upstream, topic wsgw.upstream, key = socket id (per-socket order), headers always: x-op,
// x-sid, x-ns, x-node, x-trace-id, x-ts-gateway-in; x-uid when the socket has a user.
//   connect     value = MessagePack map {"sid","uid","nsp","node","auth" (JSON text of the
//               CONNECT payload, "" when none),"rooms" (array of str),"connected_at" (ms)}
//   disconnect  value = the close reason name (docs/close-codes.md, or
//               "client namespace disconnect"); for "kicked", x-detail = the reason text
//               given to DisconnectSocket / DisconnectUser
//   event       x-event = event name; x-ack-id when the client asked for an ack;
//               value = the arguments as a JSON array text (without the event name), or with
//               x-attachments = N > 0 a MessagePack array [json_text, bin_1 ... bin_N]
//   ack         NOT on wsgw.upstream but on wsgw.acks (below)
//
// Acks, topic wsgw.acks, partitions = the downstream partition count: a client's answer to a
// server ack (ws-api's EmitWithAck). ws-api chooses every server ack id as
// (api_worker_id << kAckIdWorkerShift) | sequence, api_worker_id being the replica's leased id;
// the gateway produces the answer to partition ack_id_partition(ack_id, partitions), which only
// that replica reads. Headers as upstream plus x-ack-id (decimal); value as for event.
// (Ack ids stay below 2^42, inside JavaScript's exact integers.)
//
// Downstream, topic wsgw.downstream (partition = target node's worker id % partitions) and
// wsgw.broadcast (everyone); headers: x-op, x-ns, x-trace-id, x-ts-api; x-node = target node
// name (absent on wsgw.broadcast; a gateway skips records naming another node).
//   emit   target = at most one of x-sid, x-uid, x-room (none = everyone in x-ns);
//          x-except = comma-separated socket ids; x-volatile = "1"; value = the Socket.IO
//          packet text without the Engine.IO "4" (e.g. 2["news",{"n":1}]), or with
//          x-attachments = N > 0 a MessagePack array [packet_text, bin_1 ... bin_N]
//   join / leave  x-room plus x-sid or x-uid; empty value
//   kick   x-sid or x-uid; value = reason text; x-close = "1": close each target's whole
//          Engine.IO connection (every namespace socket on it), not only the namespace socket
inline constexpr int kDefaultDownstreamPartitions = 64;

inline constexpr unsigned kAckIdWorkerShift = 32;
constexpr int ack_id_partition(unsigned long long ack_id, int partitions) {
  return partitions > 0 ? static_cast<int>((ack_id >> kAckIdWorkerShift) % static_cast<unsigned>(partitions)) : 0;
}

}  // namespace wsgw::cluster
