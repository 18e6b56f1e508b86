#include "gateway/session/engine_session.h"

#include <algorithm>
#include <vector>

#include "common/util/snowflake.h"
#include "gateway/session/gateway_metrics.h"

namespace wsgw::session {

EngineSession::EngineSession(SessionHost& host, uint64_t id, eio::Version version, Kind kind,
                             bool supports_binary)
    : host_(host),
      id_(id),
      heartbeat_(host.session_config().heartbeat),
      version_(version),
      kind_(kind),
      supports_binary_(supports_binary) {
  const uint64_t now = host_.now_ms();
  last_seen_ms_ = now;
  const auto& hb = host_.session_config().heartbeat;
  if (version_ == eio::Version::v4) {
    next_ping_ms_ = now + heartbeat_.interval_ms();
  } else {
    client_ping_deadline_ms_ = now + hb.max_interval_ms + hb.timeout_ms;
  }
  if (auto* m = host_.metrics()) {
    (kind_ == Kind::websocket ? m->connections_websocket : m->connections_polling).inc();
    (kind_ == Kind::websocket ? m->handshakes_websocket : m->handshakes_polling).inc();
  }
  reschedule();
}

EngineSession::~EngineSession() = default;

std::string EngineSession::sid() const { return util::encode_id(id_); }

std::string EngineSession::open_packet_json() const {
  const auto& c = host_.session_config();
  return eio::encode_open_packet_json(sid(), kind_ == Kind::polling, c.heartbeat.max_interval_ms,
                                      c.heartbeat.timeout_ms, c.max_payload);
}

void EngineSession::start_websocket(WsLink& link) {
  ws_ = &link;
  send(make_message(make_text_packet(eio::PacketType::open, open_packet_json())));
  if (handler_) handler_->on_open(*this);
}

std::string EngineSession::start_polling(bool& is_binary) {
  std::vector<eio::Packet> packets;
  packets.push_back(eio::Packet{eio::PacketType::open, false, open_packet_json()});
  if (handler_) handler_->on_open(*this);  // may queue packets (Socket.IO v2 sends "40" here)
  take_queued_packets(packets);
  auto enc = eio::encode_payload(version_, packets, supports_binary_);
  is_binary = enc.is_binary;
  return std::move(enc.body);
}

// ---------------------------------------------------------------------------------------------
// Long-polling

EngineSession::PollError EngineSession::poll_get(PollLink& link) {
  if (closed_ || expire_if_due(host_.now_ms())) return PollError::closed;
  if (kind_ != Kind::polling) return PollError::not_polling;
  if (poll_) {
    // Concurrent GETs break the protocol: end the first one with a close packet, refuse this one.
    close(Disconnect::bad_request);
    return PollError::duplicate_get;
  }
  touch();
  poll_ = &link;
  if (!queue_.empty() || probe_confirmed_) schedule_poll_flush();
  return PollError::none;
}

void EngineSession::poll_link_lost(PollLink& link) {
  if (poll_ == &link) poll_ = nullptr;
}

EngineSession::PostError EngineSession::poll_post(std::string_view body, bool is_binary) {
  if (closed_ || expire_if_due(host_.now_ms())) return PostError::closed;
  // During an upgrade the client keeps posting over polling until it sends "5".
  if (kind_ != Kind::polling) return PostError::not_polling;
  std::vector<eio::Packet> packets;
  if (eio::decode_payload(version_, body, is_binary, packets) != eio::PayloadError::none) {
    close(Disconnect::bad_packet);
    return PostError::bad_payload;
  }
  touch();
  for (auto& p : packets) {
    if (closed_) break;
    on_packet(std::move(p));
  }
  return PostError::none;
}

void EngineSession::schedule_poll_flush() {
  // Batch everything queued during this turn of the event loop into one response.
  if (poll_flush_scheduled_) return;
  poll_flush_scheduled_ = true;
  // Safe to capture `this`: the host destroys closed sessions through the same FIFO, later.
  host_.defer([this] {
    poll_flush_scheduled_ = false;
    if (!closed_) flush_poll();
  });
}

std::string EngineSession::noop_payload() const {
  return eio::encode_payload(version_, std::vector<eio::Packet>{{eio::PacketType::noop, false, {}}},
                             supports_binary_)
      .body;
}

void EngineSession::take_queued_packets(std::vector<eio::Packet>& out) {
  // Polling re-encodes the shared frames' Engine.IO data into the client's payload format.
  for (auto& e : queue_.pending())
    for (const auto& p : e.msg->packets)
      if (!p.ws_only) out.push_back(p.to_packet());
  queue_.clear();
}

void EngineSession::flush_poll() {
  if (!poll_) return;
  // While an upgrade is being completed the client must be able to pause polling: any GET it
  // still sends is answered at once (the reference server does this with a 100 ms noop timer).
  if (queue_.empty() && probe_confirmed_) return answer_poll(noop_payload(), false);
  if (queue_.empty()) return;
  std::vector<eio::Packet> packets;
  take_queued_packets(packets);
  if (packets.empty()) return;
  auto enc = eio::encode_payload(version_, packets, supports_binary_);
  answer_poll(std::move(enc.body), enc.is_binary);
}

void EngineSession::answer_poll(std::string body, bool is_binary) {
  PollLink* link = std::exchange(poll_, nullptr);
  if (link) link->poll_respond(std::move(body), is_binary);
}

// ---------------------------------------------------------------------------------------------
// WebSocket

bool EngineSession::frame_bad(std::string_view) {
  close(Disconnect::bad_packet);
  return false;
}

void EngineSession::ws_text(WsLink& link, std::string_view text) {
  if (closed_) return;
  eio::Packet p;
  if (!eio::decode_text_packet(text, p)) {
    if (&link == probe_) {
      std::exchange(probe_, nullptr)->ws_detach(Disconnect::bad_packet, true, SendQueue{});
      probe_confirmed_ = false;
      return;
    }
    frame_bad(text);
    return;
  }
  if (&link == probe_) return on_probe_packet(link, std::move(p));
  if (&link != ws_) return;
  touch();
  on_packet(std::move(p));
}

void EngineSession::ws_binary(WsLink& link, std::string_view bytes) {
  if (closed_ || &link != ws_) return;
  eio::Packet p;
  if (!eio::decode_binary_frame(version_, bytes, p)) {
    frame_bad(bytes);
    return;
  }
  touch();
  on_packet(std::move(p));
}

void EngineSession::ws_link_lost(WsLink& link, Disconnect why) {
  if (&link == probe_) {
    probe_ = nullptr;
    probe_confirmed_ = false;
    upgrade_deadline_ms_ = 0;
    return;
  }
  if (&link == ws_) {
    ws_ = nullptr;
    close(why);
  }
}

bool EngineSession::begin_probe(WsLink& link) {
  if (closed_ || kind_ != Kind::polling || probe_) return false;
  probe_ = &link;
  upgrade_deadline_ms_ = host_.now_ms() + host_.session_config().upgrade_timeout_ms;
  reschedule();
  return true;
}

void EngineSession::on_probe_packet(WsLink& link, eio::Packet&& p) {
  if (p.type == eio::PacketType::ping && p.data == "probe" && !probe_confirmed_) {
    link.ws_send_direct(make_text_packet(eio::PacketType::pong, "probe").frame);
    if (probe_ != &link) return;  // writing the reply failed: the probe is gone already
    probe_confirmed_ = true;
    // Let a held GET return so the client can pause polling and complete the upgrade.
    if (poll_) schedule_poll_flush();
    return;
  }
  if (p.type == eio::PacketType::upgrade) return complete_upgrade();
  // Anything else on a probe is a broken client: drop the probe, keep the polling session.
  // That includes a second "2probe": answering each would let a client that sends probes and
  // never reads grow the unsent replies without bound.
  WsLink* l = std::exchange(probe_, nullptr);
  probe_confirmed_ = false;
  upgrade_deadline_ms_ = 0;
  l->ws_detach(Disconnect::bad_packet, true, SendQueue{});
}

void EngineSession::complete_upgrade() {
  ws_ = std::exchange(probe_, nullptr);
  probe_confirmed_ = false;
  upgrade_deadline_ms_ = 0;
  kind_ = Kind::websocket;
  touch();
  if (auto* m = host_.metrics()) {
    m->connections_polling.dec();
    m->connections_websocket.inc();
    m->upgrades.inc();
  }
  if (poll_) answer_poll(noop_payload(), false);
  if (!queue_.empty()) ws_->ws_flush();
}

// ---------------------------------------------------------------------------------------------
// Packets, heartbeat, outbound

void EngineSession::on_packet(eio::Packet&& p) {
  if (auto* m = host_.metrics()) m->packets_in.inc();
  const uint64_t now = host_.now_ms();
  const auto& hb = host_.session_config().heartbeat;
  switch (p.type) {
    case eio::PacketType::message:
      if (handler_) handler_->on_message(*this, std::move(p));
      return;
    case eio::PacketType::ping:
      if (version_ == eio::Version::v3) {  // EIO3: the client drives the heartbeat
        client_ping_deadline_ms_ = now + hb.max_interval_ms + hb.timeout_ms;
        send(make_message(make_text_packet(eio::PacketType::pong, p.data)));
        reschedule();
      }
      return;
    case eio::PacketType::pong:
      if (version_ == eio::Version::v4 && pong_deadline_ms_ != 0) {
        const uint64_t rtt = now - ping_sent_ms_;
        heartbeat_.on_pong(hb, static_cast<uint32_t>(std::min<uint64_t>(rtt, UINT32_MAX)));
        if (auto* m = host_.metrics()) m->heartbeat_rtt_seconds.observe(double(rtt) / 1000.0);
        pong_deadline_ms_ = 0;
        next_ping_ms_ = ping_sent_ms_ + heartbeat_.interval_ms();
        if (next_ping_ms_ <= now) next_ping_ms_ = now + 1;
        reschedule();
      }
      return;
    case eio::PacketType::close:
      close(Disconnect::client_close);
      return;
    case eio::PacketType::noop:
    case eio::PacketType::upgrade:  // a late "5" on the active transport is harmless
      return;
    case eio::PacketType::open:
      close(Disconnect::bad_packet);
      return;
  }
}

bool EngineSession::send(WireMessagePtr msg, bool is_volatile) {
  if (closed_ || overflowed_) return false;
  size_t evicted = 0;
  const size_t count = msg->packets.size();
  auto r = queue_.push(std::move(msg), is_volatile, host_.session_config().max_queue_bytes,
                       pinned_, &evicted);
  auto* m = host_.metrics();
  if (m && evicted) m->queue_drops_volatile.inc(evicted);
  if (r == SendQueue::PushResult::dropped) {
    if (m) m->queue_drops_volatile.inc();
    return false;
  }
  if (r == SendQueue::PushResult::overflow) {
    // Closed after the caller's turn, not inside send(): callers (a Socket.IO session in the
    // middle of disconnecting a namespace, a delivery visit) must not see the session and
    // its sockets destroyed under them.
    overflowed_ = true;
    host_.defer([this] { close(Disconnect::slow_consumer); });  // lifetime: see schedule_poll_flush
    return false;
  }
  if (m) m->packets_out.inc(count);
  transport_ready();
  return true;
}

void EngineSession::transport_ready() {
  if (kind_ == Kind::websocket) {
    if (!ws_) return;
    // Always after the caller's turn: one write carries every frame queued until then (a
    // broadcast burst costs one syscall per socket, not one per frame), and a failed write,
    // which closes the session, never happens inside send().
    if (ws_flush_scheduled_) return;
    ws_flush_scheduled_ = true;
    host_.defer([this] {  // same lifetime argument as schedule_poll_flush
      ws_flush_scheduled_ = false;
      if (!closed_ && ws_) ws_->ws_flush();
    });
  } else if (poll_) {
    schedule_poll_flush();
  }
}

void EngineSession::set_handshake_deadline(uint64_t deadline_ms) {
  handshake_deadline_ms_ = deadline_ms;
  reschedule();
}

bool EngineSession::expire_if_due(uint64_t now) {
  if (closed_) return true;
  if (handshake_deadline_ms_ && now >= handshake_deadline_ms_) {
    close(Disconnect::connect_timeout);
  } else if (pong_deadline_ms_ && now >= pong_deadline_ms_) {
    close(Disconnect::ping_timeout);
  } else if (client_ping_deadline_ms_ && now >= client_ping_deadline_ms_) {
    close(Disconnect::ping_timeout);
  }
  return closed_;
}

void EngineSession::on_timer(uint64_t now) {
  if (expire_if_due(now)) return;
  if (upgrade_deadline_ms_ && now >= upgrade_deadline_ms_ && probe_) {
    WsLink* l = std::exchange(probe_, nullptr);
    probe_confirmed_ = false;
    upgrade_deadline_ms_ = 0;
    l->ws_detach(Disconnect::transport_replaced, true, SendQueue{});
  }
  if (version_ == eio::Version::v4 && pong_deadline_ms_ == 0 && now >= next_ping_ms_) {
    ping_sent_ms_ = now;
    // The deadline counts from when the ping was due, not when the wheel's tick ran, so the
    // session ends exactly pingInterval + pingTimeout after the last pong, as clients expect.
    pong_deadline_ms_ = next_ping_ms_ + host_.session_config().heartbeat.timeout_ms;
    send(host_.ping_message());
  }
  reschedule();
}

void EngineSession::reschedule() {
  if (closed_) return;
  uint64_t next = UINT64_MAX;
  auto consider = [&](uint64_t t) {
    if (t) next = std::min(next, t);
  };
  consider(handshake_deadline_ms_);
  consider(upgrade_deadline_ms_);
  if (version_ == eio::Version::v4)
    consider(pong_deadline_ms_ ? pong_deadline_ms_ : next_ping_ms_);
  else
    consider(client_ping_deadline_ms_);
  if (next != UINT64_MAX) host_.timers().schedule(*this, next);
}

void EngineSession::close(Disconnect why) {
  if (closed_) return;
  if (handler_) handler_->on_close(*this, why);  // may still queue last packets (e.g. "41")
  closed_ = true;
  host_.timers().cancel(*this);
  if (auto* m = host_.metrics()) {
    (kind_ == Kind::websocket ? m->connections_websocket : m->connections_polling).dec();
    m->closes_for(why).inc();
  }
  if (probe_) std::exchange(probe_, nullptr)->ws_detach(Disconnect::transport_replaced, true, {});
  if (ws_) {
    // No close frame when the peer is already gone or itself asked to close.
    const bool frame = why != Disconnect::transport_error && why != Disconnect::client_close;
    std::exchange(ws_, nullptr)->ws_detach(why, frame, std::move(queue_));
  }
  if (poll_) {
    std::vector<eio::Packet> packets;
    take_queued_packets(packets);
    // A client-initiated close ends the held GET with a noop; any other close tells the client.
    packets.push_back({why == Disconnect::client_close ? eio::PacketType::noop
                                                        : eio::PacketType::close,
                       false, {}});
    auto enc = eio::encode_payload(version_, packets, supports_binary_);
    answer_poll(std::move(enc.body), enc.is_binary);
  }
  queue_.clear();
  host_.session_closed(*this, why);
}

}  // namespace wsgw::session
