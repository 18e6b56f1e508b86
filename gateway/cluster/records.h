#pragma once
// The gateway's side of the Kafka record contract (common/cluster/contract.h): building the
// upstream records a socket's life produces, and reading downstream records into work for the
// workers. Pure functions: no Kafka I/O here, so both directions are unit-tested and the
// downstream reader (it parses data from the network) is fuzzed.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/kafka/headers.h"
#include "gateway/session/delivery.h"

namespace wsgw::session {
class NamespaceSocket;
}

namespace wsgw::cluster {

struct UpstreamRecord {
  std::string key;  // the socket id: one partition per socket keeps its events in order
  kafka::OwnedHeaders headers;
  std::string value;
};

// What every upstream record of this gateway carries besides the socket's own data.
struct UpstreamContext {
  std::string_view node;      // this gateway's node name
  std::string_view trace_id;  // new per record
  int64_t now_ms = 0;         // x-ts-gateway-in
};

UpstreamRecord upstream_connect(const session::NamespaceSocket& s, std::string_view auth_json,
                                int64_t connected_at_ms, const UpstreamContext& ctx);
// A kick's text travels to on_disconnect inside the reason string: "kicked\n<text>" (the
// session layer passes the reason through untouched). upstream_disconnect splits it again
// into the value "kicked" and the x-detail header.
std::string kick_reason(std::string_view detail);
UpstreamRecord upstream_disconnect(const session::NamespaceSocket& s, std::string_view reason,
                                   const UpstreamContext& ctx);
// `args` are the event's arguments as scanned from the packet: the array text without the
// event name and without brackets (sio::EventView::args).
UpstreamRecord upstream_event(const session::NamespaceSocket& s, std::string_view event,
                              std::string_view args, std::optional<uint64_t> ack_id,
                              std::span<const std::string> attachments, const UpstreamContext& ctx);
// The client's answer to a server ack; the caller produces it to wsgw.acks, partition
// ack_id_partition(ack_id, partitions) (contract.h), not to wsgw.upstream.
// `args_json` is the ACK packet's JSON array as received.
UpstreamRecord upstream_ack(const session::NamespaceSocket& s, uint64_t ack_id,
                            std::string_view args_json, std::span<const std::string> attachments,
                            const UpstreamContext& ctx);

// One downstream record, read.
struct DownstreamCommand {
  enum class Kind : uint8_t { emit, join, leave, kick, skip };
  Kind kind = Kind::skip;
  // emit: the whole delivery (message built once here). join/leave/kick: target, key and nsp
  // name the socket(s) concerned (Target::socket or Target::user).
  session::Delivery delivery;
  std::string room;    // join / leave
  std::string reason;  // kick
  bool close_connection = false;  // kick: x-close = "1"
  int64_t ts_api_ms = 0;  // x-ts-api (when ws-api sent it), 0 when absent
};

// Reads a downstream record. Records addressed to another node come back as Kind::skip (true).
// Malformed records return false with `error` set; they must be counted and dropped.
bool parse_downstream(std::span<const kafka::Header> headers, std::string_view value,
                      std::string_view self_node, DownstreamCommand& out, std::string& error);

// A timestamp header (decimal milliseconds since the Unix epoch, e.g. x-ts-api), or nullopt
// when absent or not a plain non-negative number.
std::optional<int64_t> header_millis(std::span<const kafka::Header> headers, std::string_view name);

// Limits on what a downstream record may carry (bounded memory on hostile input).
inline constexpr uint32_t kMaxAttachments = 10;  // as ws-api validates Emit requests
inline constexpr size_t kMaxExcept = 1000;

}  // namespace wsgw::cluster
