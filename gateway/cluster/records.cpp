#include "gateway/cluster/records.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include <msgpack.hpp>

#include "common/cluster/contract.h"
#include "common/util/snowflake.h"
#include "gateway/session/disconnect.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::cluster {
namespace {

UpstreamRecord base_record(const session::NamespaceSocket& s, std::string_view op,
                           const UpstreamContext& ctx) {
  UpstreamRecord r;
  r.key = s.sid();
  r.headers.add(header::op, op);
  r.headers.add(header::sid, r.key);
  if (!s.user_id().empty()) r.headers.add(header::uid, s.user_id());
  r.headers.add(header::ns, s.nsp());
  r.headers.add(header::node, ctx.node);
  r.headers.add(header::trace_id, ctx.trace_id);
  r.headers.add(header::ts_gateway_in, std::to_string(ctx.now_ms));
  return r;
}

// value = json, or with attachments a MessagePack array [json, bin...].
void set_args_value(UpstreamRecord& r, std::string_view json,
                    std::span<const std::string> attachments) {
  if (attachments.empty()) {
    r.value.assign(json);
    return;
  }
  r.headers.add(header::binary_count, std::to_string(attachments.size()));
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(static_cast<uint32_t>(1 + attachments.size()));
  pk.pack_str(static_cast<uint32_t>(json.size()));
  pk.pack_str_body(json.data(), static_cast<uint32_t>(json.size()));
  for (const auto& a : attachments) {
    pk.pack_bin(static_cast<uint32_t>(a.size()));
    pk.pack_bin_body(a.data(), static_cast<uint32_t>(a.size()));
  }
  r.value.assign(buf.data(), buf.size());
}

const kafka::Header* find(std::span<const kafka::Header> headers, std::string_view name) {
  const kafka::Header* found = nullptr;
  for (const auto& h : headers)
    if (h.name == name) found = &h;  // the last one wins, as in Kafka's clients
  return found;
}

}  // namespace

UpstreamRecord upstream_connect(const session::NamespaceSocket& s, std::string_view auth_json,
                                int64_t connected_at_ms, const UpstreamContext& ctx) {
  UpstreamRecord r = base_record(s, op::connect, ctx);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  auto str = [&](std::string_view v) {
    pk.pack_str(static_cast<uint32_t>(v.size()));
    pk.pack_str_body(v.data(), static_cast<uint32_t>(v.size()));
  };
  pk.pack_map(7);
  str("sid"), str(r.key);
  str("uid"), str(s.user_id());
  str("nsp"), str(s.nsp());
  str("node"), str(ctx.node);
  str("auth"), str(auth_json);
  str("rooms");
  pk.pack_array(static_cast<uint32_t>(s.rooms().size()));
  for (const auto& room : s.rooms()) str(room);
  str("connected_at"), pk.pack_int64(connected_at_ms);
  r.value.assign(buf.data(), buf.size());
  return r;
}

std::string kick_reason(std::string_view detail) {
  std::string reason(session::name(session::Disconnect::kicked));
  if (!detail.empty()) {
    reason.push_back('\n');
    reason.append(detail);
  }
  return reason;
}

UpstreamRecord upstream_disconnect(const session::NamespaceSocket& s, std::string_view reason,
                                   const UpstreamContext& ctx) {
  UpstreamRecord r = base_record(s, op::disconnect, ctx);
  std::string_view detail;
  if (const size_t newline = reason.find('\n'); newline != std::string_view::npos) {
    detail = reason.substr(newline + 1);
    reason = reason.substr(0, newline);
  }
  if (!detail.empty()) r.headers.add(header::detail, detail);
  r.value.assign(reason);
  return r;
}

UpstreamRecord upstream_event(const session::NamespaceSocket& s, std::string_view event,
                              std::string_view args, std::optional<uint64_t> ack_id,
                              std::span<const std::string> attachments,
                              const UpstreamContext& ctx) {
  UpstreamRecord r = base_record(s, op::event, ctx);
  r.headers.add(header::event, event);
  if (ack_id) r.headers.add(header::ack_id, std::to_string(*ack_id));
  std::string json;
  json.reserve(args.size() + 2);
  json.push_back('[');
  json.append(args);
  json.push_back(']');
  set_args_value(r, json, attachments);
  return r;
}

UpstreamRecord upstream_ack(const session::NamespaceSocket& s, uint64_t ack_id,
                            std::string_view args_json, std::span<const std::string> attachments,
                            const UpstreamContext& ctx) {
  UpstreamRecord r = base_record(s, op::ack, ctx);
  r.headers.add(header::ack_id, std::to_string(ack_id));
  set_args_value(r, args_json.empty() ? std::string_view("[]") : args_json, attachments);
  return r;
}

std::optional<int64_t> header_millis(std::span<const kafka::Header> headers, std::string_view name) {
  const auto* h = find(headers, name);
  if (!h || h->value.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(h->value.data(), h->value.data() + h->value.size(), v);
  if (ec != std::errc{} || p != h->value.data() + h->value.size() || v < 0) return std::nullopt;
  return v;
}

bool parse_downstream(std::span<const kafka::Header> headers, std::string_view value,
                      std::string_view self_node, DownstreamCommand& out, std::string& error) {
  out = DownstreamCommand{};
  auto fail = [&](std::string why) {
    error = std::move(why);
    return false;
  };
  const auto* op_h = find(headers, header::op);
  if (!op_h) return fail("no x-op header");
  if (const auto* node = find(headers, header::node); node && node->value != self_node) {
    out.kind = DownstreamCommand::Kind::skip;  // shares our partition, addressed to another node
    return true;
  }
  auto& d = out.delivery;
  if (const auto* ns = find(headers, header::ns); ns && !ns->value.empty()) d.nsp = ns->value;
  if (d.nsp.empty() || d.nsp.front() != '/') return fail("x-ns must start with '/'");

  using Target = session::Delivery::Target;
  const auto* sid = find(headers, header::sid);
  const auto* uid = find(headers, header::uid);
  const auto* room = find(headers, header::room);
  const std::string_view op = op_h->value;

  if (op == op::emit) {
    const int targets = (sid != nullptr) + (uid != nullptr) + (room != nullptr);
    if (targets > 1) return fail("emit names more than one of x-sid, x-uid, x-room");
    if (sid) d.target = Target::socket, d.key = sid->value;
    if (uid) d.target = Target::user, d.key = uid->value;
    if (room) d.target = Target::room, d.key = room->value;
    if (targets == 1 && d.key.empty()) return fail("empty emit target");
    if (const auto* v = find(headers, header::is_volatile)) d.is_volatile = v->value == "1";
    if (const auto* ex = find(headers, header::except); ex && !ex->value.empty()) {
      std::string_view rest = ex->value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view one = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        uint64_t id = 0;
        if (!util::decode_id(one, id)) return fail("bad socket id in x-except");
        if (d.except.size() >= kMaxExcept) return fail("x-except lists too many sockets");
        d.except.push_back(id);
      }
      // Sorted for the workers' binary search: up to 1000 ids checked against every target.
      std::sort(d.except.begin(), d.except.end());
    }
    uint32_t attachments = 0;
    if (const auto* n = find(headers, header::binary_count)) {
      auto [p, ec] = std::from_chars(n->value.data(), n->value.data() + n->value.size(), attachments);
      if (ec != std::errc{} || p != n->value.data() + n->value.size() || attachments > kMaxAttachments)
        return fail("bad x-attachments");
    }
    if (attachments == 0) {
      if (value.empty()) return fail("emit without a packet");
      d.msg = session::make_socketio_message(value);
    } else {
      // [packet_text, bin_1 .. bin_N]; limits keep a hostile value from allocating much.
      msgpack::object_handle oh;
      try {
        oh = msgpack::unpack(value.data(), value.size(), nullptr, nullptr,
                             msgpack::unpack_limit(kMaxAttachments + 1, 0, value.size(),
                                                   value.size(), 0, 2));
      } catch (const std::exception& e) {
        return fail(std::string("bad MessagePack value: ") + e.what());
      }
      const msgpack::object& o = oh.get();
      if (o.type != msgpack::type::ARRAY || o.via.array.size != attachments + 1 ||
          o.via.array.ptr[0].type != msgpack::type::STR)
        return fail("emit value must be [packet, bin x N]");
      const auto& text = o.via.array.ptr[0].via.str;
      std::vector<std::string> bins;
      for (uint32_t i = 1; i <= attachments; ++i) {
        const auto& b = o.via.array.ptr[i];
        if (b.type != msgpack::type::BIN) return fail("attachment is not binary");
        bins.emplace_back(b.via.bin.ptr, b.via.bin.size);
      }
      d.msg = session::make_socketio_message(std::string_view(text.ptr, text.size), bins);
    }
    out.kind = DownstreamCommand::Kind::emit;
    return true;
  }

  // join / leave / kick: one socket or all sockets of a user.
  if ((sid != nullptr) == (uid != nullptr)) return fail("exactly one of x-sid, x-uid is required");
  d.target = sid ? Target::socket : Target::user;
  d.key = sid ? sid->value : uid->value;
  if (d.key.empty()) return fail("empty target");
  if (op == op::join || op == op::leave) {
    if (!room || room->value.empty()) return fail("join/leave without x-room");
    out.room = room->value;
    out.kind = op == op::join ? DownstreamCommand::Kind::join : DownstreamCommand::Kind::leave;
    return true;
  }
  if (op == op::kick) {
    if (const auto* close = find(headers, header::close_connection)) {
      if (close->value != "1" && close->value != "0") return fail("bad x-close");
      out.close_connection = close->value == "1";
    }
    out.reason = value;
    out.kind = DownstreamCommand::Kind::kick;
    return true;
  }
  return fail("unknown x-op " + std::string(op.substr(0, 32)));
}

}  // namespace wsgw::cluster
