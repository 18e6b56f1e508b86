#pragma once
// The pattern syntax of SubscribeRequest.namespaces and .events (proto/wsgw/v1/api.proto):
// '*' matches any run of bytes (also none), every other byte matches itself, and the pattern
// must match the whole text. No escapes: no real namespace or event name contains '*'.
#include <string_view>

namespace wsgw::api {

// O(pattern × text) in the worst case, never exponential: a hostile subscription cannot make
// event dispatch hang.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace wsgw::api
