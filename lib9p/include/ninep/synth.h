// synth.h: synthetic file trees. SynthTree is a FileServer holding a small
// in-memory tree of directories and files whose contents come from
// callbacks, so a control-file server (cmdfs, exportfs's ctl tree, the
// store's ctl) is a page of code, as with plan9port's lib9p File trees.
//
//   SynthTree tree("glenda");
//   auto v = tree.AddText(tree.root(), "version", 0444, [] { return std::string("1\n"); });
//   if (!v.ok()) ...  // v.status() says why (a name taken, say)
//   Server srv(&tree, {});
//
// Files. The simplest file is a text file: its function is called once per
// open and the snapshot is served by offset. A full file gives callbacks for
// open, read, write and clunk (SynthFile); each receives the framework's
// request, must answer it exactly once (now, or later from any thread: a read
// that waits for data keeps the ReadReq and answers when data exists, and can
// learn of Tflush with Request::OnFlush), and gets the fid's SynthFid, whose
// `state` the callbacks set at open and use later. An open callback may
// redirect the fid to another node (Redirect/OpenAs), as cmdfs's `clone`
// turns into `N/ctl`.
//
// Nodes. Each node has a qid whose path comes from a counter (never reused)
// and whose version Touch() bumps. Directories list their children in the
// order they were added; the cookies of ReadDir are per-child sequence
// numbers, so listings survive concurrent adds and removes without repeating
// or skipping a surviving entry. RemoveNode may run at any time: a fid still
// on a removed node can go on reading and writing an open file (its callbacks
// and state live as long as the fid), while walks from it, new opens and
// listings of it fail with ENOENT ("file has been removed").
//
// Clients cannot create, remove or rename in a synthetic tree (EPERM); a
// subclass may override Create/Remove/Wstat. A Twstat that changes nothing,
// or only sets the length of a file to 0 (shells truncate on `>`), succeeds
// and does nothing.
//
// Callbacks hold the tree through raw pointers or captures by reference, not
// SynthNodeRef to their own node (a node owning itself never dies).
//
// Thread-safety: build and change the tree (AddDir, AddFile, AddText,
// RemoveNode, Redirect, OpenAs) on the thread running the Server's loop, or
// before Server::Run; from another thread go through Server::Post. Touch,
// SynthNode's qid() and live_fids() are safe from any thread. Answers to
// requests (Respond/Fail) may come from any thread.
#ifndef NINEP_SYNTH_H_
#define NINEP_SYNTH_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/dir.h"
#include "ninep/server.h"
#include "ninep/status.h"
#include "ninep/wire.h"

namespace ninep {

class SynthNode;
class SynthTree;
class SynthFid;
// Nodes are shared: the tree, and every fid on the node, hold a reference.
using SynthNodeRef = std::shared_ptr<SynthNode>;

// The callbacks of a file. Any may be empty; see each for its default.
// Callbacks run on the loop thread and must not block.
struct SynthFile {
  // Open (after the permission-bit check and the text snapshot). Must
  // answer r, normally with {fid's node qid, 0}. Without it, an open for
  // reading needs `read` or `text` and one for writing needs `write`; with
  // it, the callback decides (it may OpenAs another node, which is checked).
  // Default: answers at once.
  std::function<void(OpenReq r, SynthFid& f)> open;
  // Read at r.offset into r.buf. Default: serve f.snapshot (text files), or
  // EACCES when there is no text either.
  std::function<void(ReadReq r, SynthFid& f)> read;
  // Write. Default: none; the file cannot be opened for writing.
  std::function<void(WriteReq r, SynthFid& f)> write;
  // Called once when a fid opened on this file goes away (Tclunk, Tremove,
  // Tversion, connection end), even when `open` failed the open; cannot
  // fail. Not called for fids that were never opened.
  std::function<void(SynthFid& f)> clunk;
  // Text of a text file: called at each open for reading; the snapshot is
  // kept in SynthFid::snapshot.
  std::function<std::string()> text;
  // Length for stat. Default: 0 (synthetic files have no fixed size).
  std::function<uint64_t()> length;
  // When true, every write bumps qid.version and mtime before `write` runs.
  bool touch_on_write = false;

  // A read-only text file: `text` snapshotted at open, served by offset.
  static SynthFile Text(std::function<std::string()> text);
  // A control file: reads serve `text` (may be empty: reads give nothing);
  // each write's bytes go to `cmd` synchronously, answered with the whole
  // count on OK or the Status' error.
  static SynthFile Ctl(std::function<std::string()> text,
                       std::function<Status(std::string_view data, SynthFid& f)> cmd);
};

// One node of the tree: a directory or a file. Created only by SynthTree.
class SynthNode : public std::enable_shared_from_this<SynthNode> {
 public:
  SynthNode(const SynthNode&) = delete;
  SynthNode& operator=(const SynthNode&) = delete;

  // The name in its directory ("/" for the root).
  const std::string& name() const { return name_; }
  // The current qid (version included). Any thread.
  Qid qid() const;
  // Permission and DM bits, as given at creation (DMDIR for directories).
  uint32_t perm() const { return perm_; }
  // True for directories.
  bool IsDir() const { return (perm_ & DMDIR) != 0; }
  // True once RemoveNode removed it (or an ancestor).
  bool removed() const { return removed_; }
  // The parent directory; the root is its own parent. Null once removed.
  SynthNode* parent() const { return parent_; }
  // The file's callbacks (empty for directories).
  const SynthFile& file() const { return file_; }
  // The server's own data for this node (e.g. cmdfs's command object).
  std::shared_ptr<void> aux;

 private:
  friend class SynthTree;
  SynthNode(std::string name, uint32_t perm, uint64_t path, SynthFile file);

  std::string name_;
  uint32_t perm_;
  uint64_t path_;
  std::atomic<uint32_t> version_{0};
  std::atomic<uint32_t> mtime_{0};
  uint32_t atime_ = 0;
  bool removed_ = false;
  SynthNode* parent_ = nullptr;
  SynthFile file_;
  uint64_t seq_ = 0;                           // position in parent's listing (> 0)
  uint64_t next_seq_ = 1;                      // directories: next child's seq
  std::map<uint64_t, SynthNodeRef> children_;  // by seq: the listing order
  std::map<std::string, uint64_t, std::less<>> by_name_;
};

// Per-fid state of a synthetic tree, reachable from any request through
// SynthFid::Of(r.fid). Lives as long as the fid (and the requests holding
// it), so a callback answering later may keep using it through the request.
// It (with `state`) is destroyed on whichever thread drops the last
// reference: a request answered and dropped on a worker may be the last.
class SynthFid {
 public:
  // The node the fid is on (after a Redirect, the new node).
  const SynthNodeRef& node() const { return node_; }
  // The open mode (OREAD...; -1 before open).
  int omode() const { return omode_; }
  // The text snapshot taken at open for text files.
  std::string snapshot;
  // Per-open state, set by the file's callbacks (usually at open).
  std::shared_ptr<void> state;
  // `state` as T (the callbacks know what they stored).
  template <class T>
  T* State() const {
    return static_cast<T*>(state.get());
  }

  // The SynthFid of a framework fid of a SynthTree (null for others).
  static SynthFid* Of(const FidRef& fid) { return fid ? fid->Aux<SynthFid>() : nullptr; }

  explicit SynthFid(SynthNodeRef n, std::atomic<int64_t>* live);
  ~SynthFid();
  SynthFid(const SynthFid&) = delete;
  SynthFid& operator=(const SynthFid&) = delete;

 private:
  friend class SynthTree;
  SynthNodeRef node_;
  int omode_ = -1;
  bool opened_ = false;   // the open was handed to callbacks: clunk is due
  bool clunked_ = false;  // clunk callback already ran
  std::atomic<int64_t>* live_;
};

// A FileServer serving a synthetic tree. Subclass it to add Create, Remove
// or Wstat; the rest is done.
class SynthTree : public FileServer {
 public:
  // `owner` is the uid, gid and muid of every node. The root has perm
  // root_perm (DMDIR is added).
  explicit SynthTree(std::string owner, uint32_t root_perm = 0555);
  ~SynthTree() override;

  // The root directory.
  const SynthNodeRef& root() const { return root_; }
  // The owner given at construction.
  const std::string& owner() const { return owner_; }
  // The Server this tree runs on (null before Started).
  Server* server() const { return server_; }
  // Fids that currently point into this tree (all connections). Any thread.
  int64_t live_fids() const { return live_.load(); }

  // Adds a directory. Fails EINVAL for a bad name ("", ".", "..", one with
  // '/'), ENOTDIR when parent is a file, ENOENT when parent was removed,
  // EEXIST when the name is taken.
  Result<SynthNodeRef> AddDir(const SynthNodeRef& parent, std::string_view name,
                              uint32_t perm = 0555);
  // Adds a file with callbacks; errors as AddDir. DMDIR in perm is dropped.
  Result<SynthNodeRef> AddFile(const SynthNodeRef& parent, std::string_view name, uint32_t perm,
                               SynthFile file);
  // Adds a read-only text file (SynthFile::Text).
  Result<SynthNodeRef> AddText(const SynthNodeRef& parent, std::string_view name, uint32_t perm,
                               std::function<std::string()> text);
  // Removes a node and, for a directory, everything under it. Fails EPERM
  // for the root, ENOENT when already removed. Open fids on it go on (see
  // the file comment).
  Status RemoveNode(const SynthNodeRef& node);
  // The child `name` of dir, or null.
  SynthNodeRef Lookup(const SynthNodeRef& dir, std::string_view name) const;
  // The children of dir in listing order.
  std::vector<SynthNodeRef> Children(const SynthNodeRef& dir) const;
  // Bumps the node's qid.version and sets its mtime to now. Any thread.
  static void Touch(SynthNode& node);

  // In an open callback: moves the fid being opened to `to` (a file), so
  // later reads, writes, stats and the clunk go to `to`'s callbacks. Answer
  // r with to's qid (the Ropen qid must be the new node's).
  void Redirect(OpenReq& r, const SynthNodeRef& to);
  // Redirect, then open `to` with r as a client open would (permission
  // check, snapshot, to's open callback). For cmdfs's `clone`.
  void OpenAs(OpenReq r, const SynthNodeRef& to);

  // Serves `text` from offset into r.buf and answers r.
  static void ServeText(ReadReq r, std::string_view text);

  // FileServer.
  void Attach(AttachReq r) override;
  void Walk(WalkReq r) override;
  void Stat(StatReq r) override;
  void Open(OpenReq r) override;
  void Create(CreateReq r) override;
  void Read(ReadReq r) override;
  void ReadDir(ReadDirReq r) override;
  void Write(WriteReq r) override;
  void Clunk(ClunkReq r) override;
  void Remove(RemoveReq r) override;
  void Wstat(WstatReq r) override;
  void Started(Server* srv) override { server_ = srv; }

  // The Dir describing a node (as Tstat answers it).
  Dir DirOf(const SynthNode& n) const;

 private:
  Result<SynthNodeRef> Add(const SynthNodeRef& parent, std::string_view name, uint32_t perm,
                           SynthFile file);
  void OpenNode(OpenReq r, SynthFid& f);
  static void RunClunk(SynthFid& f);

  std::string owner_;
  SynthNodeRef root_;
  uint64_t next_path_ = 1;
  Server* server_ = nullptr;
  std::atomic<int64_t> live_{0};
};

}  // namespace ninep

#endif  // NINEP_SYNTH_H_
