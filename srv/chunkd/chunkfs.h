// chunkfs.h: ChunkFs, the 9P tree chunkd serves over a ChunkStore
// (man4/chunkd.4): /chunks/ID.VERSION replicas, /ctl, /bad.
// Handlers run on the loop thread and send all disk work to the Server's
// worker pool (Offload); answers come back from the workers.
// Thread-safety: driven by one Server; the store is shared safely.
#ifndef CHUNKD_CHUNKFS_H_
#define CHUNKD_CHUNKFS_H_

#include <string>

#include "ninep/server.h"
#include "store.h"

namespace chunkd {

class ChunkFs : public ninep::FileServer {
 public:
  // Serves store (which must outlive this) with files owned by owner.
  ChunkFs(ChunkStore* store, std::string owner);

  void Started(ninep::Server* srv) override { srv_ = srv; }
  void Attach(ninep::AttachReq r) override;
  void Walk(ninep::WalkReq r) override;
  void Stat(ninep::StatReq r) override;
  void Open(ninep::OpenReq r) override;
  void Create(ninep::CreateReq r) override;
  void Read(ninep::ReadReq r) override;
  void ReadDir(ninep::ReadDirReq r) override;
  void Write(ninep::WriteReq r) override;
  void Remove(ninep::RemoveReq r) override;
  void Wstat(ninep::WstatReq r) override;

 private:
  struct Node;
  ninep::Dir DirOf(const Node& n) const;
  void Off(ninep::Task fn) { srv_->Offload(std::move(fn)); }

  ChunkStore* store_;
  std::string owner_;
  ninep::Server* srv_ = nullptr;
};

}  // namespace chunkd

#endif  // CHUNKD_CHUNKFS_H_
