// task.h: Task, a move-only callable of no arguments (std::function needs
// copyable callables, and requests are move-only).
// Thread-safety: a value; not shared.
#ifndef NINEP_TASK_H_
#define NINEP_TASK_H_

#include <memory>
#include <type_traits>
#include <utility>

namespace ninep {

// A move-only void() callable; empty when default-constructed.
class Task {
 public:
  Task() = default;
  // Wraps any callable F (moved in).
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Task>>>
  Task(F f) : p_(std::make_unique<Impl<std::decay_t<F>>>(std::move(f))) {}  // NOLINT
  Task(Task&&) noexcept = default;
  Task& operator=(Task&&) noexcept = default;

  // Runs the callable. REQUIRES: not empty.
  void operator()() { p_->Call(); }
  // True when a callable is held.
  explicit operator bool() const { return p_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void Call() = 0;
  };
  template <class F>
  struct Impl : Base {
    explicit Impl(F f) : f(std::move(f)) {}
    void Call() override { f(); }
    F f;
  };
  std::unique_ptr<Base> p_;
};

}  // namespace ninep

#endif  // NINEP_TASK_H_
