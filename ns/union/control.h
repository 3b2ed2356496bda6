// control.h: the control socket's messages, shared by Client and the
// server (internal to ns_union).
//
// One request or answer is one SOCK_SEQPACKET message: NUL-separated
// fields, the first naming the request ("new", "add", "replace", "remove",
// "list", "stop") or the outcome ("ok" then values, or "err", errno,
// message). A member's directory fd rides along as SCM_RIGHTS.
// Thread-safety: plain functions; a socket must not be shared by two
// callers at once.
#ifndef NINEFOLD_NS_UNION_CONTROL_H_
#define NINEFOLD_NS_UNION_CONTROL_H_

#include <string>
#include <vector>

#include "ninep/status.h"

namespace nsunion::internal {

// Largest message either side sends or accepts.
inline constexpr size_t kMaxMessage = 64 * 1024;

// One received message: its fields and the fd it carried (-1 if none; the
// receiver owns it).
struct Message {
  std::vector<std::string> fields;
  int fd = -1;
};

// Sends fields (and fd when >= 0, which stays the caller's).
ninep::Status SendMessage(int sock, const std::vector<std::string>& fields, int fd);
// Receives one message; ECONNRESET with "closed" at end of file.
ninep::Result<Message> ReceiveMessage(int sock);

}  // namespace nsunion::internal

#endif  // NINEFOLD_NS_UNION_CONTROL_H_
