#pragma once
// The two thin transports under an Engine.IO session, as the session sees them. The net layer's
// Connection implements both; unit tests implement them with fakes. All calls happen on the
// session's own worker thread.
#include <string>

#include "gateway/session/disconnect.h"
#include "gateway/session/send_queue.h"

namespace wsgw::session {

// A WebSocket connection carrying (or probing for) a session.
class WsLink {
 public:
  // The session queued data for this link: write what the queue holds.
  virtual void ws_flush() = 0;
  // Send one frame now, outside the session queue (probe replies during an upgrade).
  virtual void ws_send_direct(std::string frame) = 0;
  // The session is done with this link: write `rest` (what the session still had queued), then
  // a close frame with `code` when `send_close_frame`, then close the socket. The link must not
  // call the session again.
  virtual void ws_detach(Disconnect code, bool send_close_frame, SendQueue&& rest) = 0;

 protected:
  ~WsLink() = default;
};

// An HTTP connection holding a long-polling GET for a session.
class PollLink {
 public:
  // Answer the held GET with an Engine.IO payload. The link stops referencing the session.
  virtual void poll_respond(std::string body, bool is_binary) = 0;

 protected:
  ~PollLink() = default;
};

}  // namespace wsgw::session
