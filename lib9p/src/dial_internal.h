// dial_internal.h: blocking socket helpers shared by transport.cc (Dial,
// Listen) and dial.cc. Internal to lib9p.
// Thread-safety: pure functions over their arguments; they block only the
// calling thread (connect, name resolution).
#ifndef NINEP_SRC_DIAL_INTERNAL_H_
#define NINEP_SRC_DIAL_INTERNAL_H_

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <string>
#include <string_view>

#include "ninep/status.h"
#include "ninep/transport.h"

namespace ninep::internal {

// "tcp!1.2.3.4!80", "tcp!::1!564", "unix!/path" or "unix" for an unnamed peer.
std::string FormatSockaddr(const sockaddr* sa);
// Status(err, "what: strerror(err)").
Status SysError(int err, std::string_view what);
// Fills a sockaddr_un for path; ENAMETOOLONG when it does not fit.
Result<int> MakeUnixAddr(const std::string& path, sockaddr_un* un, socklen_t* len);
// Resolves and connects (IPv4 or IPv6, every address in turn, with a
// deadline `timeout` from now over all of them, 0 = none of ours); sets
// TCP_NODELAY. Returns the connected, close-on-exec fd. Errors read
// "dial tcp!h!p: reason".
Result<int> ConnectSocket(const DialAddr& addr, std::chrono::milliseconds timeout);
// The address to bind for a tcp listen ("*" = 0.0.0.0; names resolved,
// IPv4 preferred).
Status ResolveListen(const DialAddr& addr, sockaddr_storage* ss);
// Removes a stale unix socket file at path; refuses a non-socket file or a
// socket with a live listener.
Status RemoveStaleSocket(const std::string& path);

}  // namespace ninep::internal

#endif  // NINEP_SRC_DIAL_INTERNAL_H_
