// status.h: Status and Result<T>, the one error type of ninefold.
//
// A Status is an errno (Linux numbering) plus a message. OK is errno 0 and
// holds no allocation, so returning OK costs nothing. 9P2000 peers see the
// message (Rerror), 9P2000.L peers see the errno (Rlerror); the table in
// status.cc maps between the two when only one side is known.
// Both types are [[nodiscard]]: a call that returns one and is ignored does
// not compile (-Werror). Where ignoring is truly right, say why beside the
// call and write `.IgnoreError()`, so the choice is visible and greppable.
// Thread-safety: values; safe to copy and move between threads.
#ifndef NINEP_STATUS_H_
#define NINEP_STATUS_H_

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ninep {

// An errno plus a human message; errno 0 means success.
class [[nodiscard]] Status {
 public:
  // Success.
  Status() = default;
  // Failure with errno `err` (must be nonzero) and a message; an empty
  // message means "use strerror-like text for err".
  Status(int err, std::string msg) : err_(err), msg_(std::move(msg)) {}

  // Returns the success value.
  static Status Ok() { return Status(); }

  // True when this is success.
  bool ok() const { return err_ == 0; }
  // The Linux errno (0 when ok).
  int err() const { return err_; }
  // The message; for an error built with an empty message, the errno's
  // standard 9P2000 text.
  std::string message() const;
  // Discards this status on purpose: for a call whose failure changes
  // nothing the caller could do (a best-effort cleanup, an answer to a peer
  // that is already gone). Write why beside the call.
  void IgnoreError() const {}

 private:
  int err_ = 0;
  std::string msg_;
};

namespace internal {
// Aborts with "Result::value() on an error: <message> (errno N)": reading
// the value of a failed Result is a broken caller contract, not UB.
[[noreturn]] void DieValueOfError(const Status& s);
}  // namespace internal

// Builds an error Status from errno with the standard text.
Status Errno(int err);
// Builds an error Status from errno with context: "what: " then the
// errno's text (ErrnoToText). errno 0 becomes EIO in both forms.
Status Errno(int err, std::string_view what);

// Maps an errno to the text a 9P2000 Rerror carries (Plan 9 wording where
// Plan 9 has one, e.g. ENOENT -> "file does not exist").
std::string ErrnoToText(int err);
// Maps an Rerror text back to an errno: every ErrnoToText text, strerror()
// texts, "context: text" forms and texts containing a known one; unknown
// text gives EIO.
int TextToErrno(std::string_view text);

// A value of T or an error Status (shaped like absl::StatusOr). Reading
// the value (value(), *, ->) of an error aborts, naming the error.
template <class T>
class [[nodiscard]] Result {
 public:
  // Success holding `v`.
  Result(T v) : v_(std::move(v)) {}  // NOLINT: implicit by design
  // Failure; REQUIRES: !s.ok().
  Result(Status s) : s_(std::move(s)) {  // NOLINT: implicit by design
    if (s_.ok()) s_ = Status(EIO, "Result built from OK status");
  }

  // True when a value is held.
  bool ok() const { return v_.has_value(); }
  // The error (OK when a value is held).
  const Status& status() const { return s_; }
  // The value; REQUIRES: ok() (checked: an error aborts the process).
  T& value() & {
    Check();
    return *v_;
  }
  const T& value() const& {
    Check();
    return *v_;
  }
  T&& value() && {
    Check();
    return std::move(*v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  // Discards this result on purpose (see Status::IgnoreError).
  void IgnoreError() const {}

 private:
  void Check() const {
    if (!v_.has_value()) [[unlikely]]
      internal::DieValueOfError(s_);
  }
  std::optional<T> v_;
  Status s_;
};

}  // namespace ninep

#endif  // NINEP_STATUS_H_
