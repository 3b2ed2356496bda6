// conn.cc: dialling and attaching, and the errno FUSE sees.
#include "mount9p/conn.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace ninep::mount9p {

std::string DefaultUser() {
  if (struct passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  return "none";
}

Result<ConnPtr> Dial(const MountOptions& opts, size_t first) {
  ClientOptions co;
  co.dialect = opts.dialect;
  co.msize = opts.msize;
  co.trace = opts.trace;
  co.tls = opts.tls;
  co.call_timeout = std::chrono::milliseconds(static_cast<int64_t>(opts.timeout * 1000));
  AttachSpec who{opts.uname.empty() ? DefaultUser() : opts.uname, opts.aname, NONUNAME};
  // 9P2000.L servers (diod) identify the user by n_uname: the invoking uid,
  // or the named user's uid when -u names a local account.
  if (opts.dialect == Dialect::k9P2000L) {
    who.n_uname = getuid();
    if (!opts.uname.empty()) {
      struct passwd* pw = getpwnam(opts.uname.c_str());
      who.n_uname = pw != nullptr ? pw->pw_uid : NONUNAME;
    }
  }
  auto a = Client::ConnectAny(opts.addr, co, who, first);
  if (!a.ok()) return a.status();
  auto conn = std::make_shared<Conn>();
  conn->client = std::move(a->client);
  conn->root = std::move(a->root);
  conn->index = a->index;
  conn->addr = std::move(a->addr);
  return conn;
}

Result<FidPtr> AttachAs(const ConnPtr& c, const MountOptions& opts, uid_t uid) {
  std::string uname = std::to_string(uid);
  char buf[4096];
  struct passwd pw, *res = nullptr;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != nullptr) uname = res->pw_name;
  uint32_t n_uname = opts.dialect == Dialect::k9P2000L ? uid : NONUNAME;
  auto root = c->client->Attach(uname, opts.aname, n_uname);
  if (!root.ok())
    return Status(root.status().err(), "attach as " + uname + ": " + root.status().message());
  return std::make_shared<RFid>(c, std::move(*root));
}

int ToErrno(const Status& s) {
  int e = s.err();
  switch (e) {
    case ECONNRESET:
    case ECONNABORTED:
    case ECONNREFUSED:
    case EPIPE:
    case ENOTCONN:
    case ESHUTDOWN:
    case EPROTO:
    case EBADMSG:
      return EIO;
    case ECANCELED:
      return EINTR;
    default:
      break;
  }
  if (e <= 0 || e >= 4096) return EIO;
  return e;
}

}  // namespace ninep::mount9p
