#include "gateway/session/socketio_session.h"

#include <algorithm>
#include <ctime>

#include <rapidjson/document.h>

#include "common/socketio/json.h"
#include "gateway/session/gateway_metrics.h"
#include "gateway/session/local_index.h"

namespace wsgw::session {
namespace {

constexpr size_t kMaxAttachmentBytesFactor = 1;  // attachments count against maxPayload once
// With --namespaces '*' a client could otherwise open sockets without limit.
constexpr size_t kMaxNamespacesPerSession = 32;
// Rooms one namespace socket may be in: each costs memory here, in the worker's index and in
// the socket's Redis record, and a component that joins without ever leaving must not grow
// them without bound.
constexpr size_t kMaxRoomsPerSocket = 1000;

// The token a client put in its CONNECT auth payload: {"token": "..."}.
std::string token_from_auth(std::string_view auth_json) {
  if (auth_json.empty()) return {};
  rapidjson::Document d;
  d.Parse(auth_json.data(), auth_json.size());
  if (d.HasParseError() || !d.IsObject()) return {};
  auto it = d.FindMember("token");
  if (it == d.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

bool NamespaceSocket::may_join(std::string_view room) const {
  if (allowed_rooms_.empty()) return true;  // no rooms claim: any room
  return std::find(allowed_rooms_.begin(), allowed_rooms_.end(), room) != allowed_rooms_.end();
}

bool NamespaceSocket::join(std::string_view room) {
  LocalIndex* index = owner_.engine().host().local_index();
  if (!index || !may_join(room)) return false;
  if (rooms_.size() >= kMaxRoomsPerSocket &&
      std::find(rooms_.begin(), rooms_.end(), room) == rooms_.end()) {
    if (auto* m = owner_.engine().host().metrics()) m->room_joins_refused.inc();
    return false;
  }
  if (!index->join(nsp_, room, this)) return false;
  rooms_.emplace_back(room);
  return true;
}

bool NamespaceSocket::leave(std::string_view room) {
  LocalIndex* index = owner_.engine().host().local_index();
  auto it = std::find(rooms_.begin(), rooms_.end(), room);
  if (!index || it == rooms_.end()) return false;
  index->leave(nsp_, room, this);
  rooms_.erase(it);
  return true;
}

void NamespaceSocket::unregister() {
  if (LocalIndex* index = owner_.engine().host().local_index()) {
    for (const auto& r : rooms_) index->leave(nsp_, r, this);
    index->remove_socket(this);
  }
  rooms_.clear();
}

bool NamespaceSocket::send_packet(std::string_view encoded, std::span<const std::string> attachments,
                                  bool is_volatile) {
  return owner_.engine().send(make_socketio_message(encoded, attachments), is_volatile);
}

bool NamespaceSocket::send(WireMessagePtr msg, bool is_volatile) {
  return owner_.engine().send(std::move(msg), is_volatile);
}

SocketIoSession::SocketIoSession(SocketIoContext& ctx, std::string handshake_token)
    : ctx_(ctx), handshake_token_(std::move(handshake_token)) {}

SocketIoSession::~SocketIoSession() {
  for (auto& s : sockets_) s->unregister();  // never leave dangling members in the room index
}

sio::ProtocolVersion SocketIoSession::protocol() const {
  return engine_ && engine_->version() == eio::Version::v3 ? sio::ProtocolVersion::v4
                                                           : sio::ProtocolVersion::v5;
}

NamespaceSocket* SocketIoSession::find(std::string_view nsp) {
  for (auto& s : sockets_)
    if (s->nsp() == nsp) return s.get();
  return nullptr;
}

void SocketIoSession::on_open(EngineSession& s) {
  engine_ = &s;
  // Until a CONNECT succeeds (handle_connect clears it), for every protocol: a v2 client whose
  // implicit CONNECT was refused must not hold its session for ever by pinging.
  s.set_handshake_deadline(s.host().now_ms() + ctx_.connect_timeout_ms);
  if (protocol() == sio::ProtocolVersion::v4) {
    // Socket.IO v2 clients are connected to "/" implicitly, right after the Engine.IO open.
    sio::Packet connect;
    connect.type = sio::PacketType::connect;
    handle_connect(connect);
  }
}

void SocketIoSession::fail(Disconnect why) { engine_->close(why); }

bool SocketIoSession::take_event_token() {
  const uint32_t rate = ctx_.max_events_per_second;
  if (rate == 0) return true;
  const auto now = static_cast<uint32_t>(engine_->host().now_ms());
  if (!event_budget_started_) {
    event_budget_started_ = true;
    event_tokens_ = static_cast<float>(rate);
  } else {
    const uint32_t elapsed = now - event_refill_ms_;
    event_tokens_ = std::min(static_cast<float>(rate),
                             event_tokens_ + static_cast<float>(elapsed) * static_cast<float>(rate) / 1000.0f);
  }
  event_refill_ms_ = now;
  if (event_tokens_ < 1.0f) return false;
  event_tokens_ -= 1.0f;
  return true;
}

void SocketIoSession::on_message(EngineSession& s, eio::Packet&& p) {
  if (assembler_) {
    if (!p.binary) return fail(Disconnect::bad_packet);  // text while attachments were due
    auto st = assembler_->add(p.data);
    if (st == sio::BinaryAssembler::Status::error) return fail(Disconnect::bad_packet);
    if (st == sio::BinaryAssembler::Status::complete) {
      auto done = std::move(assembler_);
      handle_packet(done->packet(), done->attachments());
    }
    return;
  }
  if (p.binary) return fail(Disconnect::bad_packet);  // attachment without a header packet
  sio::Packet pkt;
  if (sio::decode(protocol(), p.data, pkt, ctx_.max_attachments) != sio::DecodeError::none)
    return fail(Disconnect::bad_packet);
  if (pkt.attachments > 0) {
    assembler_ = std::make_unique<sio::BinaryAssembler>(
        s.host().session_config().max_payload * kMaxAttachmentBytesFactor);
    if (!assembler_->start(std::move(pkt))) return fail(Disconnect::bad_packet);
    return;
  }
  handle_packet(pkt, {});
}

void SocketIoSession::handle_packet(sio::Packet& p, std::span<const std::string> attachments) {
  using T = sio::PacketType;
  if (p.type == T::connect) return handle_connect(p);
  NamespaceSocket* sock = find(p.nsp);
  if (!sock) return;  // packets for a namespace the client is not connected to are ignored
  // Until its CONNECT is answered a client has no sid to speak with: events and acks are
  // ignored like those of an unknown namespace (a stock client never sends any).
  if (!sock->confirmed() && p.type != T::disconnect) return;
  switch (p.type) {
    case T::event:
    case T::binary_event: {
      if (!take_event_token()) {
        if (auto* m = engine_->host().metrics()) m->events_rate_limited.inc();
        return;
      }
      sio::EventView ev;
      std::string unescaped;
      if (!sio::scan_event(p.data, ev, unescaped)) return fail(Disconnect::bad_packet);
      ctx_.app->on_event(*sock, p, ev.name, ev.args, attachments);
      return;
    }
    case T::ack:
    case T::binary_ack:
      ctx_.app->on_ack(*sock, p, attachments);
      return;
    case T::disconnect: {
      auto it = std::find_if(sockets_.begin(), sockets_.end(),
                             [&](auto& s) { return s.get() == sock; });
      auto owned = std::move(*it);
      sockets_.erase(it);
      owned->unregister();
      if (auto* m = engine_->host().metrics()) m->socketio_sockets.dec();
      ctx_.app->on_disconnect(*owned, "client namespace disconnect");
      return;
    }
    default:
      return fail(Disconnect::bad_packet);  // CONNECT_ERROR is server-to-client only
  }
}

void SocketIoSession::handle_connect(sio::Packet& p) {
  const auto proto = protocol();
  auto refuse = [&](std::string_view message, std::string_view data_json) {
    if (auto* m = engine_->host().metrics()) m->socketio_connect_errors.inc();
    engine_->send(make_socketio_message(sio::encode_connect_error(proto, p.nsp, message, data_json)));
  };
  if (!ctx_.app->namespace_exists(p.nsp)) return refuse("Invalid namespace", {});
  if (find(p.nsp)) return;  // already connected: a repeated CONNECT changes nothing
  if (sockets_.size() >= kMaxNamespacesPerSession) return refuse("Too many namespaces", {});
  std::string user_id, reason;
  std::vector<std::string> rooms;
  if (!authenticate(p.data, user_id, rooms, reason)) {
    std::string data = "{\"reason\":\"";
    sio::json_escape_append(data, reason);
    data += "\"}";
    return refuse("unauthorized", data);
  }
  auto sock = std::make_unique<NamespaceSocket>(*this, ctx_.ids->next(), p.nsp, std::move(user_id),
                                                std::move(rooms));
  engine_->set_handshake_deadline(0);
  if (ctx_.app->confirms_connect_later())
    sock->confirmed_ = false;
  else
    engine_->send(make_socketio_message(sio::encode_connect_ok(proto, p.nsp, sock->sid())));
  auto& ref = *sock;
  sockets_.push_back(std::move(sock));
  if (LocalIndex* index = engine_->host().local_index()) index->add_socket(&ref);
  if (auto* m = engine_->host().metrics()) m->socketio_sockets.inc();
  ctx_.app->on_connect(ref, p.data);
}

bool SocketIoSession::authenticate(std::string_view auth_json, std::string& user_id,
                                   std::vector<std::string>& rooms, std::string& reason) const {
  if (!ctx_.jwt) return true;
  std::string token = token_from_auth(auth_json);
  if (token.empty()) token = handshake_token_;
  if (token.empty()) {
    reason = "missing token";
    return false;
  }
  auth::JwtClaims claims;
  auto err = ctx_.jwt->verify(token, static_cast<int64_t>(std::time(nullptr)), claims);
  if (err != auth::JwtError::none) {
    reason = std::string(auth::to_string(err));
    return false;
  }
  user_id = std::move(claims.sub);
  rooms = std::move(claims.rooms);
  return true;
}

void SocketIoSession::close_connection(std::string_view reason) {
  while (!sockets_.empty()) disconnect(*sockets_.back(), reason);
  engine_->close(Disconnect::kicked);
}

void SocketIoSession::confirm(NamespaceSocket& s) {
  if (s.confirmed_) return;
  s.confirmed_ = true;
  engine_->send(make_socketio_message(sio::encode_connect_ok(protocol(), s.nsp(), s.sid())));
}

void SocketIoSession::disconnect(NamespaceSocket& s, std::string_view reason) {
  auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](auto& p) { return p.get() == &s; });
  if (it == sockets_.end()) return;
  engine_->send(make_socketio_message(sio::encode_disconnect(s.nsp())));
  auto owned = std::move(*it);
  sockets_.erase(it);
  owned->unregister();
  if (auto* m = engine_->host().metrics()) m->socketio_sockets.dec();
  ctx_.app->on_disconnect(*owned, reason);
}

void SocketIoSession::on_close(EngineSession& s, Disconnect why) {
  auto* m = s.host().metrics();
  const bool tell_client = why == Disconnect::kicked;
  for (auto& sock : sockets_) {
    if (tell_client) s.send(make_socketio_message(sio::encode_disconnect(sock->nsp())));
    sock->unregister();
    if (m) m->socketio_sockets.dec();
    ctx_.app->on_disconnect(*sock, name(why));
  }
  sockets_.clear();
  assembler_.reset();
}

}  // namespace wsgw::session
