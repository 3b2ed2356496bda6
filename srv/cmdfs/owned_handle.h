// owned_handle.h: letting go of a libuv handle that cmdfs allocated with
// `new` inside a small struct holding the handle, its `owner` and nothing
// else (a pipe of a stream, a command's timer, the SIGCHLD watcher). libuv
// may still call back until the close completes, so the owner is cleared
// first and the struct is freed only in the close callback.
// Thread-safety: loop thread only.
#ifndef NINEFOLD_SRV_CMDFS_OWNED_HANDLE_H_
#define NINEFOLD_SRV_CMDFS_OWNED_HANDLE_H_

#include <uv.h>

namespace cmdfs {

// Detaches *h from its owner and closes its handle (the member `handle`,
// whose data points at *h); frees *h in the close callback and leaves h
// null. Does nothing when h is null.
template <class H, class U>
void ReleaseHandle(H*& h, U H::*handle) {
  if (h == nullptr) return;
  h->owner = nullptr;
  auto* u = reinterpret_cast<uv_handle_t*>(&(h->*handle));
  if (!uv_is_closing(u)) uv_close(u, [](uv_handle_t* u) { delete static_cast<H*>(u->data); });
  h = nullptr;
}

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_OWNED_HANDLE_H_
