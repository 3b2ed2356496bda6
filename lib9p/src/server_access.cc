// server_access.cc: who may attach and who may change files, enforced by
// the framework for every file server (ServerOptions::allow, readonly and
// the TLS identity of Conn::Identity), before a handler sees the request.
#include <fcntl.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "server_conn.h"

namespace ninep {
namespace {

bool Listed(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// The user a request names: uname, or in 9P2000.L a bare n_uname's
// account name.
std::string EffectiveUname(std::string_view uname, uint32_t n_uname) {
  if (!uname.empty() || n_uname == NONUNAME) return std::string(uname);
  struct passwd pw, *res = nullptr;
  char buf[1024];
  if (getpwuid_r(n_uname, &pw, buf, sizeof buf, &res) == 0 && res != nullptr) return pw.pw_name;
  return "#" + std::to_string(n_uname);
}

// The fid through which m would change a file, or NOFID when m changes
// nothing (reads, walks, stats, clunks, opens for reading).
uint32_t MutatingFid(const Message& m) {
  const auto& b = m.body;
  if (auto* t = std::get_if<Twrite>(&b)) return t->fid;
  if (auto* t = std::get_if<Tcreate>(&b)) return t->fid;
  if (auto* t = std::get_if<Tlcreate>(&b)) return t->fid;
  if (auto* t = std::get_if<Tremove>(&b)) return t->fid;
  if (auto* t = std::get_if<Twstat>(&b)) return t->fid;
  if (auto* t = std::get_if<Tsetattr>(&b)) return t->fid;
  if (auto* t = std::get_if<Tsymlink>(&b)) return t->fid;
  if (auto* t = std::get_if<Tmknod>(&b)) return t->dfid;
  if (auto* t = std::get_if<Trename>(&b)) return t->fid;
  if (auto* t = std::get_if<Trenameat>(&b)) return t->olddirfid;
  if (auto* t = std::get_if<Tunlinkat>(&b)) return t->dirfd;
  if (auto* t = std::get_if<Tlink>(&b)) return t->dfid;
  if (auto* t = std::get_if<Tmkdir>(&b)) return t->dfid;
  if (auto* t = std::get_if<Txattrcreate>(&b)) return t->fid;
  if (auto* t = std::get_if<Topen>(&b)) {
    bool writes = (t->mode & 3) != OREAD && (t->mode & 3) != OEXEC;
    return writes || (t->mode & (OTRUNC | ORCLOSE)) ? t->fid : NOFID;
  }
  if (auto* t = std::get_if<Tlopen>(&b))
    return (t->flags & O_ACCMODE) != O_RDONLY || (t->flags & O_TRUNC) ? t->fid : NOFID;
  return NOFID;
}

}  // namespace

Status Connection::CheckAccess(const Message& m) {
  const ServerOptions& o = srv_->opts;
  Status refusal;
  if (const auto* a = std::get_if<Tattach>(&m.body)) {
    refusal = CheckAttach(a->uname, a->n_uname);
  } else if (const auto* au = std::get_if<Tauth>(&m.body)) {
    refusal = CheckAttach(au->uname, au->n_uname);
  } else if (!o.readonly.empty()) {
    uint32_t num = MutatingFid(m);
    auto it = num == NOFID ? fids_.end() : fids_.find(num);
    if (it != fids_.end()) {
      std::string user = EffectiveUname(it->second->uname, it->second->n_uname);
      if (Listed(o.readonly, user))
        refusal = Status(EROFS, "user " + user + " may only read here (--readonly)");
    }
  }
  if (!refusal.ok())
    fprintf(stderr, "%s: %s: refused %s: %s\n",
            o.trace_prefix.empty() ? "lib9p" : o.trace_prefix.c_str(), cs_->peer.c_str(),
            std::string(MsgTypeName(m.type())).c_str(), refusal.message().c_str());
  return refusal;
}

Status Connection::CheckAttach(std::string_view uname, uint32_t n_uname) const {
  const ServerOptions& o = srv_->opts;
  std::string user = EffectiveUname(uname, n_uname);
  const std::string& id = cs_->identity;
  if (!id.empty() && user != id)
    return Status(EACCES, "attach as " + user + " refused: the TLS peer is " + id);
  if (!o.allow.empty() && !Listed(o.allow, user))
    return Status(EACCES, "attach as " + user + " refused: not in the server's --allow list");
  return Status::Ok();
}

}  // namespace ninep
