// synth.cc: the synthetic tree (see synth.h). Everything that touches the
// tree's shape runs on the loop thread, so the tree needs no lock; only
// qid.version and mtime are atomics, because Touch may come from a worker.
#include "ninep/synth.h"

#include <errno.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace ninep {

namespace {

uint32_t Now() { return static_cast<uint32_t>(time(nullptr)); }

Status Removed() { return Status(ENOENT, "file has been removed"); }

bool BadName(std::string_view name) {
  return name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
         name.find('\0') != std::string_view::npos;
}

// Rough wire size of a stat entry, to stop collecting directory entries
// once the client's count is surely filled.
size_t StatEstimate(const Dir& d) {
  return 2 + 2 + 4 + 13 + 4 + 4 + 4 + 8 + 8 + d.name.size() + d.uid.size() + d.gid.size() +
         d.muid.size();
}

}  // namespace

// ---- SynthFile -------------------------------------------------------------

SynthFile SynthFile::Text(std::function<std::string()> text) {
  SynthFile f;
  f.text = std::move(text);
  return f;
}

SynthFile SynthFile::Ctl(std::function<std::string()> text,
                         std::function<Status(std::string_view data, SynthFid& f)> cmd) {
  SynthFile f;
  f.text = text ? std::move(text) : [] { return std::string(); };
  f.write = [cmd = std::move(cmd)](WriteReq r, SynthFid& fid) {
    std::string_view data(reinterpret_cast<const char*>(r.data.data()), r.data.size());
    Status s = cmd ? cmd(data, fid) : Status(EACCES, "");
    if (s.ok()) {
      r.Respond(static_cast<uint32_t>(r.data.size()));
    } else {
      r.Fail(std::move(s));
    }
  };
  return f;
}

// ---- SynthNode / SynthFid --------------------------------------------------

SynthNode::SynthNode(std::string name, uint32_t perm, uint64_t path, SynthFile file)
    : name_(std::move(name)), perm_(perm), path_(path), file_(std::move(file)) {
  uint32_t now = Now();
  mtime_ = now;
  atime_ = now;
}

Qid SynthNode::qid() const {
  Qid q;
  q.type = IsDir() ? QTDIR : QTFILE;
  if (perm_ & DMAPPEND) q.type |= QTAPPEND;
  if (perm_ & DMEXCL) q.type |= QTEXCL;
  if (perm_ & DMTMP) q.type |= QTTMP;
  q.version = version_.load(std::memory_order_relaxed);
  q.path = path_;
  return q;
}

SynthFid::SynthFid(SynthNodeRef n, std::atomic<int64_t>* live) : node_(std::move(n)), live_(live) {
  live_->fetch_add(1);
}

SynthFid::~SynthFid() { live_->fetch_sub(1); }

// ---- SynthTree: building ---------------------------------------------------

SynthTree::SynthTree(std::string owner, uint32_t root_perm) : owner_(std::move(owner)) {
  root_.reset(new SynthNode("/", (root_perm & 0777) | DMDIR, next_path_++, SynthFile{}));
  root_->parent_ = root_.get();
}

SynthTree::~SynthTree() {
  // Break nothing explicitly: children are owned top-down and parents are
  // raw pointers, so the root's destruction frees the whole tree.
}

Result<SynthNodeRef> SynthTree::Add(const SynthNodeRef& parent, std::string_view name,
                                    uint32_t perm, SynthFile file) {
  if (!parent) return Status(EINVAL, "no parent directory");
  if (BadName(name)) return Status(EINVAL, "bad file name: " + std::string(name));
  if (!parent->IsDir()) return Status(ENOTDIR, "not a directory");
  if (parent->removed_) return Removed();
  if (parent->by_name_.count(name)) return Status(EEXIST, "file already exists");
  SynthNodeRef n(new SynthNode(std::string(name), perm, next_path_++, std::move(file)));
  n->parent_ = parent.get();
  n->seq_ = parent->next_seq_++;
  parent->children_.emplace(n->seq_, n);
  parent->by_name_.emplace(n->name_, n->seq_);
  return n;
}

Result<SynthNodeRef> SynthTree::AddDir(const SynthNodeRef& parent, std::string_view name,
                                       uint32_t perm) {
  return Add(parent, name, (perm & ~(DMAPPEND | DMEXCL)) | DMDIR, SynthFile{});
}

Result<SynthNodeRef> SynthTree::AddFile(const SynthNodeRef& parent, std::string_view name,
                                        uint32_t perm, SynthFile file) {
  return Add(parent, name, perm & ~DMDIR, std::move(file));
}

Result<SynthNodeRef> SynthTree::AddText(const SynthNodeRef& parent, std::string_view name,
                                        uint32_t perm, std::function<std::string()> text) {
  return AddFile(parent, name, perm, SynthFile::Text(std::move(text)));
}

Status SynthTree::RemoveNode(const SynthNodeRef& node) {
  if (!node) return Status(EINVAL, "no node");
  if (node == root_) return Status(EPERM, "cannot remove the root");
  if (node->removed_) return Removed();
  SynthNode* parent = node->parent_;
  parent->by_name_.erase(node->name_);
  // The erase below may drop the last tree reference (node may be that very
  // reference), so the copy is what keeps the node alive.
  SynthNodeRef keep = node;  // NOLINT(performance-unnecessary-copy-initialization): keep-alive
  parent->children_.erase(node->seq_);
  // Mark the whole subtree, and let go of children that no fid holds.
  std::vector<SynthNodeRef> stack{keep};
  while (!stack.empty()) {
    SynthNodeRef n = std::move(stack.back());
    stack.pop_back();
    n->removed_ = true;
    n->parent_ = nullptr;
    for (auto& [seq, c] : n->children_) stack.push_back(c);
    n->children_.clear();
    n->by_name_.clear();
  }
  return Status::Ok();
}

SynthNodeRef SynthTree::Lookup(const SynthNodeRef& dir, std::string_view name) const {
  if (!dir) return nullptr;
  auto it = dir->by_name_.find(name);
  if (it == dir->by_name_.end()) return nullptr;
  auto c = dir->children_.find(it->second);
  return c == dir->children_.end() ? nullptr : c->second;
}

std::vector<SynthNodeRef> SynthTree::Children(const SynthNodeRef& dir) const {
  std::vector<SynthNodeRef> out;
  if (!dir) return out;
  for (auto& [seq, c] : dir->children_) out.push_back(c);
  return out;
}

void SynthTree::Touch(SynthNode& node) {
  node.version_.fetch_add(1, std::memory_order_relaxed);
  node.mtime_.store(Now(), std::memory_order_relaxed);
}

Dir SynthTree::DirOf(const SynthNode& n) const {
  Dir d;
  d.qid = n.qid();
  d.mode = n.perm_;
  d.mtime = n.mtime_.load(std::memory_order_relaxed);
  d.atime = std::max(n.atime_, d.mtime);
  d.length = (!n.IsDir() && n.file_.length) ? n.file_.length() : 0;
  d.name = n.name_;
  d.uid = d.gid = d.muid = owner_;
  return d;
}

// ---- SynthTree: redirection and helpers ------------------------------------

void SynthTree::Redirect(OpenReq& r, const SynthNodeRef& to) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f || !to) return;
  f->node_ = to;
  r.fid->qid = to->qid();
}

void SynthTree::OpenAs(OpenReq r, const SynthNodeRef& to) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f || !to) return r.Fail(Status(EINVAL, "bad redirect"));
  Redirect(r, to);
  OpenNode(std::move(r), *f);
}

void SynthTree::ServeText(ReadReq r, std::string_view text) {
  if (r.offset >= text.size()) return r.Respond(0);
  size_t n = std::min<uint64_t>(r.buf.size(), text.size() - r.offset);
  memcpy(r.buf.data(), text.data() + r.offset, n);
  r.Respond(static_cast<uint32_t>(n));
}

void SynthTree::RunClunk(SynthFid& f) {
  if (!f.opened_ || f.clunked_) return;
  f.clunked_ = true;
  if (f.node_ && f.node_->file_.clunk) f.node_->file_.clunk(f);
}

// ---- SynthTree: FileServer -------------------------------------------------

void SynthTree::Attach(AttachReq r) {
  r.fid->aux = std::make_shared<SynthFid>(root_, &live_);
  r.fid->qid = root_->qid();
  r.Respond(root_->qid());
}

void SynthTree::Walk(WalkReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  SynthNodeRef cur = f->node_;
  std::vector<Qid> qids;
  Status first;
  for (std::string_view name : r.names) {
    if (cur->removed_) {
      first = Removed();
      break;
    }
    if (!cur->IsDir()) {
      first = Status(ENOTDIR, "not a directory");
      break;
    }
    SynthNodeRef next;
    if (name == "..") {
      // The root is its own parent, so ".." at the root stays there.
      next = cur->parent_->shared_from_this();
    } else {
      next = Lookup(cur, name);
    }
    if (!next) {
      first = Status(ENOENT, "file does not exist");
      break;
    }
    cur = std::move(next);
    qids.push_back(cur->qid());
  }
  if (qids.empty() && r.names.size() > 0) return r.Fail(first);
  if (qids.size() == r.names.size()) {
    r.newfid->aux = std::make_shared<SynthFid>(cur, &live_);
    r.newfid->qid = cur->qid();
  }
  r.Respond(std::move(qids));
}

void SynthTree::Stat(StatReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  r.Respond(DirOf(*f->node_));
}

void SynthTree::Open(OpenReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  OpenNode(std::move(r), *f);
}

void SynthTree::OpenNode(OpenReq r, SynthFid& f) {
  const SynthNode& n = *f.node_;
  if (n.removed_) return r.Fail(Removed());
  uint8_t acc = r.mode & 3;
  bool wants_write = acc == OWRITE || acc == ORDWR || (r.mode & OTRUNC);
  bool wants_read = acc == OREAD || acc == ORDWR || acc == OEXEC;
  if (n.IsDir()) {
    if (wants_write || (r.mode & ORCLOSE)) return r.Fail(Status(EISDIR, "is a directory"));
    if (acc == OEXEC && !(n.perm_ & 0111)) return r.Fail(Status(EACCES, "permission denied"));
    f.omode_ = r.mode;
    return r.Respond(OpenOut{n.qid(), 0});
  }
  const SynthFile& file = n.file_;
  if (acc == OEXEC && !(n.perm_ & 0111)) return r.Fail(Status(EACCES, "permission denied"));
  // Without an open callback the file must be able to do what is asked;
  // with one (a clone that redirects, say) the callback decides.
  bool can_read = file.open || file.read || file.text;
  bool can_write = file.open || file.write;
  if (wants_read && (!(n.perm_ & 0444) || !can_read))
    return r.Fail(Status(EACCES, "permission denied"));
  if (wants_write && (!(n.perm_ & 0222) || !can_write))
    return r.Fail(Status(EACCES, "permission denied"));
  if (r.mode & ORCLOSE) return r.Fail(Status(EPERM, "cannot remove a synthetic file"));
  f.omode_ = r.mode;
  if (file.text && wants_read) f.snapshot = file.text();
  f.opened_ = true;
  if (file.open) return file.open(std::move(r), f);
  r.Respond(OpenOut{n.qid(), 0});
}

void SynthTree::Create(CreateReq r) { r.Fail(Status(EPERM, "cannot create in a synthetic tree")); }

void SynthTree::Read(ReadReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  const SynthFile& file = f->node_->file_;
  if (file.read) return file.read(std::move(r), *f);
  if (file.text) return ServeText(std::move(r), f->snapshot);
  r.Fail(Status(EACCES, "permission denied"));
}

void SynthTree::ReadDir(ReadDirReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  const SynthNode& n = *f->node_;
  if (n.removed_) return r.Fail(Removed());
  std::vector<DirEntry> out;
  size_t bytes = 0;
  for (auto it = n.children_.upper_bound(r.cookie); it != n.children_.end(); ++it) {
    DirEntry e{DirOf(*it->second), it->first};
    bytes += StatEstimate(e.dir);
    out.push_back(std::move(e));
    if (bytes >= r.count && r.count > 0) break;
  }
  r.Respond(std::move(out));
}

void SynthTree::Write(WriteReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  SynthNode& n = *f->node_;
  if (!n.file_.write) return r.Fail(Status(EACCES, "permission denied"));
  if (n.file_.touch_on_write) Touch(n);
  n.file_.write(std::move(r), *f);
}

void SynthTree::Clunk(ClunkReq r) {
  if (SynthFid* f = SynthFid::Of(r.fid)) RunClunk(*f);
  r.Respond(Empty{});
}

void SynthTree::Remove(RemoveReq r) {
  if (SynthFid* f = SynthFid::Of(r.fid)) RunClunk(*f);
  r.Fail(Status(EPERM, "cannot remove a synthetic file"));
}

void SynthTree::Wstat(WstatReq r) {
  SynthFid* f = SynthFid::Of(r.fid);
  if (!f) return r.Fail(Status(EBADF, "fid not of this tree"));
  const SynthNode& n = *f->node_;
  const ninep::Stat& d = r.d;
  Status no(EPERM, "wstat of a synthetic file");
  if (!d.name.empty() && d.name != n.name_) return r.Fail(no);
  if (d.mode != ~0u && d.mode != n.perm_) return r.Fail(no);
  if (d.length != ~0ull && (n.IsDir() || d.length != 0)) return r.Fail(no);
  if ((!d.uid.empty() && d.uid != owner_) || (!d.gid.empty() && d.gid != owner_)) return r.Fail(no);
  // Times and truncation to 0 are accepted and ignored: shells and FUSE set
  // them on `>` redirections into control files.
  r.Respond(Empty{});
}

}  // namespace ninep
