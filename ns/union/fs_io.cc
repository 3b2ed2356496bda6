// fs_io.cc: UnionFs's open files, and the fuse_lowlevel_ops table.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <exception>

#include "ns/union/fs.h"

namespace nsunion::internal {
namespace {

int Err(int e) { return e != 0 ? e : EIO; }

}  // namespace

void UnionFs::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Node* n = N(ino);
  if (n->kind != Node::Kind::kFile) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  int flags = (fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW)) | O_CLOEXEC;
  int fd = open(ProcPath(n->fd).c_str(), flags);
  if (fd < 0) {
    fuse_reply_err(req, Err(errno));
    return;
  }
  fi->fh = static_cast<uint64_t>(fd);
  // The page cache stays across opens; a change made beside the union
  // shows in mtime or size, and the kernel then drops it (AUTO_INVAL_DATA).
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) close(fd);
}

void UnionFs::Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = static_cast<int>(fi->fh);
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void UnionFs::WriteBuf(fuse_req_t req, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = static_cast<int>(fi->fh);
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
  if (n < 0) {
    fuse_reply_err(req, static_cast<int>(-n));
  } else {
    fuse_reply_write(req, static_cast<size_t>(n));
  }
}

void UnionFs::Flush(fuse_req_t req, fuse_file_info* fi) {
  // close() of a dup tells the member file system of the close (NFS
  // writes back, POSIX locks drop) while our fd stays open.
  int rc = close(dup(static_cast<int>(fi->fh)));
  fuse_reply_err(req, rc == 0 ? 0 : Err(errno));
}

void UnionFs::Release(fuse_req_t req, fuse_file_info* fi) {
  close(static_cast<int>(fi->fh));
  fuse_reply_err(req, 0);
}

void UnionFs::Fsync(fuse_req_t req, int datasync, fuse_file_info* fi) {
  int fd = static_cast<int>(fi->fh);
  int rc = datasync != 0 ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, rc == 0 ? 0 : Err(errno));
}

// ---- The operations table ---------------------------------------------

namespace {

UnionFs* FsOf(fuse_req_t req) { return static_cast<UnionFs*>(fuse_req_userdata(req)); }

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

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops o = {};
  o.init = [](void* u, fuse_conn_info* c) { static_cast<UnionFs*>(u)->Init(c); };
  o.lookup = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, [&] { FsOf(r)->Lookup(r, p, n); });
  };
  o.forget = [](fuse_req_t r, fuse_ino_t ino, uint64_t n) {
    FsOf(r)->Forget(ino, n);
    fuse_reply_none(r);
  };
  o.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data* f) {
    for (size_t i = 0; i < count; i++) FsOf(r)->Forget(f[i].ino, f[i].nlookup);
    fuse_reply_none(r);
  };
  o.getattr = [](fuse_req_t r, fuse_ino_t ino, fuse_file_info*) {
    Guard(r, [&] { FsOf(r)->Getattr(r, ino); });
  };
  o.setattr = [](fuse_req_t r, fuse_ino_t ino, struct stat* a, int to_set, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Setattr(r, ino, a, to_set, fi); });
  };
  o.readlink = [](fuse_req_t r, fuse_ino_t ino) { Guard(r, [&] { FsOf(r)->Readlink(r, ino); }); };
  o.mknod = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, dev_t d) {
    Guard(r, [&] { FsOf(r)->Mknod(r, p, n, m, d); });
  };
  o.mkdir = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m) {
    Guard(r, [&] { FsOf(r)->Mkdir(r, p, n, m); });
  };
  o.unlink = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, [&] { FsOf(r)->Unlink(r, p, n, false); });
  };
  o.rmdir = [](fuse_req_t r, fuse_ino_t p, const char* n) {
    Guard(r, [&] { FsOf(r)->Unlink(r, p, n, true); });
  };
  o.symlink = [](fuse_req_t r, const char* l, fuse_ino_t p, const char* n) {
    Guard(r, [&] { FsOf(r)->Symlink(r, l, p, n); });
  };
  o.rename = [](fuse_req_t r, fuse_ino_t p, const char* n, fuse_ino_t np, const char* nn,
                unsigned f) { Guard(r, [&] { FsOf(r)->Rename(r, p, n, np, nn, f); }); };
  o.link = [](fuse_req_t r, fuse_ino_t ino, fuse_ino_t np, const char* nn) {
    Guard(r, [&] { FsOf(r)->Link(r, ino, np, nn); });
  };
  o.open = [](fuse_req_t r, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Open(r, ino, fi); });
  };
  o.read = [](fuse_req_t r, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Read(r, size, off, fi); });
  };
  o.write_buf = [](fuse_req_t r, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->WriteBuf(r, in, off, fi); });
  };
  o.flush = [](fuse_req_t r, fuse_ino_t, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Flush(r, fi); });
  };
  o.release = [](fuse_req_t r, fuse_ino_t, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Release(r, fi); });
  };
  o.fsync = [](fuse_req_t r, fuse_ino_t, int datasync, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Fsync(r, datasync, fi); });
  };
  o.opendir = [](fuse_req_t r, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Opendir(r, ino, fi); });
  };
  o.readdir = [](fuse_req_t r, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Readdir(r, size, off, fi, false); });
  };
  o.readdirplus = [](fuse_req_t r, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Readdir(r, size, off, fi, true); });
  };
  o.releasedir = [](fuse_req_t r, fuse_ino_t, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Releasedir(r, fi); });
  };
  o.fsyncdir = [](fuse_req_t r, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(r, 0); };
  o.statfs = [](fuse_req_t r, fuse_ino_t ino) { Guard(r, [&] { FsOf(r)->Statfs(r, ino); }); };
  o.create = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, fuse_file_info* fi) {
    Guard(r, [&] { FsOf(r)->Create(r, p, n, m, fi); });
  };
  return o;
}

}  // namespace

const fuse_lowlevel_ops& UnionFs::Ops() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace nsunion::internal
