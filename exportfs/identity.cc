// identity.cc: passwd/group lookups for an attach, and the per-thread
// credential switch (see identity.h for why the raw system calls).
#include "exportfs/identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace exportfs {

using ninep::Result;
using ninep::Status;

bool Identity::InGroup(gid_t g) const {
  return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
}

namespace {

// The credentials a thread holds, as far as we set them.
struct Creds {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool operator==(const Creds&) const = default;
};

thread_local bool t_known = false;  // false: the thread's credentials are not ours to know
thread_local Creds t_cur;

// The credentials the process started with (those of every thread until
// one switches).
const Creds& ServerCreds() {
  static const Creds c = [] {
    Creds s;
    s.uid = geteuid();
    s.gid = getegid();
    int n = getgroups(0, nullptr);
    if (n > 0) {
      s.groups.resize(static_cast<size_t>(n));
      n = getgroups(n, s.groups.data());
      s.groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
    return s;
  }();
  return c;
}

Status Apply(const Creds& want) {
  if (t_known && t_cur == want) return Status();
  t_known = false;
  // SYS_setgroups, not setgroups(3): glibc's applies to every thread.
  if (syscall(SYS_setgroups, want.groups.size(), want.groups.data()) != 0)
    return ninep::Errno(errno, "setgroups");
  // setfsuid/setfsgid report failure only by not changing: check.
  setfsgid(want.gid);
  if (static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1))) != want.gid)
    return Status(EPERM, "setfsgid refused");
  setfsuid(want.uid);
  if (static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1))) != want.uid)
    return Status(EPERM, "setfsuid refused");
  t_cur = want;
  t_known = true;
  return Status();
}

// Grows buf and retries a *_r lookup while it answers ERANGE.
template <class Ent, class Fn>
int Lookup(Fn fn, Ent* ent, std::vector<char>* buf) {
  buf->resize(1024);
  for (;;) {
    Ent* res = nullptr;
    int e = fn(ent, buf->data(), buf->size(), &res);
    if (e == ERANGE && buf->size() < (1u << 20)) {
      buf->resize(buf->size() * 2);
      continue;
    }
    if (e != 0) return e;
    return res != nullptr ? 0 : ENOENT;
  }
}

}  // namespace

Result<IdentityRef> LookupIdentity(std::string_view uname, uint32_t n_uname) {
  passwd pw;
  std::vector<char> buf;
  int e;
  std::string who;
  if (n_uname != ~0U) {
    who = "uid " + std::to_string(n_uname);
    e = Lookup([n_uname](passwd* p, char* b, size_t n,
                         passwd** r) { return getpwuid_r(n_uname, p, b, n, r); },
               &pw, &buf);
  } else {
    std::string name(uname);
    who = "\"" + name + "\"";
    e = name.empty() || name.find('\0') != std::string::npos
            ? ENOENT
            : Lookup([&name](passwd* p, char* b, size_t n,
                             passwd** r) { return getpwnam_r(name.c_str(), p, b, n, r); },
                     &pw, &buf);
  }
  if (e == ENOENT) return Status(EACCES, "unknown user " + who + ": permission denied");
  if (e != 0) return ninep::Errno(e, "looking up user " + who);
  auto id = std::make_shared<Identity>();
  id->name = pw.pw_name;
  id->uid = pw.pw_uid;
  id->gid = pw.pw_gid;
  int n = 32;
  for (int tries = 0; tries < 8; tries++) {
    id->groups.resize(static_cast<size_t>(n));
    int got = n;
    if (getgrouplist(pw.pw_name, pw.pw_gid, id->groups.data(), &got) >= 0) {
      id->groups.resize(static_cast<size_t>(got));
      break;
    }
    n = std::max(got, n * 2);
  }
  std::sort(id->groups.begin(), id->groups.end());
  id->groups.erase(std::unique(id->groups.begin(), id->groups.end()), id->groups.end());
  return IdentityRef(std::move(id));
}

Status ActAs(const Identity* id, uint32_t gid) {
  if (id == nullptr) return Status();
  Creds c;
  c.uid = id->uid;
  c.gid = id->gid;
  if (gid != ~0U && (id->uid == 0 || id->InGroup(gid))) c.gid = gid;
  c.groups = id->groups;
  return Apply(c);
}

AsServer::AsServer() {
  // A thread that never switched may still hold credentials it inherited
  // from the thread that created it: switch whenever not known to be ours.
  const Creds& s = ServerCreds();
  if (t_known && t_cur == s) return;
  had_ = t_known;
  if (had_) {
    uid_ = t_cur.uid;
    gid_ = t_cur.gid;
    groups_ = t_cur.groups;
  }
  switched_ = Apply(s).ok();
}

AsServer::~AsServer() {
  if (!switched_ || !had_) return;
  Creds c;
  c.uid = uid_;
  c.gid = gid_;
  c.groups = std::move(groups_);
  // Failing to switch back leaves t_known false, so the next ActAs sets
  // every credential again.
  Apply(c).IgnoreError();
}

bool CanSwitchUsers() {
  // getgroups answers for the calling thread: capture the server's own
  // credentials now, on main's thread, before any thread switches.
  ServerCreds();
  return geteuid() == 0;
}

}  // namespace exportfs
