// Result<T>: the error-as-value type used across klaxon.
//
// Recoverable failures (bad input, I/O, a library saying no) return a Result; what "cannot
// happen" aborts through KLAXON_CHECK. The members mirror C++23 std::expected so that the
// type can be swapped for it later: has_value(), value(), error(), operator*, operator->.
// Thread-safety: a value type; no shared state.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace klaxon {

// A small, closed set of error kinds; the context string says what and where.
enum class ErrorCode {
  kInvalidArgument,  // a caller or a config file gave a value that does not fit
  kParse,            // untrusted input that does not parse
  kIo,               // the OS or a socket failed
  kStorage,          // RocksDB said no
  kNotFound,
  kUnavailable,  // try again later (full queue, shutting down)
  kInternal,
  kConflict,  // not allowed in the current state (acknowledging a closed incident)
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  std::string to_string() const { return std::string(error_code_name(code)) + ": " + message; }
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status ok_status() { return Status(); }

}  // namespace klaxon

// TRY(expr): return the error of a failed Result from the enclosing function.
#define KLAXON_TRY(expr)                                          \
  do {                                                            \
    auto&& klaxon_try_r_ = (expr);                                \
    if (!klaxon_try_r_.has_value()) return klaxon_try_r_.error(); \
  } while (0)

// CHECK stays on in release builds: a broken invariant aborts loudly instead of corrupting
// the record.
#define KLAXON_CHECK(cond)                                                                    \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "klaxon: check failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)
