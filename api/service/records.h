#pragma once
// ws-api's side of the Kafka record contract (common/cluster/contract.h): building the
// downstream records that carry pushes and membership commands to the gateways, and reading
// the upstream records the gateways produce into wsgw.v1.ClientEvent. Pure functions, no
// Kafka I/O: both directions are unit-tested byte for byte, and the upstream reader (it parses
// data a client controls) is fuzzed.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "api/service/packet_builder.h"
#include "common/kafka/headers.h"

namespace wsgw::kafka {
class Message;
}

namespace wsgw::v1 {
class ClientEvent;
}

namespace wsgw::api {

// ---------------------------------------------------------------------------------------------
// Downstream (ws-api -> gateways)

// One record, ready for Producer::send_to(topic, partition, "", value, headers.view()), or
// Producer::send when partition is -1.
struct DownstreamRecord {
  std::string topic;
  int32_t partition = -1;  // -1: any partition
  std::string key;         // empty (null key) except for upstream records ws-api writes
  kafka::OwnedHeaders headers;
  std::string value;
};

// Who an emit reaches inside its namespace.
struct EmitTarget {
  enum class Kind : uint8_t { everyone, sid, uid, room };
  Kind kind = Kind::everyone;
  std::string_view key;  // the socket id, user id or room; empty for everyone

  static EmitTarget everyone() { return {}; }
  static EmitTarget socket(std::string_view sid) { return {Kind::sid, sid}; }
  static EmitTarget user(std::string_view uid) { return {Kind::uid, uid}; }
  static EmitTarget room(std::string_view room) { return {Kind::room, room}; }
};

// Whose sockets a join, leave or kick concerns: one socket, or every socket of a user.
struct SocketTarget {
  enum class Kind : uint8_t { sid, uid };
  Kind kind = Kind::sid;
  std::string_view key;

  static SocketTarget socket(std::string_view sid) { return {Kind::sid, sid}; }
  static SocketTarget user(std::string_view uid) { return {Kind::uid, uid}; }
};

// Where a downstream record goes, and what every downstream record carries.
struct DownstreamContext {
  // The target gateway's node name: the record goes to wsgw.downstream with x-node. Empty: it
  // goes to wsgw.broadcast without x-node, and every gateway acts on it (emit to everyone).
  std::string_view node;
  int32_t partition = -1;     // partition_for_worker(the node's worker id, ...); -1: any
  std::string_view trace_id;  // x-trace-id
  int64_t ts_api_ms = 0;      // x-ts-api, milliseconds since the Unix epoch
};

// The downstream partition a gateway node reads: its worker id modulo the topic's partition
// count. -1 (any) when partitions <= 0, which only a misconfiguration produces.
int32_t partition_for_worker(uint16_t worker_id, int32_t partitions);

// Every function below expects input that validate() (validate.h) accepted: names without
// commas or control characters, `attachments.size() == packet.attachments`. On anything else
// the record is unspecified but memory-safe.

// An emit. value = packet.text, or with attachments the MessagePack array
// [str packet.text, bin attachment_1 ... bin attachment_N] and x-attachments = N.
// Headers, in this order: x-op, x-ns, [x-node], [x-sid | x-uid | x-room], [x-except],
// [x-volatile], [x-attachments], x-trace-id, x-ts-api.
DownstreamRecord make_emit_record(const SocketIoPacket& packet,
                                  std::span<const std::string_view> attachments,
                                  std::string_view nsp, const EmitTarget& target,
                                  std::span<const std::string_view> except_sids, bool is_volatile,
                                  const DownstreamContext& context);
// One room per record; empty value. Headers: x-op, x-ns, [x-node], x-sid | x-uid, x-room,
// x-trace-id, x-ts-api.
DownstreamRecord make_join_record(std::string_view nsp, const SocketTarget& target,
                                  std::string_view room, const DownstreamContext& context);
DownstreamRecord make_leave_record(std::string_view nsp, const SocketTarget& target,
                                   std::string_view room, const DownstreamContext& context);
// value = the reason text. Headers: x-op, x-ns, [x-node], x-sid | x-uid, x-trace-id, x-ts-api.
// close_connection: x-close = "1", the gateway ends each target's whole connection.
DownstreamRecord make_kick_record(std::string_view nsp, const SocketTarget& target,
                                  std::string_view reason, const DownstreamContext& context,
                                  bool close_connection = false);

// ---------------------------------------------------------------------------------------------
// Upstream (gateways -> ws-api)

// The `disconnect` record ws-api's reaper writes to wsgw.upstream for a session of a dead
// gateway node, as that node would have (key = sid, value = "node_lost"), so subscribers see
// it like any other disconnect. Headers: x-op, x-sid, x-ns, x-node (the dead node), [x-uid],
// x-trace-id, x-ts-api.
DownstreamRecord make_reaped_disconnect_record(std::string_view sid, std::string_view uid,
                                               std::string_view nsp, std::string_view dead_node,
                                               std::string_view trace_id, int64_t ts_api_ms);

enum class UpstreamOp : uint8_t { connect, disconnect, event, ack };

// Bounds on what an upstream record may carry (bounded memory on hostile input).
inline constexpr uint32_t kMaxUpstreamAttachments = 10;  // the gateway's Socket.IO decoder default
inline constexpr std::size_t kMaxConnectRooms = 1024;    // rooms joined while connecting
inline constexpr std::size_t kMaxUpstreamHeaders = 32;   // the contract uses at most 9

// Reads one upstream record into `out` (cleared first) and tells which op it was:
//   connect     out.connected.socket: sid, uid, namespace, node, rooms, auth_json ("{}" when
//               the client sent none), connected_at.
//   disconnect  out.disconnected: reason, code (docs/close-codes.md; 0 for a reason outside that
//               table, e.g. "client namespace disconnect"); detail stays empty.
//   event       out.event: name, args_json ("[]" when empty), attachments, and ack when the
//               client asked for one.
//   ack         the client's answer to a server ack (EmitWithAck): out.event with an empty name,
//               args_json and attachments, and ack.ack_id = the id the server used. Never meant
//               for subscribers.
// Every op also fills sid, uid, namespace and metadata (trace_id, node, one hop per x-ts-*
// header in record order). event_id is left empty (the Message overload sets it).
// Required headers: x-op, x-sid, x-ns, x-node; x-event for event; x-ack-id for ack. The other
// headers are checked when present. Each field must follow the rules of api.proto (the
// validate.h checks), so subscribers get nothing a request could not have held.
// Returns false with `error` set ("x-sid: must not be empty") on anything malformed (true
// clears it); never
// throws. Where duplicate headers exist, the last one counts (like MessageHeaders::get).
bool parse_upstream(std::span<const kafka::Header> headers, std::string_view value,
                    UpstreamOp& op, v1::ClientEvent& out, std::string& error);

// Same for a consumed record; also sets out.event_id = upstream_event_id(partition, offset).
bool parse_upstream(const kafka::Message& message, UpstreamOp& op, v1::ClientEvent& out,
                    std::string& error);

// "<partition>-<offset>": the same for a record delivered twice, unique per record of the topic.
std::string upstream_event_id(int32_t partition, int64_t offset);

}  // namespace wsgw::api
