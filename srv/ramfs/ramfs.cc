// ramfs: an in-memory 9P file server on lib9p's FileServer, the framework's
// canonical example (ramfs(1), lib9p(3)). The framework checks fids, modes and
// counts, serves 9P2000.L from these methods and does ORCLOSE; handlers run
// on the loop thread and answer at once, so nothing is locked.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

#include "ninep/server.h"
#include "ninep/server_cmdline.h"

namespace {

using namespace ninep;

constexpr uint64_t kMaxFile = 1ull << 30;  // writes and truncations past this fail EFBIG

struct File {  // one file or directory
  Dir d;       // what Tstat answers; d.length tracks data.size()
  std::string data;
  std::weak_ptr<File> parent;                      // the root's is itself; expired once removed
  std::map<uint64_t, std::shared_ptr<File>> kids;  // by creation: stable readdir cookies
  uint64_t seq = 0, next_seq = 1;
};
using FileRef = std::shared_ptr<File>;

uint32_t Now() { return static_cast<uint32_t>(time(nullptr)); }
bool BadName(std::string_view n) {
  return n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos;
}

struct Ramfs : FileServer {
  explicit Ramfs(const std::string& owner)
      : owner_(owner), root_(New(nullptr, "/", DMDIR | 0777, owner)) {}
  void Attach(AttachReq r) override {
    r.fid->aux = root_;
    r.Respond(root_->d.qid);
  }
  void Walk(WalkReq r) override {
    FileRef f = Get(r.fid);
    std::vector<Qid> qids;
    for (std::string_view name : r.names) {
      FileRef n = !(f->d.mode & DMDIR) ? nullptr : name == ".." ? f->parent.lock() : Find(f, name);
      if (!n) break;
      f = std::move(n);
      qids.push_back(f->d.qid);
    }
    if (qids.empty() && r.names.size() > 0)
      return r.Fail(Errno((f->d.mode & DMDIR) ? ENOENT : ENOTDIR));
    if (qids.size() == r.names.size()) r.newfid->aux = f;
    r.Respond(std::move(qids));
  }
  void Open(OpenReq r) override {
    FileRef f = Get(r.fid);
    if ((f->d.mode & DMDIR) && ((r.mode & 3) != OREAD || (r.mode & OTRUNC)))
      return r.Fail(Errno(EISDIR));
    if ((r.mode & OTRUNC) && !f->data.empty()) Change(f, 0, r.fid->uname);
    r.Respond(OpenOut{f->d.qid, 0});
  }
  void Create(CreateReq r) override {
    FileRef dir = Get(r.fid);
    if (!(dir->d.mode & DMDIR)) return r.Fail(Errno(ENOTDIR));
    if (dir->parent.expired()) return r.Fail(Errno(ENOENT));  // removed
    if (BadName(r.name)) return r.Fail(Status(EINVAL, "bad file name"));
    if (Find(dir, r.name)) return r.Fail(Errno(EEXIST));
    FileRef f = New(dir, r.name, r.perm, r.fid->uname.empty() ? owner_ : r.fid->uname);
    r.fid->aux = f;
    r.Respond(OpenOut{f->d.qid, 0});
  }
  void Read(ReadReq r) override {
    FileRef f = Get(r.fid);
    if (r.offset >= f->data.size()) return r.Respond(0);
    size_t n = std::min<uint64_t>(r.buf.size(), f->data.size() - r.offset);
    memcpy(r.buf.data(), f->data.data() + r.offset, n);
    r.Respond(static_cast<uint32_t>(n));
  }
  void ReadDir(ReadDirReq r) override {
    FileRef f = Get(r.fid);
    std::vector<DirEntry> out;
    size_t max = r.count / 24 + 1;  // the framework packs what fits; a dirent is >= 24 bytes
    for (auto it = f->kids.upper_bound(r.cookie); it != f->kids.end() && out.size() < max; ++it)
      out.push_back(DirEntry{it->second->d, it->first});
    r.Respond(std::move(out));
  }
  void Write(WriteReq r) override {
    FileRef f = Get(r.fid);
    uint64_t off = (f->d.mode & DMAPPEND) ? f->data.size() : r.offset;
    if (off > kMaxFile || r.data.size() > kMaxFile - off) return r.Fail(Errno(EFBIG));
    // As write(2) of 0 bytes: nothing changes, however far the offset (no gap is allocated).
    if (r.data.empty()) return r.Respond(0u);
    Change(f, std::max<uint64_t>(f->data.size(), off + r.data.size()), r.fid->uname);
    memcpy(f->data.data() + off, r.data.data(), r.data.size());
    r.Respond(static_cast<uint32_t>(r.data.size()));
  }
  void Remove(RemoveReq r) override {
    FileRef f = Get(r.fid);
    FileRef p = f->parent.lock();
    if (f == root_ || !p) return r.Fail(f == root_ ? Status(EPERM, "root") : Errno(ENOENT));
    if (!f->kids.empty()) return r.Fail(Errno(ENOTEMPTY));
    p->kids.erase(f->seq);
    f->parent.reset();
    p->d.mtime = Now();
    r.Respond(Empty{});
  }
  void Stat(StatReq r) override { r.Respond(Get(r.fid)->d); }
  void Wstat(WstatReq r) override {
    FileRef f = Get(r.fid);
    const ninep::Stat& s = r.d;
    bool dir = f->d.mode & DMDIR, rename = !s.name.empty() && s.name != f->d.name;
    // Check everything first: a wstat is all or nothing.
    FileRef p = f->parent.lock();
    if (rename && (f == root_ || !p || BadName(s.name))) return r.Fail(Errno(EINVAL));
    if (rename && Find(p, s.name)) return r.Fail(Errno(EEXIST));
    if (s.length != ~0ull && (dir ? s.length != 0 : s.length > kMaxFile))
      return r.Fail(Errno(dir ? EISDIR : EFBIG));
    if (s.mode != ~0u && (s.mode & DMDIR) != (f->d.mode & DMDIR)) return r.Fail(Errno(EINVAL));
    if (rename) f->d.name = s.name;
    if (s.length != ~0ull && !dir) Change(f, s.length, r.fid->uname);
    if (s.mode != ~0u) f->d.mode = s.mode, f->d.qid.type = static_cast<uint8_t>(s.mode >> 24);
    if (s.mtime != ~0u) f->d.mtime = s.mtime;
    if (s.atime != ~0u) f->d.atime = s.atime;
    if (!s.gid.empty()) f->d.gid = s.gid;
    r.Respond(Empty{});
  }
  static FileRef Get(const FidRef& fid) { return std::static_pointer_cast<File>(fid->aux); }
  static FileRef Find(const FileRef& dir, std::string_view name) {
    for (auto& [seq, k] : dir->kids)
      if (k->d.name == name) return k;
    return nullptr;
  }
  FileRef New(const FileRef& dir, std::string_view name, uint32_t mode, const std::string& uid) {
    auto f = std::make_shared<File>();
    f->d.qid = Qid{static_cast<uint8_t>(mode >> 24), 0, next_path_++};
    f->d.mode = mode;
    f->d.atime = f->d.mtime = Now();
    f->d.name = name;
    f->d.uid = f->d.gid = f->d.muid = uid;
    f->parent = dir ? dir : f;
    if (dir) {
      f->seq = dir->next_seq++;
      dir->kids[f->seq] = f;
      dir->d.mtime = f->d.mtime;
    }
    return f;
  }
  // Records a change of content: new length, qid.version, mtime, muid.
  static void Change(const FileRef& f, uint64_t length, const std::string& who) {
    f->data.resize(length);
    f->d.length = length;
    f->d.qid.version++;
    f->d.mtime = f->d.atime = Now();
    if (!who.empty()) f->d.muid = who;
  }
  uint64_t next_path_ = 1;  // before root_, which takes the first
  std::string owner_;
  FileRef root_;
};

}  // namespace

int main(int argc, char** argv) {
  ServerFlags flags;
  std::string owner = DefaultUser();
  Command cmd("ramfs");
  cmd.AddServerFlags(&flags).Value('u', "owner", "OWNER", "owner of the tree", &owner);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  ServerOptions opts;
  ApplyServerFlags(cmd, flags, &opts);
  Ramfs fs(owner);
  Server srv(&fs, opts);
  return ServeMain(cmd, flags, &srv);
}
