// ctl.h: how `ns bind`, `ns show` and a nested `ns exec` reach the helper
// of their namespace. Each namespace's helper listens on an abstract unix
// socket named after the inode of its mount namespace, so a process finds
// the helper of the namespace it is in (or of another process's, by pid)
// without any path or variable that could be stale or shared.
//
// One request per connection: the client sends words separated by NUL and
// shuts down its side; the helper answers "0" + text (success) or
// "1" + errno + " " + message, and closes.
// Thread-safety: the functions keep no state.
#ifndef NS_CTL_H_
#define NS_CTL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "ninep/status.h"

namespace ns {

using ninep::Result;
using ninep::Status;

// The inode of pid's mount namespace (0: the caller's).
Result<ino_t> MountNsOf(pid_t pid);

// Listens for the helper of mount namespace ns; a nonblocking fd.
Result<int> ListenCtl(ino_t ns);

// Sends words to the helper of mount namespace ns and returns its answer.
// ENOENT when no helper serves that namespace (not made by ns exec).
Result<std::string> CallCtl(ino_t ns, const std::vector<std::string>& words);

// The helper's side of one connection.
struct CtlRequest {
  int fd = -1;                     // the connection; Reply closes it
  pid_t pid = 0;                   // the peer (0: outside our PID namespace)
  uid_t uid = 0;                   // the peer's uid
  std::vector<std::string> words;  // what it sent
};
// Accepts one connection on the listener and reads its request (bounded
// by a few seconds, so one stuck client cannot hold the helper).
Result<CtlRequest> AcceptCtl(int listen_fd);
// Answers and closes the request's connection.
void ReplyCtl(CtlRequest* r, const Status& st, const std::string& text);

}  // namespace ns

#endif  // NS_CTL_H_
