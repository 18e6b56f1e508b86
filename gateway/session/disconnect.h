#pragma once
// The session layer's names for the close-code table, which lives in common/ because ws-api
// reads the reason names of disconnect records with it.
#include "common/protocol/close_codes.h"

namespace wsgw::session {

using protocol::Disconnect;
using protocol::DisconnectInfo;
using protocol::info;
using protocol::kDisconnectTable;
using protocol::name;

}  // namespace wsgw::session
