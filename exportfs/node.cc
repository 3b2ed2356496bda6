// node.cc: Node and NodeCache (see node.h for the rules).
#include "exportfs/node.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "exportfs/identity.h"

namespace exportfs {

using ninep::Result;
using ninep::Status;

namespace {

// True when n can be found again by name, so its descriptor may go.
// REQUIRES: the cache's mutex.
bool Evictable(const Node& n, const NodeRef& up, const std::string& name, int pins) {
  return !n.is_root && up != nullptr && !name.empty() && pins == 0;
}

Status Stale() { return Status(ESTALE, "stale file handle"); }

}  // namespace

Node::Node(NodeCache* c, FdRef fd, NodeRef up, std::string name, uint32_t mode_, uint64_t dev_,
           uint64_t ino_, bool is_root_)
    : mode(mode_), dev(dev_), ino(ino_), is_root(is_root_), cache_(c) {
  std::vector<FdRef> drop;
  std::lock_guard<std::mutex> l(c->mu_);
  fd_ = std::move(fd);
  up_ = std::move(up);
  name_ = std::move(name);
  if (fd_) c->open_++;
  c->by_ino_.emplace(ino, this);
  c->TouchLocked(*this);
  c->TrimLocked(&drop);
  // drop's descriptors close after the lock is released (declared first).
}

Node::~Node() { cache_->Forget(*this); }

std::string Node::name() const {
  std::lock_guard<std::mutex> l(cache_->mu_);
  return name_;
}

NodeRef Node::up() const {
  std::lock_guard<std::mutex> l(cache_->mu_);
  return up_;
}

void Node::Moved(NodeRef up, std::string name) const {
  NodeRef old;  // released after the lock: it may be the last reference
  std::lock_guard<std::mutex> l(cache_->mu_);
  old = std::move(up_);
  up_ = std::move(up);
  name_ = std::move(name);
  cache_->TouchLocked(*this);
}

void NodeCache::Forget(const Node& n) {
  FdRef drop;
  std::lock_guard<std::mutex> l(mu_);
  if (n.listed_) lru_.erase(n.pos_);
  n.listed_ = false;
  for (auto [it, end] = by_ino_.equal_range(n.ino); it != end; ++it) {
    if (it->second == &n) {
      by_ino_.erase(it);
      break;
    }
  }
  if (n.fd_) open_--;
  drop = std::move(n.fd_);
}

void NodeCache::TouchLocked(const Node& n) {
  if (n.fd_ && Evictable(n, n.up_, n.name_, n.pins_)) {
    if (n.listed_) {
      lru_.splice(lru_.begin(), lru_, n.pos_);
    } else {
      lru_.push_front(&n);
      n.pos_ = lru_.begin();
      n.listed_ = true;
    }
  } else if (n.listed_) {
    lru_.erase(n.pos_);
    n.listed_ = false;
  }
}

void NodeCache::TrimLocked(std::vector<FdRef>* drop) {
  while (open_ > cap_ && !lru_.empty()) {
    const Node* v = lru_.back();
    lru_.pop_back();
    v->listed_ = false;
    drop->push_back(std::move(v->fd_));
    open_--;
  }
}

FdRef NodeCache::Cached(const Node& n) {
  std::lock_guard<std::mutex> l(mu_);
  if (n.fd_) TouchLocked(n);
  return n.fd_;
}

Result<FdRef> NodeCache::Fd(const Node& n) { return Get(n, false); }

Status NodeCache::Pin(const Node& n) {
  auto f = Get(n, true);
  return f.ok() ? Status() : f.status();
}

Result<FdRef> NodeCache::Get(const Node& n, bool pin) {
  NodeRef up;
  std::string name;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (n.fd_) {
      if (pin) n.pins_++;
      TouchLocked(n);
      return n.fd_;
    }
    up = n.up_;
    name = n.name_;
  }
  if (!up || name.empty()) return Stale();
  auto dir = Get(*up, false);
  if (!dir.ok()) return dir.status();
  FdRef f;
  {
    // The fid was granted this access when it walked here; a change of
    // permissions since must not take it away (a held descriptor would
    // not have lost it either).
    AsServer as;
    auto fd = OpenBeneath((*dir)->get(), name, O_PATH | O_NOFOLLOW);
    if (!fd.ok()) return fd.status().err() == ENOENT ? Stale() : fd.status();
    f = MakeFdRef(*fd);
  }
  struct statx st;
  if (int e = StatFd(f->get(), &st)) return Err(e);
  if (DevOf(st) != n.dev || st.stx_ino != n.ino) return Stale();
  std::vector<FdRef> drop;
  std::lock_guard<std::mutex> l(mu_);
  reopens_++;
  if (!n.fd_) {
    n.fd_ = f;
    open_++;
  }
  if (pin) n.pins_++;
  TouchLocked(n);
  FdRef out = n.fd_;
  TrimLocked(&drop);
  return out;
}

void NodeCache::Unpin(const Node& n) {
  std::vector<FdRef> drop;
  std::lock_guard<std::mutex> l(mu_);
  if (n.pins_ > 0) n.pins_--;
  TouchLocked(n);
  TrimLocked(&drop);
}

void NodeCache::Renamed(uint64_t dev, uint64_t ino, const Node& olddir, std::string_view from,
                        const NodeRef& newdir, const std::string& to) {
  std::vector<NodeRef> old;  // released after the lock
  std::lock_guard<std::mutex> l(mu_);
  for (auto [it, end] = by_ino_.equal_range(ino); it != end; ++it) {
    const Node& n = *it->second;
    if (n.dev != dev || n.name_ != from || !n.up_ || n.up_->dev != olddir.dev ||
        n.up_->ino != olddir.ino)
      continue;
    old.push_back(std::move(n.up_));
    n.up_ = newdir;
    n.name_ = to;
    TouchLocked(n);
  }
}

size_t NodeCache::open() const {
  std::lock_guard<std::mutex> l(mu_);
  return open_;
}

uint64_t NodeCache::reopens() const {
  std::lock_guard<std::mutex> l(mu_);
  return reopens_;
}

size_t NodeCacheSize(uint64_t soft) {
  return static_cast<size_t>(std::clamp<uint64_t>(soft / 2, 16, 65536));
}

}  // namespace exportfs
