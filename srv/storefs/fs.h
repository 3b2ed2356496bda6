// fs.h: storefs's 9P file server: the user-visible tree (aname "" or "/")
// over MetaStore and Store, and the ctl tree (aname "ctl": one file, ctl).
// Namespace reads (walk, stat, readdir) answer on the loop thread from the
// in-memory metadata (on worker threads when the metadata is remote, in
// etcd); everything that waits for a disk or a chunk server
// (create, remove, wstat, read, write, ctl) runs on the worker pool.
// Namespace changes are checked and applied under one lock and made durable
// outside it, so concurrent creates share log flushes.
// Thread-safety: as FileServer (handlers on the loop thread).
#ifndef STOREFS_FS_H_
#define STOREFS_FS_H_

#include <memory>
#include <mutex>
#include <string>

#include "ninep/server.h"
#include "storefs/meta.h"
#include "storefs/store.h"

namespace storefs {

class StoreFs : public ninep::FileServer {
 public:
  // meta, store and cluster must outlive the file server.
  StoreFs(MetaStore* meta, Store* store, Cluster* cluster)
      : meta_(meta), store_(store), cluster_(cluster) {}

  void Started(ninep::Server* srv) override { srv_ = srv; }
  void Attach(ninep::AttachReq r) override;
  void Walk(ninep::WalkReq r) override;
  void Open(ninep::OpenReq r) override;
  void Create(ninep::CreateReq r) override;
  void Read(ninep::ReadReq r) override;
  void ReadDir(ninep::ReadDirReq r) override;
  void Write(ninep::WriteReq r) override;
  void Remove(ninep::RemoveReq r) override;
  void Stat(ninep::StatReq r) override;
  void Wstat(ninep::WstatReq r) override;
  void Renameat(ninep::RenameatReq r) override;
  void Rename(ninep::RenameReq r) override;
  void Statfs(ninep::StatfsReq r) override;

  // The text a read of ctl returns (health, counters, latency).
  std::string CtlText() const;
  // Runs one ctl message; returns what it did, or an error.
  ninep::Result<std::string> CtlCommand(std::string_view msg);

 private:
  // Creates p's file as inode ino and answers once the log holds it.
  void FinishCreate(const std::shared_ptr<ninep::CreateReq>& p, InodeId ino);
  // On a shared (remote) store, moves the handler to a worker thread and
  // returns true: its metadata reads wait on the network.
  template <class Req>
  bool Hop(Req& r, void (StoreFs::*handler)(Req));
  // The error for an inode a read did not find: ENOENT, or the store's
  // read error when the read itself failed (etcd unreachable).
  ninep::Status Missing() const;
  // ctl's policy lines: the default and each layout in use, with overheads.
  static std::string PolicyLines(const StoreOptions& so, const Store::Health& h);
  ninep::Status DoRename(InodeId ino, InodeId newparent, std::string_view newname, bool replace,
                         const std::string& who);

  MetaStore* meta_;
  Store* store_;
  Cluster* cluster_;
  ninep::Server* srv_ = nullptr;
  // Locks ns_mu_ for a namespace change's check and apply, with the
  // embedded log; a shared store's transactions guard themselves (a lost
  // race is a conflict, retried), and holding a lock across a network
  // commit would serialize every create.
  std::unique_lock<std::mutex> NsLock() {
    return meta_->Remote() ? std::unique_lock<std::mutex>(ns_mu_, std::defer_lock)
                           : std::unique_lock<std::mutex>(ns_mu_);
  }
  std::mutex ns_mu_;  // namespace changes: check and apply together
};

}  // namespace storefs

#endif  // STOREFS_FS_H_
