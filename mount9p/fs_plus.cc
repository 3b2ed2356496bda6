// fs_plus.cc: readdirplus. The kernel gets each entry's attributes with the
// listing, so `ls -l` and `find` need no lookup per file; we walk to every
// entry of a batch and stat it with all calls in flight at once, which
// turns two round trips per file into two per batch.
#include <errno.h>

#include <condition_variable>
#include <cstring>

#include "mount9p/fs.h"

namespace ninep::mount9p {
namespace {

bool IsDot(const std::string& n) { return n == "." || n == ".."; }

// Counts down outstanding calls; Wait returns when all have answered.
class Latch {
 public:
  explicit Latch(size_t n) : left_(n) {}
  void Done() {
    std::lock_guard<std::mutex> l(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t left_;
};

}  // namespace

void Fs::ResolveEntries(const FidPtr& dir, const std::vector<DirItem>& items,
                        const std::vector<size_t>& win, std::vector<Resolved>* out) {
  Client* c = dir->client();
  Latch latch(win.size());
  for (size_t k = 0; k < win.size(); k++) {
    const DirItem& it = items[win[k]];
    if (IsDot(it.name)) {
      latch.Done();
      continue;
    }
    uint32_t nf = c->AllocFid();
    Twalk t;
    t.fid = dir->fid.num();
    t.newfid = nf;
    t.wname.push_back(it.name);
    // Callbacks run on the client's loop thread; `out`, `items` and the
    // latch outlive them because we wait for every one below.
    c->Call(t, [this, c, dir, nf, k, &it, out, &latch](Result<Reply> r) {
      const Rwalk* w = r.ok() ? std::get_if<Rwalk>(&r->msg.body) : nullptr;
      if (w == nullptr || w->wqid.size() != 1) {
        if (!r.ok() || w != nullptr) c->FreeFid(nf);  // no newfid was made
        latch.Done();
        return;
      }
      Qid q = w->wqid[0];
      (*out)[k].fid = std::make_shared<RFid>(dir->conn, c->Adopt(nf, q));
      if (it.dir) {
        (*out)[k].dir = *it.dir;
        (*out)[k].dir->qid = q;
        latch.Done();
        return;
      }
      c->Call(StatBody(nf, P9_GETATTR_ALL), [k, &it, out, &latch](Result<Reply> r2) {
        if (r2.ok()) {
          if (auto d = DirOfStatReply(r2->msg, it.name); d.ok()) (*out)[k].dir = std::move(*d);
        }
        latch.Done();
      });
    });
  }
  latch.Wait();
}

void Fs::Readdirplus(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  std::shared_ptr<Handle> h;
  std::unique_lock<std::mutex> l;
  if (int e = OpenListing(fi->fh, off, &h, &l)) return (void)fuse_reply_err(req, e);
  // Walks start from the directory's own (unopened) fid: an open fid
  // cannot be walked.
  std::string dpath;
  FidPtr dirnode = NodeFid(h->ino, &dpath);
  if (!dirnode) return (void)fuse_reply_err(req, ESTALE);

  // The entries that fit; their size depends only on their names.
  std::vector<size_t> win;
  size_t total = 0;
  for (size_t i = static_cast<size_t>(off); i < h->items.size(); i++) {
    size_t need = fuse_add_direntry_plus(req, nullptr, 0, h->items[i].name.c_str(), nullptr, 0);
    if (total + need > size) break;
    total += need;
    win.push_back(i);
  }
  // One kernel batch is a page of entries (a few dozen): resolve up to
  // kAhead entries from here at once, so a directory costs one wave of
  // round trips per kAhead entries instead of one per page.
  constexpr size_t kAhead = 512;
  if (h->ahead.size() != h->items.size()) h->ahead.assign(h->items.size(), Resolved{});
  if (!win.empty() && !h->ahead[win.front()].tried) {
    std::vector<size_t> todo;
    for (size_t i = win.front(); i < h->items.size() && todo.size() < kAhead; i++) {
      if (!h->ahead[i].tried) todo.push_back(i);
    }
    std::vector<Resolved> got(todo.size());
    ResolveEntries(dirnode, h->items, todo, &got);
    for (size_t k = 0; k < todo.size(); k++) {
      got[k].tried = true;
      h->ahead[todo[k]] = std::move(got[k]);
    }
  }
  std::vector<Resolved> res(win.size());
  for (size_t k = 0; k < win.size(); k++) {
    Resolved& a = h->ahead[win[k]];
    if (!a.tried) {  // past the look-ahead: resolve this batch's rest now
      std::vector<size_t> rest(win.begin() + static_cast<long>(k), win.end());
      std::vector<Resolved> got(rest.size());
      ResolveEntries(dirnode, h->items, rest, &got);
      for (size_t j = 0; j < rest.size(); j++) res[k + j] = std::move(got[j]);
      break;
    }
    res[k] = std::move(a);
    a = Resolved{};
    a.tried = true;  // handed out: a repeat of this offset gets a plain entry
  }

  // Not zeroed: the kernel may offer a buffer of up to 1 MiB per call, and
  // the entries fill only what they need.
  std::unique_ptr<char[]> buf(new char[size]);
  size_t pos = 0;
  std::vector<uint64_t> counted;  // lookups the kernel will owe us a FORGET for
  for (size_t k = 0; k < win.size(); k++) {
    size_t i = win[k];
    const DirItem& it = h->items[i];
    fuse_entry_param e;
    std::memset(&e, 0, sizeof e);
    if (!IsDot(it.name) && res[k].fid && res[k].dir) {
      FillAttr(*res[k].dir, &e.attr);
      std::string path = dpath.empty() ? it.name : dpath + "/" + it.name;
      e.ino = AddLookup(path, std::move(res[k].fid), res[k].dir->qid);
      TrackCtime(e.ino, *res[k].dir, &e.attr);
      e.attr_timeout = opts_.attr_timeout;
      e.entry_timeout = opts_.entry_timeout;
      counted.push_back(e.ino);
    } else {
      // Nodeid 0: a plain entry without attributes (the kernel looks it up
      // if it needs more).
      e.attr.st_ino = it.ino;
      e.attr.st_mode = it.mode;
    }
    size_t need = fuse_add_direntry_plus(req, buf.get() + pos, size - pos, it.name.c_str(), &e,
                                         static_cast<off_t>(i + 1));
    if (need > size - pos) {
      if (e.ino != 0) {
        Forget(e.ino, 1);
        counted.pop_back();
      }
      break;
    }
    pos += need;
  }
  if (fuse_reply_buf(req, buf.get(), pos) != 0) {
    for (uint64_t ino : counted) Forget(ino, 1);
  }
}

}  // namespace ninep::mount9p
