// conn.h: one dialled 9P connection as mount9p uses it, and fids that keep
// their connection alive.
//
// A Conn is a Client plus the root fid attached on it. An RFid pairs a Fid
// with the Conn it was made on, so a fid is always released before its
// client, and code holding an RFid keeps using the connection the fid
// belongs to even after a reconnect made a newer one. Conns are never
// destroyed while the mount runs (the Fs keeps every one it made): a Client
// must not be destroyed from its own callbacks, where the last RFid of an
// old connection may well be released.
// Thread-safety: Conn and RFid are shared through shared_ptr; their Client
// and Fid are thread-safe (client.h). ToErrno is pure.
#ifndef NINEP_MOUNT9P_CONN_H_
#define NINEP_MOUNT9P_CONN_H_

#include <memory>
#include <string>

#include "mount9p/options.h"
#include "ninep/client.h"
#include "ninep/status.h"

namespace ninep::mount9p {

// A connection and its attach.
struct Conn {
  std::unique_ptr<Client> client;
  Fid root;          // declared after client: released first
  size_t index = 0;  // which address of opts.addr's list answered
  std::string addr;  // that address
  ~Conn() { root = Fid(); }
};
using ConnPtr = std::shared_ptr<Conn>;

// A fid and the connection it lives on.
struct RFid {
  RFid(ConnPtr c, Fid f) : conn(std::move(c)), fid(std::move(f)) {}
  ConnPtr conn;
  Fid fid;  // declared after conn: released first
  // The client the fid number belongs to.
  Client* client() const { return conn->client.get(); }
};
using FidPtr = std::shared_ptr<RFid>;

// Dials opts.addr (a list of servers of one tree, tried in turn from the
// one at index `first`, wrapping around: Client::ConnectAny), negotiates,
// and attaches as opts.uname to opts.aname. Errors say which step failed
// ("attach: ..."), and for a list of several, at which address each did
// ("dial tcp!h!1: ...; h:2: attach: ...").
Result<ConnPtr> Dial(const MountOptions& opts, size_t first = 0);

// Attaches as local user uid on c (uname its login name, or the number;
// n_uname uid in 9P2000.L), to opts.aname.
Result<FidPtr> AttachAs(const ConnPtr& c, const MountOptions& opts, uid_t uid);

// The errno to hand to FUSE for a failed 9P call: the call's errno, with a
// dead connection reported as EIO and a cancelled call as EINTR.
int ToErrno(const Status& s);

// The login name of the invoking user ("none" when it has none).
std::string DefaultUser();

}  // namespace ninep::mount9p

#endif  // NINEP_MOUNT9P_CONN_H_
