#include "api/service/records.h"

#include <msgpack.hpp>

#include <array>
#include <charconv>
#include <exception>
#include <optional>

#include "api/service/validate.h"
#include "common/cluster/contract.h"
#include "common/kafka/message.h"
#include "common/protocol/close_codes.h"
#include "common/socketio/json.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

namespace header = cluster::header;

// ---------------------------------------------------------------------------------------------
// Downstream

// msgpack::packer writes to any stream with write(); this one appends to a std::string so the
// record value is built in place.
struct StringSink {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};

DownstreamRecord start_record(std::string_view op, std::string_view nsp,
                              const DownstreamContext& context) {
  DownstreamRecord record;
  record.topic = context.node.empty() ? cluster::kBroadcastTopic : cluster::kDownstreamTopic;
  record.partition = context.partition;
  record.headers.add(header::op, op);
  record.headers.add(header::ns, effective_namespace(nsp));
  if (!context.node.empty()) record.headers.add(header::node, context.node);
  return record;
}

void finish_record(DownstreamRecord& record, const DownstreamContext& context) {
  record.headers.add(header::trace_id, context.trace_id);
  record.headers.add(header::ts_api, std::to_string(context.ts_api_ms));
}

void add_socket_target(DownstreamRecord& record, const SocketTarget& target) {
  record.headers.add(target.kind == SocketTarget::Kind::sid ? header::sid : header::uid, target.key);
}

std::string join_with_commas(std::span<const std::string_view> items) {
  std::size_t size = items.empty() ? 0 : items.size() - 1;
  for (std::string_view item : items) size += item.size();
  std::string joined;
  joined.reserve(size);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) joined.push_back(',');
    joined.append(items[i]);
  }
  return joined;
}

// [str packet_text, bin attachment_1 ... bin attachment_N]
std::string packet_with_attachments(std::string_view packet_text,
                                    std::span<const std::string_view> attachments) {
  std::size_t size = 5 + 5 + packet_text.size();  // array and str headers are at most 5 bytes
  for (std::string_view attachment : attachments) size += 5 + attachment.size();
  std::string value;
  value.reserve(size);
  StringSink sink{value};
  msgpack::packer<StringSink> packer(sink);
  packer.pack_array(static_cast<uint32_t>(1 + attachments.size()));
  packer.pack_str(static_cast<uint32_t>(packet_text.size()));
  packer.pack_str_body(packet_text.data(), static_cast<uint32_t>(packet_text.size()));
  for (std::string_view attachment : attachments) {
    packer.pack_bin(static_cast<uint32_t>(attachment.size()));
    packer.pack_bin_body(attachment.data(), static_cast<uint32_t>(attachment.size()));
  }
  return value;
}

DownstreamRecord membership_record(std::string_view op, std::string_view nsp,
                                   const SocketTarget& target, std::string_view room,
                                   const DownstreamContext& context) {
  DownstreamRecord record = start_record(op, nsp, context);
  add_socket_target(record, target);
  record.headers.add(header::room, room);
  finish_record(record, context);
  return record;
}

// ---------------------------------------------------------------------------------------------
// Upstream

// The last value of each header the contract defines (Kafka allows duplicates).
struct UpstreamHeaders {
  std::optional<std::string_view> op, sid, uid, ns, event, ack_id, node, attachments, trace_id,
      detail;
};

constexpr std::string_view kHopPrefix = "x-ts-";
// 9999-12-31T23:59:59.999Z, the end of google.protobuf.Timestamp's range.
constexpr uint64_t kMaxTimestampMs = 253'402'300'799'999;
constexpr std::size_t kMaxConnectFields = 32;  // 7 today; room to add fields without a release

bool fail(std::string& error, std::string_view what, std::string_view why) {
  error.assign(what).append(": ").append(why);
  return false;
}

// Plain decimal digits only: no sign, no spaces, no hex; at most `max`.
bool parse_decimal(std::string_view text, uint64_t max, uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  const char* end = text.data() + text.size();
  const auto [stop, status] = std::from_chars(text.data(), end, out);
  return status == std::errc() && stop == end && out <= max;
}

void set_timestamp(google::protobuf::Timestamp& timestamp, uint64_t ms) {
  timestamp.set_seconds(static_cast<int64_t>(ms / 1000));
  timestamp.set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
}

// `why` is the verdict of a validate.h field check: empty when the value is fine.
bool accept(std::string_view name, std::string_view why, std::string& error) {
  return why.empty() || fail(error, name, why);
}

bool read_headers(std::span<const kafka::Header> headers, UpstreamHeaders& out,
                  v1::EventMetadata& metadata, std::string& error) {
  if (headers.size() > kMaxUpstreamHeaders) return fail(error, "headers", "too many");
  for (const kafka::Header& h : headers) {
    if (h.name == header::op) out.op = h.value;
    else if (h.name == header::sid) out.sid = h.value;
    else if (h.name == header::uid) out.uid = h.value;
    else if (h.name == header::ns) out.ns = h.value;
    else if (h.name == header::event) out.event = h.value;
    else if (h.name == header::ack_id) out.ack_id = h.value;
    else if (h.name == header::node) out.node = h.value;
    else if (h.name == header::binary_count) out.attachments = h.value;
    else if (h.name == header::trace_id) out.trace_id = h.value;
    else if (h.name == header::detail) out.detail = h.value;
    else if (h.name.starts_with(kHopPrefix)) {
      const std::string_view hop = h.name.substr(kHopPrefix.size());
      if (auto why = check_name(hop); !why.empty()) return fail(error, "x-ts-* hop name", why);
      uint64_t ms = 0;
      if (!parse_decimal(h.value, kMaxTimestampMs, ms)) {
        return fail(error, h.name, "not a timestamp in decimal milliseconds");
      }
      v1::HopTimestamp* entry = metadata.add_hops();
      entry->set_hop(std::string(hop));
      set_timestamp(*entry->mutable_time(), ms);
    }
    // Other headers are ignored: the contract may grow.
  }
  return true;
}

// Zero-copy: strings and binaries point into the record's value, which outlives the parse.
// Extension types are copied instead, so unpack_limit's ext bound (0) refuses them.
bool reference_all_but_ext(msgpack::type::object_type type, std::size_t, void*) {
  return type != msgpack::type::EXT;
}

// Unpacks exactly one MessagePack object filling all of `value`. msgpack-cxx reports malformed
// input and exceeded limits by throwing; that stays in here.
bool unpack_exactly(std::string_view value, const msgpack::unpack_limit& limit,
                    msgpack::object_handle& out) {
  try {
    std::size_t offset = 0;
    out = msgpack::unpack(value.data(), value.size(), offset, reference_all_but_ext, nullptr, limit);
    return offset == value.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::string_view as_view(const msgpack::object& object) {
  return object.type == msgpack::type::STR ? std::string_view(object.via.str.ptr, object.via.str.size)
                                           : std::string_view(object.via.bin.ptr, object.via.bin.size);
}

// The JSON text of a CONNECT payload: an object, or none.
std::string_view check_auth_json(std::string_view auth) {
  if (auth.empty()) return {};
  if (!sio::json_valid(auth)) return "is not valid JSON";
  const std::size_t first = auth.find_first_not_of(" \t\r\n");
  if (auth[first] != '{') return "must be a JSON object";
  return {};
}

bool parse_connect(std::string_view value, const UpstreamHeaders& headers,
                   v1::ClientEvent& out, std::string& error) {
  constexpr std::string_view what = "connect value";
  msgpack::object_handle handle;
  const msgpack::unpack_limit limit(/*array=*/kMaxConnectRooms, /*map=*/kMaxConnectFields,
                                    /*str=*/value.size(), /*bin=*/value.size(), /*ext=*/0,
                                    /*depth=*/2);
  if (!unpack_exactly(value, limit, handle)) {
    return fail(error, what, "not one MessagePack object within the limits");
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) return fail(error, what, "not a MessagePack map");

  enum Field { sid, uid, nsp, node, auth, rooms, connected_at, field_count };
  constexpr std::array<std::string_view, field_count> kNames = {"sid",  "uid",   "nsp",
                                                                "node", "auth",  "rooms",
                                                                "connected_at"};
  std::array<const msgpack::object*, field_count> fields{};
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& entry = root.via.map.ptr[i];
    if (entry.key.type != msgpack::type::STR) return fail(error, what, "a key is not a string");
    const std::string_view key = as_view(entry.key);
    for (std::size_t f = 0; f < field_count; ++f) {
      if (key != kNames[f]) continue;
      if (fields[f] != nullptr) return fail(error, what, "a key appears twice");
      fields[f] = &entry.val;
    }
    // Unknown keys are skipped: a newer gateway may send more fields.
  }
  for (std::size_t f = 0; f < field_count; ++f) {
    if (fields[f] == nullptr) {
      error.assign(what).append(": missing \"").append(kNames[f]).append("\"");
      return false;
    }
    const auto type = fields[f]->type;
    const bool type_ok = f == rooms          ? type == msgpack::type::ARRAY
                         : f == connected_at ? type == msgpack::type::POSITIVE_INTEGER
                                             : type == msgpack::type::STR;
    if (!type_ok) {
      error.assign(what).append(": \"").append(kNames[f]).append("\" has the wrong type");
      return false;
    }
  }

  // The map repeats what the headers say; a disagreement means a broken producer.
  if (as_view(*fields[sid]) != *headers.sid) return fail(error, what, "sid differs from x-sid");
  if (as_view(*fields[nsp]) != *headers.ns) return fail(error, what, "nsp differs from x-ns");
  if (as_view(*fields[node]) != *headers.node) return fail(error, what, "node differs from x-node");
  if (as_view(*fields[uid]) != headers.uid.value_or("")) {
    return fail(error, what, "uid differs from x-uid");
  }
  const std::string_view auth_json = as_view(*fields[auth]);
  if (auto why = check_auth_json(auth_json); !why.empty()) return fail(error, "connect auth", why);
  const uint64_t connected_at_ms = fields[connected_at]->via.u64;
  if (connected_at_ms > kMaxTimestampMs) return fail(error, what, "connected_at out of range");

  v1::SocketInfo& socket = *out.mutable_connected()->mutable_socket();
  const msgpack::object_array& room_list = fields[rooms]->via.array;
  for (uint32_t i = 0; i < room_list.size; ++i) {
    const msgpack::object& room = room_list.ptr[i];
    if (room.type != msgpack::type::STR) return fail(error, "connect rooms", "not all strings");
    if (auto why = check_name(as_view(room)); !why.empty()) return fail(error, "connect rooms", why);
    socket.add_rooms(std::string(as_view(room)));
  }
  socket.set_sid(out.sid());
  socket.set_uid(out.uid());
  socket.set_namespace_(out.namespace_());
  socket.set_node(std::string(*headers.node));
  // Socket.IO hands a handler {} when the client sent no auth (and 2.x clients never do).
  socket.set_auth_json(auth_json.empty() ? std::string("{}") : std::string(auth_json));
  set_timestamp(*socket.mutable_connected_at(), connected_at_ms);
  return true;
}

uint32_t close_code(std::string_view reason) {
  for (const protocol::DisconnectInfo& row : protocol::kDisconnectTable) {
    if (row.name == reason) return static_cast<uint32_t>(row.code);
  }
  return 0;
}

bool parse_disconnect(std::string_view value, const UpstreamHeaders& headers,
                      v1::ClientEvent& out, std::string& error) {
  if (auto why = check_name(value); !why.empty()) return fail(error, "disconnect reason", why);
  v1::SocketDisconnected& disconnected = *out.mutable_disconnected();
  disconnected.set_reason(std::string(value));
  disconnected.set_code(close_code(value));
  if (headers.detail) {
    if (auto why = check_name(*headers.detail); !why.empty()) return fail(error, header::detail, why);
    disconnected.set_detail(std::string(*headers.detail));
  }
  return true;
}

// The arguments of an event or ack: JSON text, or with x-attachments = N > 0 the MessagePack
// array [str json, bin_1 ... bin_N].
bool parse_arguments(std::string_view value, const UpstreamHeaders& headers,
                     v1::SocketEvent& event, std::string& error) {
  uint64_t attachment_count = 0;
  if (headers.attachments &&
      !parse_decimal(*headers.attachments, kMaxUpstreamAttachments, attachment_count)) {
    return fail(error, header::binary_count, "not a count from 0 to 10");
  }
  std::string_view args_json = value;
  msgpack::object_handle handle;
  if (attachment_count > 0) {
    const msgpack::unpack_limit limit(/*array=*/kMaxUpstreamAttachments + 1, /*map=*/0,
                                      /*str=*/value.size(), /*bin=*/value.size(), /*ext=*/0,
                                      /*depth=*/1);
    if (!unpack_exactly(value, limit, handle)) {
      return fail(error, "arguments", "not one MessagePack array within the limits");
    }
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size != attachment_count + 1) {
      return fail(error, "arguments", "not a MessagePack array of the JSON and x-attachments binaries");
    }
    if (root.via.array.ptr[0].type != msgpack::type::STR) {
      return fail(error, "arguments", "the first element is not a string");
    }
    for (uint32_t i = 1; i < root.via.array.size; ++i) {
      if (root.via.array.ptr[i].type != msgpack::type::BIN) {
        return fail(error, "arguments", "an attachment is not binary");
      }
    }
    args_json = as_view(root.via.array.ptr[0]);
  }
  if (args_json.empty() && attachment_count == 0) args_json = "[]";
  if (auto why = check_args_json(args_json, attachment_count); !why.empty()) {
    return fail(error, "args_json", why);
  }
  event.set_args_json(std::string(args_json));
  if (attachment_count > 0) {
    const msgpack::object_array& items = handle.get().via.array;
    for (uint32_t i = 1; i < items.size; ++i) event.add_attachments(std::string(as_view(items.ptr[i])));
  }
  return true;
}

bool parse_ack_reference(const UpstreamHeaders& headers, v1::ClientEvent& out,
                         std::string& error) {
  uint64_t ack_id = 0;
  if (!parse_decimal(*headers.ack_id, UINT64_MAX, ack_id)) {
    return fail(error, header::ack_id, "not a decimal number");
  }
  v1::AckReference& ack = *out.mutable_event()->mutable_ack();
  ack.set_sid(out.sid());
  ack.set_namespace_(out.namespace_());
  ack.set_ack_id(ack_id);
  ack.set_node(std::string(*headers.node));
  return true;
}

}  // namespace

int32_t partition_for_worker(uint16_t worker_id, int32_t partitions) {
  if (partitions <= 0) return -1;
  return static_cast<int32_t>(worker_id % partitions);
}

DownstreamRecord make_emit_record(const SocketIoPacket& packet,
                                  std::span<const std::string_view> attachments,
                                  std::string_view nsp, const EmitTarget& target,
                                  std::span<const std::string_view> except_sids, bool is_volatile,
                                  const DownstreamContext& context) {
  DownstreamRecord record = start_record(cluster::op::emit, nsp, context);
  switch (target.kind) {
    case EmitTarget::Kind::everyone:
      break;
    case EmitTarget::Kind::sid:
      record.headers.add(header::sid, target.key);
      break;
    case EmitTarget::Kind::uid:
      record.headers.add(header::uid, target.key);
      break;
    case EmitTarget::Kind::room:
      record.headers.add(header::room, target.key);
      break;
  }
  if (!except_sids.empty()) record.headers.add(header::except, join_with_commas(except_sids));
  if (is_volatile) record.headers.add(header::is_volatile, "1");
  if (attachments.empty()) {
    record.value = packet.text;
  } else {
    record.headers.add(header::binary_count, std::to_string(attachments.size()));
    record.value = packet_with_attachments(packet.text, attachments);
  }
  finish_record(record, context);
  return record;
}

DownstreamRecord make_join_record(std::string_view nsp, const SocketTarget& target,
                                  std::string_view room, const DownstreamContext& context) {
  return membership_record(cluster::op::join, nsp, target, room, context);
}

DownstreamRecord make_leave_record(std::string_view nsp, const SocketTarget& target,
                                   std::string_view room, const DownstreamContext& context) {
  return membership_record(cluster::op::leave, nsp, target, room, context);
}

DownstreamRecord make_kick_record(std::string_view nsp, const SocketTarget& target,
                                  std::string_view reason, const DownstreamContext& context,
                                  bool close_connection) {
  DownstreamRecord record = start_record(cluster::op::kick, nsp, context);
  add_socket_target(record, target);
  if (close_connection) record.headers.add(header::close_connection, "1");
  record.value = reason;
  finish_record(record, context);
  return record;
}

DownstreamRecord make_reaped_disconnect_record(std::string_view sid, std::string_view uid,
                                               std::string_view nsp, std::string_view dead_node,
                                               std::string_view trace_id, int64_t ts_api_ms) {
  DownstreamRecord record;
  record.topic = cluster::kUpstreamTopic;
  record.key = sid;
  record.headers.add(header::op, cluster::op::disconnect);
  record.headers.add(header::sid, sid);
  record.headers.add(header::ns, effective_namespace(nsp));
  record.headers.add(header::node, dead_node);
  if (!uid.empty()) record.headers.add(header::uid, uid);
  record.headers.add(header::trace_id, trace_id);
  record.headers.add(header::ts_api, std::to_string(ts_api_ms));
  record.value = protocol::name(protocol::Disconnect::node_lost);
  return record;
}

bool parse_upstream(std::span<const kafka::Header> headers, std::string_view value,
                    UpstreamOp& op, v1::ClientEvent& out, std::string& error) {
  out.Clear();
  error.clear();
  UpstreamHeaders h;
  if (!read_headers(headers, h, *out.mutable_metadata(), error)) return false;

  if (!h.op) return fail(error, header::op, "missing");
  if (*h.op == cluster::op::connect) op = UpstreamOp::connect;
  else if (*h.op == cluster::op::disconnect) op = UpstreamOp::disconnect;
  else if (*h.op == cluster::op::event) op = UpstreamOp::event;
  else if (*h.op == cluster::op::ack) op = UpstreamOp::ack;
  else return fail(error, header::op, "not an upstream op");

  if (!h.sid) return fail(error, header::sid, "missing");
  if (!accept(header::sid, check_sid(*h.sid), error)) return false;
  if (!h.ns) return fail(error, header::ns, "missing");
  if (!accept(header::ns, check_namespace(*h.ns), error)) return false;
  if (!h.node) return fail(error, header::node, "missing");
  if (!accept(header::node, check_name(*h.node), error)) return false;
  if (h.uid && h.uid->empty()) h.uid.reset();  // an empty x-uid reads as "no user"
  if (h.uid && !accept(header::uid, check_name(*h.uid), error)) return false;
  if (h.trace_id && !accept(header::trace_id, check_trace_id(*h.trace_id), error)) {
    return false;
  }

  out.set_sid(std::string(*h.sid));
  if (h.uid) out.set_uid(std::string(*h.uid));
  out.set_namespace_(std::string(*h.ns));
  v1::EventMetadata& metadata = *out.mutable_metadata();
  if (h.trace_id) metadata.set_trace_id(std::string(*h.trace_id));
  metadata.set_node(std::string(*h.node));

  switch (op) {
    case UpstreamOp::connect:
      return parse_connect(value, h, out, error);
    case UpstreamOp::disconnect:
      return parse_disconnect(value, h, out, error);
    case UpstreamOp::event: {
      if (!h.event) return fail(error, header::event, "missing");
      if (!accept(header::event, check_event_name(*h.event), error)) return false;
      v1::SocketEvent& event = *out.mutable_event();
      event.set_name(std::string(*h.event));
      if (h.ack_id && !parse_ack_reference(h, out, error)) return false;
      return parse_arguments(value, h, event, error);
    }
    case UpstreamOp::ack: {
      if (!h.ack_id) return fail(error, header::ack_id, "missing");
      if (!parse_ack_reference(h, out, error)) return false;
      return parse_arguments(value, h, *out.mutable_event(), error);
    }
  }
  return fail(error, header::op, "not an upstream op");
}

bool parse_upstream(const kafka::Message& message, UpstreamOp& op, v1::ClientEvent& out,
                    std::string& error) {
  if (!message.valid()) {
    out.Clear();
    return fail(error, "record", "no message");
  }
  // Views into librdkafka's buffer, gathered on the stack: no copy of names or values.
  const kafka::MessageHeaders message_headers = message.headers();
  if (message_headers.size() > kMaxUpstreamHeaders) {
    out.Clear();
    return fail(error, "headers", "too many");
  }
  std::array<kafka::Header, kMaxUpstreamHeaders> headers;
  for (std::size_t i = 0; i < message_headers.size(); ++i) headers[i] = message_headers[i];
  if (!parse_upstream(std::span<const kafka::Header>(headers.data(), message_headers.size()),
                      message.value(), op, out, error)) {
    return false;
  }
  out.set_event_id(upstream_event_id(message.partition(), message.offset()));
  return true;
}

std::string upstream_event_id(int32_t partition, int64_t offset) {
  return std::to_string(partition) + "-" + std::to_string(offset);
}

}  // namespace wsgw::api
