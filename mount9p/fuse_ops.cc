// fuse_ops.cc: the fuse_lowlevel_ops table. Each entry finds the Fs in the
// request's userdata and calls its handler; no exception crosses into
// libfuse (an allocation failure answers ENOMEM).
#include <errno.h>

#include <exception>

#include "mount9p/fs.h"

namespace ninep::mount9p {
namespace {

Fs* FsOf(fuse_req_t req) { return static_cast<Fs*>(fuse_req_userdata(req)); }

// Runs fn; answers req with ENOMEM if it throws (handlers throw only from
// allocation, before they answer).
template <class F>
void Guard(fuse_req_t req, F&& fn) {
  try {
    fn();
  } catch (const std::exception&) {
    fuse_reply_err(req, ENOMEM);
  }
}

void OpInit(void* userdata, fuse_conn_info* conn) { static_cast<Fs*>(userdata)->Init(conn); }

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { FsOf(req)->Lookup(req, parent, name); });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  try {
    FsOf(req)->Forget(ino, nlookup);
  } catch (const std::exception&) {
  }
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  try {
    for (size_t i = 0; i < count; i++) FsOf(req)->Forget(forgets[i].ino, forgets[i].nlookup);
  } catch (const std::exception&) {
  }
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Getattr(req, ino, fi); });
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Setattr(req, ino, attr, to_set, fi); });
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, [&] { FsOf(req)->Readlink(req, ino); });
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Guard(req, [&] { FsOf(req)->Mknod(req, parent, name, mode, rdev); });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guard(req, [&] { FsOf(req)->Mkdir(req, parent, name, mode); });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { FsOf(req)->Unlink(req, parent, name, false); });
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { FsOf(req)->Unlink(req, parent, name, true); });
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { FsOf(req)->Symlink(req, link, parent, name); });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Guard(req, [&] { FsOf(req)->Rename(req, parent, name, newparent, newname, flags); });
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Guard(req, [&] { FsOf(req)->Link(req, ino, newparent, newname); });
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Open(req, ino, fi); });
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Read(req, size, off, fi); });
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Write(req, buf, size, off, fi); });
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  // Writes are answered only once the server has them: nothing to flush.
  fuse_reply_err(req, 0);
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Release(req, fi); });
}

void OpFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Fsync(req, datasync, fi); });
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Opendir(req, ino, fi); });
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Readdir(req, size, off, fi); });
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Readdirplus(req, size, off, fi); });
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void OpStatfs(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, [&] { FsOf(req)->Statfs(req, ino); });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guard(req, [&] { FsOf(req)->Create(req, parent, name, mode, fi); });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops o = {};
  o.init = OpInit;
  o.lookup = OpLookup;
  o.forget = OpForget;
  o.forget_multi = OpForgetMulti;
  o.getattr = OpGetattr;
  o.setattr = OpSetattr;
  o.readlink = OpReadlink;
  o.mknod = OpMknod;
  o.mkdir = OpMkdir;
  o.unlink = OpUnlink;
  o.rmdir = OpRmdir;
  o.symlink = OpSymlink;
  o.rename = OpRename;
  o.link = OpLink;
  o.open = OpOpen;
  o.read = OpRead;
  o.write = OpWrite;
  o.flush = OpFlush;
  o.release = OpRelease;
  o.fsync = OpFsync;
  o.opendir = OpOpendir;
  o.readdir = OpReaddir;
  o.readdirplus = OpReaddirplus;
  o.releasedir = OpRelease;
  o.fsyncdir = OpFsyncdir;
  o.statfs = OpStatfs;
  o.create = OpCreate;
  return o;
}

}  // namespace

const fuse_lowlevel_ops& Fs::Ops() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace ninep::mount9p
