// export_xattr.cc: 9P2000.L extended attributes, user.* only. Txattrwalk
// makes a fid that reads a snapshot of one value (or, for the empty name,
// the NUL-separated list of names); Txattrcreate turns a fid into one that
// collects a value by Twrite and sets it when clunked. Other namespaces
// (trusted.*, security.*) are refused: a remote client must not set file
// capabilities through a server that runs as root.
#include <sys/xattr.h>

#include <cerrno>
#include <vector>

#include "exportfs/export_fs.h"

namespace exportfs {

using ninep::Status;

namespace {

constexpr std::string_view kUserPrefix = "user.";
constexpr uint64_t kMaxXattrSize = 65536;  // XATTR_SIZE_MAX

bool UserName(std::string_view n) {
  return n.size() > kUserPrefix.size() && n.starts_with(kUserPrefix);
}

// The user.* names of a file, NUL-terminated each, as listxattr gives them.
ninep::Result<std::string> ListUser(const std::string& path) {
  std::vector<char> buf(1024);
  for (;;) {
    ssize_t n = listxattr(path.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      std::string out;
      for (size_t i = 0; i < static_cast<size_t>(n);) {
        std::string_view name(buf.data() + i);
        if (UserName(name)) {
          out.append(name);
          out.push_back('\0');
        }
        i += name.size() + 1;
      }
      return out;
    }
    if (errno != ERANGE) return Err(errno);
    ssize_t need = listxattr(path.c_str(), nullptr, 0);
    if (need < 0) return Err(errno);
    buf.resize(static_cast<size_t>(need) + 1024);
  }
}

ninep::Result<std::string> GetValue(const std::string& path, const std::string& name) {
  std::string v(256, '\0');
  for (;;) {
    ssize_t n = getxattr(path.c_str(), name.c_str(), v.data(), v.size());
    if (n >= 0) {
      v.resize(static_cast<size_t>(n));
      return v;
    }
    if (errno != ERANGE) return Err(errno);
    ssize_t need = getxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (need < 0) return Err(errno);
    v.assign(static_cast<size_t>(need) + 256, '\0');
  }
}

}  // namespace

void ExportFs::Xattrwalk(ninep::XattrwalkReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Xattrwalk(std::move(r));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    NodeRef n = x->node();
    std::string value;
    // Only regular files and directories are reached through their magic
    // link (see Reopen); user.* attributes exist on nothing else anyway.
    bool plain = n->IsReg() || n->IsDir();
    std::string path = ProcPath(n->fd->get());
    if (r.in.name.empty()) {
      if (plain) {
        auto l = ListUser(path);
        if (!l.ok()) return r.Fail(l.status());
        value = std::move(*l);
      }
    } else {
      if (!plain || !UserName(r.in.name)) return r.Fail(Err(ENODATA));
      auto v = GetValue(path, std::string(r.in.name));
      if (!v.ok()) return r.Fail(v.status());
      value = std::move(*v);
    }
    auto nx = std::make_shared<ExFid>(&reg_, x->tree, n, x->id);
    nx->xkind = ExFid::Xattr::kRead;
    nx->xvalue = std::move(value);
    uint64_t size = nx->xvalue.size();
    r.fid2->aux = nx;
    r.Respond(size);
  });
}

void ExportFs::Xattrcreate(ninep::XattrcreateReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Xattrcreate(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  if (!UserName(r.in.name)) return r.Fail(Err(EOPNOTSUPP));
  if (r.in.attr_size > kMaxXattrSize) return r.Fail(Err(E2BIG));
  if (r.in.flags & ~static_cast<uint32_t>(XATTR_CREATE | XATTR_REPLACE)) return r.Fail(Err(EINVAL));
  NodeRef n = x->node();
  if (!n->IsReg() && !n->IsDir()) return r.Fail(Err(EPERM));
  {
    std::lock_guard<std::mutex> l(x->xmu);
    x->xkind = ExFid::Xattr::kWrite;
    x->xname = std::string(r.in.name);
    x->xsize = r.in.attr_size;
    x->xflags = static_cast<int>(r.in.flags);
    x->xwritten = 0;
    x->xvalue.clear();
  }
  r.Respond(ninep::Empty{});
}

Status ExportFs::XattrClunk(ExFid* x) {
  std::lock_guard<std::mutex> l(x->xmu);
  std::string path = ProcPath(x->node()->fd->get());
  if (x->xwritten != x->xsize) return Err(EINVAL);
  // Linux's removexattr arrives as Txattrcreate of size 0 with XATTR_REPLACE.
  if (x->xsize == 0 && x->xflags == XATTR_REPLACE) {
    if (removexattr(path.c_str(), x->xname.c_str()) != 0) return Err(errno);
    return Status();
  }
  x->xvalue.resize(x->xsize);
  if (setxattr(path.c_str(), x->xname.c_str(), x->xvalue.data(), x->xvalue.size(), x->xflags) != 0)
    return Err(errno);
  return Status();
}

}  // namespace exportfs
