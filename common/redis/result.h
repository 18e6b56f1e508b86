#pragma once
// What the domain classes hand to their callbacks: a value, or an error text (a Redis error,
// or one of the client's WSGW_* errors). GCC 12 has no std::expected.
#include <functional>
#include <string>
#include <utility>

namespace wsgw::redis {

template <class T>
struct Result {
  T value{};
  std::string error;  // empty on success

  bool ok() const { return error.empty(); }

  static Result success(T v) { return Result{std::move(v), {}}; }
  static Result failure(std::string e) {
    if (e.empty()) e = "unknown error";
    return Result{T{}, std::move(e)};
  }
};

template <class T>
using ResultCallback = std::function<void(Result<T>)>;

}  // namespace wsgw::redis
